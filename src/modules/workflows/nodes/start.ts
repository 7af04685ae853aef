import { z } from 'zod';
import { defineNode } from '../node-definition.ts';

/** Where every run begins; exposes the chat message, the earlier turns and the session. */
export const startNode = defineNode({
  type: 'start',
  description: 'Entry point: the user message, chat history and session id',
  role: 'start',
  configSchema: z.object({}),
  outputs: () => ({ message: 'string', history: 'array[object]', session_id: 'string' }),
  uses: () => [],
  async run(_config, ctx) {
    return {
      outputs: { message: ctx.input.message, history: ctx.input.history, session_id: ctx.input.sessionId },
    };
  },
});
