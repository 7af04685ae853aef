import { randomUUID } from 'node:crypto';
import type { Actor, Ctx } from '../../platform/context.ts';
import { isUniqueViolation } from '../../platform/context.ts';
import type { Db } from '../../platform/db/db.ts';
import { AppError, notFound, unauthorized } from '../../platform/errors.ts';
import type { TeamsService } from '../teams/service.ts';
import { API_KEY_PREFIX, type ApiKeysService } from './api-keys.ts';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.ts';
import * as repo from './repo.ts';
import { hashSecret, randomSecret, type TokenService } from './tokens.ts';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
  user: repo.UserRow;
}

export interface AuthService {
  register(input: { email: string; password: string; name?: string | undefined }, log: Ctx['log']): Promise<TokenPair>;
  login(input: { email: string; password: string }, log: Ctx['log']): Promise<TokenPair>;
  refresh(refreshToken: string, log: Ctx['log']): Promise<TokenPair>;
  logout(refreshToken: string): Promise<void>;
  me(ctx: Ctx): Promise<repo.UserRow>;
  /** Issues tokens for a user who proved who they are elsewhere (e.g. Google sign-in). */
  issueTokens(user: repo.UserRow): Promise<TokenPair>;
  /** Resolves `Authorization: Bearer <JWT or API key>` to an actor, or throws 401. */
  resolveBearer(token: string): Promise<Actor>;
}

export interface AuthSettings {
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

export function createAuthService(deps: {
  db: Db;
  tokens: TokenService;
  apiKeys: ApiKeysService;
  teams: TeamsService;
  settings: AuthSettings;
}): AuthService {
  const { db, tokens, apiKeys, teams, settings } = deps;

  async function issue(user: repo.UserRow, familyId: string = randomUUID()): Promise<TokenPair> {
    const refreshToken = randomSecret(32);
    await repo.insertRefreshToken(db, {
      userId: user.id,
      familyId,
      tokenHash: hashSecret(refreshToken),
      expiresAt: new Date(Date.now() + settings.refreshTokenTtlSeconds * 1000),
    });
    return {
      access_token: await tokens.signAccessToken(user.id, familyId),
      refresh_token: refreshToken,
      token_type: 'bearer',
      expires_in: settings.accessTokenTtlSeconds,
      user,
    };
  }

  return {
    issueTokens: (user) => issue(user),

    async register(input, log) {
      // Hash before the transaction: no slow work while holding a connection.
      const passwordHash = await hashPassword(input.password);
      try {
        const user = await db.transaction(async (tx) => {
          const created = await repo.insertUser(tx, {
            email: input.email,
            name: input.name ?? null,
            passwordHash,
            emailVerified: false,
          });
          await teams.createTeam(tx, `${input.name ?? input.email.split('@')[0]}'s team`, created.id, true);
          return created;
        });
        log.info({ audit: 'auth.registered', user_id: user.id }, 'account created');
        return await issue(user);
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('email_taken', 'An account with this email already exists');
        throw err;
      }
    },

    async login(input, log) {
      const user = await repo.findUserByEmail(db, input.email);
      const ok = await verifyPassword(user?.password_hash ?? (await dummyPasswordHash()), input.password);
      if (!user?.password_hash || !ok) {
        log.info({ audit: 'auth.login_failed' }, 'sign-in failed');
        throw new AppError('invalid_credentials', 'Wrong email or password');
      }
      log.info({ audit: 'auth.login', user_id: user.id }, 'signed in');
      return issue(user);
    },

    async refresh(refreshToken, log) {
      const row = await repo.findRefreshToken(db, hashSecret(refreshToken));
      if (!row || row.revoked_at) throw new AppError('token_invalid', 'Invalid refresh token');
      if (row.used_at || !(await repo.markRefreshTokenUsed(db, row.id))) {
        // An already-used token came back: someone holds a stolen copy. End the whole lineage.
        await repo.revokeRefreshFamily(db, row.family_id);
        log.warn(
          { audit: 'auth.refresh_reuse', user_id: row.user_id, family_id: row.family_id },
          'refresh token reuse',
        );
        throw new AppError('token_reused', 'Refresh token was already used; please sign in again');
      }
      if (row.expires_at.getTime() <= Date.now()) throw new AppError('token_expired', 'Refresh token expired');
      const user = await repo.findUserById(db, row.user_id);
      if (!user) throw new AppError('token_invalid', 'Invalid refresh token');
      return issue(user, row.family_id);
    },

    async logout(refreshToken) {
      const row = await repo.findRefreshToken(db, hashSecret(refreshToken));
      if (row) await repo.revokeRefreshFamily(db, row.family_id);
    },

    async me(ctx) {
      if (ctx.actor.kind !== 'user') throw unauthorized('This endpoint is for signed-in users, not API keys');
      const user = await repo.findUserById(db, ctx.actor.userId);
      if (!user) throw notFound('User');
      return user;
    },

    async resolveBearer(token) {
      if (token.startsWith(API_KEY_PREFIX)) return apiKeys.resolve(token);
      const claims = await tokens.verifyAccessToken(token);
      // Signing out (or reuse detection) ends the session: its access tokens stop working too.
      if (claims.sessionId && (await repo.isRefreshFamilyRevoked(db, claims.sessionId))) {
        throw new AppError('token_invalid', 'Session has ended; please sign in again');
      }
      return { kind: 'user', userId: claims.userId };
    },
  };
}
