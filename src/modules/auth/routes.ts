import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Ctx } from '../../platform/context.ts';
import { unauthorized } from '../../platform/errors.ts';
import { Email, Id, iso, Timestamp } from '../../platform/http/schemas.ts';
import { type App, type Authenticate, BEARER } from '../../platform/http/types.ts';
import type { TeamsService } from '../teams/service.ts';
import type { ApiKeyRow, ApiKeysService, KeyKind, KeyScope } from './api-keys.ts';
import type { ClientInfo } from './audit.ts';
import type { UserRow } from './repo.ts';
import type { AuthService, TokenPair } from './service.ts';

const UserSchema = z.object({
  id: Id,
  email: z.string(),
  name: z.string().nullable(),
  email_verified: z.boolean(),
  created_at: Timestamp,
});
const TokenPairSchema = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number(),
  user: UserSchema,
});
const ApiKeySchema = z.object({
  id: Id,
  name: z.string().nullable(),
  prefix: z.string(),
  team_id: Id,
  bot_id: Id.nullable(),
  created_at: Timestamp,
  last_used_at: Timestamp.nullable(),
  revoked_at: Timestamp.nullable(),
});
const Password = z.string().min(8, 'at least 8 characters').max(256);
const SessionSchema = z.object({
  id: Id,
  method: z.enum(['password', 'google']),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  created_at: Timestamp,
  last_used_at: Timestamp,
  expires_at: Timestamp,
  current: z.boolean().describe('The session this request was made with'),
});

/** Sign-in routes: small bodies, and the strict per-IP bucket (see platform/rate-limit.ts). */
export const AUTH_ROUTE = { bodyLimit: 16 * 1024, config: { rateBucket: 'auth' as const } };

/**
 * Refresh and sign-out carry an unguessable credential: they keep working while Redis is down, so
 * sessions outlive an outage and can always be ended (see platform/rate-limit.ts).
 */
const SESSION_KEEPING = { ...AUTH_ROUTE.config, rateLimitFailOpen: true };

/** The request's client address and agent, for the audit trail and login lockouts. */
export function clientOf(request: FastifyRequest): ClientInfo {
  const agent = request.headers['user-agent'];
  return { log: request.log, ip: request.ip, userAgent: typeof agent === 'string' ? agent : undefined };
}

export const userDto = (u: UserRow) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  email_verified: u.email_verified,
  created_at: iso(u.created_at) as string,
});
const pairDto = (p: TokenPair) => ({ ...p, user: userDto(p.user) });
const keyDto = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  team_id: k.team_id,
  bot_id: k.bot_id,
  created_at: iso(k.created_at) as string,
  last_used_at: iso(k.last_used_at),
  revoked_at: iso(k.revoked_at),
});

/** Reads `Authorization: Bearer <token>` and resolves the caller. */
export function createAuthenticate(auth: AuthService): Authenticate {
  return async (request, options = {}): Promise<Ctx> => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match?.[1]) throw unauthorized('Send Authorization: Bearer <access token or API key>');
    const { actor, sessionCheck } = await auth.resolveBearerDeferred(match[1]);
    if (!options.sessionCheckedByAccess) await sessionCheck?.run();
    return {
      actor,
      requestId: request.id,
      ...clientOf(request),
      ...(options.sessionCheckedByAccess ? { sessionCheck } : {}),
    };
  };
}

