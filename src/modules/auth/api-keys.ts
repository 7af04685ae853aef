import type { Actor, Ctx } from '../../platform/context.ts';
import type { Db } from '../../platform/db/db.ts';
import { badRequest, notFound, unauthorized } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';
import type { Access } from '../teams/access.ts';
import type { AuditLog } from './audit.ts';
import { hashSecret, randomSecret } from './tokens.ts';

/**
 * API keys for a bot or a whole team. The key is shown once; we keep its SHA-256 and a short
 * prefix that lets people tell keys apart in lists. Revocation lives in PostgreSQL, so a key
 * once revoked never comes back whatever a cache forgets.
 *
 * Two kinds: `secret` keys (`sa_…`) are Bearer credentials for the API; `publishable` keys
 * (`pk_…`, bots only) sit in web pages and open nothing but that bot's widget routes.
 */
export const API_KEY_PREFIX = 'sa_';
export const PUBLISHABLE_KEY_PREFIX = 'pk_';
export type KeyKind = 'secret' | 'publishable';
const PREFIXES: Record<KeyKind, string> = { secret: API_KEY_PREFIX, publishable: PUBLISHABLE_KEY_PREFIX };
const PREFIX_LENGTH = API_KEY_PREFIX.length + 8;

export interface ApiKeyRow {
  id: string;
  team_id: string;
  bot_id: string | null;
  name: string | null;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export type KeyScope = { botId: string } | { teamId: string };

export interface ApiKeysService {
  create(ctx: Ctx, scope: KeyScope, name: string | undefined, kind?: KeyKind): Promise<{ row: ApiKeyRow; key: string }>;
  list(ctx: Ctx, scope: KeyScope, kind?: KeyKind): Promise<ApiKeyRow[]>;
  revoke(ctx: Ctx, scope: KeyScope, keyId: string, kind?: KeyKind): Promise<void>;
  /** The actor a presented secret key stands for, or 401. */
  resolve(key: string): Promise<Actor>;
  /** The bot-scoped actor a publishable key stands for on widget routes, or 401. */
  resolvePublishable(key: string): Promise<Extract<Actor, { kind: 'api_key' }> & { botId: string }>;
}

const COLUMNS = 'id, team_id, bot_id, name, prefix, created_at, last_used_at, revoked_at';

export function createApiKeysService(deps: { db: Db; access: Access; audit: AuditLog }): ApiKeysService {
  const { db, access, audit } = deps;

  /** Key management is for signed-in admins; returns the team and (for bot keys) the bot. */
  async function authorize(ctx: Ctx, scope: KeyScope): Promise<{ teamId: string; botId: string | null }> {
    if ('botId' in scope) {
      const { teamId } = await access.requireBot(ctx, scope.botId, 'admin');
      return { teamId, botId: scope.botId };
    }
    if (ctx.actor.kind !== 'user') throw unauthorized('Managing API keys needs a signed-in user');
    await access.requireTeam(ctx, scope.teamId, 'admin');
    return { teamId: scope.teamId, botId: null };
  }

  /**
   * A presented key of `kind` that is not revoked, stamped as used (at most one write a minute),
   * in one round trip: every request made with a key starts here.
   */
  async function findLiveKey(key: string, kind: KeyKind) {
    const rows = await db.query<{ id: string; team_id: string; bot_id: string | null }>(
      `WITH k AS (
         SELECT id, team_id, bot_id, last_used_at FROM api_keys
         WHERE key_hash = $1 AND revoked_at IS NULL AND kind = $2
       ), touched AS (
         UPDATE api_keys SET last_used_at = now() FROM k
         WHERE api_keys.id = k.id AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
       )
       SELECT id, team_id, bot_id FROM k`,
      [hashSecret(key), kind],
    );
    return rows[0];
  }

  return {
    async create(ctx, scope, name, kind = 'secret') {
      const { teamId, botId } = await authorize(ctx, scope);
      if (kind === 'publishable' && !botId) throw badRequest('Publishable keys belong to one bot');
      const key = `${PREFIXES[kind]}${randomSecret(30)}`;
      const rows = await db.query<ApiKeyRow>(
        `INSERT INTO api_keys (team_id, bot_id, name, prefix, key_hash, created_by, kind)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
        [
          teamId,
          botId,
          name ?? null,
          key.slice(0, PREFIX_LENGTH),
          hashSecret(key),
          ctx.actor.kind === 'user' ? ctx.actor.userId : null,
          kind,
        ],
      );
      await audit.record(ctx, {
        event: 'api_key.created',
        userId: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
        teamId,
        details: { key_id: rows[0]?.id, bot_id: botId, prefix: key.slice(0, PREFIX_LENGTH), kind },
      });
      return { row: rows[0] as ApiKeyRow, key };
    },

    async list(ctx, scope, kind = 'secret') {
      const { teamId, botId } = await authorize(ctx, scope);
      return db.query<ApiKeyRow>(
        `SELECT ${COLUMNS} FROM api_keys
         WHERE team_id = $1 AND bot_id IS NOT DISTINCT FROM $2 AND kind = $3 ORDER BY created_at`,
        [teamId, botId, kind],
      );
    },

    async revoke(ctx, scope, keyId, kind = 'secret') {
      const { teamId, botId } = await authorize(ctx, scope);
      if (!isUuid(keyId)) throw notFound('API key');
      const rows = await db.query(
        `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
         WHERE id = $1 AND team_id = $2 AND bot_id IS NOT DISTINCT FROM $3 AND kind = $4 RETURNING id`,
        [keyId, teamId, botId, kind],
      );
      if (rows.length === 0) throw notFound('API key');
      await audit.record(ctx, {
        event: 'api_key.revoked',
        userId: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
        teamId,
        details: { key_id: keyId, bot_id: botId },
      });
    },

    async resolve(key) {
      const row = await findLiveKey(key, 'secret');
      if (!row) throw unauthorized('Invalid or revoked API key');
      return { kind: 'api_key', keyId: row.id, teamId: row.team_id, botId: row.bot_id };
    },

    async resolvePublishable(key) {
      const row = await findLiveKey(key, 'publishable');
      if (!row?.bot_id) throw unauthorized('Invalid or revoked widget key');
      return { kind: 'api_key', keyId: row.id, teamId: row.team_id, botId: row.bot_id, publishable: true };
    },
  };
}
