import type { Logger } from 'pino';
import type { Db } from '../../platform/db/db.ts';
import { AppError } from '../../platform/errors.ts';
import type { RedisClient } from '../../platform/redis.ts';

/**
 * Sessions as the user sees them — one per refresh-token family: how it started, from which
 * address and device, when it was last refreshed. They live in Redis when it is configured
 * (like the original) and in `user_sessions` otherwise.
 *
 * A session record never decides whether a token is valid: revocation is written to PostgreSQL
 * (`refresh_tokens.revoked_at`) and checked there, so losing Redis (or a record in it) can hide a
 * session from the list for a while but can never bring a revoked one back. Listing filters
 * records through PostgreSQL for the same reason.
 */
export interface SessionRecord {
  id: string;
  userId: string;
  method: 'password' | 'google';
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
}

export interface SessionStore {
  readonly kind: 'redis' | 'database';
  /** Creates or refreshes a record (sign-in, each refresh). Best effort: errors are logged. */
  save(record: SessionRecord): Promise<void>;
  /** The user's records, newest first (unfiltered: see `liveSessions`). */
  list(userId: string): Promise<SessionRecord[]>;
  /** Forgets records after their family was revoked in PostgreSQL. Best effort. */
  remove(userId: string, ids: string[]): Promise<void>;
}

export function createSessionStore(deps: {
  db: Db;
  redis: RedisClient | undefined;
  keyPrefix: string;
  log: Logger;
}): SessionStore {
  return deps.redis ? redisSessions(deps.redis, deps.keyPrefix, deps.log) : databaseSessions(deps.db, deps.log);
}

/** The records whose family is neither revoked nor expired in PostgreSQL. */
export async function liveSessions(db: Db, store: SessionStore, userId: string): Promise<SessionRecord[]> {
  const records = (await store.list(userId)).filter((s) => s.expiresAt.getTime() > Date.now());
  if (records.length === 0) return [];
  const rows = await db.query<{ family_id: string }>(
    `SELECT family_id::text FROM refresh_tokens
     WHERE user_id = $1 AND family_id::text = ANY($2::text[])
     GROUP BY family_id
     HAVING bool_and(revoked_at IS NULL) AND max(expires_at) > now()`,
    [userId, records.map((s) => s.id)],
  );
  const live = new Set(rows.map((r) => r.family_id));
  return records.filter((s) => live.has(s.id));
}

function databaseSessions(db: Db, log: Logger): SessionStore {
  return {
    kind: 'database',
    async save(s) {
      try {
        await db.query(
          `INSERT INTO user_sessions (id, user_id, method, ip, user_agent, created_at, last_used_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET ip = EXCLUDED.ip, user_agent = EXCLUDED.user_agent,
             last_used_at = EXCLUDED.last_used_at, expires_at = EXCLUDED.expires_at`,
          [s.id, s.userId, s.method, s.ip, s.userAgent, s.createdAt, s.lastUsedAt, s.expiresAt],
        );
      } catch (err) {
        log.error({ err, session_id: s.id }, 'session record not saved');
      }
    },
    async list(userId) {
      const rows = await db.query<{
        id: string;
        user_id: string;
        method: SessionRecord['method'];
        ip: string | null;
        user_agent: string | null;
        created_at: Date;
        last_used_at: Date;
        expires_at: Date;
      }>('SELECT * FROM user_sessions WHERE user_id = $1 AND expires_at > now() ORDER BY last_used_at DESC', [userId]);
      return rows.map((r) => ({
        id: r.id,
        userId: r.user_id,
        method: r.method,
        ip: r.ip,
        userAgent: r.user_agent,
        createdAt: r.created_at,
        lastUsedAt: r.last_used_at,
        expiresAt: r.expires_at,
      }));
    },
    async remove(userId, ids) {
      try {
        await db.query('DELETE FROM user_sessions WHERE user_id = $1 AND id::text = ANY($2::text[])', [userId, ids]);
      } catch (err) {
        log.error({ err }, 'session records not removed');
      }
    },
  };
}

/**
 * `<prefix>session:<id>` is a hash holding the record (expiring with it; creation time and method
 * are kept from the first save); `<prefix>user-sessions:<user>` indexes a user's sessions by expiry.
 */
function redisSessions(redis: RedisClient, prefix: string, log: Logger): SessionStore {
  const recordKey = (id: string) => `${prefix}session:${id}`;
  const indexKey = (userId: string) => `${prefix}user-sessions:${userId}`;
  return {
    kind: 'redis',
    async save(s) {
      const ttlMs = s.expiresAt.getTime() - Date.now();
      if (ttlMs <= 0) return;
      const key = recordKey(s.id);
      try {
        await redis
          .multi()
          .hset(key, {
            userId: s.userId,
            ip: s.ip ?? '',
            userAgent: s.userAgent ?? '',
            lastUsedAt: s.lastUsedAt.toISOString(),
            expiresAt: s.expiresAt.toISOString(),
          })
          .hsetnx(key, 'createdAt', s.createdAt.toISOString())
          .hsetnx(key, 'method', s.method)
          .pexpire(key, ttlMs)
          .zadd(indexKey(s.userId), s.expiresAt.getTime(), s.id)
          .zremrangebyscore(indexKey(s.userId), '-inf', Date.now())
          .pexpire(indexKey(s.userId), ttlMs)
          .exec();
      } catch (err) {
        log.error({ err, session_id: s.id }, 'session record not saved');
      }
    },
    async list(userId) {
      const records: SessionRecord[] = [];
      try {
        const ids = await redis.zrangebyscore(indexKey(userId), Date.now(), '+inf');
        // One round trip for all of them.
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hgetall(recordKey(id));
        const answers = (await pipeline.exec()) ?? [];
        for (const [i, id] of ids.entries()) {
          const [error, value] = answers[i] ?? [];
          if (error) throw error;
          const h = (value ?? {}) as Record<string, string>;
          if (!h.userId || h.userId !== userId) continue;
          records.push({
            id,
            userId,
            method: h.method === 'google' ? 'google' : 'password',
            ip: h.ip || null,
            userAgent: h.userAgent || null,
            createdAt: new Date(h.createdAt ?? h.lastUsedAt ?? 0),
            lastUsedAt: new Date(h.lastUsedAt ?? 0),
            expiresAt: new Date(h.expiresAt ?? 0),
          });
        }
      } catch (err) {
        throw new AppError('service_unavailable', 'Sessions cannot be listed right now; try again shortly', {
          cause: err,
        });
      }
      return records.sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime());
    },
    async remove(userId, ids) {
      if (ids.length === 0) return;
      try {
        await redis
          .multi()
          .del(...ids.map(recordKey))
          .zrem(indexKey(userId), ...ids)
          .exec();
      } catch (err) {
        log.error({ err }, 'session records not removed');
      }
    },
  };
}
