import { z } from 'zod';
import { Email, Id, iso, Timestamp } from '../../platform/http/schemas.ts';
import { type App, type Authenticate, BEARER } from '../../platform/http/types.ts';
import type { MemberRow, TeamWithRole } from './repo.ts';
import type { TeamsService } from './service.ts';

const RoleSchema = z.enum(['owner', 'admin', 'member']);
const TeamSchema = z.object({
  id: Id,
  name: z.string(),
  personal: z.boolean(),
  role: RoleSchema,
  created_at: Timestamp,
});
const MemberSchema = z.object({
  user_id: Id,
  email: z.string(),
  name: z.string().nullable(),
  role: RoleSchema,
  created_at: Timestamp,
});
const TeamParams = z.object({ id: z.string().max(64) });
const MemberParams = z.object({ id: z.string().max(64), userId: z.string().max(64) });

const teamDto = (t: TeamWithRole) => ({
  id: t.id,
  name: t.name,
  personal: t.personal,
  role: t.role,
  created_at: iso(t.created_at) as string,
});
const memberDto = (m: MemberRow) => ({ ...m, created_at: iso(m.created_at) as string });

export function teamsRoutes(app: App, deps: { teams: TeamsService; authenticate: Authenticate }): void {
  const { teams, authenticate } = deps;
  const tags = ['teams'];

  app.post('/api/v1/teams', {
    schema: {
      tags,
      security: BEARER,
      body: z.object({ name: z.string().trim().min(1).max(200) }),
      response: { 201: TeamSchema },
    },
    handler: async (req, reply) =>
      reply.status(201).send(teamDto(await teams.create(await authenticate(req), req.body.name))),
  });

  app.get('/api/v1/teams', {
    schema: { tags, security: BEARER, response: { 200: z.object({ teams: z.array(TeamSchema) }) } },
    handler: async (req) => ({ teams: (await teams.list(await authenticate(req))).map(teamDto) }),
  });

  app.get('/api/v1/teams/:id', {
    schema: { tags, security: BEARER, params: TeamParams, response: { 200: TeamSchema } },
    handler: async (req) => teamDto(await teams.get(await authenticate(req), req.params.id)),
  });

  app.get('/api/v1/teams/:id/members', {
    schema: {
      tags,
      security: BEARER,
      params: TeamParams,
      response: { 200: z.object({ members: z.array(MemberSchema) }) },
    },
    handler: async (req) => ({
      members: (await teams.listMembers(await authenticate(req), req.params.id)).map(memberDto),
    }),
  });

  app.post('/api/v1/teams/:id/members', {
    schema: {
      tags,
      security: BEARER,
      params: TeamParams,
      body: z.object({ email: Email, role: RoleSchema.default('member') }),
      response: { 201: MemberSchema },
    },
    handler: async (req, reply) => {
      const member = await teams.addMember(await authenticate(req), req.params.id, req.body.email, req.body.role);
      return reply.status(201).send(memberDto(member));
    },
  });

  app.patch('/api/v1/teams/:id/members/:userId', {
    schema: {
      tags,
      security: BEARER,
      params: MemberParams,
      body: z.object({ role: RoleSchema }),
      response: { 200: MemberSchema },
    },
    handler: async (req) =>
      memberDto(await teams.setRole(await authenticate(req), req.params.id, req.params.userId, req.body.role)),
  });

  app.delete('/api/v1/teams/:id/members/:userId', {
    schema: { tags, security: BEARER, params: MemberParams },
    handler: async (req, reply) => {
      await teams.removeMember(await authenticate(req), req.params.id, req.params.userId);
      return reply.status(204).send();
    },
  });
}
