import type { MultipartFile } from '@fastify/multipart';
import { z } from 'zod';
import { AppError, badRequest } from '../../platform/errors.ts';
import { Id, IdParams, iso, Pagination, Timestamp } from '../../platform/http/schemas.ts';
import { openSse } from '../../platform/http/sse.ts';
import { type App, type Authenticate, BEARER } from '../../platform/http/types.ts';
import type { ChunkRow, DocumentRow } from './repo.ts';
import type { DocumentsService, UploadedFile } from './service.ts';

const Status = z.enum(['queued', 'processing', 'ready', 'failed']);
const DocumentSchema = z.object({
  id: Id,
  document_id: Id,
  bot_id: Id,
  filename: z.string(),
  file_type: z.string(),
  mime_type: z.string(),
  size_bytes: z.number(),
  status: Status,
  stage: z.string().nullable(),
  chunks_done: z.number(),
  chunks_total: z.number(),
  error: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()).describe('Custom fields given at upload, copied onto every chunk'),
  created_at: Timestamp,
  updated_at: Timestamp,
});
const ChunkSchema = z.object({
  chunk_id: z.string(),
  chunk_index: z.number(),
  content: z.string(),
  token_count: z.number(),
  page: z.number().optional(),
  section: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()),
  embedding_model: z.string().nullable(),
});

export const documentDto = (d: DocumentRow) => ({
  id: d.id,
  document_id: d.id,
  bot_id: d.bot_id,
  filename: d.filename,
  file_type: d.file_type,
  mime_type: d.mime_type,
  size_bytes: Number(d.size_bytes),
  status: d.status,
  stage: d.stage,
  chunks_done: d.chunks_done,
  chunks_total: d.chunks_total,
  error: d.error,
  metadata: d.metadata,
  created_at: iso(d.created_at) as string,
  updated_at: iso(d.updated_at) as string,
});

const MAX_METADATA_CHARS = 8 * 1024;

/** The optional `metadata` form field: a JSON object of custom fields for search filters. */
const MetadataField = z
  .string()
  .max(MAX_METADATA_CHARS, `at most ${MAX_METADATA_CHARS} characters of JSON`)
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string().max(100), z.unknown(), { error: 'must be a JSON object' }));

function parseMetadata(value: string): Record<string, unknown> {
  const parsed = MetadataField.safeParse(value);
  if (parsed.success) return parsed.data;
  const message = parsed.error.issues[0]?.message ?? 'must be a JSON object';
  throw badRequest(`metadata: ${message}`, 'metadata');
}

const chunkDto = (c: ChunkRow) => {
  const sectionPath = c.metadata.section_path;
  return {
    chunk_id: String(c.id),
    chunk_index: c.chunk_index,
    content: c.content,
    token_count: c.token_count,
    ...(typeof c.metadata.page === 'number' ? { page: c.metadata.page } : {}),
    ...(Array.isArray(sectionPath) && sectionPath.length ? { section: sectionPath.join(' > ') } : {}),
    metadata: c.metadata,
    embedding_model: c.embedding_model,
  };
};

/** Progress is polled from the database, so it works whichever process runs the worker. */
const EVENT_POLL_MS = 500;

