import { z } from 'zod';
import { Id, IdParams, iso, Timestamp } from '../../platform/http/schemas.ts';
import { type App, type Authenticate, BEARER } from '../../platform/http/types.ts';
import type { BotRow } from './repo.ts';
import type { BotsService } from './service.ts';
import { BotSettingsSchema } from './settings.ts';

export const BotSchema = z.object({
  id: Id,
  team_id: Id,
  name: z.string(),
  description: z.string().nullable(),
  settings: z.record(z.string(), z.unknown()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const botDto = (b: BotRow) => ({
  id: b.id,
  team_id: b.team_id,
  name: b.name,
  description: b.description,
  settings: b.settings as Record<string, unknown>,
  created_at: iso(b.created_at) as string,
  updated_at: iso(b.updated_at) as string,
});

const Name = z.string().trim().min(1).max(200);
const Description = z.string().max(5000);

export function botsRoutes(app: App, deps: { bots: BotsService; authenticate: Authenticate }): void {
  const { bots, authenticate } = deps;
  const tags = ['bots'];

  app.post('/api/v1/bots', {
    schema: {
      tags,
      security: BEARER,
      body: z.object({
        name: Name,
        team_id: Id.optional(),
        description: Description.optional(),
        settings: BotSettingsSchema.optional(),
      }),
      response: { 201: BotSchema },
    },
    handler: async (req, reply) => reply.status(201).send(botDto(await bots.create(await authenticate(req), req.body))),
  });

  app.get('/api/v1/bots', {
    schema: {
      tags,
      security: BEARER,
      querystring: z.object({ team_id: Id.optional() }),
      response: { 200: z.object({ bots: z.array(BotSchema) }) },
    },
    handler: async (req) => ({ bots: (await bots.list(await authenticate(req), req.query.team_id)).map(botDto) }),
  });

  app.get('/api/v1/bots/:id', {
    schema: { tags, security: BEARER, params: IdParams, response: { 200: BotSchema } },
    handler: async (req) => botDto(await bots.get(await authenticate(req), req.params.id)),
  });

  app.patch('/api/v1/bots/:id', {
    schema: {
      tags,
      security: BEARER,
      params: IdParams,
      body: z.object({
        name: Name.optional(),
        description: Description.nullable().optional(),
        settings: BotSettingsSchema.optional(),
      }),
      response: { 200: BotSchema },
    },
    handler: async (req) => botDto(await bots.update(await authenticate(req), req.params.id, req.body)),
  });

  app.delete('/api/v1/bots/:id', {
    schema: { tags, security: BEARER, params: IdParams },
    handler: async (req, reply) => {
      await bots.remove(await authenticate(req), req.params.id);
      return reply.status(204).send();
    },
  });
}
