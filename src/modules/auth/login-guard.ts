import { createHash } from 'node:crypto';
import { AppError } from '../../platform/errors.ts';
import type { RedisClient } from '../../platform/redis.ts';

/**
 * Brute-force protection for password sign-in: failed attempts are counted per email and client
 * IP; after `maxFailures` within `lockoutSeconds` that pair is refused (429 with Retry-After)
 * until the window ends, before any password is checked. A success clears the count. Counting
 * per pair (not per email alone) means an attacker cannot lock a victim out from elsewhere.
 * Counts live in Redis when configured (shared by replicas) and in memory otherwise; when Redis
 * is unreachable sign-in is refused (503), never left unguarded.
 */
export interface LoginGuard {
  /** Throws 429 while the pair is locked out. */
  check(email: string, ip: string): Promise<void>;
  /** Counts a failure; true when this failure started a lockout. */
  recordFailure(email: string, ip: string): Promise<boolean>;
  reset(email: string, ip: string): Promise<void>;
}

export interface LoginGuardSettings {
  loginMaxFailures: number;
  loginLockoutSeconds: number;
}

interface Counter {
  /** Current count and milliseconds until it resets (0 when there is none). */
  read(key: string): Promise<{ count: number; ttlMs: number }>;
  increment(key: string, windowMs: number): Promise<number>;
  clear(key: string): Promise<void>;
}

export function createLoginGuard(deps: {
  settings: LoginGuardSettings;
  redis: RedisClient | undefined;
  keyPrefix: string;
}): LoginGuard {
  const { settings } = deps;
  const windowMs = settings.loginLockoutSeconds * 1000;
  const counter = deps.redis ? redisCounter(deps.redis) : memoryCounter();
  // No emails or IPs in Redis key names: a hash of the pair.
  const keyOf = (email: string, ip: string) =>
    `${deps.keyPrefix}login-fail:${createHash('sha256').update(`${email.toLowerCase()}\n${ip}`).digest('base64url')}`;

  const guarded = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      throw new AppError('service_unavailable', 'Sign-in is briefly unavailable; try again shortly', {
        cause: err,
        extra: { retry_after: 5 },
      });
    }
  };

  return {
    async check(email, ip) {
      const { count, ttlMs } = await guarded(() => counter.read(keyOf(email, ip)));
      if (count >= settings.loginMaxFailures) {
        const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
        throw new AppError('rate_limited', `Too many failed sign-ins; try again in ${retryAfter} s`, {
          extra: { retry_after: retryAfter },
        });
      }
    },
    async recordFailure(email, ip) {
      const count = await guarded(() => counter.increment(keyOf(email, ip), windowMs));
      return count === settings.loginMaxFailures;
    },
    async reset(email, ip) {
      await guarded(() => counter.clear(keyOf(email, ip)));
    },
  };
}

const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
`;

function redisCounter(redis: RedisClient): Counter {
  return {
    async read(key) {
      const [count, ttl] = (await redis.multi().get(key).pttl(key).exec()) ?? [];
      return { count: Number(count?.[1] ?? 0), ttlMs: Math.max(0, Number(ttl?.[1] ?? 0)) };
    },
    async increment(key, windowMs) {
      // The window starts at the first failure and is not extended by later ones.
      return Number(await redis.eval(INCREMENT_SCRIPT, 1, key, windowMs));
    },
    async clear(key) {
      await redis.del(key);
    },
  };
}

/** In-process counts for a single replica; bounded so a flood of addresses cannot grow it forever. */
function memoryCounter(limit = 50_000): Counter {
  const entries = new Map<string, { count: number; resetAt: number }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && entry.resetAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    async read(key) {
      const entry = live(key);
      return entry ? { count: entry.count, ttlMs: entry.resetAt - Date.now() } : { count: 0, ttlMs: 0 };
    },
    async increment(key, windowMs) {
      const entry = live(key) ?? { count: 0, resetAt: Date.now() + windowMs };
      entry.count += 1;
      entries.delete(key);
      entries.set(key, entry);
      if (entries.size > limit) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      return entry.count;
    },
    async clear(key) {
      entries.delete(key);
    },
  };
}
