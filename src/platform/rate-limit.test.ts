import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import type { Config } from '../config.ts';
import { registerProblemHandlers } from './http/problem.ts';
import { registerRateLimits } from './rate-limit.ts';
import { closeRedis, createRedis, type RedisClient, redisConnected } from './redis.ts';

/**
 * The limiter on a bare Fastify app: buckets, headers and exemptions with the in-memory store,
 * sharing through a real Redis (127.0.0.1:6379, under a test-only key prefix), and the
 * Redis-down policy with a client whose Redis is not there.
 */
const settings: Config['rateLimit'] = {
  enabled: true,
  windowSeconds: 60,
  max: 3,
  authMax: 2,
  apiKeyMax: 4,
  publicBotMax: 5,
};
const silent = pino({ level: 'silent' });

async function buildLimited(redis?: RedisClient, keyPrefix = 'test:'): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  registerProblemHandlers(app);
  await registerRateLimits(app, { settings, redis, keyPrefix });
  const ok = async () => ({ ok: true });
  app.get('/health', ok);
  app.get('/docs/static/index.html', ok);
  app.get('/items/:id', ok);
  app.post('/items', ok);
  app.get('/other', ok);
  app.get('/free', { config: { rateBucket: false } }, ok);
  app.post('/login', { config: { rateBucket: 'auth' } }, ok);
  app.post('/refresh', { config: { rateBucket: 'auth', rateLimitFailOpen: true } }, ok);
  app.get(
    '/public/:bot',
    { config: { rateBucket: 'public', rateLimitBot: (req) => (req.params as { bot: string }).bot } },
    ok,
  );
  await app.ready();
  return app;
}

let ipCounter = 0;
const freshIp = () => `198.51.100.${++ipCounter}`;

describe('rate limits (in memory)', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildLimited();
  });
  after(() => app.close());

  it('counts per IP and route, with RateLimit headers, and answers 429 problem+json with Retry-After', async () => {
    const ip = freshIp();
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({ url: `/items/${i}`, remoteAddress: ip });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['ratelimit-limit'], '3');
      remaining.push(String(res.headers['ratelimit-remaining']));
      assert.ok(Number(res.headers['ratelimit-reset']) > 0 && Number(res.headers['ratelimit-reset']) <= 60);
    }
    assert.deepEqual(remaining, ['2', '1', '0'], 'one bucket for the route, whatever the id');
    const refused = await app.inject({ url: '/items/9', remoteAddress: ip });
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(refused.json().code, 'rate_limited');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 60, `retry-after ${retryAfter}`);
    assert.equal(refused.headers['ratelimit-remaining'], '0');
    // Other routes and other addresses have their own buckets.
    assert.equal((await app.inject({ url: '/other', remoteAddress: ip })).statusCode, 200);
    assert.equal((await app.inject({ method: 'POST', url: '/items', remoteAddress: ip })).statusCode, 200);
    assert.equal((await app.inject({ url: '/items/1', remoteAddress: freshIp() })).statusCode, 200);
  });

  it('never limits probes, docs or exempt routes', async () => {
    const ip = freshIp();
    for (let i = 0; i < 6; i++) {
      for (const url of ['/health', '/docs/static/index.html', '/free']) {
        const res = await app.inject({ url, remoteAddress: ip });
        assert.equal(res.statusCode, 200, url);
        assert.equal(res.headers['ratelimit-limit'], undefined);
      }
    }
  });

  it('gives sign-in routes their stricter bucket', async () => {
    const ip = freshIp();
    const codes = [];
    for (let i = 0; i < 3; i++)
      codes.push((await app.inject({ method: 'POST', url: '/login', remoteAddress: ip })).statusCode);
    assert.deepEqual(codes, [200, 200, 429]);
  });

  it('counts an API key across routes and addresses, and caps made-up keys per address', async () => {
    const key = `sa_${randomBytes(20).toString('base64url')}`;
    const headers = { authorization: `Bearer ${key}` };
    const codes = [];
    for (let i = 0; i < 5; i++) {
      const url = i % 2 ? '/other' : `/items/${i}`;
      codes.push((await app.inject({ url, headers, remoteAddress: freshIp() })).statusCode);
    }
    assert.deepEqual(codes, [200, 200, 200, 200, 429], 'per key, not per IP or route');
    const ip = freshIp();
    const rotating = [];
    for (let i = 0; i < 5; i++) {
      const made = { authorization: `Bearer sa_${randomBytes(20).toString('base64url')}` };
      rotating.push((await app.inject({ url: '/other', headers: made, remoteAddress: ip })).statusCode);
    }
    assert.deepEqual(rotating, [200, 200, 200, 200, 429]);
  });

  it('limits public routes per bot across addresses, and per address', async () => {
    const codes = [];
    for (let i = 0; i < 6; i++)
      codes.push((await app.inject({ url: '/public/bot-a', remoteAddress: freshIp() })).statusCode);
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 429]);
    assert.equal((await app.inject({ url: '/public/bot-b', remoteAddress: freshIp() })).statusCode, 200);
    const ip = freshIp();
    const perIp = [];
    for (const bot of ['c', 'd', 'e', 'f'])
      perIp.push((await app.inject({ url: `/public/${bot}`, remoteAddress: ip })).statusCode);
    assert.deepEqual(perIp, [200, 200, 200, 429]);
  });
});

