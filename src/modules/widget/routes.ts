import { readFileSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Ctx } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { Id } from '../../platform/http/schemas.ts';
import { abortOnDisconnect } from '../../platform/http/sse.ts';
import type { App } from '../../platform/http/types.ts';
import type { ApiKeysService } from '../auth/api-keys.ts';
import { clientOf } from '../auth/routes.ts';
import type { BotRow } from '../bots/repo.ts';
import { streamTurn } from '../chat/routes.ts';
import type { ChatService } from '../chat/service.ts';
import type { Access } from '../teams/access.ts';
import { originAllowed } from './origins.ts';

/**
 * The embeddable chat widget: `GET /widget.js`, and the public routes it calls with a bot's
 * publishable key in the path (`/api/v1/widget/{key}/…`, so a CORS preflight can name the bot).
 * A page may use them only from an origin in the bot's `settings.widget.allowed_origins`; those
 * answers carry CORS headers for that origin alone. Limits: per IP and route, and per key
 * (`RATE_LIMIT_PUBLIC_BOT_MAX`). Turns are stored like any chat, attributed to the key.
 */
const SCRIPT = readFileSync(new URL('./widget.js', import.meta.url), 'utf8');

const KeyParams = z.object({ key: z.string().min(1).max(100) });
const PUBLIC = {
  // The app-wide CORS (CORS_ORIGINS, for the admin front-end) would answer these routes'
  // preflights itself and refuse the shop's page; each bot's allowed origins decide here instead.
  cors: false as const,
  rateBucket: 'public' as const,
  rateLimitBot: (req: FastifyRequest) => (req.params as { key?: string }).key,
};

export function widgetRoutes(app: App, deps: { apiKeys: ApiKeysService; access: Access; chat: ChatService }): void {
  const { apiKeys, access, chat } = deps;

  /** The key's bot and a ctx acting for it, once the page's origin is one the bot allows. */
  async function open(req: FastifyRequest, reply: FastifyReply, key: string): Promise<{ ctx: Ctx; bot: BotRow }> {
    const actor = await apiKeys.resolvePublishable(key);
    const ctx: Ctx = { actor, requestId: req.id, ...clientOf(req) };
    const { bot } = await access.requireBot(ctx, actor.botId, 'use');
    const origin = req.headers.origin;
    if (!originAllowed(origin, bot.settings.widget?.allowed_origins)) {
      throw new AppError(
        'forbidden',
        'This page may not use the widget: add its origin to the bot’s widget.allowed_origins',
      );
    }
    allowOrigin(reply, origin as string);
    return { ctx, bot };
  }

  app.get('/widget.js', { schema: { hide: true }, config: { rateBucket: false } }, async (_req, reply) => {
    reply.header('content-type', 'text/javascript; charset=utf-8');
    reply.header('cache-control', 'public, max-age=300');
    return SCRIPT;
  });

  app.get('/api/v1/widget/:key/config', {
    config: PUBLIC,
    schema: {
      tags: ['widget'],
      summary: "The widget's title and welcome message (publishable key; allowed origins only)",
      params: KeyParams,
      response: { 200: z.object({ title: z.string(), welcome_message: z.string().nullable() }) },
    },
    handler: async (req, reply) => {
      const { bot } = await open(req, reply, req.params.key);
      return {
        title: bot.settings.widget?.title ?? bot.name,
        welcome_message: bot.settings.widget?.welcome_message ?? null,
      };
    },
  });

  app.post('/api/v1/widget/:key/chat', {
    config: PUBLIC,
    schema: {
      tags: ['widget'],
      summary: 'Chat from the widget: always Server-Sent Events, as `POST /chat` streams them',
      params: KeyParams,
      body: z.object({ message: z.string().trim().min(1).max(4000), session_id: Id.optional() }),
    },
    handler: async (req, reply) => {
      const { ctx, bot } = await open(req, reply, req.params.key);
      const turn = await chat.startForBot(
        ctx,
        bot,
        { message: req.body.message, session_id: req.body.session_id },
        abortOnDisconnect(reply),
      );
      await streamTurn(reply, turn);
    },
  });

  app.get('/api/v1/widget/:key/sessions/:id/messages', {
    config: PUBLIC,
    schema: {
      tags: ['widget'],
      summary: "A visitor's own conversation, to show again after a page load (sessions its key started only)",
      params: KeyParams.extend({ id: Id }),
      response: {
        200: z.object({
          messages: z.array(
            z.object({
              role: z.enum(['user', 'assistant']),
              content: z.string(),
              sources: z.array(
                z.object({ filename: z.string(), page: z.number().optional(), section: z.string().optional() }),
              ),
            }),
          ),
        }),
      },
    },
    handler: async (req, reply) => {
      const { ctx } = await open(req, reply, req.params.key);
      const rows = await chat.listMessages(ctx, req.params.id, { limit: 200, offset: 0 });
      // What the visitor saw, nothing of what it cost or which model answered.
      return {
        messages: rows.map((m) => ({
          role: m.role,
          content: m.content,
          sources: (m.sources ?? []).map((source) => ({
            filename: source.filename,
            ...(source.page !== undefined ? { page: source.page } : {}),
            ...(source.section !== undefined ? { section: source.section } : {}),
          })),
        })),
      };
    },
  });

  // The browser asks before a cross-origin JSON POST; it names the route (and so the key), not the body.
  app.options('/api/v1/widget/:key/:action', {
    schema: { hide: true, params: z.object({ key: z.string().max(100), action: z.enum(['config', 'chat']) }) },
    config: PUBLIC,
    handler: async (req, reply) => {
      await open(req, reply, req.params.key);
      reply.header('access-control-allow-methods', 'GET, POST');
      reply.header('access-control-allow-headers', 'content-type');
      reply.header('access-control-max-age', '600');
      return reply.status(204).send();
    },
  });
}

function allowOrigin(reply: FastifyReply, origin: string): void {
  reply.header('access-control-allow-origin', origin);
  reply.header('vary', 'Origin');
}
