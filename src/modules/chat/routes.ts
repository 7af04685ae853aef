import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../platform/errors.ts';
import { Id, IdParams, iso, Pagination, Timestamp } from '../../platform/http/schemas.ts';
import { abortOnDisconnect, openSse, wantsEventStream } from '../../platform/http/sse.ts';
import { type App, type Authenticate, BEARER } from '../../platform/http/types.ts';
import { FiltersSchema, SourceSchema } from '../retrieval/routes.ts';
import type { ChatEvent, ChatService, ChatTurn } from './service.ts';

const Mode = z.enum(['llm', 'extractive', 'no_answer', 'workflow']);
const Usage = z.object({ input_tokens: z.number(), output_tokens: z.number() });

const ChatResponse = z.object({
  response: z.string(),
  sources: z.array(SourceSchema),
  session_id: Id,
  message_id: Id,
  mode: Mode,
  usage: Usage,
  cost_usd: z.number().nullable(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
});

const SessionSchema = z.object({
  id: Id,
  bot_id: Id,
  title: z.string().nullable(),
  message_count: z.number(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const FeedbackSchema = z.object({
  message_id: Id,
  rating: z.enum(['up', 'down']),
  comment: z.string().nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const MessageSchema = z.object({
  id: Id,
  session_id: Id,
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  sources: z.array(SourceSchema),
  mode: Mode.nullable(),
  search_query: z.string().nullable(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  usage: Usage,
  cost_usd: z.number().nullable(),
  latency_ms: z.number().nullable(),
  error: z.object({ code: z.string(), detail: z.string() }).nullable(),
  feedback: z.array(z.object({ rating: z.enum(['up', 'down']), comment: z.string().nullable() })),
  created_at: Timestamp,
});

const UsageSchema = z.object({
  bot_id: Id,
  from: Timestamp.nullable(),
  to: Timestamp.nullable(),
  messages: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cost_usd: z.number(),
  unpriced_messages: z.number(),
  errors: z.number(),
  by_model: z.array(
    z.object({
      provider: z.string().nullable(),
      model: z.string().nullable(),
      mode: z.string().nullable(),
      messages: z.number(),
      input_tokens: z.number(),
      output_tokens: z.number(),
      cost_usd: z.number().nullable(),
    }),
  ),
});

/** Sends a chat turn's events as Server-Sent Events (also the widget's chat). */
export async function streamTurn(reply: FastifyReply, turn: ChatTurn): Promise<void> {
  const sse = openSse(reply);
  try {
    for await (const event of turn.events) {
      const { type, ...data } = event;
      await sse.send(type, data);
    }
  } finally {
    sse.end();
  }
}

export function chatRoutes(app: App, deps: { chat: ChatService; authenticate: Authenticate }): void {
  const { chat, authenticate } = deps;
  const tags = ['chat'];

  app.post('/api/v1/chat', {
    schema: {
      tags,
      security: BEARER,
      summary: 'Ask a bot a question; JSON, or Server-Sent Events with `stream: true` or `Accept: text/event-stream`',
      description:
        'JSON answer: `{ response, sources, session_id, ... }`; `[n]` in `response` cites `sources[n-1]`. ' +
        'SSE: `sources` first, then `delta` events `{ text }`, then exactly one `done` ' +
        '`{ message_id, session_id, mode, usage, cost_usd, provider, model }` or `error` `{ code, detail, message_id, session_id }`. ' +
        '`mode` is `llm`, `extractive` (no LLM configured: quoted passages), `no_answer` (nothing relevant found) or `workflow`.',
      body: z.object({
        message: z.string().trim().min(1).max(8000),
        bot_id: Id,
        session_id: Id.optional(),
        stream: z.boolean().optional(),
        filters: FiltersSchema.optional(),
      }),
      response: { 200: ChatResponse },
    },
    handler: async (req, reply) => {
      const ctx = await authenticate(req, { sessionCheckedByAccess: true });
      const stream = wantsEventStream(req, req.body.stream);
      const turn = await chat.start(ctx, req.body, abortOnDisconnect(reply));

      if (!stream) {
        let response = '';
        let sources: Extract<ChatEvent, { type: 'sources' }>['sources'] = [];
        for await (const event of turn.events) {
          if (event.type === 'sources') sources = event.sources;
          else if (event.type === 'delta') response += event.text;
          else if (event.type === 'error') {
            throw new AppError(event.code === 'cancelled' ? 'internal_error' : event.code, event.detail, {
              extra: { session_id: event.session_id, message_id: event.message_id },
            });
          } else {
            const { type: _, ...done } = event;
            return { response, sources, ...done };
          }
        }
        throw new AppError('internal_error', 'The answer ended without a result');
      }

      await streamTurn(reply, turn);
    },
  });

  app.get('/api/v1/chat/sessions', {
    schema: {
      tags,
      security: BEARER,
      summary: "A bot's chat sessions, most recently active first",
      querystring: Pagination.extend({ bot_id: Id }),
      response: { 200: z.object({ sessions: z.array(SessionSchema), limit: z.number(), offset: z.number() }) },
    },
    handler: async (req) => {
      const { bot_id, limit, offset } = req.query;
      const rows = await chat.listSessions(await authenticate(req), bot_id, { limit, offset });
      return {
        sessions: rows.map((s) => ({
          id: s.id,
          bot_id: s.bot_id,
          title: s.title,
          message_count: s.message_count ?? 0,
          created_at: iso(s.created_at) as string,
          updated_at: iso(s.updated_at) as string,
        })),
        limit,
        offset,
      };
    },
  });

  app.delete('/api/v1/chat/sessions/:id', {
    schema: {
      tags,
      security: BEARER,
      summary: 'Delete a session: its messages, their feedback and the workflow runs of its turns',
      params: IdParams,
    },
    handler: async (req, reply) => {
      await chat.deleteSession(await authenticate(req), req.params.id);
      return reply.status(204).send();
    },
  });

  app.get('/api/v1/chat/sessions/:id/messages', {
    schema: {
      tags,
      security: BEARER,
      summary: "A session's messages, oldest first, with sources, usage and feedback",
      params: IdParams,
      querystring: Pagination.extend({ limit: Pagination.shape.limit.default(100) }),
      response: { 200: z.object({ session_id: Id, messages: z.array(MessageSchema) }) },
    },
    handler: async (req) => {
      const rows = await chat.listMessages(await authenticate(req), req.params.id, req.query);
      return {
        session_id: req.params.id,
        messages: rows.map((m) => ({
          id: m.id,
          session_id: m.session_id,
          role: m.role,
          content: m.content,
          sources: m.sources,
          mode: m.mode,
          search_query: m.search_query,
          provider: m.provider,
          model: m.model,
          usage: { input_tokens: m.input_tokens, output_tokens: m.output_tokens },
          cost_usd: m.cost_usd === null ? null : Number(m.cost_usd),
          latency_ms: m.latency_ms,
          error: m.error_code ? { code: m.error_code, detail: m.error ?? '' } : null,
          feedback: (m.feedback ?? []).map((f) => ({ rating: f.rating, comment: f.comment })),
          created_at: iso(m.created_at) as string,
        })),
      };
    },
  });

  app.post('/api/v1/chat/messages/:id/feedback', {
    schema: {
      tags,
      security: BEARER,
      summary: 'Rate an answer up or down (one rating per caller; rating again replaces it)',
      params: IdParams,
      body: z.object({ rating: z.enum(['up', 'down']), comment: z.string().max(2000).optional() }),
      response: { 200: FeedbackSchema },
    },
    handler: async (req) => {
      const f = await chat.feedback(await authenticate(req), req.params.id, req.body);
      return {
        message_id: f.message_id,
        rating: f.rating,
        comment: f.comment,
        created_at: iso(f.created_at) as string,
        updated_at: iso(f.updated_at) as string,
      };
    },
  });

  app.get('/api/v1/bots/:id/usage', {
    schema: {
      tags: ['bots'],
      security: BEARER,
      summary: "A bot's answers, tokens and estimated cost, in total and per provider, model and mode",
      params: IdParams,
      querystring: z
        .object({ from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional() })
        .refine((q) => !q.from || !q.to || new Date(q.from) < new Date(q.to), 'from must be before to'),
      response: { 200: UsageSchema },
    },
    handler: async (req) => {
      const range = {
        from: req.query.from ? new Date(req.query.from) : undefined,
        to: req.query.to ? new Date(req.query.to) : undefined,
      };
      const summary = await chat.usage(await authenticate(req), req.params.id, range);
      return { ...summary, from: iso(summary.from), to: iso(summary.to) };
    },
  });
}