describe('rate limits in Redis', () => {
  const prefix = `snapagent-test-${randomBytes(6).toString('hex')}:`;
  let redis: RedisClient;
  let a: FastifyInstance;
  let b: FastifyInstance;
  before(async () => {
    redis = createRedis({ url: 'redis://127.0.0.1:6379', tls: false, tlsCaFile: undefined, keyPrefix: prefix }, silent);
    await redisConnected(redis);
    a = await buildLimited(redis, prefix);
    b = await buildLimited(redis, prefix);
  });
  after(async () => {
    await a.close();
    await b.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await closeRedis(redis);
  });

  it('shares one count between instances, under hashed keys that name no address or key', async () => {
    const ip = freshIp();
    const key = `sa_${randomBytes(20).toString('base64url')}`;
    const codes = [];
    for (let i = 0; i < 4; i++) {
      const app = i % 2 ? b : a;
      codes.push((await app.inject({ url: '/other', remoteAddress: ip })).statusCode);
    }
    assert.deepEqual(codes, [200, 200, 200, 429]);
    await a.inject({ url: '/other', headers: { authorization: `Bearer ${key}` }, remoteAddress: ip });
    const keys = await redis.keys(`${prefix}*`);
    assert.ok(keys.length >= 3, keys.join(', '));
    for (const k of keys) {
      assert.match(k, new RegExp(`^${prefix}rl:(route|key|keyip):[\\w-]{22}$`));
      assert.ok(!k.includes(ip) && !k.includes(key));
      assert.ok((await redis.pttl(k)) > 0, 'every counter expires');
    }
  });
});

describe('rate limits with Redis unreachable', () => {
  let redis: RedisClient;
  let app: FastifyInstance;
  before(async () => {
    // Nothing listens on port 1: every command fails at once (the client never queues).
    redis = createRedis({ url: 'redis://127.0.0.1:1', tls: false, tlsCaFile: undefined, keyPrefix: 'x:' }, silent);
    app = await buildLimited(redis);
  });
  after(async () => {
    await app.close();
    await closeRedis(redis);
  });

  it('lets credentialed reads and token refresh through, and refuses everything else with 503 + Retry-After', async () => {
    const bearer = { authorization: 'Bearer some.jwt.token' };
    const apiKey = { authorization: `Bearer sa_${randomBytes(20).toString('base64url')}` };
    const cases: [string, string, Record<string, string>, number][] = [
      ['GET', '/items/1', bearer, 200],
      ['GET', '/items/1', apiKey, 200],
      ['GET', '/items/1', {}, 503],
      ['POST', '/items', bearer, 503],
      ['POST', '/login', {}, 503],
      ['POST', '/login', bearer, 503],
      ['POST', '/refresh', {}, 200],
      ['GET', '/public/bot-a', {}, 503],
      ['GET', '/health', {}, 200],
    ];
    for (const [method, url, headers, status] of cases) {
      const started = Date.now();
      const res = await app.inject({ method: method as 'GET', url, headers, remoteAddress: freshIp() });
      assert.equal(res.statusCode, status, `${method} ${url} ${JSON.stringify(headers)}`);
      assert.ok(Date.now() - started < 1000, 'fails fast, never waits for Redis');
      if (status === 503) {
        assert.equal(res.json().code, 'service_unavailable');
        assert.equal(res.headers['retry-after'], '5');
      }
    }
  });
});
