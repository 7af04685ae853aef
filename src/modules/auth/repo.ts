import type { Queryable } from '../../platform/db/db.ts';
import { familyRevokedSql } from './session-ended.ts';

export interface UserRow {
  id: string;
  email: string;
  email_verified: boolean;
  name: string | null;
  password_hash: string | null;
  google_sub: string | null;
  created_at: Date;
}

export interface RefreshTokenRow {
  id: string;
  user_id: string;
  family_id: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

export function findUserByEmail(db: Queryable, email: string): Promise<UserRow | undefined> {
  return db.query<UserRow>('SELECT * FROM users WHERE lower(email) = lower($1)', [email]).then((r) => r[0]);
}

export function findUserById(db: Queryable, id: string): Promise<UserRow | undefined> {
  return db.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]).then((r) => r[0]);
}

export async function insertUser(
  db: Queryable,
  user: { email: string; name: string | null; passwordHash: string | null; emailVerified: boolean; googleSub?: string },
): Promise<UserRow> {
  const rows = await db.query<UserRow>(
    `INSERT INTO users (email, name, password_hash, email_verified, google_sub)
     VALUES ($1, $2, $3, $4, $5) RETURNING *`,
    [user.email, user.name, user.passwordHash, user.emailVerified, user.googleSub ?? null],
  );
  return rows[0] as UserRow;
}

export async function insertRefreshToken(
  db: Queryable,
  token: { userId: string; familyId: string; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db.query('INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)', [
    token.userId,
    token.familyId,
    token.tokenHash,
    token.expiresAt,
  ]);
}

export function findRefreshToken(db: Queryable, tokenHash: string): Promise<RefreshTokenRow | undefined> {
  return db
    .query<RefreshTokenRow>(
      'SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1',
      [tokenHash],
    )
    .then((r) => r[0]);
}

/** Marks a token used; false when another request used it first (the race loser is a reuse). */
export async function markRefreshTokenUsed(db: Queryable, id: string): Promise<boolean> {
  const rows = await db.query(
    'UPDATE refresh_tokens SET used_at = now() WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL RETURNING id',
    [id],
  );
  return rows.length === 1;
}

export async function revokeRefreshFamily(db: Queryable, familyId: string): Promise<void> {
  await db.query('UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [
    familyId,
  ]);
}

export async function isRefreshFamilyRevoked(db: Queryable, familyId: string): Promise<boolean> {
  const rows = await db.query<{ revoked: boolean }>(`SELECT ${familyRevokedSql('$1::uuid')} AS revoked`, [familyId]);
  return rows[0]?.revoked === true;
}

/** Revokes every live family of a user ("sign out everywhere"); returns the families ended. */
export async function revokeUserFamilies(db: Queryable, userId: string): Promise<string[]> {
  const rows = await db.query<{ family_id: string }>(
    'UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING family_id::text',
    [userId],
  );
  return [...new Set(rows.map((r) => r.family_id))];
}

/** True when the refresh family exists and belongs to the user. */
export async function familyBelongsTo(db: Queryable, familyId: string, userId: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND user_id = $2 LIMIT 1', [
    familyId,
    userId,
  ]);
  return rows.length > 0;
}

export function findUserByGoogleSub(db: Queryable, sub: string): Promise<UserRow | undefined> {
  return db.query<UserRow>('SELECT * FROM users WHERE google_sub = $1', [sub]).then((r) => r[0]);
}

/**
 * Links a Google identity to an existing account and marks its email verified. When the account's
 * email had never been verified, its password is dropped: whoever set it never proved they own the
 * address (the pre-registration takeover), so only Google can sign in from now on.
 */
export async function linkGoogleAccount(db: Queryable, userId: string, googleSub: string): Promise<UserRow> {
  const rows = await db.query<UserRow>(
    `UPDATE users SET google_sub = $2,
       password_hash = CASE WHEN email_verified THEN password_hash ELSE NULL END,
       email_verified = true
     WHERE id = $1 RETURNING *`,
    [userId, googleSub],
  );
  return rows[0] as UserRow;
}
