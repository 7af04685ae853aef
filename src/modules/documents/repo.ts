import type { Db, Queryable } from '../../platform/db/db.ts';
import { vectorArrayParameter } from '../../platform/db/vector-parameter.ts';
import { insertPostings, postingColumns } from '../retrieval/lexical.ts';
import type { TermFrequencies } from '../retrieval/tokenize.ts';

export type DocumentStatus = 'queued' | 'processing' | 'ready' | 'failed';

export interface DocumentRow {
  id: string;
  bot_id: string;
  filename: string;
  file_type: string;
  mime_type: string;
  size_bytes: number;
  content_hash: string;
  status: DocumentStatus;
  stage: string | null;
  error: string | null;
  chunks_done: number;
  chunks_total: number;
  attempt: number;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, bot_id, filename, file_type, mime_type, size_bytes, content_hash, status, stage, error,
  chunks_done, chunks_total, attempt, metadata, created_at, updated_at`;

/**
 * Inserts an upload's documents in two statements at most, results in input order. A file whose
 * content the bot already has (or that repeats an earlier file of the same call) answers the
 * existing document with `created: false`: the same content is never stored twice per bot.
 */
export async function insertDocuments(
  tx: Queryable,
  botId: string,
  docs: { filename: string; fileType: string; mimeType: string; sizeBytes: number; contentHash: string }[],
  metadata: Record<string, unknown> = {},
): Promise<{ row: DocumentRow; created: boolean }[]> {
  const inserted = await tx.query<DocumentRow>(
    `INSERT INTO documents (bot_id, filename, file_type, mime_type, size_bytes, content_hash, metadata)
     SELECT $1, d.filename, d.file_type, d.mime_type, d.size_bytes, d.content_hash, $7::jsonb
     FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[]) WITH ORDINALITY
       AS d(filename, file_type, mime_type, size_bytes, content_hash, position)
     ORDER BY d.position
     ON CONFLICT (bot_id, content_hash) DO NOTHING RETURNING ${COLUMNS}`,
    [
      botId,
      docs.map((d) => d.filename),
      docs.map((d) => d.fileType),
      docs.map((d) => d.mimeType),
      docs.map((d) => d.sizeBytes),
      docs.map((d) => d.contentHash),
      JSON.stringify(metadata),
    ],
  );
  const byHash = new Map(inserted.map((r) => [r.content_hash, r]));
  const missing = docs.filter((d) => !byHash.has(d.contentHash)).map((d) => d.contentHash);
  const existing =
    missing.length === 0
      ? []
      : await tx.query<DocumentRow>(
          `SELECT ${COLUMNS} FROM documents WHERE bot_id = $1 AND content_hash = ANY($2::text[])`,
          [botId, missing],
        );
  const existingByHash = new Map(existing.map((r) => [r.content_hash, r]));
  const claimed = new Set<string>();
  return docs.map((d) => {
    const fresh = byHash.get(d.contentHash);
    if (fresh && !claimed.has(d.contentHash)) {
      claimed.add(d.contentHash);
      return { row: fresh, created: true };
    }
    return { row: (fresh ?? existingByHash.get(d.contentHash)) as DocumentRow, created: false };
  });
}

/** Stores the uploaded bytes of several documents in one statement. */
export async function insertFiles(tx: Queryable, files: { documentId: string; content: Uint8Array }[]): Promise<void> {
  if (files.length === 0) return;
  await tx.query('INSERT INTO document_files (document_id, content) SELECT * FROM unnest($1::uuid[], $2::bytea[])', [
    files.map((f) => f.documentId),
    files.map((f) => Buffer.from(f.content.buffer, f.content.byteOffset, f.content.byteLength)),
  ]);
}

export function findDocument(db: Queryable, id: string): Promise<DocumentRow | undefined> {
  return db.query<DocumentRow>(`SELECT ${COLUMNS} FROM documents WHERE id = $1`, [id]).then((r) => r[0]);
}

export async function listDocuments(
  db: Queryable,
  botId: string,
  filter: { status?: DocumentStatus | undefined; limit: number; offset: number },
): Promise<{ rows: DocumentRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    db.query<DocumentRow>(
      `SELECT ${COLUMNS} FROM documents WHERE bot_id = $1 AND ($2::text IS NULL OR status = $2)
       ORDER BY created_at DESC, id LIMIT $3 OFFSET $4`,
      [botId, filter.status ?? null, filter.limit, filter.offset],
    ),
    db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM documents WHERE bot_id = $1 AND ($2::text IS NULL OR status = $2)',
      [botId, filter.status ?? null],
    ),
  ]);
  return { rows, total: count[0]?.n ?? 0 };
}

/** Documents of a bot changed since `since`, for the progress stream. */
export function documentsChangedSince(db: Queryable, botId: string, since: Date): Promise<DocumentRow[]> {
  return db.query<DocumentRow>(
    `SELECT ${COLUMNS} FROM documents WHERE bot_id = $1 AND updated_at > $2 ORDER BY updated_at LIMIT 500`,
    [botId, since],
  );
}

export async function deleteDocument(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM documents WHERE id = $1', [id]);
}

/** Puts a document back in the queue (re-index); its chunks stay searchable until replaced. */
export async function requeueDocument(tx: Queryable, id: string): Promise<DocumentRow | undefined> {
  const rows = await tx.query<DocumentRow>(
    `UPDATE documents SET status = 'queued', stage = NULL, error = NULL, chunks_done = 0, updated_at = now()
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id],
  );
  return rows[0];
}

