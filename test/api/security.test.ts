import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { buildTestApp, signUp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';

/**
 * Hardening through the real app (in-memory limits): security headers, CORS, body limits, login
 * lockout, sign-in rate limits, client addresses behind proxies, sessions and the audit trail.
 * Each test speaks from its own client address, so their limits never meet.
 */
describe(`security hardening (${testDriver})`, () => {
  let h: TestApp;
  let ipCounter = 0;
  const freshIp = () => `203.0.113.${++ipCounter}`;

  before(async () => {
    h = await buildTestApp({
      CORS_ORIGINS: 'https://app.example.com',
      LOGIN_MAX_FAILURES: '3',
      RATE_LIMIT_AUTH_MAX: '10',
      RATE_LIMIT_MAX: '20',
    });
  });
  after(() => h.close());

  const post = (url: string, payload: unknown, opts: { ip?: string; headers?: Record<string, string> } = {}) =>
    h.app.inject({
      method: 'POST',
      url,
      payload: payload as object,
      headers: opts.headers ?? {},
      ...(opts.ip ? { remoteAddress: opts.ip } : {}),
    });
  const auditRows = (event: string, userId?: string) =>
    h.t.db.query<{
      ip: string | null;
      user_agent: string | null;
      team_id: string | null;
      details: Record<string, unknown>;
    }>(
      `SELECT ip, user_agent, team_id::text, details FROM audit_log WHERE event = $1
         AND ($2::uuid IS NULL OR actor_user_id = $2::uuid) ORDER BY id`,
      [event, userId ?? null],
    );

  it('sends security headers, with a strict CSP for the API and a working one for /docs', async () => {
    const api = await h.app.inject({ method: 'GET', url: '/api/v1/auth/me' });
    assert.match(String(api.headers['content-security-policy']), /default-src 'none'.*frame-ancestors 'none'/);
    assert.equal(api.headers['x-content-type-options'], 'nosniff');
    assert.match(String(api.headers['strict-transport-security']), /max-age=\d+/);
    assert.equal(api.headers['referrer-policy'], 'no-referrer');
    assert.equal(api.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(api.headers['x-powered-by'], undefined);
    const docs = await h.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(String(docs.headers['content-security-policy']), /script-src 'self'/);
    const initializer = await h.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    assert.equal(initializer.statusCode, 200);
  });

  it('allows cross-origin calls only from configured origins, exposing the limit headers', async () => {
    const preflight = (origin: string) =>
      h.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/auth/me',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
    const allowed = await preflight('https://app.example.com');
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
    const foreign = await preflight('https://evil.example.com');
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
    const simple = await h.app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://app.example.com' },
    });
    assert.match(String(simple.headers['access-control-expose-headers']), /retry-after.*ratelimit-remaining/);
  });

  it('caps request bodies on sign-in routes at 16 KB', async () => {
    const big = { email: 'big@example.com', password: 'x'.repeat(17 * 1024) };
    const res = await post('/api/v1/auth/login', big, { ip: freshIp() });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().code, 'payload_too_large');
    // The general limit (1 MB) still applies elsewhere: the same body only fails validation there.
    const s = await signUp(h.app, 'body');
    const teams = await post('/api/v1/teams', { name: 'x'.repeat(17 * 1024) }, { headers: s.auth });
    assert.equal(teams.statusCode, 400);
  });

  it('locks out an email from an address after repeated wrong passwords (429 + Retry-After), not elsewhere', async () => {
    const s = await signUp(h.app, 'brute');
    const me = (await h.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: s.auth })).json();
    const attacker = freshIp();
    const tries = [];
    for (let i = 0; i < 3; i++) {
      tries.push(
        (await post('/api/v1/auth/login', { email: me.email, password: `guess ${i} guess` }, { ip: attacker }))
          .statusCode,
      );
    }
    assert.deepEqual(tries, [401, 401, 401]);
    const locked = await post(
      '/api/v1/auth/login',
      { email: me.email, password: 'correct horse battery' },
      { ip: attacker },
    );
    assert.equal(locked.statusCode, 429, 'even the right password waits out the lockout');
    assert.equal(locked.json().code, 'rate_limited');
    const retryAfter = Number(locked.headers['retry-after']);
    assert.ok(retryAfter > 800 && retryAfter <= 900, `retry-after ${retryAfter}`);
    // The owner, elsewhere, is not locked out.
    const owner = await post(
      '/api/v1/auth/login',
      { email: me.email, password: 'correct horse battery' },
      { ip: freshIp() },
    );
    assert.equal(owner.statusCode, 200);
    const failed = await auditRows('auth.login_failed', s.userId);
    assert.equal(failed.length, 3);
    assert.equal(failed[0]?.ip, attacker);
    assert.equal((await auditRows('auth.locked_out', s.userId)).length, 1);
  });

  it('limits sign-in routes per address, counting the client behind a trusted proxy, not a spoofed header', async () => {
    const client = freshIp();
    const codes = [];
    for (let i = 0; i < 11; i++) {
      // An untrusted client making up X-Forwarded-For on every request still has one bucket.
      const res = await post(
        '/api/v1/auth/refresh',
        { refresh_token: 'nope' },
        { ip: client, headers: { 'x-forwarded-for': `198.18.0.${i}` } },
      );
      codes.push(res.statusCode);
      if (i === 0) assert.equal(res.headers['ratelimit-limit'], '10');
    }
    assert.deepEqual(codes, [...Array(10).fill(401), 429]);
    // Behind a proxy on the private network, each client it names has its own bucket.
    const viaProxy = (forwarded: string) =>
      post(
        '/api/v1/auth/refresh',
        { refresh_token: 'nope' },
        { ip: '10.0.0.5', headers: { 'x-forwarded-for': forwarded } },
      );
    for (let i = 0; i < 10; i++) await viaProxy('192.0.2.10');
    assert.equal((await viaProxy('192.0.2.10')).statusCode, 429);
    assert.equal((await viaProxy('192.0.2.11')).statusCode, 401);
  });

  it('never limits /health and /ready', async () => {
    const ip = freshIp();
    for (let i = 0; i < 25; i++) {
      for (const url of ['/health', '/ready']) {
        const res = await h.app.inject({ method: 'GET', url, remoteAddress: ip });
        assert.ok(res.statusCode !== 429, `${url} limited`);
        assert.equal(res.headers['ratelimit-limit'], undefined);
      }
    }
  });

  it('lists sessions and signs one out, or all, at once', async () => {
    const first = await signUp(h.app, 'sessions');
    const email = (await h.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: first.auth })).json().email;
    const second = (
      await post(
        '/api/v1/auth/login',
        { email, password: 'correct horse battery' },
        { ip: freshIp(), headers: { 'user-agent': 'Phone/1.0' } },
      )
    ).json();
    const list = await h.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: first.auth });
    assert.equal(list.statusCode, 200);
    const sessions = list.json().sessions as {
      id: string;
      current: boolean;
      user_agent: string | null;
      method: string;
    }[];
    assert.equal(sessions.length, 2);
    assert.equal(sessions.filter((x) => x.current).length, 1);
    const phone = sessions.find((x) => x.user_agent === 'Phone/1.0');
    assert.ok(phone && !phone.current && phone.method === 'password');

    // Someone else cannot see or end it.
    const stranger = await signUp(h.app, 'stranger');
    const foreign = await h.app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/sessions/${phone.id}`,
      headers: stranger.auth,
    });
    assert.equal(foreign.statusCode, 404);
    const malformed = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/auth/sessions/not-an-id',
      headers: first.auth,
    });
    assert.equal(malformed.statusCode, 404, 'an id that is not one is as unknown as a missing one');

    const revoke = await h.app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/sessions/${phone.id}`,
      headers: first.auth,
    });
    assert.equal(revoke.statusCode, 204);
    const phoneMe = await h.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${second.access_token}` },
    });
    assert.equal(phoneMe.statusCode, 401);
    assert.equal((await post('/api/v1/auth/refresh', { refresh_token: second.refresh_token })).statusCode, 401);
    const after1 = await h.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: first.auth });
    assert.deepEqual(
      after1.json().sessions.map((x: { current: boolean }) => x.current),
      [true],
    );

    const all = await h.app.inject({ method: 'DELETE', url: '/api/v1/auth/sessions', headers: first.auth });
    assert.equal(all.json().revoked, 1);
    assert.equal((await h.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: first.auth })).statusCode, 401);
    assert.equal((await auditRows('auth.session_revoked', first.userId)).length, 2);
  });

  it('records API key creation and revocation, refresh reuse and sign-out in the audit log', async () => {
    const s = await signUp(h.app, 'audited');
    const created = await h.app.inject({
      method: 'POST',
      url: `/api/v1/teams/${s.teamId}/api-keys`,
      headers: { ...s.auth, 'user-agent': 'audit-test/1' },
      payload: { name: 'ci' },
      remoteAddress: '192.0.2.99',
    });
    assert.equal(created.statusCode, 201);
    const key = created.json();
    await h.app.inject({ method: 'DELETE', url: `/api/v1/teams/${s.teamId}/api-keys/${key.id}`, headers: s.auth });
    const [made] = await auditRows('api_key.created', s.userId);
    assert.equal(made?.team_id, s.teamId);
    assert.equal(made?.ip, '192.0.2.99');
    assert.equal(made?.user_agent, 'audit-test/1');
    assert.equal(made?.details.key_id, key.id);
    assert.ok(!JSON.stringify(made).includes(key.key), 'the key itself is never recorded');
    assert.equal((await auditRows('api_key.revoked', s.userId))[0]?.details.key_id, key.id);

    const rotated = (await post('/api/v1/auth/refresh', { refresh_token: s.refresh })).json();
    assert.equal((await post('/api/v1/auth/refresh', { refresh_token: s.refresh })).json().code, 'token_reused');
    assert.equal((await auditRows('auth.refresh_reuse', s.userId)).length, 1);
    const again = await signUp(h.app, 'audited-out');
    await post('/api/v1/auth/logout', { refresh_token: again.refresh });
    assert.equal((await auditRows('auth.logout', again.userId)).length, 1);
    assert.equal((await auditRows('auth.registered', again.userId)).length, 1);
    assert.ok(rotated.access_token);
  });

  it('refuses access tokens with a wrong issuer, audience or algorithm over HTTP', async () => {
    const s = await signUp(h.app, 'claims');
    const [header, payload] = s.token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    const key = new TextEncoder().encode(h.config.auth.jwtSecret);
    const forge = (alg: 'HS256' | 'HS512', iss: string, aud: string) =>
      new SignJWT({ typ: 'access', sid: payload.sid })
        .setProtectedHeader({ alg, kid: header.kid })
        .setSubject(s.userId)
        .setIssuer(iss)
        .setAudience(aud)
        .setExpirationTime('5m')
        .sign(key);
    const me = async (token: string) =>
      (await h.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } }))
        .statusCode;
    assert.equal(
      await me(await forge('HS256', 'snapagent', 'snapagent-api')),
      200,
      'control: a well-formed token works',
    );
    assert.equal(await me(await forge('HS256', 'another-issuer', 'snapagent-api')), 401);
    assert.equal(await me(await forge('HS256', 'snapagent', 'another-api')), 401);
    assert.equal(await me(await forge('HS512', 'snapagent', 'snapagent-api')), 401);
  });

  it('treats two refreshes racing with one token as reuse: one wins, the session ends', async () => {
    const s = await signUp(h.app, 'race');
    const answers = await Promise.all([
      post('/api/v1/auth/refresh', { refresh_token: s.refresh }),
      post('/api/v1/auth/refresh', { refresh_token: s.refresh }),
    ]);
    const codes = answers.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [200, 401]);
    const winner = answers.find((r) => r.statusCode === 200)?.json();
    assert.equal(answers.find((r) => r.statusCode === 401)?.json().code, 'token_reused');
    assert.equal((await post('/api/v1/auth/refresh', { refresh_token: winner.refresh_token })).statusCode, 401);
  });

  it('answers 404 for Google sign-in when it is not configured', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/auth/login/google' });
    assert.equal(res.statusCode, 404);
    assert.match(res.json().detail, /not configured/);
  });
});
