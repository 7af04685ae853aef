import { randomUUID } from 'node:crypto';
import type { Db } from '../../../platform/db/db.ts';
import { insertPostings } from '../lexical.ts';
import { termFrequencies } from '../tokenize.ts';

/**
 * Writes a ready-made corpus straight into a bot's knowledge tables (documents, one chunk each,
 * postings), bypassing upload and parsing. For evaluation and tests, where the text is the input;
 * real documents go through ingestion.
 */
export interface CorpusDocument {
  filename: string;
  content: string;
  fileType?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  embedding?: readonly number[] | undefined;
}

export interface WrittenChunk {
  chunkId: string;
  documentId: string;
  filename: string;
}

const BATCH = 500;

/** Creates a team and a bot to hold a corpus; returns the bot id. */
export async function createCorpusBot(db: Db, name: string): Promise<string> {
  const teamId = randomUUID();
  const botId = randomUUID();
  await db.query('INSERT INTO teams (id, name) VALUES ($1, $2)', [teamId, name]);
  await db.query('INSERT INTO bots (id, team_id, name) VALUES ($1, $2, $3)', [botId, teamId, name]);
  return botId;
}

/** Writes the documents in batches of one transaction each; returns the chunks in input order. */
export async function writeCorpus(
  db: Db,
  botId: string,
  documents: readonly CorpusDocument[],
  options: { embeddingModel?: string } = {},
): Promise<WrittenChunk[]> {
  const written: WrittenChunk[] = [];
  for (let start = 0; start < documents.length; start += BATCH) {
    const batch = documents.slice(start, start + BATCH);
    const counted = batch.map((d) => termFrequencies(d.content)); // outside the transaction
    const ids: string[] = batch.map(() => randomUUID());
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO documents (id, bot_id, filename, file_type, mime_type, size_bytes, content_hash, status)
         SELECT t.id, $1, t.filename, t.file_type, 'text/plain', t.size, t.id::text, 'ready'
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::bigint[]) AS t(id, filename, file_type, size)`,
        [
          botId,
          ids,
          batch.map((d) => d.filename),
          batch.map((d) => d.fileType ?? 'txt'),
          batch.map((d) => Buffer.byteLength(d.content)),
        ],
      );
      const rows = await tx.query<{ id: string; document_id: string }>(
        `INSERT INTO chunks (bot_id, document_id, chunk_index, content, metadata, token_count, embedding, embedding_model)
         SELECT $1, t.document_id, 0, t.content, t.metadata, t.token_count, t.embedding::vector,
                CASE WHEN t.embedding IS NULL THEN NULL ELSE $7 END
         FROM unnest($2::uuid[], $3::text[], $4::jsonb[], $5::int[], $6::text[])
           AS t(document_id, content, metadata, token_count, embedding)
         RETURNING id::text AS id, document_id::text AS document_id`,
        [
          botId,
          ids,
          batch.map((d) => d.content),
          batch.map((d) => JSON.stringify(d.metadata ?? {})),
          counted.map((c) => c.length),
          batch.map((d) => (d.embedding ? `[${d.embedding.join(',')}]` : null)),
          options.embeddingModel ?? 'corpus',
        ],
      );
      const chunkOf = new Map(rows.map((r) => [r.document_id, r.id]));
      await insertPostings(
        tx,
        botId,
        ids.map((id, i) => ({ id: chunkOf.get(id)!, terms: counted[i]! })),
      );
      ids.forEach((id, i) => {
        written.push({ chunkId: chunkOf.get(id)!, documentId: id, filename: batch[i]!.filename });
      });
    });
  }
  return written;
}
