import type { Logger } from 'pino';
import type { Db } from '../../platform/db/db.ts';
import { metrics } from '../../platform/metrics.ts';
import type { JobQueue, QueueDefinition, QueueJob } from '../../platform/queue.ts';
import { type Embedder, EmbeddingError } from '../../providers/embedding/spec.ts';
import type { BotSettings } from '../bots/settings.ts';
import { DEFAULT_HNSW_THRESHOLD, ensureVectorIndex } from '../retrieval/vector.ts';
import { DEFAULT_CHUNK_OPTIONS } from './chunk/index.ts';
import { DocumentParseError, type FileType } from './parse/index.ts';
import { prepareDocument } from './prepare.ts';
import * as repo from './repo.ts';

/**
 * The ingestion job: parse → chunk → embed → store, for one document.
 *
 * At-least-once and fenced: each run starts a new `attempt` on the document; progress and the
 * final chunk write only land while that attempt is current, and the chunk write replaces the
 * document's chunks in one transaction. A worker killed mid-document therefore leaves nothing
 * half-written, and the retry (after its lease lapses) produces exactly one copy of each chunk.
 */
export const INGEST_QUEUE = 'document-ingest';

export interface IngestJob {
  documentId: string;
}

export interface IngestDeps {
  db: Db;
  log: Logger;
  /** The embedder for a bot's settings, or undefined for full-text only. */
  embedderFor(settings: BotSettings): Embedder | undefined;
  /** Parse, chunk and count terms (a thread pool's); default inline on this thread. */
  prepare?: typeof prepareDocument;
  /** How many chunks one progress update covers while embedding. */
  progressEvery?: number;
}

const INGEST_RETRY_LIMIT = 3;

/** Least time between two progress writes of one document. */
const PROGRESS_INTERVAL_MS = 1_000;

export function ingestQueueDefinition(leaseSeconds: number): QueueDefinition {
  return {
    name: INGEST_QUEUE,
    retryLimit: INGEST_RETRY_LIMIT,
    retryDelaySeconds: 5,
    expireInSeconds: 30 * 60,
    heartbeatSeconds: Math.max(10, leaseSeconds),
  };
}

/** Works ingestion jobs; the queue must have been defined (see `defineQueues`). */
export async function startIngestWorker(queue: JobQueue, deps: IngestDeps, concurrency: number) {
  await queue.work<IngestJob>(INGEST_QUEUE, concurrency, (job) => runIngestJob(deps, job, INGEST_RETRY_LIMIT));
}

export async function runIngestJob(deps: IngestDeps, job: QueueJob<IngestJob>, retryLimit: number): Promise<void> {
  const { db } = deps;
  const documentId = job.data.documentId;
  const log = deps.log.child({ job_id: job.id, document_id: documentId, attempt: job.retryCount });
  const start = await repo.beginIngestion(db, documentId);
  if (start === undefined) {
    log.info('document gone or already finished; nothing to do');
    return;
  }
  const { attempt } = start;
  const started = Date.now();
  try {
    const chunks = await ingestDocument(deps, start, job.signal, log);
    log.info({ chunks, ms: Date.now() - started }, 'document ingested');
    // No chunks: a newer attempt owns the document and counts it.
    metrics.documents.inc({ outcome: chunks > 0 ? 'ready' : 'superseded' });
    metrics.chunks.inc(chunks);
    metrics.ingestSeconds.observe((Date.now() - started) / 1000);
  } catch (err) {
    if (err instanceof DocumentParseError || (err instanceof EmbeddingError && !err.retryable)) {
      // The file itself, or the provider's configuration, is the problem: retrying cannot help.
      await repo.markFailed(db, documentId, attempt, err.message);
      log.info({ reason: err.message }, 'document failed');
      metrics.documents.inc({ outcome: 'failed' });
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (job.retryCount >= retryLimit) {
      await repo.markFailed(db, documentId, attempt, `Ingestion failed after ${retryLimit + 1} attempts: ${message}`);
      log.error({ err }, 'document failed; retries exhausted');
      metrics.documents.inc({ outcome: 'failed' });
      return;
    }
    log.warn({ err }, 'ingestion attempt failed; will retry');
    metrics.documents.inc({ outcome: 'retry' });
    throw err;
  }
}

async function ingestDocument(
  deps: IngestDeps,
  start: repo.IngestionStart,
  signal: AbortSignal,
  log: Logger,
): Promise<number> {
  const { db } = deps;
  const { attempt, document: doc, content: bytes } = start;
  const documentId = doc.id;
  if (!bytes) return 0;
  const settings = start.settings as BotSettings;

  const chunks = await (deps.prepare ?? prepareDocument)(
    {
      bytes,
      fileType: doc.file_type as FileType,
      chunkSize: settings.chunking?.chunk_size ?? DEFAULT_CHUNK_OPTIONS.chunkSize,
      chunkOverlap: settings.chunking?.chunk_overlap ?? DEFAULT_CHUNK_OPTIONS.chunkOverlap,
    },
    signal,
  );
  signal.throwIfAborted();

  const embedder = deps.embedderFor(settings);
  // Progress is for people watching a long document: the stage change is written at once, counts
  // at most every PROGRESS_INTERVAL_MS (a small document goes from `embedding` to `ready`).
  let progressAt = Date.now();
  const progress = async (update: Parameters<typeof repo.setProgress>[3]) => {
    if (Date.now() - progressAt < PROGRESS_INTERVAL_MS) return;
    progressAt = Date.now();
    await repo.setProgress(db, documentId, attempt, update);
  };
  let vectors: number[][] | undefined;
  if (embedder) {
    if (
      !(await repo.setProgress(db, documentId, attempt, {
        stage: 'embedding',
        chunksDone: 0,
        chunksTotal: chunks.length,
      }))
    ) {
      return 0;
    }
    vectors = [];
    const step = deps.progressEvery ?? 64;
    for (let i = 0; i < chunks.length; i += step) {
      const texts = chunks.slice(i, i + step).map((c) => c.content);
      vectors.push(...(await embedder.embed(texts, { purpose: 'document', signal })));
      await progress({ stage: 'embedding', chunksDone: vectors.length });
    }
  }
  await progress({ stage: 'storing', chunksTotal: chunks.length });

  const stored: repo.ChunkToStore[] = chunks.map((c, i) => ({
    index: c.index,
    content: c.content,
    tokenCount: c.tokenCount,
    metadata: {
      // The uploader's metadata (for filters) first; the positions we record win on a clash.
      ...doc.metadata,
      start: c.start,
      end: c.end,
      ...(c.page !== undefined ? { page: c.page } : {}),
      ...(c.sectionPath?.length ? { section_path: c.sectionPath } : {}),
    },
    embedding: vectors?.[i],
    terms: c.terms,
  }));
  const committed = await repo.replaceChunks(
    db,
    { id: documentId, botId: doc.bot_id, attempt },
    stored,
    embedder?.modelKey,
  );
  if (!committed) {
    log.info('a newer attempt owns this document; discarded this attempt');
    return 0;
  }
  // Small bots are searched exactly; only one that may have crossed the threshold needs a look.
  if (embedder && committed.botEmbedded >= DEFAULT_HNSW_THRESHOLD) {
    await ensureVectorIndex(db, doc.bot_id, embedder.dimensions);
  }
  return chunks.length;
}
