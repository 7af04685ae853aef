import type { Queryable } from '../../platform/db/db.ts';
import type { SourceDto } from '../retrieval/service.ts';

export type ChatMode = 'llm' | 'extractive' | 'no_answer' | 'workflow';

export interface SessionRow {
  id: string;
  bot_id: string;
  user_id: string | null;
  api_key_id: string | null;
  title: string | null;
  created_at: Date;
  updated_at: Date;
  message_count?: number;
}

export interface MessageRow {
  id: string;
  session_id: string;
  bot_id: string;
  role: 'user' | 'assistant';
  content: string;
  sources: SourceDto[];
  mode: ChatMode | null;
  search_query: string | null;
  provider: string | null;
  model: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string | number | null;
  latency_ms: number | null;
  error_code: string | null;
  error: string | null;
  created_at: Date;
}

export function findSession(db: Queryable, id: string): Promise<SessionRow | undefined> {
  return db
    .query<SessionRow>(
      'SELECT id, bot_id, user_id, api_key_id, title, created_at, updated_at FROM chat_sessions WHERE id = $1',
      [id],
    )
    .then((r) => r[0]);
}

export type HistoryRow = Pick<MessageRow, 'role' | 'content' | 'error_code'>;

/** A session with its last `limit` messages, oldest first, in one statement (a follow-up turn's read). */
export async function findSessionWithHistory(
  db: Queryable,
  id: string,
  limit: number,
): Promise<(SessionRow & { history: HistoryRow[] }) | undefined> {
  const rows = await db.query<SessionRow & { history: HistoryRow[] }>(
    `SELECT s.id, s.bot_id, s.user_id, s.api_key_id, s.title, s.created_at, s.updated_at,
            COALESCE((
              SELECT json_agg(json_build_object('role', m.role, 'content', m.content, 'error_code', m.error_code)
                              ORDER BY m.seq)
              FROM (SELECT role, content, error_code, seq FROM chat_messages
                    WHERE session_id = s.id ORDER BY seq DESC LIMIT $2) m
            ), '[]') AS history
     FROM chat_sessions s WHERE s.id = $1`,
    [id, limit],
  );
  return rows[0];
}

export interface AssistantMessage {
  id: string;
  content: string;
  sources: SourceDto[];
  mode: ChatMode;
  searchQuery: string | null;
  provider: string | null;
  model: string | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
  latencyMs: number;
  errorCode: string | null;
  error: string | null;
}

export interface TurnToStore {
  sessionId: string;
  botId: string;
  userId: string | null;
  apiKeyId: string | null;
  /** Used when the turn opens the session. */
  title: string;
  question: { id: string; content: string; askedAt: Date };
  answer: AssistantMessage;
}

/**
 * Stores a whole turn in one statement, once it has ended: creates the session (a new id) or
 * touches it (an existing one of the same bot), then the question and the answer, in that order.
 * One write per turn keeps the database off the answer's critical path as much as it can be.
 */
export async function insertTurn(db: Queryable, turn: TurnToStore): Promise<void> {
  const a = turn.answer;
  await db.query(
    `WITH s AS (
       INSERT INTO chat_sessions (id, bot_id, user_id, api_key_id, title) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET updated_at = now() WHERE chat_sessions.bot_id = excluded.bot_id
       RETURNING id
     )
     INSERT INTO chat_messages (id, session_id, bot_id, role, content, sources, mode, search_query, provider, model,
       input_tokens, output_tokens, cost_usd, latency_ms, error_code, error, created_at)
     SELECT m.id, s.id, $2, m.role, m.content, m.sources, m.mode, m.search_query, m.provider, m.model,
            m.input_tokens, m.output_tokens, m.cost_usd, m.latency_ms, m.error_code, m.error, m.created_at
     FROM s CROSS JOIN (VALUES
       (1, $6::uuid, 'user', $7, '[]'::jsonb, NULL, NULL, NULL, NULL, 0, 0, NULL::numeric, NULL::int, NULL, NULL,
        $8::timestamptz),
       (2, $9::uuid, 'assistant', $10, $11::jsonb, $12, $13, $14, $15, $16::int, $17::int, $18::numeric, $19::int,
        $20, $21, now())
     ) AS m(ord, id, role, content, sources, mode, search_query, provider, model, input_tokens, output_tokens,
            cost_usd, latency_ms, error_code, error, created_at)
     ORDER BY m.ord`,
    [
      turn.sessionId,
      turn.botId,
      turn.userId,
      turn.apiKeyId,
      turn.title,
      turn.question.id,
      turn.question.content,
      turn.question.askedAt,
      a.id,
      a.content,
      JSON.stringify(a.sources),
      a.mode,
      a.searchQuery,
      a.provider,
      a.model,
      a.inputTokens,
      a.outputTokens,
      a.costUsd,
      a.latencyMs,
      a.errorCode,
      a.error,
    ],
  );
}

