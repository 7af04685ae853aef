import type { Queryable } from '../../platform/db/db.ts';

/** How long each kind of history is kept, in days; 0 keeps it forever. */
export interface RetentionSettings {
  auditLogDays: number;
  workflowRunDays: number;
}

export interface PruneResult {
  auditLog: number;
  workflowRuns: number;
  /** Refresh tokens of sign-ins that expired more than a day ago. */
  refreshTokens: number;
  /** Descriptive session records (without Redis) and OAuth round-trip states past their expiry. */
  expired: number;
}

/** Rows one statement deletes: short statements keep locks and WAL bursts small on a big backlog. */
const BATCH = 5_000;

/**
 * Deletes history older than its retention: audit log entries, finished workflow runs (with their
 * traces), and records of sign-in sessions that can no longer be refreshed. Chat history and
 * documents are the customers' own data and are never pruned here.
 */
export async function pruneHistory(db: Queryable, settings: RetentionSettings): Promise<PruneResult> {
  const result: PruneResult = { auditLog: 0, workflowRuns: 0, refreshTokens: 0, expired: 0 };
  if (settings.auditLogDays > 0) {
    result.auditLog = await deleteInBatches(
      db,
      `DELETE FROM audit_log WHERE id IN (
         SELECT id FROM audit_log WHERE at < now() - make_interval(days => $1) LIMIT ${BATCH})`,
      [settings.auditLogDays],
    );
  }
  if (settings.workflowRunDays > 0) {
    result.workflowRuns = await deleteInBatches(
      db,
      `DELETE FROM workflow_runs WHERE id IN (
         SELECT id FROM workflow_runs
         WHERE started_at < now() - make_interval(days => $1) AND status <> 'running' LIMIT ${BATCH})`,
      [settings.workflowRunDays],
    );
  }
  // A sign-in whose newest refresh token expired a day ago can issue no more access tokens, and
  // its last ones (15 minutes) expired long before: forgetting it cannot revive a token. Every
  // refresh adds a row, so this is the table that grows fastest.
  result.refreshTokens = await deleteInBatches(
    db,
    `DELETE FROM refresh_tokens WHERE family_id IN (
       SELECT family_id FROM refresh_tokens GROUP BY family_id
       HAVING max(expires_at) < now() - interval '1 day' LIMIT ${BATCH})`,
    [],
  );
  result.expired =
    (await deleteInBatches(
      db,
      `DELETE FROM user_sessions WHERE id IN (
         SELECT id FROM user_sessions WHERE expires_at < now() - interval '1 day' LIMIT ${BATCH})`,
      [],
    )) +
    (await deleteInBatches(
      db,
      `DELETE FROM oauth_states WHERE state_hash IN (
         SELECT state_hash FROM oauth_states WHERE expires_at < now() LIMIT ${BATCH})`,
      [],
    ));
  return result;
}

async function deleteInBatches(db: Queryable, sql: string, params: unknown[]): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await db.query<{ n: number }>(
      `WITH d AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM d`,
      params,
    );
    const n = rows[0]?.n ?? 0;
    total += n;
    if (n === 0) return total;
  }
}
