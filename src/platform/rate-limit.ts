import { createHash } from 'node:crypto';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { AppError } from './errors.ts';
import type { RedisClient } from './redis.ts';

/**
 * Request limits, counted in Redis when it is configured (so every replica shares one count)
 * and in process memory otherwise (one replica).
 *
 * Buckets, each over `windowSeconds`:
 * - every request: per client IP and route (`max`);
 * - sign-in routes (`config: { rateBucket: 'auth' }`): per IP and route (`authMax`);
 * - a request presenting an API key: per key (`apiKeyMax`) instead of per IP and route, plus
 *   the same number per IP across all keys it presents, so made-up keys buy nothing;
 * - public routes (`rateBucket: 'public'` with `rateLimitBot`): per IP and route, and per bot
 *   (`publicBotMax`) across all IPs.
 * Answers carry IETF `RateLimit-Limit/Remaining/Reset`; a refusal is 429 with `Retry-After`.
 *
 * Redis down (a deliberate choice, documented in the README): requests that present
 * credentials and only read (GET/HEAD), and token refresh (`rateLimitFailOpen`), go through with
 * an error logged; everything else — sign-in, anonymous and public routes, writes (chat and
 * uploads cost money) — is refused with 503 and `Retry-After`, so an outage of the shared counter
 * never becomes an unlimited window.
 */
export type RateBucket = 'default' | 'auth' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's rate-limit bucket (default: per IP and route); `false` exempts the route. */
    rateBucket?: RateBucket | false;
    /** Public routes: which bot a request is for (e.g. from its publishable key); limited per bot. */
    rateLimitBot?: (request: FastifyRequest) => string | undefined;
    /** Serve this route unlimited while Redis is unreachable (its body carries an unguessable credential). */
    rateLimitFailOpen?: boolean;
    /** `false`: @fastify/cors leaves the route alone (it honours this, but does not declare it). */
    cors?: false;
  }
}

/** Probes and docs are never limited (a 429 on /ready would take a healthy replica out). */
const EXEMPT = new Set(['/health', '/ready', '/metrics', '/openapi.json']);
const RETRY_WHEN_DOWN_SECONDS = 5;

