import type { Queryable, Tx } from '../../platform/db/db.ts';
import type { WorkflowProblem } from './workflow-problem.ts';

/**
 * SQL over the workflow tables (migrations/0006_workflows.sql). Every statement names the bot;
 * callers check access to it first.
 */

export interface DraftRow {
  bot_id: string;
  document: Record<string, unknown>;
  revision: number;
  valid: boolean;
  problems: WorkflowProblem[];
  updated_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface VersionRow {
  bot_id: string;
  version: number;
  document: Record<string, unknown>;
  draft_revision: number | null;
  note: string | null;
  published_by: string | null;
  published_at: Date;
}

export type VersionSummaryRow = Omit<VersionRow, 'document'> & { is_published: boolean };

export interface PublicationRow {
  bot_id: string;
  version: number;
  published_by: string | null;
  published_at: Date;
}

export type RunSource = 'draft' | 'published';
export type RunStatus = 'running' | 'succeeded' | 'failed';

export interface RunRow {
  id: string;
  bot_id: string;
  source: RunSource;
  version: number | null;
  draft_revision: number | null;
  session_id: string | null;
  chat_message_id: string | null;
  status: RunStatus;
  message: string;
  answer: string | null;
  error_code: string | null;
  error_message: string | null;
  error_node_id: string | null;
  steps: number;
  input_tokens: number;
  output_tokens: number;
  duration_ms: number | null;
  trace: Record<string, unknown> | null;
  started_by: string | null;
  started_at: Date;
  finished_at: Date | null;
}

export async function findDraft(db: Queryable, botId: string, options: { lock?: boolean } = {}) {
  const rows = await db.query<DraftRow>(
    `SELECT * FROM workflow_drafts WHERE bot_id = $1${options.lock ? ' FOR UPDATE' : ''}`,
    [botId],
  );
  return rows[0];
}

/**
 * Creates the bot's draft (revision 1) or replaces it (revision + 1). With `expectedRevision`, the
 * save happens only if the stored draft still has that revision (0: only if there is none yet), in
 * one statement, so of two editors who read the same revision only the first save wins.
 * Returns undefined when the expectation failed.
 */
export async function saveDraft(
  db: Queryable,
  draft: { botId: string; document: unknown; valid: boolean; problems: WorkflowProblem[]; userId: string | null },
  expectedRevision?: number,
): Promise<DraftRow | undefined> {
  const params = [
    draft.botId,
    JSON.stringify(draft.document),
    draft.valid,
    JSON.stringify(draft.problems),
    draft.userId,
  ];
  const set = `document = $2::jsonb, valid = $3, problems = $4::jsonb, updated_by = $5,
       revision = workflow_drafts.revision + 1, updated_at = now()`;
  let rows: DraftRow[];
  if (expectedRevision === undefined) {
    rows = await db.query<DraftRow>(
      `INSERT INTO workflow_drafts (bot_id, document, valid, problems, updated_by) VALUES ($1, $2::jsonb, $3, $4::jsonb, $5)
       ON CONFLICT (bot_id) DO UPDATE SET ${set} RETURNING *`,
      params,
    );
  } else if (expectedRevision === 0) {
    rows = await db.query<DraftRow>(
      `INSERT INTO workflow_drafts (bot_id, document, valid, problems, updated_by) VALUES ($1, $2::jsonb, $3, $4::jsonb, $5)
       ON CONFLICT (bot_id) DO NOTHING RETURNING *`,
      params,
    );
  } else {
    rows = await db.query<DraftRow>(
      `UPDATE workflow_drafts SET ${set} WHERE bot_id = $1 AND revision = $6 RETURNING *`,
      [...params, expectedRevision],
    );
  }
  return rows[0];
}

/** The version that serves the bot's chat, with its document; undefined when the bot uses plain RAG. */
export async function findPublishedVersion(
  db: Queryable,
  botId: string,
): Promise<(VersionRow & { served_since: Date }) | undefined> {
  const rows = await db.query<VersionRow & { served_since: Date }>(
    `SELECT v.*, p.published_at AS served_since
     FROM workflow_publications p JOIN workflow_versions v ON v.bot_id = p.bot_id AND v.version = p.version
     WHERE p.bot_id = $1`,
    [botId],
  );
  return rows[0];
}

export async function findVersion(db: Queryable, botId: string, version: number): Promise<VersionRow | undefined> {
  const rows = await db.query<VersionRow>('SELECT * FROM workflow_versions WHERE bot_id = $1 AND version = $2', [
    botId,
    version,
  ]);
  return rows[0];
}

export function listVersions(
  db: Queryable,
  botId: string,
  page: { limit: number; offset: number },
): Promise<VersionSummaryRow[]> {
  return db.query<VersionSummaryRow>(
    `SELECT v.bot_id, v.version, v.draft_revision, v.note, v.published_by, v.published_at,
            (p.version IS NOT NULL) AS is_published
     FROM workflow_versions v LEFT JOIN workflow_publications p ON p.bot_id = v.bot_id AND p.version = v.version
     WHERE v.bot_id = $1 ORDER BY v.version DESC LIMIT $2 OFFSET $3`,
    [botId, page.limit, page.offset],
  );
}

/** Stores the next version number of the bot. Run inside the transaction that holds the draft's lock. */
export async function insertVersion(
  tx: Tx,
  v: { botId: string; document: unknown; draftRevision: number; note: string | null; userId: string | null },
): Promise<VersionRow> {
  const rows = await tx.query<VersionRow>(
    `INSERT INTO workflow_versions (bot_id, version, document, draft_revision, note, published_by)
     SELECT $1, COALESCE(MAX(version), 0) + 1, $2::jsonb, $3, $4, $5 FROM workflow_versions WHERE bot_id = $1
     RETURNING *`,
    [v.botId, JSON.stringify(v.document), v.draftRevision, v.note, v.userId],
  );
  return rows[0] as VersionRow;
}

/** Points the bot's chat at one of its versions. */
export async function publishVersion(
  db: Queryable,
  p: { botId: string; version: number; userId: string | null },
): Promise<PublicationRow> {
  const rows = await db.query<PublicationRow>(
    `INSERT INTO workflow_publications (bot_id, version, published_by) VALUES ($1, $2, $3)
     ON CONFLICT (bot_id) DO UPDATE SET version = EXCLUDED.version, published_by = EXCLUDED.published_by,
       published_at = now()
     RETURNING *`,
    [p.botId, p.version, p.userId],
  );
  return rows[0] as PublicationRow;
}

/** Back to plain RAG; returns whether a workflow was published. */
export async function deletePublication(db: Queryable, botId: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM workflow_publications WHERE bot_id = $1 RETURNING bot_id', [botId]);
  return rows.length > 0;
}

export async function insertRun(
  db: Queryable,
  run: {
    id: string;
    botId: string;
    source: RunSource;
    version: number | null;
    draftRevision: number | null;
    sessionId: string | null;
    chatMessageId: string | null;
    message: string;
    startedBy: string | null;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO workflow_runs (id, bot_id, source, version, draft_revision, session_id, chat_message_id, message, started_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      run.id,
      run.botId,
      run.source,
      run.version,
      run.draftRevision,
      run.sessionId,
      run.chatMessageId,
      run.message,
      run.startedBy,
    ],
  );
}

export async function finishRun(
  db: Queryable,
  run: {
    id: string;
    botId: string;
    status: Exclude<RunStatus, 'running'>;
    answer: string;
    error: { code: string; message: string; node_id?: string | undefined } | undefined;
    steps: number;
    inputTokens: number;
    outputTokens: number;
    durationMs: number;
    trace: unknown;
  },
): Promise<void> {
  await db.query(
    `UPDATE workflow_runs SET status = $3, answer = $4, error_code = $5, error_message = $6, error_node_id = $7,
       steps = $8, input_tokens = $9, output_tokens = $10, duration_ms = $11, trace = $12::jsonb, finished_at = now()
     WHERE bot_id = $1 AND id = $2`,
    [
      run.botId,
      run.id,
      run.status,
      run.answer,
      run.error?.code ?? null,
      run.error?.message ?? null,
      run.error?.node_id ?? null,
      run.steps,
      run.inputTokens,
      run.outputTokens,
      run.durationMs,
      JSON.stringify(run.trace),
    ],
  );
}

/**
 * Closes runs still `running` after `afterMs`, longer than any run may last — one bot's, or every
 * bot's: the process running them stopped (crash, kill, deploy) before it could record the end.
 * Returns how many; a partial index on running runs keeps this cheap however long the history.
 */
export async function closeAbandonedRuns(db: Queryable, afterMs: number, botId?: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    `WITH closed AS (
       UPDATE workflow_runs SET status = 'failed', error_code = 'interrupted',
         error_message = 'The run was interrupted: the server stopped before it finished', finished_at = now()
       WHERE ($1::uuid IS NULL OR bot_id = $1) AND status = 'running'
         AND started_at < now() - make_interval(secs => $2::float8 / 1000)
       RETURNING 1)
     SELECT count(*)::int AS n FROM closed`,
    [botId ?? null, afterMs],
  );
  return rows[0]?.n ?? 0;
}