/** `requeueDocument` for every document of a bot, in one statement; returns their ids. */
export async function requeueBotDocuments(tx: Queryable, botId: string): Promise<string[]> {
  const rows = await tx.query<{ id: string }>(
    `UPDATE documents SET status = 'queued', stage = NULL, error = NULL, chunks_done = 0, updated_at = now()
     WHERE bot_id = $1 RETURNING id`,
    [botId],
  );
  return rows.map((r) => r.id);
}

// ---- ingestion (fenced by attempt) ----

/** What an ingestion attempt works on, read in the statement that starts it. */
export interface IngestionStart {
  attempt: number;
  document: DocumentRow;
  /** The bot's settings (chunking, embedding). */
  settings: Record<string, unknown>;
  /** The uploaded bytes; undefined if they are gone. */
  content: Uint8Array | undefined;
}

/**
 * Starts an ingestion attempt: bumps `attempt` and returns it with the document, its bot's
 * settings and its bytes, in one statement; undefined when the document is gone or already
 * finished. Every later write checks the attempt is still the current one, so a stale worker
 * (its job expired and was retried elsewhere) can never commit.
 */
export async function beginIngestion(db: Queryable, id: string): Promise<IngestionStart | undefined> {
  const rows = await db.query<
    DocumentRow & { bot_settings: Record<string, unknown> | null; file_content: Uint8Array | null }
  >(
    `WITH claimed AS (
       UPDATE documents SET attempt = attempt + 1, status = 'processing', stage = 'parsing', error = NULL,
         chunks_done = 0, updated_at = now()
       WHERE id = $1 AND status IN ('queued', 'processing') RETURNING ${COLUMNS}
     )
     SELECT c.*, b.settings AS bot_settings, f.content AS file_content
     FROM claimed c LEFT JOIN bots b ON b.id = c.bot_id LEFT JOIN document_files f ON f.document_id = c.id`,
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { bot_settings: settings, file_content: content, ...document } = row;
  return { attempt: document.attempt, document, settings: settings ?? {}, content: content ?? undefined };
}

export async function loadFile(db: Queryable, id: string): Promise<Uint8Array | undefined> {
  const rows = await db.query<{ content: Uint8Array }>('SELECT content FROM document_files WHERE document_id = $1', [
    id,
  ]);
  return rows[0]?.content;
}

/** Records progress; false when this attempt is no longer current. */
export async function setProgress(
  db: Queryable,
  id: string,
  attempt: number,
  progress: { stage: string; chunksDone?: number; chunksTotal?: number },
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE documents SET stage = $3, chunks_done = COALESCE($4, chunks_done), chunks_total = COALESCE($5, chunks_total),
       updated_at = now()
     WHERE id = $1 AND attempt = $2 AND status = 'processing' RETURNING id`,
    [id, attempt, progress.stage, progress.chunksDone ?? null, progress.chunksTotal ?? null],
  );
  return rows.length === 1;
}

export async function markFailed(db: Queryable, id: string, attempt: number, error: string): Promise<void> {
  await db.query(
    `UPDATE documents SET status = 'failed', stage = NULL, error = $3, updated_at = now()
     WHERE id = $1 AND attempt = $2`,
    [id, attempt, error],
  );
}

export interface ChunkToStore {
  index: number;
  content: string;
  tokenCount: number;
  metadata: Record<string, unknown>;
  embedding: number[] | undefined;
  terms: TermFrequencies;
}

/**
 * Replaces the document's chunks and postings and marks it ready, in one transaction, only if
 * `attempt` is still current (row lock on the document serialises racing attempts). Idempotent:
 * re-running it leaves exactly one copy of each chunk. Answers `undefined` when a newer attempt
 * owns the document, else how many embedded chunks the bot has now (to decide its vector index).
 *
 * Three statements: fence + status + delete, then chunks and their postings together, so the
 * bot's `chunk_stats` row (locked by the insert triggers until commit) is held only briefly and
 * documents of one bot commit one after another quickly.
 */
export async function replaceChunks(
  db: Db,
  doc: { id: string; botId: string; attempt: number },
  chunks: ChunkToStore[],
  embeddingModel: string | undefined,
): Promise<{ botEmbedded: number } | undefined> {
  return db.transaction(async (tx) => {
    const current = await tx.query<{ embedded: number | string | null; removed: number | string }>(
      `WITH fenced AS (
         UPDATE documents SET status = 'ready', stage = NULL, error = NULL, chunks_done = $3, chunks_total = $3,
           updated_at = now()
         WHERE id = $1 AND attempt = $2 RETURNING id, bot_id
       ), cleared AS (
         DELETE FROM chunks WHERE document_id = (SELECT id FROM fenced) RETURNING embedding IS NOT NULL AS embedded
       )
       SELECT (SELECT embedded FROM chunk_stats s WHERE s.bot_id = fenced.bot_id) AS embedded,
              (SELECT count(*) FROM cleared WHERE embedded) AS removed
       FROM fenced`,
      [doc.id, doc.attempt, chunks.length],
    );
    if (current.length === 0) return undefined;
    const model = embeddingModel && chunks.some((c) => c.embedding) ? embeddingModel : null;
    for (let start = 0; start < chunks.length; start += CHUNKS_PER_STATEMENT) {
      await insertChunksWithPostings(tx, db.driver, doc, chunks.slice(start, start + CHUNKS_PER_STATEMENT), model);
    }
    // The counters as this statement saw them, less the replaced chunks, plus the new ones.
    const before = Number(current[0]?.embedded ?? 0) - Number(current[0]?.removed ?? 0);
    return { botEmbedded: before + chunks.filter((c) => c.embedding).length };
  });
}

/** Rows per chunk INSERT; postings past `POSTINGS_PER_STATEMENT` go in statements of their own. */
const CHUNKS_PER_STATEMENT = 2000;

/**
 * Inserts chunks and, in the same statement, their postings (as many as fit one statement; the
 * rest through `insertPostings`): one round trip for a typical document.
 */
async function insertChunksWithPostings(
  tx: Queryable,
  driver: Db['driver'],
  doc: { id: string; botId: string },
  batch: ChunkToStore[],
  model: string | null,
): Promise<void> {
  const post = postingColumns(batch.map((c) => ({ key: c.index, terms: c.terms })));
  const split = post.chunks;
  const vectors = vectorArrayParameter(
    driver,
    batch.map((c) => c.embedding),
    12,
  );
  const ids = await tx.query<{ id: number; chunk_index: number }>(
    `WITH inserted AS (
       INSERT INTO chunks (bot_id, document_id, chunk_index, content, metadata, token_count, embedding, embedding_model)
       SELECT $1, $2, c.chunk_index, c.content, c.metadata, c.token_count, c.embedding::vector, $7
       FROM unnest($3::int[], $4::text[], $5::jsonb[], $6::int[], ${vectors.sql})
         AS c(chunk_index, content, metadata, token_count, embedding)
       RETURNING id, chunk_index
     ), postings AS (
       INSERT INTO chunk_terms (bot_id, term, chunk_id, tf, len)
       SELECT $1, p.term, i.id, p.tf, p.len
       FROM unnest($8::int[], $9::text[], $10::int[], $11::int[]) AS p(chunk_index, term, tf, len)
       JOIN inserted i ON i.chunk_index = p.chunk_index
     )
     SELECT id, chunk_index FROM inserted`,
    [
      doc.botId,
      doc.id,
      batch.map((c) => c.index),
      batch.map((c) => c.content),
      batch.map((c) => JSON.stringify(c.metadata)),
      batch.map((c) => c.tokenCount),
      model,
      post.keys,
      post.terms,
      post.tfs,
      post.lens,
      ...vectors.params,
    ],
  );
  if (split < batch.length) {
    const idOf = new Map(ids.map((r) => [r.chunk_index, r.id]));
    await insertPostings(
      tx,
      doc.botId,
      batch.slice(split).map((c) => ({ id: idOf.get(c.index) as number, terms: c.terms })),
    );
  }
}

export interface ChunkRow {
  id: number;
  chunk_index: number;
  content: string;
  metadata: Record<string, unknown>;
  token_count: number;
  embedding_model: string | null;
}

export function listChunks(db: Queryable, documentId: string, limit: number, offset: number): Promise<ChunkRow[]> {
  return db.query<ChunkRow>(
    `SELECT id, chunk_index, content, metadata, token_count, embedding_model FROM chunks
     WHERE document_id = $1 ORDER BY chunk_index LIMIT $2 OFFSET $3`,
    [documentId, limit, offset],
  );
}
