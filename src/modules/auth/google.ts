import * as oidc from 'openid-client';
import { isLoopback } from '../../config.ts';
import { isUniqueViolation } from '../../platform/context.ts';
import type { Db } from '../../platform/db/db.ts';
import { AppError } from '../../platform/errors.ts';
import type { TeamsService } from '../teams/service.ts';
import type { AuditLog, ClientInfo } from './audit.ts';
import * as repo from './repo.ts';
import type { AuthService, TokenPair } from './service.ts';
import { hashSecret, randomSecret } from './tokens.ts';

/**
 * Google sign-in with OpenID Connect (authorization code flow, PKCE S256, state and nonce).
 *
 * `start` discovers the provider (GOOGLE_ISSUER_URL, Google by default), stores a one-time
 * state row (with the nonce and PKCE verifier, bound to the browser by a cookie value) and
 * returns the authorization URL. `finish` consumes that row with DELETE ... RETURNING — a
 * replayed, expired or foreign state fails before anything else — then exchanges the code and
 * lets openid-client validate the ID token: signature against the provider's JWKS (RS256 only),
 * issuer, audience, expiry and nonce. Only an email Google marks verified signs in; it creates
 * the account (with a personal team) or links an existing one by that email.
 */
export interface GoogleSettings {
  clientId: string;
  clientSecret: string;
  issuerUrl: string;
  redirectUri: string;
}

export interface GoogleSignIn {
  /** The provider URL to send the browser to, and the value of its binding cookie. */
  start(): Promise<{ url: string; binding: string }>;
  /** Completes sign-in from the callback's query string and the binding cookie. */
  finish(query: URLSearchParams, binding: string | undefined, client: ClientInfo): Promise<TokenPair>;
}

/** How long a started sign-in may take (the state row and the binding cookie live this long). */
export const GOOGLE_STATE_TTL_SECONDS = 600;