export function documentsRoutes(app: App, deps: { documents: DocumentsService; authenticate: Authenticate }): void {
  const { documents, authenticate } = deps;
  const tags = ['documents'];

  app.post('/api/v1/documents/upload', {
    schema: {
      tags,
      security: BEARER,
      summary: 'Upload one or more files (multipart field "files") to a bot',
      description:
        'multipart/form-data with one or more parts named `files`, `bot_id` as a query parameter or form field, ' +
        'and optionally `metadata`, a JSON object copied onto every chunk (filter on it in search and workflows). ' +
        'Answers 202 with one entry per file; ingestion runs in the background.',
      consumes: ['multipart/form-data'],
      querystring: z.object({ bot_id: Id.optional() }),
      response: {
        202: z.object({
          documents: z.array(
            z.object({ document_id: Id, filename: z.string(), status: Status, duplicate: z.boolean() }),
          ),
        }),
      },
    },
    handler: async (req, reply) => {
      const ctx = await authenticate(req);
      if (!req.isMultipart()) {
        throw new AppError('unsupported_media_type', 'Send multipart/form-data with the files in the "files" field');
      }
      const files: UploadedFile[] = [];
      let formBotId: string | undefined;
      let metadata: Record<string, unknown> | undefined;
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          if (part.fieldname !== 'files' && part.fieldname !== 'file') {
            await (part as MultipartFile).toBuffer();
            continue;
          }
          const buffer = await part.toBuffer();
          files.push({ filename: part.filename || 'upload', bytes: new Uint8Array(buffer) });
        } else if (part.fieldname === 'bot_id' && typeof part.value === 'string') {
          formBotId = part.value;
        } else if (part.fieldname === 'metadata' && typeof part.value === 'string') {
          metadata = parseMetadata(part.value);
        }
      }
      const botId = req.query.bot_id ?? formBotId;
      if (!botId || !Id.safeParse(botId).success) {
        throw new AppError('validation_failed', 'bot_id is required (query parameter or form field)', {
          errors: [{ field: 'bot_id', message: 'required' }],
        });
      }
      const results = await documents.upload(ctx, botId, files, metadata);
      return reply.status(202).send({ documents: results });
    },
  });

  app.get('/api/v1/documents', {
    schema: {
      tags,
      security: BEARER,
      querystring: Pagination.extend({ bot_id: Id, status: Status.optional() }),
      response: {
        200: z.object({ documents: z.array(DocumentSchema), total: z.number(), limit: z.number(), offset: z.number() }),
      },
    },
    handler: async (req) => {
      const { bot_id, status, limit, offset } = req.query;
      const page = await documents.list(await authenticate(req), bot_id, { status, limit, offset });
      return { documents: page.rows.map(documentDto), total: page.total, limit, offset };
    },
  });

  app.get('/api/v1/documents/events', {
    schema: {
      tags,
      security: BEARER,
      summary: "Server-Sent Events stream of a bot's ingestion progress",
      querystring: z.object({ bot_id: Id }),
    },
    handler: async (req, reply) => {
      const changes = await documents.changes(await authenticate(req), req.query.bot_id);
      const sse = openSse(reply, { retryMs: 2000 });
      let since = new Date(Date.now() - 1000);
      while (!sse.closed) {
        try {
          for (const doc of await changes(since)) {
            await sse.send('document', documentDto(doc));
            if (doc.updated_at > since) since = doc.updated_at;
          }
        } catch (err) {
          req.log.error({ err }, 'progress stream failed');
          await sse.send('error', { code: 'internal_error', detail: 'progress unavailable' });
          break;
        }
        await new Promise((r) => setTimeout(r, EVENT_POLL_MS));
      }
      sse.end();
    },
  });

  app.get('/api/v1/documents/:id', {
    schema: { tags, security: BEARER, params: IdParams, response: { 200: DocumentSchema } },
    handler: async (req) => documentDto(await documents.get(await authenticate(req), req.params.id)),
  });

  app.get('/api/v1/documents/:id/chunks', {
    schema: {
      tags,
      security: BEARER,
      params: IdParams,
      querystring: Pagination,
      response: { 200: z.object({ chunks: z.array(ChunkSchema) }) },
    },
    handler: async (req) => ({
      chunks: (await documents.chunks(await authenticate(req), req.params.id, req.query)).map(chunkDto),
    }),
  });

  app.delete('/api/v1/documents/:id', {
    schema: { tags, security: BEARER, params: IdParams },
    handler: async (req, reply) => {
      await documents.remove(await authenticate(req), req.params.id);
      return reply.status(204).send();
    },
  });

  app.post('/api/v1/documents/:id/reindex', {
    schema: { tags, security: BEARER, params: IdParams, response: { 202: DocumentSchema } },
    handler: async (req, reply) =>
      reply.status(202).send(documentDto(await documents.reindex(await authenticate(req), req.params.id))),
  });
}
