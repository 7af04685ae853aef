import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { AppError } from '../../platform/errors.ts';
import { closeRedis, createRedis, type RedisClient, redisConnected } from '../../platform/redis.ts';
import { createLoginGuard, type LoginGuard } from './login-guard.ts';

const settings = { loginMaxFailures: 3, loginLockoutSeconds: 60 };
const silent = pino({ level: 'silent' });
const isCode = (code: string) => (err: unknown) => err instanceof AppError && err.code === code;

function behavesAsAGuard(make: () => LoginGuard) {
  it('locks an email+IP pair out after N failures, with a Retry-After, and only that pair', async () => {
    const guard = make();
    const email = `victim-${randomBytes(4).toString('hex')}@example.com`;
    const started: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      await guard.check(email, '203.0.113.1');
      started.push(await guard.recordFailure(email, '203.0.113.1'));
    }
    assert.deepEqual(started, [false, false, true], 'the third failure starts the lockout');
    await assert.rejects(guard.check(email.toUpperCase(), '203.0.113.1'), (err: unknown) => {
      assert.ok(err instanceof AppError && err.code === 'rate_limited' && err.status === 429);
      const retry = err.extra?.retry_after as number;
      assert.ok(retry > 0 && retry <= 60, `retry_after ${retry}`);
      return true;
    });
    await guard.check(email, '203.0.113.2');
    await guard.check(`other-${email}`, '203.0.113.1');
  });

  it('forgets failures after a success', async () => {
    const guard = make();
    const email = `forgetful-${randomBytes(4).toString('hex')}@example.com`;
    await guard.recordFailure(email, '203.0.113.9');
    await guard.recordFailure(email, '203.0.113.9');
    await guard.reset(email, '203.0.113.9');
    await guard.recordFailure(email, '203.0.113.9');
    await guard.recordFailure(email, '203.0.113.9');
    await guard.check(email, '203.0.113.9');
  });
}

describe('login guard (in memory)', () => {
  behavesAsAGuard(() => createLoginGuard({ settings, redis: undefined, keyPrefix: 'x:' }));
});

describe('login guard (Redis)', () => {
  const prefix = `snapagent-test-${randomBytes(6).toString('hex')}:`;
  let redis: RedisClient;
  before(async () => {
    redis = createRedis({ url: 'redis://127.0.0.1:6379', tls: false, tlsCaFile: undefined, keyPrefix: prefix }, silent);
    await redisConnected(redis);
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await closeRedis(redis);
  });
  behavesAsAGuard(() => createLoginGuard({ settings, redis, keyPrefix: prefix }));

  it('keeps no email or address in key names, and every count expires', async () => {
    const guard = createLoginGuard({ settings, redis, keyPrefix: prefix });
    await guard.recordFailure('private@example.com', '203.0.113.77');
    const keys = await redis.keys(`${prefix}login-fail:*`);
    assert.ok(keys.length > 0);
    for (const k of keys) {
      assert.ok(!k.includes('private') && !k.includes('203.0.113.77'), k);
      assert.ok((await redis.pttl(k)) > 0);
    }
  });

  it('refuses sign-in (503) instead of going unguarded when Redis is unreachable', async () => {
    const down = createRedis({ url: 'redis://127.0.0.1:1', tls: false, tlsCaFile: undefined, keyPrefix: 'x:' }, silent);
    try {
      const guard = createLoginGuard({ settings, redis: down, keyPrefix: 'x:' });
      await assert.rejects(guard.check('a@example.com', '203.0.113.5'), isCode('service_unavailable'));
      await assert.rejects(guard.recordFailure('a@example.com', '203.0.113.5'), isCode('service_unavailable'));
    } finally {
      await closeRedis(down);
    }
  });
});
