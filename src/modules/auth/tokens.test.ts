import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { AppError } from '../../platform/errors.ts';
import { ACCESS_AUDIENCE, createTokenService } from './tokens.ts';

const SECRET = 'current-secret-that-is-long-enough-000';
const OLD = 'previous-secret-that-is-long-enough-111';
const settings = { jwtSecret: SECRET, previousJwtSecrets: [], issuer: 'snapagent', accessTokenTtlSeconds: 900 };
const kidOf = async (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).kid;

/** Claims exactly as we issue them, so each attack changes one thing only. */
function forge(
  overrides: { alg?: string; kid?: string; iss?: string; aud?: string; exp?: number; typ?: string; sid?: null } = {},
) {
  const sid = overrides.sid === null ? {} : { sid: '4f1c3a2e-0000-4000-8000-000000000001' };
  return new SignJWT({ typ: overrides.typ ?? 'access', ...sid })
    .setProtectedHeader({ alg: overrides.alg ?? 'HS256', ...(overrides.kid ? { kid: overrides.kid } : {}) })
    .setSubject('7d1c3a2e-0000-4000-8000-000000000002')
    .setIssuer(overrides.iss ?? 'snapagent')
    .setAudience(overrides.aud ?? ACCESS_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(overrides.exp ?? Math.floor(Date.now() / 1000) + 300);
}

const rejects = (promise: Promise<unknown>, code: string) =>
  assert.rejects(promise, (err: unknown) => err instanceof AppError && err.code === code && err.status === 401);

describe('access tokens', () => {
  const tokens = createTokenService(settings);
  const key = new TextEncoder().encode(SECRET);

  it('round-trips our own token with its key id and session', async () => {
    const token = await tokens.signAccessToken('u1', 's1');
    assert.deepEqual(await tokens.verifyAccessToken(token), { userId: 'u1', sessionId: 's1' });
    const kid = await kidOf(token);
    assert.equal(typeof kid, 'string');
    // A control: the forger below makes tokens we accept when nothing is wrong with them.
    assert.equal((await tokens.verifyAccessToken(await forge({ kid }).sign(key))).userId.length, 36);
  });

  it('remembers a verified token until it expires, then refuses it', async (t) => {
    const kid = await kidOf(await tokens.signAccessToken('u1', 's1'));
    const expiresIn = 20;
    const token = await forge({ kid, exp: Math.floor(Date.now() / 1000) + expiresIn }).sign(key);
    assert.equal((await tokens.verifyAccessToken(token)).userId.length, 36);
    assert.equal((await tokens.verifyAccessToken(token)).userId.length, 36, 'a second use is answered from memory');
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + (expiresIn + 10) * 1000 });
    await rejects(tokens.verifyAccessToken(token), 'token_expired');
  });

  it('rejects a wrong issuer, a wrong audience, an expired token, a non-access token and one without a session', async () => {
    const kid = await kidOf(await tokens.signAccessToken('u1', 's1'));
    await rejects(tokens.verifyAccessToken(await forge({ kid, iss: 'someone-else' }).sign(key)), 'token_invalid');
    await rejects(tokens.verifyAccessToken(await forge({ kid, aud: 'another-api' }).sign(key)), 'token_invalid');
    await rejects(
      tokens.verifyAccessToken(await forge({ kid, exp: Math.floor(Date.now() / 1000) - 60 }).sign(key)),
      'token_expired',
    );
    await rejects(tokens.verifyAccessToken(await forge({ kid, typ: 'refresh' }).sign(key)), 'token_invalid');
    // A token outside any sign-in session could not be ended by signing out.
    await rejects(tokens.verifyAccessToken(await forge({ kid, sid: null }).sign(key)), 'token_invalid');
  });

  it('rejects other algorithms: HS512 with our own secret, RS256 with a published key, alg none', async () => {
    const kid = await kidOf(await tokens.signAccessToken('u1', 's1'));
    await rejects(tokens.verifyAccessToken(await forge({ kid, alg: 'HS512' }).sign(key)), 'token_invalid');
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const rs = await forge({ kid, alg: 'RS256' }).sign(privateKey);
    await rejects(tokens.verifyAccessToken(rs), 'token_invalid');
    // Algorithm confusion: an HS256 token keyed with the bytes of a public key we might publish.
    const published = new TextEncoder().encode(JSON.stringify(await exportJWK(publicKey)));
    await rejects(tokens.verifyAccessToken(await forge({ kid }).sign(published)), 'token_invalid');
    const [, payload] = (await forge({ kid }).sign(key)).split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid })).toString('base64url')}.${payload}.`;
    await rejects(tokens.verifyAccessToken(none), 'token_invalid');
  });

  it('rejects an unknown key id, a missing key id and another secret', async () => {
    await rejects(tokens.verifyAccessToken(await forge({ kid: 'not-a-key' }).sign(key)), 'token_invalid');
    await rejects(tokens.verifyAccessToken(await forge().sign(key)), 'token_invalid');
    const kid = await kidOf(await tokens.signAccessToken('u1', 's1'));
    const other = new TextEncoder().encode('another-secret-that-is-long-enough-22');
    await rejects(tokens.verifyAccessToken(await forge({ kid }).sign(other)), 'token_invalid');
  });

  it('rotates secrets by key id: old tokens verify while the old secret is listed, then stop', async () => {
    const before = createTokenService({ ...settings, jwtSecret: OLD });
    const oldToken = await before.signAccessToken('u1', 's1');
    const during = createTokenService({ ...settings, previousJwtSecrets: [OLD] });
    assert.equal((await during.verifyAccessToken(oldToken)).userId, 'u1');
    const fresh = await during.signAccessToken('u2', 's2');
    assert.notEqual(await kidOf(fresh), await kidOf(oldToken), 'new tokens are signed with the new secret');
    await rejects(before.verifyAccessToken(fresh), 'token_invalid');
    const afterRotation = createTokenService(settings);
    await rejects(afterRotation.verifyAccessToken(oldToken), 'token_invalid');
  });
});
