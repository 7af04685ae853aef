import { createHash } from 'node:crypto';
import type { Ctx } from '../../platform/context.ts';
import type { Db, Queryable } from '../../platform/db/db.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';
import type { JobQueue } from '../../platform/queue.ts';
import type { Access } from '../teams/access.ts';
import { INGEST_QUEUE, type IngestJob } from './ingest.ts';
import { detectFileType } from './parse/index.ts';
import * as repo from './repo.ts';

export type { DocumentRow, DocumentStatus } from './repo.ts';

export interface UploadedFile {
  filename: string;
  bytes: Uint8Array;
}

export interface UploadResult {
  document_id: string;
  filename: string;
  status: repo.DocumentStatus;
  /** True when the bot already had this exact content: nothing new was stored. */
  duplicate: boolean;
}

export interface DocumentsService {
  /** `metadata` is stored on each new document and copied onto its chunks (for search filters). */
  upload(ctx: Ctx, botId: string, files: UploadedFile[], metadata?: Record<string, unknown>): Promise<UploadResult[]>;
  list(
    ctx: Ctx,
    botId: string,
    filter: { status?: repo.DocumentStatus | undefined; limit: number; offset: number },
  ): Promise<{ rows: repo.DocumentRow[]; total: number }>;
  get(ctx: Ctx, documentId: string): Promise<repo.DocumentRow>;
  chunks(ctx: Ctx, documentId: string, page: { limit: number; offset: number }): Promise<repo.ChunkRow[]>;
  remove(ctx: Ctx, documentId: string): Promise<void>;
  reindex(ctx: Ctx, documentId: string): Promise<repo.DocumentRow>;
  /** Re-queues every document of a bot (after its embedding model changed), inside `tx`. */
  reindexBot(tx: Queryable, botId: string): Promise<number>;
  /** Checks access, then yields the bot's documents that changed since the given time. */
  changes(ctx: Ctx, botId: string): Promise<(since: Date) => Promise<repo.DocumentRow[]>>;
}

export function createDocumentsService(deps: { db: Db; access: Access; queue: () => JobQueue }): DocumentsService {
  const { db, access } = deps;

  /** Loads a document the caller may act on; foreign or missing both answer 404. */
  async function authorized(ctx: Ctx, documentId: string, action: 'use' | 'edit') {
    if (!isUuid(documentId)) throw notFound('Document');
    const doc = await repo.findDocument(db, documentId);
    if (!doc) throw notFound('Document');
    await access.requireBot(ctx, doc.bot_id, action, { notFoundAs: 'Document' });
    return doc;
  }

  return {
    async upload(ctx, botId, files, metadata = {}) {
      await access.requireBot(ctx, botId, 'edit');
      if (files.length === 0) {
        throw new AppError('validation_failed', 'Attach one or more files in the "files" field', {
          errors: [{ field: 'files', message: 'required' }],
        });
      }
      // Every file is checked before anything is stored: one bad file stores nothing.
      const checked = await Promise.all(
        files.map(async (f) => {
          try {
            const type = await detectFileType(f.bytes, f.filename);
            return { ...f, ...type, hash: createHash('sha256').update(f.bytes).digest('hex') };
          } catch (err) {
            if (err instanceof AppError) throw new AppError(err.code, `${f.filename}: ${err.message}`);
            throw err;
          }
        }),
      );
      const queue = deps.queue();
      // Three statements for the whole upload (documents, bytes, jobs), however many files.
      const results = await db.transaction(async (tx) => {
        const stored = await repo.insertDocuments(
          tx,
          botId,
          checked.map((f) => ({
            filename: f.filename,
            fileType: f.fileType,
            mimeType: f.mimeType,
            sizeBytes: f.bytes.byteLength,
            contentHash: f.hash,
          })),
          metadata,
        );
        const fresh = checked.flatMap((f, i) =>
          stored[i]?.created ? [{ documentId: stored[i].row.id, content: f.bytes }] : [],
        );
        await repo.insertFiles(tx, fresh);
        await queue.sendMany<IngestJob>(
          INGEST_QUEUE,
          fresh.map((f) => ({ documentId: f.documentId })),
          { tx },
        );
        return checked.map((f, i): UploadResult => {
          const { row, created } = stored[i] as (typeof stored)[number];
          return { document_id: row.id, filename: f.filename, status: row.status, duplicate: !created };
        });
      });
      ctx.log.info({ bot_id: botId, documents: results.map((r) => r.document_id) }, 'documents accepted');
      return results;
    },

    async list(ctx, botId, filter) {
      await access.requireBot(ctx, botId, 'use');
      return repo.listDocuments(db, botId, filter);
    },

    get: (ctx, documentId) => authorized(ctx, documentId, 'use'),

    async chunks(ctx, documentId, page) {
      await authorized(ctx, documentId, 'use');
      return repo.listChunks(db, documentId, page.limit, page.offset);
    },

    async remove(ctx, documentId) {
      const doc = await authorized(ctx, documentId, 'edit');
      await repo.deleteDocument(db, doc.id);
      ctx.log.info({ bot_id: doc.bot_id, document_id: doc.id }, 'document deleted');
    },

    async reindex(ctx, documentId) {
      await authorized(ctx, documentId, 'edit');
      const queue = deps.queue();
      const row = await db.transaction(async (tx) => {
        const updated = await repo.requeueDocument(tx, documentId);
        if (!updated) throw notFound('Document');
        await queue.send<IngestJob>(INGEST_QUEUE, { documentId }, { tx });
        return updated;
      });
      return row;
    },

    async reindexBot(tx, botId) {
      const ids = await repo.requeueBotDocuments(tx, botId);
      await deps.queue().sendMany<IngestJob>(
        INGEST_QUEUE,
        ids.map((documentId) => ({ documentId })),
        { tx },
      );
      return ids.length;
    },

    async changes(ctx, botId) {
      await access.requireBot(ctx, botId, 'use');
      return (since) => repo.documentsChangedSince(db, botId, since);
    },
  };
}
