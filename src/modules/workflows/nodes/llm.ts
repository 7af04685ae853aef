import { z } from 'zod';
import { ModelIdSchema, ProviderNameSchema } from '../../bots/settings.ts';
import { callModel, toMessages } from '../llm-call.ts';
import { defineNode, WorkflowNodeError } from '../node-definition.ts';

const LlmConfig = z.object({
  /** Falls back to the bot's / operator's default model when absent. */
  provider: ProviderNameSchema.optional(),
  model: ModelIdSchema.optional(),
  system: z.string().max(50_000).default(''),
  /** The user turn sent to the model, e.g. `{{start.message}}`. */
  prompt: z.string().min(1).max(50_000),
  /** A reference to earlier turns, usually `{{start.history}}`. */
  history: z.string().max(200).optional(),
  history_limit: z.number().int().min(0).max(100).default(20),
  temperature: z.number().min(0).max(2).default(0.7),
  max_tokens: z.number().int().min(1).max(64_000).default(2000),
});

/** Calls a chat model. Its text streams into the answer when it leads straight to an end node. */
export const llmNode = defineNode({
  type: 'llm',
  description: 'Calls a language model with a prompt built from variables',
  streams: 'text',
  configSchema: LlmConfig,
  outputs: () => ({ text: 'string', finish_reason: 'string', model: 'string' }),
  uses: (c) => [
    { field: 'system', kind: 'template', text: c.system },
    { field: 'prompt', kind: 'template', text: c.prompt },
    ...(c.history === undefined
      ? []
      : [{ field: 'history', kind: 'reference' as const, text: c.history, accepts: ['array[object]'] as const }]),
  ],
  async run(config, ctx) {
    const system = ctx.render(config.system);
    const prompt = ctx.render(config.prompt);
    if (prompt.trim() === '') throw new WorkflowNodeError('empty_prompt', 'The prompt rendered to empty text');
    const history =
      config.history === undefined || config.history_limit === 0
        ? []
        : toMessages(ctx.resolve(config.history)).slice(-config.history_limit);
    const reply = await callModel(
      ctx,
      { provider: config.provider, model: config.model },
      {
        system,
        messages: [...history, { role: 'user', content: prompt }],
        temperature: config.temperature,
        maxTokens: config.max_tokens,
      },
      (text) => ctx.stream(text),
    );
    return {
      inputs: { system, prompt, history_turns: history.length },
      outputs: { text: reply.text, finish_reason: reply.finishReason, model: reply.model },
    };
  },
});
