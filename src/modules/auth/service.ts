import { randomUUID } from 'node:crypto';
import type { Actor, Ctx, SessionCheck } from '../../platform/context.ts';
import { isUniqueViolation } from '../../platform/context.ts';
import type { Db } from '../../platform/db/db.ts';
import { AppError, notFound, unauthorized } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';
import type { TeamsService } from '../teams/service.ts';
import { API_KEY_PREFIX, type ApiKeysService } from './api-keys.ts';
import type { AuditLog, ClientInfo } from './audit.ts';
import type { LoginGuard } from './login-guard.ts';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.ts';
import * as repo from './repo.ts';
import { liveSessions, type SessionRecord, type SessionStore } from './sessions.ts';
import { hashSecret, randomSecret, type TokenService } from './tokens.ts';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
  user: repo.UserRow;
}

export type SignInMethod = SessionRecord['method'];

export interface AuthService {
  register(
    input: { email: string; password: string; name?: string | undefined },
    client: ClientInfo,
  ): Promise<TokenPair>;
  login(input: { email: string; password: string }, client: ClientInfo): Promise<TokenPair>;
  refresh(refreshToken: string, client: ClientInfo): Promise<TokenPair>;
  logout(refreshToken: string, client: ClientInfo): Promise<void>;
  me(ctx: Ctx): Promise<repo.UserRow>;
  /** Starts a session for a user who proved who they are elsewhere (Google sign-in). */
  issueTokens(user: repo.UserRow, client: ClientInfo, method: SignInMethod): Promise<TokenPair>;
  /** Resolves `Authorization: Bearer <JWT or API key>` to an actor, or throws 401. */
  resolveBearer(token: string): Promise<Actor>;
  /**
   * The same, with the session check (has the user signed out?) handed back still owed, for a
   * caller that answers it inside its next query or runs it; either way 401 when the session ended.
   */
  resolveBearerDeferred(token: string): Promise<{ actor: Actor; sessionCheck: SessionCheck | undefined }>;
  /** The caller's live sessions, newest first; `current` marks the one this request uses. */
  listSessions(ctx: Ctx): Promise<(SessionRecord & { current: boolean })[]>;
  /** Ends one of the caller's sessions (404 for anyone else's). */
  revokeSession(ctx: Ctx, sessionId: string): Promise<void>;
  /** Ends every session of the caller ("sign out everywhere"); returns how many. */
  revokeAllSessions(ctx: Ctx): Promise<number>;
  /** Ends sessions in PostgreSQL first (the system of record), then forgets their records. */
  endSessions(userId: string, familyIds: string[]): Promise<void>;
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
  audit: AuditLog;
  loginGuard: LoginGuard;
  sessions: SessionStore;
  settings: AuthSettings;
}): AuthService {
  const { db, tokens, apiKeys, teams, audit, loginGuard, sessions, settings } = deps;

  async function issue(
    user: repo.UserRow,
    client: ClientInfo,
    method: SignInMethod,
    familyId: string = randomUUID(),
  ): Promise<TokenPair> {
    const refreshToken = randomSecret(32);
    const now = new Date();
    const expiresAt = new Date(now.getTime() + settings.refreshTokenTtlSeconds * 1000);
    await repo.insertRefreshToken(db, {
      userId: user.id,
      familyId,
      tokenHash: hashSecret(refreshToken),
      expiresAt,
    });
    await sessions.save({
      id: familyId,
      userId: user.id,
      method,
      ip: client.ip ?? null,
      userAgent: client.userAgent?.slice(0, 512) ?? null,
      createdAt: now,
      lastUsedAt: now,
      expiresAt,
    });
    return {
      access_token: await tokens.signAccessToken(user.id, familyId),
      refresh_token: refreshToken,
      token_type: 'bearer',
      expires_in: settings.accessTokenTtlSeconds,
      user,
    };
  }

  async function endSessions(userId: string, familyIds: string[]): Promise<void> {
    for (const familyId of familyIds) await repo.revokeRefreshFamily(db, familyId);
    await sessions.remove(userId, familyIds);
  }

  const userIdOf = (ctx: Ctx) => {
    if (ctx.actor.kind !== 'user') throw unauthorized('This endpoint is for signed-in users, not API keys');
    return ctx.actor.userId;
  };

  async function resolveBearerDeferred(token: string): ReturnType<AuthService['resolveBearerDeferred']> {
    if (token.startsWith(API_KEY_PREFIX)) return { actor: await apiKeys.resolve(token), sessionCheck: undefined };
    const claims = await tokens.verifyAccessToken(token);
    return {
      actor: { kind: 'user', userId: claims.userId, sessionId: claims.sessionId },
      sessionCheck: sessionCheck(claims.sessionId),
    };
  }

  /**
   * Signing out (or reuse detection) ends the session: its access tokens stop working too.
   * Always PostgreSQL: no cache may answer "not revoked".
   */
  function sessionCheck(familyId: string): SessionCheck {
    let ran: Promise<void> | undefined;
    const settle = (ended: boolean) => {
      if (ended) throw new AppError('token_invalid', 'Session has ended; please sign in again');
    };
    return { familyId, settle, run: () => (ran ??= repo.isRefreshFamilyRevoked(db, familyId).then(settle)) };
  }

  return {
    issueTokens: (user, client, method) => issue(user, client, method),
    endSessions,

    async register(input, client) {
      // Hash before the transaction: no slow work while holding a connection.
      const passwordHash = await hashPassword(input.password);
      let user: repo.UserRow;
      try {
        user = await db.transaction(async (tx) => {
          const created = await repo.insertUser(tx, {
            email: input.email,
            name: input.name ?? null,
            passwordHash,
            emailVerified: false,
          });
          await teams.createTeam(tx, `${input.name ?? input.email.split('@')[0]}'s team`, created.id, true);
          return created;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('email_taken', 'An account with this email already exists');
        throw err;
      }
      await audit.record(client, { event: 'auth.registered', userId: user.id, details: { method: 'password' } });
      return issue(user, client, 'password');
    },

    async login(input, client) {
      const ip = client.ip ?? 'unknown';
      // A locked-out pair is refused before any password work.
      await loginGuard.check(input.email, ip);
      const user = await repo.findUserByEmail(db, input.email);
      const ok = await verifyPassword(user?.password_hash ?? (await dummyPasswordHash()), input.password);
      if (!user?.password_hash || !ok) {
        const lockedOut = await loginGuard.recordFailure(input.email, ip);
        const details = { method: 'password', email: input.email };
        await audit.record(client, { event: 'auth.login_failed', userId: user?.id, details });
        if (lockedOut) await audit.record(client, { event: 'auth.locked_out', userId: user?.id, details });
        throw new AppError('invalid_credentials', 'Wrong email or password');
      }
      await loginGuard.reset(input.email, ip);
      const pair = await issue(user, client, 'password');
      await audit.record(client, { event: 'auth.login', userId: user.id, details: { method: 'password' } });
      return pair;
    },

    async refresh(refreshToken, client) {
      const row = await repo.findRefreshToken(db, hashSecret(refreshToken));
      // A token minted while its session was being ended is as dead as the session.
      if (!row || row.revoked_at || (await repo.isRefreshFamilyRevoked(db, row.family_id))) {
        throw new AppError('token_invalid', 'Invalid refresh token');
      }
      if (row.used_at || !(await repo.markRefreshTokenUsed(db, row.id))) {
        // An already-used token came back: someone holds a stolen copy. End the whole lineage.
        await endSessions(row.user_id, [row.family_id]);
        await audit.record(client, {
          event: 'auth.refresh_reuse',
          userId: row.user_id,
          details: { session_id: row.family_id },
        });
        throw new AppError('token_reused', 'Refresh token was already used; please sign in again');
      }
      if (row.expires_at.getTime() <= Date.now()) throw new AppError('token_expired', 'Refresh token expired');
      const user = await repo.findUserById(db, row.user_id);
      if (!user) throw new AppError('token_invalid', 'Invalid refresh token');
      return issue(user, client, 'password', row.family_id);
    },

    async logout(refreshToken, client) {
      const row = await repo.findRefreshToken(db, hashSecret(refreshToken));
      if (!row) return;
      await endSessions(row.user_id, [row.family_id]);
      await audit.record(client, { event: 'auth.logout', userId: row.user_id, details: { session_id: row.family_id } });
    },

    async me(ctx) {
      const user = await repo.findUserById(db, userIdOf(ctx));
      if (!user) throw notFound('User');
      return user;
    },

    async listSessions(ctx) {
      const userId = userIdOf(ctx);
      const current = ctx.actor.kind === 'user' ? ctx.actor.sessionId : undefined;
      return (await liveSessions(db, sessions, userId)).map((s) => ({ ...s, current: s.id === current }));
    },

    async revokeSession(ctx, sessionId) {
      const userId = userIdOf(ctx);
      if (!isUuid(sessionId) || !(await repo.familyBelongsTo(db, sessionId, userId))) throw notFound('Session');
      await endSessions(userId, [sessionId]);
      await audit.record(ctx, { event: 'auth.session_revoked', userId, details: { session_id: sessionId } });
    },

    async revokeAllSessions(ctx) {
      const userId = userIdOf(ctx);
      const ended = await repo.revokeUserFamilies(db, userId);
      await sessions.remove(userId, ended);
      await audit.record(ctx, { event: 'auth.session_revoked', userId, details: { all: true, count: ended.length } });
      return ended.length;
    },

    async resolveBearer(token) {
      const { actor, sessionCheck } = await resolveBearerDeferred(token);
      await sessionCheck?.run();
      return actor;
    },

    resolveBearerDeferred,
  };
}
