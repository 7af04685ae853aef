import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../config.ts';

/** What Google sign-in needs from configuration, checked at start-up rather than at the first sign-in. */
describe('Google sign-in configuration', () => {
  const google = { GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret' };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.issues.map((i) => i.split(':')[0]);
    }
  };

  it('derives the callback from PUBLIC_URL and needs FRONTEND_URL', () => {
    const c = loadConfig({
      ...google,
      PUBLIC_URL: 'https://api.example.com/',
      FRONTEND_URL: 'https://app.example.com',
    });
    assert.equal(c.auth.google?.redirectUri, 'https://api.example.com/api/v1/auth/callback/google');
    assert.equal(c.auth.google?.issuerUrl, 'https://accounts.google.com');
    assert.deepEqual(problems(google).sort(), ['FRONTEND_URL', 'PUBLIC_URL']);
    const explicit = loadConfig({
      ...google,
      GOOGLE_REDIRECT_URI: 'https://edge.example.com/auth/google',
      FRONTEND_URL: 'https://app.example.com',
    });
    assert.equal(explicit.auth.google?.redirectUri, 'https://edge.example.com/auth/google');
  });

  it('refuses a plain-http issuer except on loopback (the tests’ fake provider)', () => {
    const base = { ...google, PUBLIC_URL: 'https://api.example.com', FRONTEND_URL: 'https://app.example.com' };
    assert.deepEqual(problems({ ...base, GOOGLE_ISSUER_URL: 'http://idp.example.com' }), ['GOOGLE_ISSUER_URL']);
    assert.equal(
      loadConfig({ ...base, GOOGLE_ISSUER_URL: 'http://127.0.0.1:4000' }).auth.google?.issuerUrl,
      'http://127.0.0.1:4000',
    );
  });

  it('parses TRUST_PROXY and the limits', () => {
    assert.equal(loadConfig({}).trustProxy, 'loopback,linklocal,uniquelocal');
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7' }).trustProxy, '10.0.0.0/8, 192.168.1.7');
    assert.deepEqual(problems({ TRUST_PROXY: '2' }), ['TRUST_PROXY']);
    assert.deepEqual(loadConfig({ RATE_LIMIT_AUTH_MAX: '7' }).rateLimit, {
      enabled: true,
      windowSeconds: 60,
      max: 300,
      authMax: 7,
      apiKeyMax: 600,
      publicBotMax: 600,
    });
  });
});