export function authRoutes(
  app: App,
  deps: { auth: AuthService; apiKeys: ApiKeysService; teams: TeamsService; authenticate: Authenticate },
): void {
  const { auth, apiKeys, teams, authenticate } = deps;
  const tags = ['auth'];

  app.post('/api/v1/auth/register', {
    ...AUTH_ROUTE,
    schema: {
      tags,
      body: z.object({ email: Email, password: Password, name: z.string().trim().min(1).max(200).optional() }),
      response: { 201: TokenPairSchema },
    },
    handler: async (req, reply) => reply.status(201).send(pairDto(await auth.register(req.body, clientOf(req)))),
  });

  app.post('/api/v1/auth/login', {
    ...AUTH_ROUTE,
    schema: {
      tags,
      body: z.object({ email: Email, password: z.string().min(1).max(256) }),
      response: { 200: TokenPairSchema },
    },
    handler: async (req) => pairDto(await auth.login(req.body, clientOf(req))),
  });

  app.post('/api/v1/auth/refresh', {
    ...AUTH_ROUTE,
    config: SESSION_KEEPING,
    schema: {
      tags,
      description: 'Rotates the refresh token: the one sent is spent; sending a spent one ends its whole session.',
      body: z.object({ refresh_token: z.string().min(1).max(512) }),
      response: { 200: TokenPairSchema },
    },
    handler: async (req) => pairDto(await auth.refresh(req.body.refresh_token, clientOf(req))),
  });

  app.post('/api/v1/auth/logout', {
    ...AUTH_ROUTE,
    config: SESSION_KEEPING,
    schema: {
      tags,
      description: 'Ends the session the refresh token belongs to; its access tokens stop working at once.',
      body: z.object({ refresh_token: z.string().min(1).max(512) }),
    },
    handler: async (req, reply) => {
      await auth.logout(req.body.refresh_token, clientOf(req));
      return reply.status(204).send();
    },
  });

  app.get('/api/v1/auth/me', {
    schema: {
      tags,
      security: BEARER,
      response: {
        200: UserSchema.extend({
          teams: z.array(z.object({ id: Id, name: z.string(), personal: z.boolean(), role: z.string() })),
        }),
      },
    },
    handler: async (req) => {
      const ctx = await authenticate(req);
      const user = await auth.me(ctx);
      const memberships = await teams.list(ctx);
      return {
        ...userDto(user),
        teams: memberships.map((t) => ({ id: t.id, name: t.name, personal: t.personal, role: t.role })),
      };
    },
  });

  app.get('/api/v1/auth/sessions', {
    schema: {
      tags,
      security: BEARER,
      description: 'Your signed-in sessions (one per sign-in, kept across refreshes), most recently used first.',
      response: { 200: z.object({ sessions: z.array(SessionSchema) }) },
    },
    handler: async (req) => {
      const sessions = await auth.listSessions(await authenticate(req));
      return {
        sessions: sessions.map((s) => ({
          id: s.id,
          method: s.method,
          ip: s.ip,
          user_agent: s.userAgent,
          created_at: iso(s.createdAt) as string,
          last_used_at: iso(s.lastUsedAt) as string,
          expires_at: iso(s.expiresAt) as string,
          current: s.current,
        })),
      };
    },
  });

  app.delete('/api/v1/auth/sessions/:id', {
    config: { rateLimitFailOpen: true },
    schema: {
      tags,
      security: BEARER,
      description: 'Signs one of your sessions out: its refresh and access tokens stop working at once.',
      params: z.object({ id: z.string().max(64) }),
    },
    handler: async (req, reply) => {
      await auth.revokeSession(await authenticate(req), req.params.id);
      return reply.status(204).send();
    },
  });

  app.delete('/api/v1/auth/sessions', {
    config: { rateLimitFailOpen: true },
    schema: {
      tags,
      security: BEARER,
      description: 'Signs out everywhere, this session included.',
      response: { 200: z.object({ revoked: z.number() }) },
    },
    handler: async (req) => ({ revoked: await auth.revokeAllSessions(await authenticate(req)) }),
  });

  /** Create, list and revoke keys of one kind under `/<owner>/{id}/<path>`. */
  const keyRoutes = (
    owner: 'bots' | 'teams',
    scopeOf: (id: string) => KeyScope,
    path: 'api-keys' | 'widget-keys' = 'api-keys',
    kind: KeyKind = 'secret',
  ) => {
    const Params = z.object({ id: z.string().max(64) });
    const listKey = path === 'api-keys' ? 'api_keys' : 'widget_keys';
    app.post(`/api/v1/${owner}/:id/${path}`, {
      schema: {
        tags: ['api-keys'],
        security: BEARER,
        params: Params,
        body: z.object({ name: z.string().trim().max(200).optional() }).nullish(),
        response: { 201: ApiKeySchema.extend({ key: z.string().describe('Shown once; store it now') }) },
      },
      handler: async (req, reply) => {
        const { row, key } = await apiKeys.create(
          await authenticate(req),
          scopeOf(req.params.id),
          req.body?.name,
          kind,
        );
        return reply.status(201).send({ ...keyDto(row), key });
      },
    });
    app.get(`/api/v1/${owner}/:id/${path}`, {
      schema: {
        tags: ['api-keys'],
        security: BEARER,
        params: Params,
        response: { 200: z.object({ [listKey]: z.array(ApiKeySchema) }) },
      },
      handler: async (req) => ({
        [listKey]: (await apiKeys.list(await authenticate(req), scopeOf(req.params.id), kind)).map(keyDto),
      }),
    });
    app.delete(`/api/v1/${owner}/:id/${path}/:keyId`, {
      schema: {
        tags: ['api-keys'],
        security: BEARER,
        params: z.object({ id: z.string().max(64), keyId: z.string().max(64) }),
      },
      handler: async (req, reply) => {
        await apiKeys.revoke(await authenticate(req), scopeOf(req.params.id), req.params.keyId, kind);
        return reply.status(204).send();
      },
    });
  };
  keyRoutes('bots', (id) => ({ botId: id }));
  keyRoutes('teams', (id) => ({ teamId: id }));
  // Publishable keys for the embeddable widget: bots only (see modules/widget).
  keyRoutes('bots', (id) => ({ botId: id }), 'widget-keys', 'publishable');
}