export function createGoogleSignIn(deps: {
  db: Db;
  auth: AuthService;
  teams: TeamsService;
  audit: AuditLog;
  settings: GoogleSettings;
}): GoogleSignIn {
  const { db, auth, teams, audit, settings } = deps;
  let discovered: Promise<oidc.Configuration> | undefined;

  /** Discovery once per process; a failure is not cached, so the next sign-in tries again. */
  function configuration(): Promise<oidc.Configuration> {
    const issuer = new URL(settings.issuerUrl);
    const plainHttp = issuer.protocol === 'http:' && isLoopback(issuer.hostname);
    discovered ??= oidc
      .discovery(
        issuer,
        settings.clientId,
        // Google signs ID tokens with RS256; nothing else is accepted.
        { client_secret: settings.clientSecret, id_token_signed_response_alg: 'RS256' },
        undefined,
        {
          execute: [oidc.enableNonRepudiationChecks, ...(plainHttp ? [oidc.allowInsecureRequests] : [])],
          timeout: 10,
        },
      )
      .catch((err: unknown) => {
        discovered = undefined;
        throw new AppError('provider_error', 'The sign-in provider could not be reached; try again later', {
          cause: err,
        });
      });
    return discovered;
  }

  async function findOrCreateUser(claims: { sub: string; email: string; name: string | undefined }) {
    return db.transaction(async (tx) => {
      const bySub = await repo.findUserByGoogleSub(tx, claims.sub);
      if (bySub) return { user: bySub, linked: false, endedSessions: [] as string[] };
      const byEmail = await repo.findUserByEmail(tx, claims.email);
      if (byEmail) {
        if (byEmail.google_sub) {
          throw new AppError('conflict', 'This email is already linked to a different Google account');
        }
        // An address nobody had proved: sessions started with its password end with the password.
        const endedSessions = byEmail.email_verified ? [] : await repo.revokeUserFamilies(tx, byEmail.id);
        return { user: await repo.linkGoogleAccount(tx, byEmail.id, claims.sub), linked: true, endedSessions };
      }
      const user = await repo.insertUser(tx, {
        email: claims.email,
        name: claims.name ?? null,
        passwordHash: null,
        emailVerified: true,
        googleSub: claims.sub,
      });
      await teams.createTeam(tx, `${claims.name ?? claims.email.split('@')[0]}'s team`, user.id, true);
      return { user, linked: false, endedSessions: [] as string[] };
    });
  }

  async function complete(query: URLSearchParams, binding: string | undefined, client: ClientInfo) {
    const state = query.get('state');
    if (!state || state.length > 512) throw stateInvalid('The sign-in request has no state');
    const rows = await db.query<{ nonce: string; code_verifier: string; browser_hash: string; expires_at: Date }>(
      `DELETE FROM oauth_states WHERE state_hash = $1 AND provider = 'google'
       RETURNING nonce, code_verifier, browser_hash, expires_at`,
      [hashSecret(state)],
    );
    const pending = rows[0];
    if (!pending || pending.expires_at.getTime() <= Date.now()) {
      throw stateInvalid('This sign-in link is unknown, expired or already used; start again');
    }
    if (!binding || hashSecret(binding) !== pending.browser_hash) {
      throw stateInvalid('This sign-in was started in another browser; start again');
    }
    const denied = query.get('error');
    if (denied) throw new AppError('oauth_failed', `Google sign-in did not complete: ${denied.slice(0, 100)}`);

    const config = await configuration();
    const callbackUrl = new URL(settings.redirectUri);
    callbackUrl.search = query.toString();
    let claims: oidc.IDToken | undefined;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.code_verifier,
        expectedState: state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (err) {
      throw providerFailure(err);
    }
    if (!claims) throw new AppError('oauth_failed', 'Google returned no identity token');
    const email = typeof claims.email === 'string' ? claims.email : undefined;
    if (!email || claims.email_verified !== true) {
      throw new AppError('email_unverified', 'Google has not verified this email address; verify it and try again');
    }
    const name = typeof claims.name === 'string' ? claims.name.slice(0, 200) : undefined;
    const found = await findOrCreateUser({ sub: claims.sub, email, name }).catch((err: unknown) => {
      // Two first sign-ins of one person at once: the loser finds the winner's account.
      if (isUniqueViolation(err)) return findOrCreateUser({ sub: claims.sub, email, name });
      throw err;
    });
    if (found.endedSessions.length) await auth.endSessions(found.user.id, found.endedSessions);
    if (found.linked) {
      await audit.record(client, {
        event: 'auth.google_linked',
        userId: found.user.id,
        details: { sessions_ended: found.endedSessions.length },
      });
    }
    const pair = await auth.issueTokens(found.user, client, 'google');
    await audit.record(client, { event: 'auth.login', userId: found.user.id, details: { method: 'google' } });
    return pair;
  }

  return {
    async start() {
      const config = await configuration();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const verifier = oidc.randomPKCECodeVerifier();
      const binding = randomSecret(32);
      await db.query(
        `INSERT INTO oauth_states (state_hash, provider, nonce, code_verifier, browser_hash, expires_at)
         VALUES ($1, 'google', $2, $3, $4, now() + make_interval(secs => $5))`,
        [hashSecret(state), nonce, verifier, hashSecret(binding), GOOGLE_STATE_TTL_SECONDS],
      );
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: settings.redirectUri,
        scope: 'openid email profile',
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      return { url: url.href, binding };
    },

    async finish(query, binding, client) {
      try {
        return await complete(query, binding, client);
      } catch (err) {
        if (err instanceof AppError) {
          await audit.record(client, { event: 'auth.google_failed', details: { code: err.code, reason: err.message } });
        }
        throw err;
      }
    },
  };
}

function stateInvalid(message: string): AppError {
  return new AppError('oauth_state_invalid', message);
}

/** The provider was unreachable or broken (502), or what it sent failed validation (400). */
function providerFailure(err: unknown): Error {
  const unreachable = () =>
    new AppError('provider_error', 'The sign-in provider could not be reached; try again later', { cause: err });
  if (err instanceof AppError) return err;
  if (err instanceof oidc.ResponseBodyError) {
    if (err.status >= 500) return unreachable();
    return new AppError('oauth_failed', `Google refused the sign-in: ${err.error}`, { cause: err });
  }
  if (err instanceof oidc.AuthorizationResponseError) {
    return new AppError('oauth_failed', `Google sign-in did not complete: ${err.error}`, { cause: err });
  }
  if (err instanceof oidc.ClientError) {
    switch (err.code) {
      case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
      case 'OAUTH_RESPONSE_IS_NOT_JSON':
      case 'OAUTH_TIMEOUT':
      case 'OAUTH_ABORT':
        return unreachable();
    }
    const why = err.cause instanceof Error && err.cause.message !== err.message ? ` (${err.cause.message})` : '';
    return new AppError('oauth_failed', `The identity token was rejected: ${err.message}${why}`, { cause: err });
  }
  if (err instanceof TypeError && err.message === 'fetch failed') return unreachable();
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return unreachable();
  return err instanceof Error ? err : new Error(String(err));
}
