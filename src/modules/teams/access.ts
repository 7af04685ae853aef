import type { Ctx } from '../../platform/context.ts';
import type { Queryable } from '../../platform/db/db.ts';
import { AppError, forbidden, notFound } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';
import type { BotRow } from '../bots/repo.ts';
import { findBotWithRole, findRole, type Role } from './repo.ts';

/**
 * The one place that decides who may touch a team or a bot. Anything the caller cannot see
 * answers 404, exactly like an id that does not exist, so foreign ids reveal nothing; a visible
 * thing the caller may not change answers 403.
 *
 * - users act through their team role: member < admin < owner;
 * - a team API key acts as a member of its team;
 * - a bot API key acts as a member of its team, for that one bot only.
 */
export type BotAction = 'use' | 'edit' | 'admin';

const RANK: Record<Role, number> = { member: 1, admin: 2, owner: 3 };
const NEEDS: Record<BotAction, Role> = { use: 'member', edit: 'member', admin: 'admin' };

export interface Access {
  /** The caller's role in the team, or 404. Requires at least `min` (403 otherwise). */
  requireTeam(ctx: Ctx, teamId: string, min?: Role): Promise<Role>;
  /**
   * Returns the bot (and its team id) when the caller may perform `action` on it, else 404 naming
   * `notFoundAs` (default "Bot"): the bot of a session or document the caller may not see must
   * answer like a missing session or document.
   */
  requireBot(
    ctx: Ctx,
    botId: string,
    action: BotAction,
    options?: { notFoundAs?: string },
  ): Promise<{ teamId: string; role: Role; bot: BotRow }>;
}

export function createAccess(db: Queryable): Access {
  async function roleIn(ctx: Ctx, teamId: string, botId: string | undefined): Promise<Role | undefined> {
    const actor = ctx.actor;
    if (actor.kind === 'user') return findRole(db, teamId, actor.userId);
    if (actor.teamId !== teamId) return undefined;
    if (actor.botId !== null && actor.botId !== botId) return undefined;
    return 'member';
  }

  return {
    async requireTeam(ctx, teamId, min = 'member') {
      await ctx.sessionCheck?.run();
      if (!isUuid(teamId)) throw notFound('Team');
      // A bot key speaks for one bot, never for its whole team.
      const role =
        ctx.actor.kind === 'api_key' && ctx.actor.botId !== null ? undefined : await roleIn(ctx, teamId, undefined);
      if (!role) throw notFound('Team');
      if (RANK[role] < RANK[min]) throw forbidden(`This needs the ${min} role in the team`);
      return role;
    },

    async requireBot(ctx, botId, action, options = {}) {
      const missing = () => notFound(options.notFoundAs ?? 'Bot');
      if (!isUuid(botId)) {
        await ctx.sessionCheck?.run();
        throw missing();
      }
      // Every bot route starts here: one statement finds the bot and the caller's role in its team
      // (and answers a session check still owed).
      const actor = ctx.actor;
      const found = await findBotWithRole(
        db,
        botId,
        actor.kind === 'user' ? actor.userId : undefined,
        ctx.sessionCheck?.familyId,
      );
      ctx.sessionCheck?.settle(found.sessionEnded);
      const bot = found.bot;
      const role = !bot ? undefined : actor.kind === 'user' ? found.role : await roleIn(ctx, bot.team_id, botId);
      if (!bot || !role) throw missing();
      if (action === 'admin' && ctx.actor.kind === 'api_key') {
        throw new AppError('forbidden', 'API keys cannot manage bots or keys; sign in as a team admin');
      }
      if (RANK[role] < RANK[NEEDS[action]]) throw forbidden(`This needs the ${NEEDS[action]} role in the bot's team`);
      return { teamId: bot.team_id, role, bot };
    },
  };
}
