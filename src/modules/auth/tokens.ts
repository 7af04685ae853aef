import { createHash, randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../../platform/errors.ts';

/**
 * Access tokens are short-lived HS256 JWTs. The header's `kid` names the secret that signed it,
 * so secrets rotate: new tokens use the current secret while ones signed with a previous secret
 * (JWT_PREVIOUS_SECRET_KEYS) still verify until they expire. Only HS256 is accepted: `alg: none`
 * and algorithm confusion are rejected by the verifier's allow-list.
 */
export interface TokenSettings {
  jwtSecret: string;
  previousJwtSecrets: string[];
  issuer: string;
  accessTokenTtlSeconds: number;
}

export const ACCESS_AUDIENCE = 'snapagent-api';

export interface AccessClaims {
  userId: string;
  /** The sign-in session (refresh-token family) the token was issued in; every token has one. */
  sessionId: string;
}

export interface TokenService {
  signAccessToken(userId: string, sessionId: string): Promise<string>;
  verifyAccessToken(token: string): Promise<AccessClaims>;
}

const keyId = (secret: string) => createHash('sha256').update(secret).digest('base64url').slice(0, 12);

/** Verified tokens remembered, so a client's every request does not re-run the HMAC. */
const VERIFIED_CACHE_SIZE = 10_000;

export function createTokenService(settings: TokenSettings): TokenService {
  const keys = new Map<string, Uint8Array>();
  for (const secret of [settings.jwtSecret, ...settings.previousJwtSecrets]) {
    keys.set(keyId(secret), new TextEncoder().encode(secret));
  }
  const currentKid = keyId(settings.jwtSecret);
  const currentKey = keys.get(currentKid) as Uint8Array;
  // A client reuses its access token for every request of its 15 minutes. A token's signature
  // and claims never change, so a verified one is remembered (by its exact text, oldest forgotten
  // first) until it expires; expiry is still checked on every use, and session revocation is
  // checked by the caller on every request regardless.
  const verified = new Map<string, AccessClaims & { expiresAt: number }>();

  return {
    signAccessToken(userId, sessionId) {
      return new SignJWT({ typ: 'access', sid: sessionId })
        .setProtectedHeader({ alg: 'HS256', kid: currentKid })
        .setSubject(userId)
        .setIssuer(settings.issuer)
        .setAudience(ACCESS_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${settings.accessTokenTtlSeconds}s`)
        .sign(currentKey);
    },

    async verifyAccessToken(token) {
      const known = verified.get(token);
      if (known) {
        if (Date.now() < known.expiresAt) return { userId: known.userId, sessionId: known.sessionId };
        verified.delete(token);
      }
      try {
        const { payload } = await jwtVerify(
          token,
          (header) => {
            const key = header.kid ? keys.get(header.kid) : undefined;
            if (!key) throw new AppError('token_invalid', 'Token signed with an unknown key');
            return key;
          },
          { algorithms: ['HS256'], issuer: settings.issuer, audience: ACCESS_AUDIENCE, clockTolerance: 5 },
        );
        // Without its session a token could not be revoked by signing out: none is valid.
        if (payload.typ !== 'access' || typeof payload.sub !== 'string' || typeof payload.sid !== 'string') {
          throw new AppError('token_invalid', 'Not an access token');
        }
        const claims = { userId: payload.sub, sessionId: payload.sid };
        if (typeof payload.exp === 'number') {
          if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
          verified.set(token, { ...claims, expiresAt: payload.exp * 1000 });
        }
        return claims;
      } catch (err) {
        if (err instanceof AppError) throw err;
        if (err instanceof joseErrors.JWTExpired) throw new AppError('token_expired', 'Access token expired');
        throw new AppError('token_invalid', 'Invalid access token');
      }
    },
  };
}

/** An opaque, high-entropy secret (refresh tokens, API keys); only its hash is stored. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 suffices for high-entropy secrets: nothing to brute-force, and lookups stay indexable. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
