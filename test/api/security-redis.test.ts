import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { type BuiltApp, buildApp } from '../../src/app.ts';
import { type Environment, loadConfig } from '../../src/config.ts';
import type { Deps } from '../../src/deps.ts';
import { createDeps } from '../../src/infrastructure.ts';
import { closeRedis, createRedis, type RedisClient, redisConnected } from '../../src/platform/redis.ts';
import { signUp } from '../helpers/app.ts';
import { openTestDb, type TestDatabase, testDriver } from '../helpers/db.ts';
import { eventually } from '../helpers/multipart.ts';
import { freePort } from '../helpers/process.ts';

/**
 * Limits, lockouts and sessions with real Redis: two app instances (replicas) over one database
 * and one Redis share every count; then a Redis of our own (never the shared one) is killed and
 * restarted empty, to prove the Redis-down policy and that a revoked session stays revoked.
 */
type Replica = BuiltApp & { deps: Deps; close(): Promise<void> };

async function replica(t: TestDatabase, env: Environment): Promise<Replica> {
  const config = loadConfig({
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'silent',
    ...(t.url ? { DATABASE_URL: t.url } : {}),
    ...env,
  });
  const deps = createDeps(config, t.db, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  const built = await buildApp(deps);
  await built.app.ready();
  if (deps.redis) await redisConnected(deps.redis);
  return {
    ...built,
    deps,
    async close() {
      await built.app.close();
      if (deps.redis) await closeRedis(deps.redis);
    },
  };
}

/** A redis-server of this test's own on a spare port: no persistence, so a restart comes back empty. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
    child.stdout?.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out}`));
    });
  });
  child.removeAllListeners('exit');
  return child;
}

function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe(`limits and sessions with Redis (${testDriver})`, () => {
  let t: TestDatabase;
  let a: Replica;
  let b: Replica;
  const prefix = `snapagent-test-${randomBytes(6).toString('hex')}:`;
  let ipCounter = 0;
  const freshIp = () => `203.0.113.${++ipCounter}`;

  before(async () => {
    t = await openTestDb();
    const env = {
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: prefix,
      RATE_LIMIT_AUTH_MAX: '4',
      LOGIN_MAX_FAILURES: '2',
    };
    a = await replica(t, env);
    b = await replica(t, env);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    const cleaner = createRedis(
      { url: 'redis://127.0.0.1:6379', tls: false, tlsCaFile: undefined, keyPrefix: prefix },
      pino({ level: 'silent' }),
    );
    await redisConnected(cleaner);
    const keys = await cleaner.keys(`${prefix}*`);
    if (keys.length) await cleaner.del(...keys);
    await closeRedis(cleaner);
    await t?.close();
  });

  it('shares the sign-in limit between two replicas', async () => {
    const ip = freshIp();
    const codes = [];
    for (let i = 0; i < 5; i++) {
      const app = (i % 2 ? b : a).app;
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: 'x' },
        remoteAddress: ip,
      });
      codes.push(res.statusCode);
    }
    assert.deepEqual(codes, [401, 401, 401, 401, 429]);
  });

  it('shares login lockouts between replicas', async () => {
    const s = await signUp(a.app, 'shared-lock');
    const email = (await a.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: s.auth })).json().email;
    const ip = freshIp();
    const login = (app: Replica, password: string) =>
      app.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, remoteAddress: ip });
    assert.equal((await login(a, 'wrong one here')).statusCode, 401);
    assert.equal((await login(b, 'wrong two here')).statusCode, 401);
    const locked = await login(a, 'correct horse battery');
    assert.equal(locked.statusCode, 429);
    assert.ok(Number(locked.headers['retry-after']) > 0);
  });

  it('keeps sessions in Redis, visible from every replica, and only PostgreSQL decides revocation', async () => {
    const s = await signUp(a.app, 'redis-sessions');
    const listed = await b.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: s.auth });
    assert.equal(listed.statusCode, 200);
    const [session] = listed.json().sessions;
    assert.equal(session.current, true);
    const redis = a.deps.redis as RedisClient;
    assert.equal(await redis.exists(`${prefix}session:${session.id}`), 1);
    assert.equal((await t.db.query('SELECT 1 FROM user_sessions')).length, 0, 'not in the database when Redis is set');
    // A session record that outlived its revocation (a lost delete) is still not shown nor honoured.
    await t.db.query('UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1', [session.id]);
    assert.equal((await b.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: s.auth })).statusCode, 401);
    assert.equal(await redis.exists(`${prefix}session:${session.id}`), 1);
    const fresh = await signUp(a.app, 'redis-sessions-2');
    assert.equal(
      (await a.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: fresh.auth })).json().sessions.length,
      1,
    );
  });

  describe('when Redis goes away', () => {
    let port: number;
    let server: ChildProcess;
    let c: Replica;
    before(async () => {
      port = await freePort();
      server = await startRedis(port);
      c = await replica(t, { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_PREFIX: 'own:' });
    });
    after(async () => {
      await c?.close();
      if (server) await stopRedis(server);
    });

    it('lets signed-in reads through, refuses the rest with 503, and never revives a revoked session', async () => {
      const s = await signUp(c.app, 'outage');
      const email = (await c.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: s.auth })).json().email;
      const phone = (
        await c.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email, password: 'correct horse battery' },
        })
      ).json();
      const phoneSid = JSON.parse(Buffer.from(phone.access_token.split('.')[1], 'base64url').toString()).sid;
      assert.equal(
        (await c.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${phoneSid}`, headers: s.auth }))
          .statusCode,
        204,
      );

      await stopRedis(server);
      const redis = c.deps.redis as RedisClient;
      await eventually(async () => (redis.status === 'ready' ? undefined : true), 5_000, 'client noticing the outage');

      const call = async (
        method: 'GET' | 'POST',
        url: string,
        headers: Record<string, string> = {},
        payload?: object,
      ) => {
        const started = Date.now();
        const res = await c.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
        // A refusal does no work at all: it must never wait for Redis.
        if (res.statusCode === 503)
          assert.ok(Date.now() - started < 1500, `${method} ${url} took ${Date.now() - started} ms`);
        return res;
      };
      assert.equal((await call('GET', '/api/v1/auth/me', s.auth)).statusCode, 200, 'signed-in read: allowed');
      assert.equal(
        (await call('GET', '/api/v1/auth/me', { authorization: `Bearer ${phone.access_token}` })).statusCode,
        401,
      );
      const login = await call('POST', '/api/v1/auth/login', {}, { email, password: 'correct horse battery' });
      assert.equal(login.statusCode, 503);
      assert.equal(login.json().code, 'service_unavailable');
      assert.equal(login.headers['retry-after'], '5');
      assert.equal(
        (await call('POST', '/api/v1/auth/register', {}, { email: 'new@example.com', password: 'long enough pw' }))
          .statusCode,
        503,
      );
      assert.equal(
        (await call('POST', '/api/v1/teams', s.auth, { name: 'during outage' })).statusCode,
        503,
        'writes refused',
      );
      assert.equal((await call('GET', '/api/v1/bots')).statusCode, 503, 'anonymous refused');
      const during = await call('POST', '/api/v1/auth/refresh', {}, { refresh_token: s.refresh });
      assert.equal(during.statusCode, 200, 'sessions outlive the outage');
      const spare = (await c.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: s.auth })).statusCode;
      assert.equal(spare, 503, 'listing sessions needs Redis when they live there');
      assert.equal((await call('GET', '/health')).statusCode, 200);
      const ready = await call('GET', '/ready');
      assert.equal(ready.statusCode, 503);
      assert.ok(ready.json().failing.includes('redis'));
      assert.equal(ready.json().checks.redis.status, 'fail');

      // Redis comes back empty: nothing it forgot can bring the revoked session back.
      server = await startRedis(port);
      await redisConnected(redis, 10_000);
      assert.equal(
        (await call('GET', '/api/v1/auth/me', { authorization: `Bearer ${phone.access_token}` })).statusCode,
        401,
      );
      assert.equal(
        (await call('POST', '/api/v1/auth/refresh', {}, { refresh_token: phone.refresh_token })).statusCode,
        401,
      );
      assert.equal((await call('GET', '/ready')).json().checks.redis.status, 'ok');
      // The live session goes on, and reappears in the list at its next refresh.
      const refreshed = await call('POST', '/api/v1/auth/refresh', {}, { refresh_token: during.json().refresh_token });
      assert.equal(refreshed.statusCode, 200);
      const list = await call('GET', '/api/v1/auth/sessions', {
        authorization: `Bearer ${refreshed.json().access_token}`,
      });
      assert.deepEqual(
        list.json().sessions.map((x: { id: string; current: boolean }) => x.current),
        [true],
      );
      assert.equal(
        (await call('POST', '/api/v1/auth/login', {}, { email, password: 'correct horse battery' })).statusCode,
        200,
      );
    });
  });
});
