import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Ctx } from '../../platform/context.ts';
import { unauthorized } from '../../platform/errors.ts';
import { Email, Id, iso, Timestamp } from '../../platform/http/schemas.ts';
import { type App, type Authenticate, BEARER } from '../../platform/http/types.ts';
import type { TeamsService } from '../teams/service.ts';
import type { ApiKeyRow, ApiKeysService, KeyScope } from './api-keys.ts';
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
  return async (request: FastifyRequest): Promise<Ctx> => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match?.[1]) throw unauthorized('Send Authorization: Bearer <access token or API key>');
    const actor = await auth.resolveBearer(match[1]);
    return { actor, requestId: request.id, log: request.log };
  };
}

export function authRoutes(
  app: App,
  deps: { auth: AuthService; apiKeys: ApiKeysService; teams: TeamsService; authenticate: Authenticate },
): void {
  const { auth, apiKeys, teams, authenticate } = deps;
  const tags = ['auth'];

  app.post('/api/v1/auth/register', {
    schema: {
      tags,
      body: z.object({ email: Email, password: Password, name: z.string().trim().min(1).max(200).optional() }),
      response: { 201: TokenPairSchema },
    },
    handler: async (req, reply) => reply.status(201).send(pairDto(await auth.register(req.body, req.log))),
  });

  app.post('/api/v1/auth/login', {
    schema: {
      tags,
      body: z.object({ email: Email, password: z.string().min(1).max(256) }),
      response: { 200: TokenPairSchema },
    },
    handler: async (req) => pairDto(await auth.login(req.body, req.log)),
  });

  app.post('/api/v1/auth/refresh', {
    schema: { tags, body: z.object({ refresh_token: z.string().min(1).max(512) }), response: { 200: TokenPairSchema } },
    handler: async (req) => pairDto(await auth.refresh(req.body.refresh_token, req.log)),
  });

  app.post('/api/v1/auth/logout', {
    schema: { tags, body: z.object({ refresh_token: z.string().min(1).max(512) }) },
    handler: async (req, reply) => {
      await auth.logout(req.body.refresh_token);
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

  const keyRoutes = (owner: 'bots' | 'teams', scopeOf: (id: string) => KeyScope) => {
    const Params = z.object({ id: z.string().max(64) });
    app.post(`/api/v1/${owner}/:id/api-keys`, {
      schema: {
        tags: ['api-keys'],
        security: BEARER,
        params: Params,
        body: z.object({ name: z.string().trim().max(200).optional() }).nullish(),
        response: { 201: ApiKeySchema.extend({ key: z.string().describe('Shown once; store it now') }) },
      },
      handler: async (req, reply) => {
        const { row, key } = await apiKeys.create(await authenticate(req), scopeOf(req.params.id), req.body?.name);
        return reply.status(201).send({ ...keyDto(row), key });
      },
    });
    app.get(`/api/v1/${owner}/:id/api-keys`, {
      schema: {
        tags: ['api-keys'],
        security: BEARER,
        params: Params,
        response: { 200: z.object({ api_keys: z.array(ApiKeySchema) }) },
      },
      handler: async (req) => ({
        api_keys: (await apiKeys.list(await authenticate(req), scopeOf(req.params.id))).map(keyDto),
      }),
    });
    app.delete(`/api/v1/${owner}/:id/api-keys/:keyId`, {
      schema: {
        tags: ['api-keys'],
        security: BEARER,
        params: z.object({ id: z.string().max(64), keyId: z.string().max(64) }),
      },
      handler: async (req, reply) => {
        await apiKeys.revoke(await authenticate(req), scopeOf(req.params.id), req.params.keyId);
        return reply.status(204).send();
      },
    });
  };
  keyRoutes('bots', (id) => ({ botId: id }));
  keyRoutes('teams', (id) => ({ teamId: id }));
}
