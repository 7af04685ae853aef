import type { Queryable } from '../../platform/db/db.ts';
import { familyRevokedSql } from '../auth/session-ended.ts';
import type { BotRow } from '../bots/repo.ts';

export type Role = 'owner' | 'admin' | 'member';

export interface TeamRow {
  id: string;
  name: string;
  personal: boolean;
  created_at: Date;
}

export interface TeamWithRole extends TeamRow {
  role: Role;
}

export interface MemberRow {
  user_id: string;
  email: string;
  name: string | null;
  role: Role;
  created_at: Date;
}

export async function insertTeam(db: Queryable, name: string, personal: boolean): Promise<TeamRow> {
  const rows = await db.query<TeamRow>('INSERT INTO teams (name, personal) VALUES ($1, $2) RETURNING *', [
    name,
    personal,
  ]);
  return rows[0] as TeamRow;
}

export async function upsertMember(db: Queryable, teamId: string, userId: string, role: Role): Promise<void> {
  await db.query(
    `INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3)
     ON CONFLICT (team_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
    [teamId, userId, role],
  );
}

export async function deleteMember(db: Queryable, teamId: string, userId: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM team_members WHERE team_id = $1 AND user_id = $2 RETURNING user_id', [
    teamId,
    userId,
  ]);
  return rows.length === 1;
}

export function findRole(db: Queryable, teamId: string, userId: string): Promise<Role | undefined> {
  return db
    .query<{ role: Role }>('SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2', [teamId, userId])
    .then((r) => r[0]?.role);
}

export function listTeamsForUser(db: Queryable, userId: string): Promise<TeamWithRole[]> {
  return db.query<TeamWithRole>(
    `SELECT t.*, m.role FROM teams t JOIN team_members m ON m.team_id = t.id
     WHERE m.user_id = $1 ORDER BY t.personal DESC, t.created_at`,
    [userId],
  );
}

export function findTeam(db: Queryable, teamId: string): Promise<TeamRow | undefined> {
  return db.query<TeamRow>('SELECT * FROM teams WHERE id = $1', [teamId]).then((r) => r[0]);
}

export function findPersonalTeam(db: Queryable, userId: string): Promise<TeamRow | undefined> {
  return db
    .query<TeamRow>(
      `SELECT t.* FROM teams t JOIN team_members m ON m.team_id = t.id
       WHERE m.user_id = $1 AND t.personal AND m.role = 'owner' ORDER BY t.created_at LIMIT 1`,
      [userId],
    )
    .then((r) => r[0]);
}

export function listMembers(db: Queryable, teamId: string): Promise<MemberRow[]> {
  return db.query<MemberRow>(
    `SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM team_members m
     JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY m.created_at`,
    [teamId],
  );
}

export async function countOwners(db: Queryable, teamId: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM team_members WHERE team_id = $1 AND role = 'owner'",
    [teamId],
  );
  return rows[0]?.n ?? 0;
}

export function findUserIdByEmail(db: Queryable, email: string): Promise<string | undefined> {
  return db.query<{ id: string }>('SELECT id FROM users WHERE lower(email) = lower($1)', [email]).then((r) => r[0]?.id);
}

/**
 * The bot (if it exists), the user's role in its team (undefined when not a member), and whether
 * the sign-in session `sessionFamilyId` has ended: everything a bot route checks first, in one
 * statement.
 */
export async function findBotWithRole(
  db: Queryable,
  botId: string,
  userId: string | undefined,
  sessionFamilyId: string | undefined,
): Promise<{ bot: BotRow | undefined; role: Role | undefined; sessionEnded: boolean }> {
  const rows = await db.query<BotRow & { caller_role: Role | null; session_ended: boolean }>(
    `SELECT b.*, m.role AS caller_role, ${familyRevokedSql('$3::uuid')} AS session_ended
     FROM (SELECT) AS one_row
     LEFT JOIN bots b ON b.id = $1
     LEFT JOIN team_members m ON m.team_id = b.team_id AND m.user_id = $2`,
    [botId, userId ?? null, sessionFamilyId ?? null],
  );
  const { caller_role: role, session_ended: sessionEnded, ...bot } = rows[0] as (typeof rows)[0];
  return { bot: bot.id === null ? undefined : bot, role: role ?? undefined, sessionEnded };
}
