import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { buildTestApp, signUp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';

describe(`auth (${testDriver})`, () => {
  let h: TestApp;
  before(async () => {
    h = await buildTestApp();
  });
  after(() => h.close());

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'POST', url, payload: payload as object, headers });

  it('registers with the contract shape, makes a personal team, rejects a duplicate email', async () => {
    const res = await post('/api/v1/auth/register', {
      email: 'Ada@Example.com',
      password: 'a long password',
      name: 'Ada',
    });
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.expires_in, 900);
    assert.equal(typeof body.access_token, 'string');
    assert.equal(typeof body.refresh_token, 'string');
    assert.equal(body.user.email, 'Ada@Example.com');
    assert.equal(typeof body.user.id, 'string');

    const me = await h.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().teams.length, 1);
    assert.equal(me.json().teams[0].personal, true);
    assert.equal(me.json().teams[0].role, 'owner');

    const dup = await post('/api/v1/auth/register', { email: 'ada@example.com', password: 'another password' });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(dup.json().code, 'email_taken');
  });

  it('logs in, and refuses wrong credentials with problem+json', async () => {
    const ok = await post('/api/v1/auth/login', { email: 'ada@example.com', password: 'a long password' });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().user.email, 'Ada@Example.com');
    const wrong = await post('/api/v1/auth/login', { email: 'ada@example.com', password: 'nope nope nope' });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().code, 'invalid_credentials');
    const nobody = await post('/api/v1/auth/login', { email: 'nobody@example.com', password: 'whatever1' });
    assert.equal(nobody.statusCode, 401);
    assert.equal(nobody.json().detail, wrong.json().detail, 'unknown email and wrong password look the same');
  });

  it('validation errors name the field', async () => {
    const res = await post('/api/v1/auth/register', { email: 'not-an-email', password: 'short' });
    assert.equal(res.statusCode, 400);
    const fields = res
      .json()
      .errors.map((e: { field: string }) => e.field)
      .sort();
    assert.deepEqual(fields, ['email', 'password']);
    assert.ok(res.json().request_id);
  });

  it('rotates refresh tokens and revokes the family when an old one is reused', async () => {
    const s = await signUp(h.app, 'rot');
    const r1 = await post('/api/v1/auth/refresh', { refresh_token: s.refresh });
    assert.equal(r1.statusCode, 200);
    const second = r1.json();
    assert.notEqual(second.refresh_token, s.refresh);

    const reuse = await post('/api/v1/auth/refresh', { refresh_token: s.refresh });
    assert.equal(reuse.statusCode, 401);
    assert.equal(reuse.json().code, 'token_reused');
    // The thief's reuse ended the lineage: the legitimate newer token is dead too, and so is its access token.
    const after = await post('/api/v1/auth/refresh', { refresh_token: second.refresh_token });
    assert.equal(after.statusCode, 401);
    const me = await h.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${second.access_token}` },
    });
    assert.equal(me.statusCode, 401);
  });

  it('logout ends the session', async () => {
    const s = await signUp(h.app, 'out');
    const bot = (
      await h.app.inject({ method: 'POST', url: '/api/v1/bots', headers: s.auth, payload: { name: 'Mine' } })
    ).json().id as string;
    const out = await post('/api/v1/auth/logout', { refresh_token: s.refresh });
    assert.equal(out.statusCode, 204);
    assert.equal((await post('/api/v1/auth/refresh', { refresh_token: s.refresh })).statusCode, 401);
    const me = await h.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: s.auth });
    assert.equal(me.statusCode, 401);
    // Chat and search answer the session check inside their access query: refused all the same,
    // also for a bot that does not exist or an id that is not one (401 comes before 404).
    for (const [url, payload] of [
      ['/api/v1/chat', { message: 'hello', bot_id: bot }],
      ['/api/v1/search', { query: 'hello', bot_id: bot }],
      ['/api/v1/chat', { message: 'hello', bot_id: randomUUID() }],
      ['/api/v1/search', { query: 'hello', bot_id: randomUUID() }],
    ] as const) {
      const res = await h.app.inject({ method: 'POST', url, headers: s.auth, payload });
      assert.equal(res.statusCode, 401, url);
      assert.equal(res.json().code, 'token_invalid', url);
    }
    assert.equal((await h.app.inject({ method: 'GET', url: `/api/v1/bots/${bot}`, headers: s.auth })).statusCode, 401);
  });

  it('rejects forged, expired, alg:none and foreign-audience access tokens', async () => {
    const s = await signUp(h.app, 'forge');
    const secret = new TextEncoder().encode(h.config.auth.jwtSecret);
    const claims = { typ: 'access' };
    const expired = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(s.userId)
      .setIssuer('snapagent')
      .setAudience('snapagent-api')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(secret);
    const wrongKey = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(s.userId)
      .setIssuer('snapagent')
      .setAudience('snapagent-api')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('another secret entirely'));
    const [header, payload] = s.token.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload as string, 'base64url').toString()), sub: '00000000-0000-0000-0000-000000000000' })).toString('base64url')}.${s.token.split('.')[2]}`;
    for (const token of [expired, wrongKey, none, tampered, 'garbage']) {
      const res = await h.app.inject({
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.statusCode, 401, token);
      assert.match(res.json().code, /^token_(invalid|expired)$/);
    }
    const missing = await h.app.inject({ method: 'GET', url: '/api/v1/auth/me' });
    assert.equal(missing.statusCode, 401);
    assert.equal(missing.json().code, 'unauthorized');
  });
});
