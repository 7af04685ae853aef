import type { Ctx } from '../../platform/context.ts';
import type { Db, Queryable } from '../../platform/db/db.ts';
import { AppError, forbidden, notFound, unauthorized } from '../../platform/errors.ts';
import type { AuditLog } from '../auth/audit.ts';
import type { Access } from './access.ts';
import * as repo from './repo.ts';

export type { Role } from './repo.ts';

export interface TeamsService {
  /** Creates a team owned by `userId`; used by registration (personal team) and by users. */
  createTeam(tx: Queryable, name: string, ownerId: string, personal: boolean): Promise<repo.TeamWithRole>;
  create(ctx: Ctx, name: string): Promise<repo.TeamWithRole>;
  list(ctx: Ctx): Promise<repo.TeamWithRole[]>;
  get(ctx: Ctx, teamId: string): Promise<repo.TeamWithRole>;
  /** The team a bot lands in when the caller names none. */
  defaultTeamId(ctx: Ctx): Promise<string>;
  listMembers(ctx: Ctx, teamId: string): Promise<repo.MemberRow[]>;
  addMember(ctx: Ctx, teamId: string, email: string, role: repo.Role): Promise<repo.MemberRow>;
  setRole(ctx: Ctx, teamId: string, userId: string, role: repo.Role): Promise<repo.MemberRow>;
  removeMember(ctx: Ctx, teamId: string, userId: string): Promise<void>;
}

export function createTeamsService(deps: { db: Db; access: Access; audit: AuditLog }): TeamsService {
  const { db, access, audit } = deps;
  /** Who may act in a team is security history: every change of it goes to the audit trail. */
  const recordMembership = (
    ctx: Ctx,
    event: 'team.member_added' | 'team.role_changed' | 'team.member_removed',
    teamId: string,
    details: { member_user_id: string; role?: repo.Role; previous_role?: repo.Role },
  ) => audit.record(ctx, { event, userId: ctx.actor.kind === 'user' ? ctx.actor.userId : null, teamId, details });

  const userIdOf = (ctx: Ctx) => {
    if (ctx.actor.kind !== 'user') throw unauthorized('Team management needs a signed-in user, not an API key');
    return ctx.actor.userId;
  };

  async function member(teamId: string, userId: string): Promise<repo.MemberRow> {
    const found = (await repo.listMembers(db, teamId)).find((m) => m.user_id === userId);
    if (!found) throw notFound('Member');
    return found;
  }

  async function createTeam(tx: Queryable, name: string, ownerId: string, personal: boolean) {
    const team = await repo.insertTeam(tx, name, personal);
    await repo.upsertMember(tx, team.id, ownerId, 'owner');
    return { ...team, role: 'owner' as const };
  }

  return {
    createTeam,

    create(ctx, name) {
      const userId = userIdOf(ctx);
      return db.transaction((tx) => createTeam(tx, name, userId, false));
    },

    async list(ctx) {
      if (ctx.actor.kind === 'user') return repo.listTeamsForUser(db, ctx.actor.userId);
      if (ctx.actor.botId !== null) return [];
      const team = await repo.findTeam(db, ctx.actor.teamId);
      return team ? [{ ...team, role: 'member' }] : [];
    },

    async get(ctx, teamId) {
      const role = await access.requireTeam(ctx, teamId);
      const team = await repo.findTeam(db, teamId);
      if (!team) throw notFound('Team');
      return { ...team, role };
    },

    async defaultTeamId(ctx) {
      if (ctx.actor.kind === 'api_key') return ctx.actor.teamId;
      const team = await repo.findPersonalTeam(db, ctx.actor.userId);
      if (team) return team.id;
      const [first] = await repo.listTeamsForUser(db, ctx.actor.userId);
      if (!first)
        throw new AppError('validation_failed', 'You belong to no team; pass team_id', {
          errors: [{ field: 'team_id', message: 'required' }],
        });
      return first.id;
    },

    async listMembers(ctx, teamId) {
      await access.requireTeam(ctx, teamId);
      return repo.listMembers(db, teamId);
    },

    async addMember(ctx, teamId, email, role) {
      userIdOf(ctx);
      const myRole = await access.requireTeam(ctx, teamId, 'admin');
      if (role === 'owner' && myRole !== 'owner') throw forbidden('Only an owner can add owners');
      const userId = await repo.findUserIdByEmail(db, email);
      if (!userId) throw notFound('User');
      if (await repo.findRole(db, teamId, userId)) throw new AppError('conflict', 'Already a member of this team');
      await repo.upsertMember(db, teamId, userId, role);
      await recordMembership(ctx, 'team.member_added', teamId, { member_user_id: userId, role });
      return member(teamId, userId);
    },

    async setRole(ctx, teamId, userId, role) {
      userIdOf(ctx);
      const myRole = await access.requireTeam(ctx, teamId, 'admin');
      const current = await repo.findRole(db, teamId, userId);
      if (!current) throw notFound('Member');
      if ((role === 'owner' || current === 'owner') && myRole !== 'owner') {
        throw forbidden('Only an owner can grant or take the owner role');
      }
      await db.transaction(async (tx) => {
        await repo.upsertMember(tx, teamId, userId, role);
        if (current === 'owner' && (await repo.countOwners(tx, teamId)) === 0) {
          throw new AppError('conflict', 'A team needs at least one owner');
        }
      });
      await recordMembership(ctx, 'team.role_changed', teamId, {
        member_user_id: userId,
        role,
        previous_role: current,
      });
      return member(teamId, userId);
    },

    async removeMember(ctx, teamId, userId) {
      const me = userIdOf(ctx);
      const myRole = await access.requireTeam(ctx, teamId, me === userId ? 'member' : 'admin');
      const current = await repo.findRole(db, teamId, userId);
      if (!current) throw notFound('Member');
      if (current === 'owner' && myRole !== 'owner') throw forbidden('Only an owner can remove an owner');
      await db.transaction(async (tx) => {
        await repo.deleteMember(tx, teamId, userId);
        if (current === 'owner' && (await repo.countOwners(tx, teamId)) === 0) {
          throw new AppError('conflict', 'A team needs at least one owner');
        }
      });
      await recordMembership(ctx, 'team.member_removed', teamId, { member_user_id: userId, previous_role: current });
    },
  };
}
