import type { Ctx } from '../../platform/context.ts';
import type { Db, Queryable } from '../../platform/db/db.ts';
import { forbidden, notFound } from '../../platform/errors.ts';
import type { Access } from '../teams/access.ts';
import type { TeamsService } from '../teams/service.ts';
import * as repo from './repo.ts';
import { type BotSettings, mergeSettings } from './settings.ts';

export type { BotRow } from './repo.ts';

export interface CreateBotInput {
  name: string;
  team_id?: string | undefined;
  description?: string | undefined;
  settings?: BotSettings | undefined;
}

export interface UpdateBotInput {
  name?: string | undefined;
  description?: string | null | undefined;
  settings?: BotSettings | undefined;
}

/** Called after a bot's settings change, e.g. to re-index when the embedding model changed. */
/** Runs inside the transaction that stores the new settings, so what they set off commits with them. */
export type SettingsChanged = (ctx: Ctx, before: repo.BotRow, after: repo.BotRow, tx: Queryable) => Promise<void>;

/** Checks settings against what the operator configured (e.g. the LLM provider exists). */
export type SettingsCheck = (settings: BotSettings) => void;

export interface BotsService {
  create(ctx: Ctx, input: CreateBotInput): Promise<repo.BotRow>;
  list(ctx: Ctx, teamId?: string): Promise<repo.BotRow[]>;
  get(ctx: Ctx, botId: string): Promise<repo.BotRow>;
  update(ctx: Ctx, botId: string, input: UpdateBotInput): Promise<repo.BotRow>;
  remove(ctx: Ctx, botId: string): Promise<void>;
  /** Reads a bot after the caller's access was checked elsewhere (internal use by other modules). */
  load(botId: string): Promise<repo.BotRow>;
}

export function createBotsService(deps: {
  db: Db;
  access: Access;
  teams: TeamsService;
  checkSettings?: SettingsCheck;
  onSettingsChanged?: SettingsChanged;
}): BotsService {
  const { db, access, teams } = deps;

  async function load(botId: string) {
    const bot = await repo.findBot(db, botId);
    if (!bot) throw notFound('Bot');
    return bot;
  }

  return {
    load,

    async create(ctx, input) {
      if (ctx.actor.kind === 'api_key' && ctx.actor.botId !== null) throw forbidden('A bot key cannot create bots');
      const teamId = input.team_id ?? (await teams.defaultTeamId(ctx));
      await access.requireTeam(ctx, teamId, 'member');
      const settings = input.settings ?? {};
      deps.checkSettings?.(settings);
      return repo.insertBot(db, { teamId, name: input.name, description: input.description ?? null, settings });
    },

    async list(ctx, teamId) {
      if (teamId) await access.requireTeam(ctx, teamId);
      const actor = ctx.actor;
      if (actor.kind === 'user') return repo.listBots(db, { userId: actor.userId, ...(teamId ? { teamId } : {}) });
      return repo.listBots(db, { teamId: actor.teamId, ...(actor.botId ? { botId: actor.botId } : {}) });
    },

    async get(ctx, botId) {
      return (await access.requireBot(ctx, botId, 'use')).bot;
    },

    async update(ctx, botId, input) {
      const { bot: before } = await access.requireBot(ctx, botId, 'edit');
      const settings = input.settings ? mergeSettings(before.settings, input.settings) : undefined;
      if (settings) deps.checkSettings?.(settings);
      return db.transaction(async (tx) => {
        const after = await repo.updateBot(tx, botId, { ...input, settings });
        if (settings) await deps.onSettingsChanged?.(ctx, before, after, tx);
        return after;
      });
    },

    async remove(ctx, botId) {
      await access.requireBot(ctx, botId, 'admin');
      await repo.deleteBot(db, botId);
    },
  };
}