/** Deletes a session with its messages and their feedback (they cascade). */
export async function deleteSession(tx: Queryable, id: string): Promise<void> {
  await tx.query('DELETE FROM chat_sessions WHERE id = $1', [id]);
}

export function listSessions(
  db: Queryable,
  botId: string,
  page: { limit: number; offset: number },
): Promise<SessionRow[]> {
  return db.query<SessionRow>(
    `SELECT s.id, s.bot_id, s.user_id, s.api_key_id, s.title, s.created_at, s.updated_at,
            (SELECT count(*)::int FROM chat_messages m WHERE m.session_id = s.id) AS message_count
     FROM chat_sessions s WHERE s.bot_id = $1
     ORDER BY s.updated_at DESC, s.id LIMIT $2 OFFSET $3`,
    [botId, page.limit, page.offset],
  );
}

export function listMessages(
  db: Queryable,
  sessionId: string,
  page: { limit: number; offset: number },
): Promise<(MessageRow & { feedback: FeedbackRow[] | null })[]> {
  return db.query(
    `SELECT m.id, m.session_id, m.bot_id, m.role, m.content, m.sources, m.mode, m.search_query, m.provider, m.model,
            m.input_tokens, m.output_tokens, m.cost_usd, m.latency_ms, m.error_code, m.error, m.created_at,
            (SELECT json_agg(json_build_object('actor', f.actor, 'rating', f.rating, 'comment', f.comment,
                                               'updated_at', f.updated_at) ORDER BY f.updated_at)
             FROM message_feedback f WHERE f.message_id = m.id) AS feedback
     FROM chat_messages m WHERE m.session_id = $1
     ORDER BY m.seq LIMIT $2 OFFSET $3`,
    [sessionId, page.limit, page.offset],
  );
}

export function findMessage(
  db: Queryable,
  id: string,
): Promise<Pick<MessageRow, 'id' | 'bot_id' | 'role' | 'session_id'> | undefined> {
  return db
    .query<Pick<MessageRow, 'id' | 'bot_id' | 'role' | 'session_id'>>(
      'SELECT id, bot_id, role, session_id FROM chat_messages WHERE id = $1',
      [id],
    )
    .then((r) => r[0]);
}

export interface FeedbackRow {
  message_id: string;
  actor: string;
  rating: 'up' | 'down';
  comment: string | null;
  created_at: Date;
  updated_at: Date;
}

export async function upsertFeedback(
  db: Queryable,
  f: { messageId: string; botId: string; actor: string; rating: 'up' | 'down'; comment: string | null },
): Promise<FeedbackRow> {
  const rows = await db.query<FeedbackRow>(
    `INSERT INTO message_feedback (message_id, bot_id, actor, rating, comment) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (message_id, actor) DO UPDATE SET rating = excluded.rating, comment = excluded.comment, updated_at = now()
     RETURNING message_id, actor, rating, comment, created_at, updated_at`,
    [f.messageId, f.botId, f.actor, f.rating, f.comment],
  );
  return rows[0] as FeedbackRow;
}

export interface UsageRow {
  provider: string | null;
  model: string | null;
  mode: ChatMode | null;
  messages: number;
  input_tokens: string | number;
  output_tokens: string | number;
  cost_usd: string | number | null;
  unpriced: number;
  errors: number;
}

/** Assistant messages of a bot in [from, to), summed per provider, model and mode. */
export function usageByModel(db: Queryable, botId: string, from: Date | null, to: Date | null): Promise<UsageRow[]> {
  return db.query<UsageRow>(
    `SELECT provider, model, mode, count(*)::int AS messages,
            coalesce(sum(input_tokens), 0)::bigint AS input_tokens,
            coalesce(sum(output_tokens), 0)::bigint AS output_tokens,
            sum(cost_usd) AS cost_usd,
            count(*) FILTER (WHERE cost_usd IS NULL AND input_tokens + output_tokens > 0)::int AS unpriced,
            count(*) FILTER (WHERE error_code IS NOT NULL)::int AS errors
     FROM chat_messages
     WHERE bot_id = $1 AND role = 'assistant'
       AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
     GROUP BY provider, model, mode
     ORDER BY provider NULLS LAST, model NULLS LAST, mode`,
    [botId, from, to],
  );
}