/** Deletes a bot's runs of one chat session (the session is being deleted). */
export async function deleteSessionRuns(tx: Queryable, botId: string, sessionId: string): Promise<void> {
  await tx.query('DELETE FROM workflow_runs WHERE bot_id = $1 AND session_id = $2', [botId, sessionId]);
}

const RUN_SUMMARY_COLUMNS = `id, bot_id, source, version, draft_revision, session_id, chat_message_id, status, message,
  answer, error_code, error_message, error_node_id, steps, input_tokens, output_tokens, duration_ms, NULL AS trace,
  started_by, started_at, finished_at`;

/** A bot's runs, newest first, without their traces. */
export function listRuns(
  db: Queryable,
  botId: string,
  filter: { status?: RunStatus | undefined; source?: RunSource | undefined; sessionId?: string | undefined },
  page: { limit: number; offset: number },
): Promise<RunRow[]> {
  return db.query<RunRow>(
    `SELECT ${RUN_SUMMARY_COLUMNS} FROM workflow_runs
     WHERE bot_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR source = $3)
       AND ($4::text IS NULL OR session_id = $4)
     ORDER BY started_at DESC, id LIMIT $5 OFFSET $6`,
    [botId, filter.status ?? null, filter.source ?? null, filter.sessionId ?? null, page.limit, page.offset],
  );
}

export async function findRun(db: Queryable, botId: string, runId: string): Promise<RunRow | undefined> {
  const rows = await db.query<RunRow>('SELECT * FROM workflow_runs WHERE bot_id = $1 AND id = $2', [botId, runId]);
  return rows[0];
}
