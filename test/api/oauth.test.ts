import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAuditLog } from '../../src/modules/auth/audit.ts';
import { createGoogleSignIn, type GoogleSettings } from '../../src/modules/auth/google.ts';
import type { AppError } from '../../src/platform/errors.ts';
import {
  type FakeOidcProvider,
  type FakeUser,
  startFakeOidcProvider,
  type TokenScript,
} from '../fakes/oidc-provider.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';

/**
 * Google sign-in end to end against a fake OpenID provider on 127.0.0.1 with real discovery,
 * JWKS and RS256-signed ID tokens: the happy path, account linking, and every way a sign-in must
 * fail (replayed or foreign state, wrong nonce/issuer/audience, expired or forged ID token,
 * algorithm confusion, unverified email, denied consent, provider down) — with no account made.
 */
const FRONTEND = 'http://frontend.test/app';
const PUBLIC = 'http://api.test';

describe(`Google sign-in (${testDriver})`, () => {
  let h: TestApp;
  let idp: FakeOidcProvider;
  let n = 0;
  const person = (verified = true): FakeUser => {
    n += 1;
    return {
      sub: `g-${n}-${Date.now()}`,
      email: `person${n}-${Date.now()}@gmail.test`,
      emailVerified: verified,
      name: `P ${n}`,
    };
  };

  before(async () => {
    idp = await startFakeOidcProvider();
    h = await buildTestApp({
      GOOGLE_CLIENT_ID: idp.clientId,
      GOOGLE_CLIENT_SECRET: idp.clientSecret,
      GOOGLE_ISSUER_URL: idp.issuer,
      PUBLIC_URL: PUBLIC,
      FRONTEND_URL: FRONTEND,
      RATE_LIMIT_AUTH_MAX: '1000',
    });
  });
  after(async () => {
    await h.close();
    await idp.close();
  });

  /** Starts sign-in in "the browser", consents at the provider, returns the callback to inject. */
  async function begin(user: FakeUser | 'deny') {
    const start = await h.app.inject({ method: 'GET', url: '/api/v1/auth/login/google' });
    assert.equal(start.statusCode, 302, start.body);
    const setCookie = String(start.headers['set-cookie']);
    const cookie = setCookie.split(';')[0] as string;
    const back = await idp.consent(start.headers.location as string, user);
    return { start, setCookie, cookie, callback: `${back.pathname}${back.search}`, back };
  }

  const finish = (callback: string, cookie?: string) =>
    h.app.inject({ method: 'GET', url: callback, headers: cookie ? { cookie } : {} });

  async function signIn(user: FakeUser, script?: TokenScript) {
    const flow = await begin(user);
    idp.nextToken = script;
    return { ...flow, res: await finish(flow.callback, flow.cookie) };
  }

  const fragmentOf = (location: string) => new URLSearchParams(new URL(location).hash.slice(1));
  const usersWithEmail = async (email: string) =>
    (
      await h.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE lower(email) = lower($1)', [email])
    )[0]?.n;

  it('redirects to the provider with state, nonce and PKCE, and binds the sign-in to the browser', async () => {
    const start = await h.app.inject({ method: 'GET', url: '/api/v1/auth/login/google' });
    assert.equal(start.statusCode, 302);
    const to = new URL(start.headers.location as string);
    assert.equal(`${to.origin}${to.pathname}`, `${idp.issuer}/authorize`);
    const p = to.searchParams;
    assert.equal(p.get('response_type'), 'code');
    assert.equal(p.get('client_id'), idp.clientId);
    assert.equal(p.get('redirect_uri'), `${PUBLIC}/api/v1/auth/callback/google`);
    assert.equal(p.get('scope'), 'openid email profile');
    assert.equal(p.get('code_challenge_method'), 'S256');
    assert.match(p.get('code_challenge') ?? '', /^[\w-]{43}$/);
    assert.ok((p.get('state') ?? '').length >= 32 && (p.get('nonce') ?? '').length >= 32);
    const cookie = String(start.headers['set-cookie']);
    assert.match(cookie, /^snapagent_oauth=[\w-]{40,};/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.match(cookie, /Path=\/api\/v1\/auth\/callback\/google/);
    assert.match(cookie, /Max-Age=600/);
    // Only hashes of state and binding are stored.
    const rows = await h.t.db.query<{ state_hash: string }>('SELECT state_hash FROM oauth_states');
    assert.ok(rows.every((r) => r.state_hash !== p.get('state')));
  });

  it('signs a new user in: verified ID token → account, personal team, tokens in the fragment', async () => {
    const user = person();
    const { res } = await signIn(user);
    assert.equal(res.statusCode, 302, res.body);
    const location = res.headers.location as string;
    assert.ok(location.startsWith(`${FRONTEND}/auth/callback#`), location);
    assert.equal(new URL(location).search, '', 'tokens never travel in the query string');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    const tokens = fragmentOf(location);
    assert.equal(tokens.get('token_type'), 'bearer');
    assert.equal(tokens.get('expires_in'), '900');
    // The code went back with the PKCE verifier and the client's credentials.
    const exchange = idp.tokenRequests.at(-1);
    assert.equal(exchange?.pkceVerified, true);
    assert.equal(exchange?.clientAuthenticated, true);

    const me = await h.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${tokens.get('access_token')}` },
    });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().email, user.email);
    assert.equal(me.json().email_verified, true);
    assert.equal(me.json().teams.length, 1);
    assert.equal(me.json().teams[0].personal, true);

    // The refresh token rotates like any other.
    const refreshed = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: tokens.get('refresh_token') },
    });
    assert.equal(refreshed.statusCode, 200);

    // Signing in again finds the same account (by Google subject), no second team.
    const again = await signIn(user);
    const me2 = await h.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${fragmentOf(again.res.headers.location as string).get('access_token')}` },
    });
    assert.equal(me2.json().id, me.json().id);
    assert.equal(me2.json().teams.length, 1);
    const audit = await h.t.db.query<{ event: string; details: { method?: string } }>(
      'SELECT event, details FROM audit_log WHERE actor_user_id = $1 ORDER BY id',
      [me.json().id],
    );
    assert.deepEqual(
      audit.map((a) => `${a.event}:${a.details.method}`),
      ['auth.login:google', 'auth.login:google'],
    );
  });

  it('refuses a replayed state, a missing or foreign browser binding, and an unknown state', async () => {
    const first = await signIn(person());
    assert.equal(first.res.statusCode, 302);
    const replay = await finish(first.callback, first.cookie);
    assert.equal(replay.statusCode, 400);
    assert.equal(replay.json().code, 'oauth_state_invalid');

    const user = person();
    const noCookie = await begin(user);
    const res = await finish(noCookie.callback);
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'oauth_state_invalid');
    // The state is spent even by the failed attempt: the right browser cannot use it afterwards.
    assert.equal((await finish(noCookie.callback, noCookie.cookie)).json().code, 'oauth_state_invalid');

    const other = await begin(person());
    const foreign = await begin(user);
    const crossed = await finish(foreign.callback, other.cookie);
    assert.equal(crossed.statusCode, 400);
    assert.equal(crossed.json().code, 'oauth_state_invalid');

    const unknown = await finish('/api/v1/auth/callback/google?code=abc&state=made-up', other.cookie);
    assert.equal(unknown.json().code, 'oauth_state_invalid');
    assert.equal(await usersWithEmail(user.email), 0);
  });

  const attacks: [string, TokenScript, number, string, RegExp][] = [
    ['a wrong nonce', { nonce: 'not-the-nonce-we-sent' }, 400, 'oauth_failed', /nonce/],
    ['a wrong issuer', { issuer: 'https://accounts.evil.test' }, 400, 'oauth_failed', /iss/],
    ['a wrong audience', { audience: 'someone-elses-client' }, 400, 'oauth_failed', /aud/],
    ['an expired ID token', { expiresIn: -600 }, 400, 'oauth_failed', /exp/],
    ['an ID token signed by another key', { foreignKey: true }, 400, 'oauth_failed', /signature/i],
    ['an HS256 ID token keyed with the client secret', { hs256: true }, 400, 'oauth_failed', /alg/],
    ['a provider error at the token endpoint', { status: 503 }, 502, 'provider_error', /could not be reached/],
  ];
  for (const [what, script, status, code, why] of attacks) {
    it(`refuses ${what}, creating no account`, async () => {
      const user = person();
      const { res } = await signIn(user, script);
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.json().code, code);
      assert.match(res.json().detail, why);
      assert.equal(res.headers.location, undefined);
      assert.equal(await usersWithEmail(user.email), 0);
    });
  }

  it('refuses an email Google has not verified, and denied consent', async () => {
    const unverified = person(false);
    const { res } = await signIn(unverified);
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'email_unverified');
    assert.equal(await usersWithEmail(unverified.email), 0);

    const denied = await begin('deny');
    const no = await finish(denied.callback, denied.cookie);
    assert.equal(no.statusCode, 400);
    assert.equal(no.json().code, 'oauth_failed');
    assert.match(no.json().detail, /access_denied/);

    const failures = await h.t.db.query<{ details: { code: string } }>(
      `SELECT details FROM audit_log WHERE event = 'auth.google_failed'`,
    );
    const codes = new Set(failures.map((f) => f.details.code));
    for (const c of ['email_unverified', 'oauth_failed', 'oauth_state_invalid', 'provider_error'])
      assert.ok(codes.has(c), c);
  });

  it('links a local account by verified email, dropping a password nobody had verified', async () => {
    const user = person();
    const reg = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: user.email.toUpperCase(), password: 'planted by someone' },
    });
    assert.equal(reg.statusCode, 201);
    const squatter = reg.json();

    const { res } = await signIn(user);
    assert.equal(res.statusCode, 302, res.body);
    const tokens = fragmentOf(res.headers.location as string);
    const me = await h.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${tokens.get('access_token')}` },
    });
    assert.equal(me.json().id, squatter.user.id, 'same account');
    assert.equal(me.json().email_verified, true);
    // The unverified password and the sessions it opened are gone.
    const login = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: 'planted by someone' },
    });
    assert.equal(login.statusCode, 401);
    const old = await h.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${squatter.access_token}` },
    });
    assert.equal(old.statusCode, 401);
    const linked = await h.t.db.query(
      `SELECT 1 FROM audit_log WHERE event = 'auth.google_linked' AND actor_user_id = $1`,
      [squatter.user.id],
    );
    assert.equal(linked.length, 1);

    // Another Google identity claiming the same email does not take the account.
    const impostor = await signIn({ ...user, sub: `${user.sub}-other` });
    assert.equal(impostor.res.statusCode, 409);
    assert.equal(impostor.res.json().code, 'conflict');
  });

  it('answers 502 when the provider cannot be reached, storing no sign-in state', async () => {
    const down = await startFakeOidcProvider();
    await down.close();
    const google = createGoogleSignIn({
      db: h.t.db,
      auth: h.services.auth,
      teams: h.services.teams,
      audit: createAuditLog({ db: h.t.db }),
      settings: { ...(h.config.auth.google as GoogleSettings), issuerUrl: down.issuer },
    });
    const before = (await h.t.db.query('SELECT 1 FROM oauth_states')).length;
    await assert.rejects(google.start(), (err: AppError) => err.code === 'provider_error' && err.status === 502);
    assert.equal((await h.t.db.query('SELECT 1 FROM oauth_states')).length, before);
  });

  it('documents both routes in OpenAPI', async () => {
    const spec = h.app.swagger() as { paths: Record<string, { get?: { description?: string } }> };
    assert.match(spec.paths['/api/v1/auth/login/google']?.get?.description ?? '', /PKCE/);
    assert.match(spec.paths['/api/v1/auth/callback/google']?.get?.description ?? '', /oauth_state_invalid/);
  });
});