export interface RateLimitDeps {
  settings: Config['rateLimit'];
  redis: RedisClient | undefined;
  /** Namespace for Redis keys (`<prefix>rl:<bucket>:<hash>`). */
  keyPrefix: string;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
interface Check {
  limiter: Limiter;
  bucket: string;
}

export async function registerRateLimits(app: FastifyInstance, deps: RateLimitDeps): Promise<void> {
  const { settings, redis } = deps;
  // Any refusal that says when to come back (limits, login lockouts, Redis down) says it in Retry-After.
  app.addHook('onError', async (_req, reply, error) => {
    const retryAfter = error instanceof AppError ? error.extra?.retry_after : undefined;
    if (typeof retryAfter === 'number') reply.header('retry-after', retryAfter);
  });
  if (!settings.enabled) return;
  const timeWindow = settings.windowSeconds * 1000;
  await app.register(rateLimit, {
    global: false,
    skipOnError: false,
    ...(redis ? { store: redisCounterStore(redis, `${deps.keyPrefix}rl:`) } : {}),
  });

  const limiter = (max: number, key: (req: FastifyRequest) => string) =>
    app.createRateLimit({ max, timeWindow, keyGenerator: key });
  const routeKey = (req: FastifyRequest) => `${normalizeIP(req.ip)} ${req.method} ${req.routeOptions.url ?? '*'}`;
  const limiters = {
    route: limiter(settings.max, (req) => `route:${digest(routeKey(req))}`),
    auth: limiter(settings.authMax, (req) => `auth:${digest(routeKey(req))}`),
    apiKey: limiter(settings.apiKeyMax, (req) => `key:${digest(apiKeyOf(req) ?? '')}`),
    apiKeyIp: limiter(settings.apiKeyMax, (req) => `keyip:${digest(normalizeIP(req.ip))}`),
    bot: limiter(settings.publicBotMax, (req) => `bot:${digest(req.routeOptions.config.rateLimitBot?.(req) ?? '')}`),
  };

  function checksFor(req: FastifyRequest): Check[] {
    const bucket = req.routeOptions.config.rateBucket ?? 'default';
    if (bucket === 'auth') return [{ limiter: limiters.auth, bucket }];
    if (bucket === 'public') {
      const checks: Check[] = [{ limiter: limiters.route, bucket }];
      if (req.routeOptions.config.rateLimitBot?.(req)) checks.push({ limiter: limiters.bot, bucket: 'public-bot' });
      return checks;
    }
    if (apiKeyOf(req)) {
      return [
        { limiter: limiters.apiKey, bucket: 'api-key' },
        { limiter: limiters.apiKeyIp, bucket: 'api-key' },
      ];
    }
    return [{ limiter: limiters.route, bucket: 'default' }];
  }

  let lastOutageLog = 0;
  app.addHook('onRequest', async (req, reply) => {
    if (isExempt(req)) return;
    let tightest: { max: number; remaining: number; resetSeconds: number; exceeded: boolean } | undefined;
    for (const check of checksFor(req)) {
      let result: Awaited<ReturnType<Limiter>>;
      try {
        result = await check.limiter(req);
      } catch (err) {
        const open = failsOpen(req, check.bucket);
        if (Date.now() - lastOutageLog > 10_000) {
          lastOutageLog = Date.now();
          req.log.error(
            { err, bucket: check.bucket, decision: open ? 'allowed' : 'refused' },
            'rate-limit store unavailable',
          );
        }
        if (open) return;
        throw new AppError('service_unavailable', 'Request limits cannot be checked right now; try again shortly', {
          extra: { retry_after: RETRY_WHEN_DOWN_SECONDS },
        });
      }
      if (result.isAllowed) continue;
      const entry = {
        max: result.max,
        remaining: result.remaining,
        resetSeconds: result.ttlInSeconds,
        exceeded: result.isExceeded,
      };
      if (!tightest || entry.exceeded || (!tightest.exceeded && entry.remaining < tightest.remaining)) {
        tightest = entry;
      }
      if (entry.exceeded) break;
    }
    if (tightest) setHeaders(reply, tightest);
    if (tightest?.exceeded) {
      throw new AppError('rate_limited', `Too many requests; retry in ${tightest.resetSeconds} s`, {
        extra: { retry_after: tightest.resetSeconds },
      });
    }
  });
}

function setHeaders(reply: FastifyReply, limit: { max: number; remaining: number; resetSeconds: number }): void {
  reply.header('ratelimit-limit', limit.max);
  reply.header('ratelimit-remaining', limit.remaining);
  reply.header('ratelimit-reset', limit.resetSeconds);
}

function isExempt(req: FastifyRequest): boolean {
  if (req.routeOptions.config.rateBucket === false) return true;
  const url = req.routeOptions.url;
  if (url === undefined) return false;
  return EXEMPT.has(url) || url === '/docs' || url.startsWith('/docs/');
}

/** The Redis-down policy: only credentialed reads, routes marked so (token refresh) and CORS preflights go through. */
function failsOpen(req: FastifyRequest, bucket: string): boolean {
  if (req.method === 'OPTIONS' || req.routeOptions.config.rateLimitFailOpen === true) return true;
  if (bucket !== 'default' && bucket !== 'api-key') return false;
  return (req.method === 'GET' || req.method === 'HEAD') && bearerOf(req) !== undefined;
}

function bearerOf(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

/** API keys are recognised by their prefix (see modules/auth/api-keys.ts); only a hash is ever a key. */
function apiKeyOf(req: FastifyRequest): string | undefined {
  const token = bearerOf(req);
  return token?.startsWith('sa_') ? token : undefined;
}

/** Counter keys never hold raw IPs, keys or bot ids. */
function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}

const COUNT_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}
`;

type Counted = (err: Error | null, result?: { current: number; ttl: number }) => void;
type CountingClient = RedisClient & {
  snapagentCount(key: string, windowMs: number): Promise<[number, number]>;
};

/**
 * A fixed-window counter in Redis (one atomic script per request, sent by SHA). The plugin's
 * own Redis store names keys after the route it is attached to, which manual limiters do not
 * have; this one keeps keys as `<prefix><bucket>:<hash>` and heals a key that lost its expiry.
 * Routes that use the plugin's per-route `config.rateLimit` still get a key per route.
 */
function redisCounterStore(redis: RedisClient, prefix: string) {
  const client = redis as CountingClient;
  if (typeof client.snapagentCount !== 'function') {
    redis.defineCommand('snapagentCount', { numberOfKeys: 1, lua: COUNT_SCRIPT });
  }
  return class RedisCounterStore {
    readonly scope: string;

    constructor(_options?: unknown, scope = '') {
      this.scope = scope;
    }

    incr(key: string, callback: Counted, timeWindow: number): void {
      client.snapagentCount(`${prefix}${this.scope}${key}`, timeWindow).then(
        ([current, ttl]) => callback(null, { current, ttl }),
        (err: Error) => callback(err),
      );
    }

    // The plugin passes the merged route options (typed there as RouteOptions), with `routeInfo`.
    child(params: object): RedisCounterStore {
      const route = (params as { routeInfo?: { method?: string; url?: string } }).routeInfo;
      return route?.url ? new RedisCounterStore(undefined, `${route.method} ${route.url}:`) : this;
    }
  };
}
