import { z } from 'zod';
import { Id, iso, Problem, Timestamp } from '../../platform/http/schemas.ts';
import { SourceSchema } from '../retrieval/routes.ts';
import type { SourceDto } from '../retrieval/service.ts';
import type { DraftRow, RunRow, VersionRow, VersionSummaryRow } from './repo.ts';
import type { Source } from './sources.ts';

/** Request and response schemas of the workflow routes (validation, types and OpenAPI), and the row → DTO mappers. */

const Document = z
  .record(z.string(), z.unknown())
  .describe(
    'A workflow document `{ version: 1, name?, description?, nodes: [{ id, type, data, position? }], edges: [{ id?, source, target, source_handle? }] }`; node types and their `data` in GET /api/v1/workflows/node-types and docs/workflows/README.md',
  );

export const ProblemSchema = z.object({
  code: z.string(),
  message: z.string(),
  node_id: z.string().optional(),
  parent_node_id: z.string().optional(),
  edge_id: z.string().optional(),
  field: z.string().optional(),
});

/** 422 `workflow_invalid`: every problem of the document, for an editor to mark. */
export const WorkflowInvalidProblem = Problem.extend({
  problems: z.array(ProblemSchema),
  revision: z.number().optional().describe('The draft revision (on save: the draft was kept with these problems)'),
  saved: z.boolean().optional(),
});

const Usage = z.object({ input_tokens: z.number(), output_tokens: z.number() });
const Trace = z
  .record(z.string(), z.unknown())
  .describe('Per-node trace: status, inputs, outputs, timing, tokens, errors');

/** 502 `workflow_failed` from a test run: what failed, where, and the trace up to there. */
export const WorkflowFailedProblem = Problem.extend({
  run_id: Id,
  workflow_code: z.string().describe('The engine code: llm_error, http_blocked, time_budget_exceeded, ...'),
  node_id: z.string().optional(),
  trace: Trace,
});

export const DraftSchema = z.object({
  revision: z.number(),
  valid: z.boolean(),
  problems: z.array(ProblemSchema),
  document: Document,
  updated_by: Id.nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const VersionSummarySchema = z.object({
  version: z.number(),
  draft_revision: z.number().nullable(),
  note: z.string().nullable(),
  published_by: Id.nullable(),
  published_at: Timestamp,
});

export const VersionSchema = VersionSummarySchema.extend({ document: Document });
export const PublishedSchema = VersionSchema.extend({
  served_since: Timestamp.describe('When this version started serving chat'),
});

export const WorkflowStateSchema = z.object({
  bot_id: Id,
  mode: z.enum(['workflow', 'rag']).describe('What answers chat now: the published workflow, or plain RAG'),
  draft: DraftSchema.nullable(),
  published: PublishedSchema.nullable(),
});

export const SaveDraftBody = z.object({
  document: Document,
  revision: z
    .number()
    .int()
    .min(0)
    .max(2_147_483_647)
    .optional()
    .describe('The revision you read (0: none yet); the save fails with 409 if the draft has changed since'),
});

export const PublishBody = z.object({
  revision: z
    .number()
    .int()
    .min(1)
    .max(2_147_483_647)
    .optional()
    .describe('Publish only if the draft is still at this revision'),
  version: z
    .number()
    .int()
    .min(1)
    .max(2_147_483_647)
    .optional()
    .describe('Serve this existing version again instead of publishing the draft (rollback)'),
  note: z.string().trim().max(2000).optional(),
});

export const RunBody = z.object({
  message: z.string().trim().min(1).max(8000),
  history: z
    .array(z.object({ role: z.enum(['user', 'assistant']), content: z.string().max(8000) }))
    .max(50)
    .optional()
    .describe('Earlier turns, oldest first ({{start.history}})'),
  session_id: z.string().max(128).optional().describe('Becomes {{sys.session_id}}'),
  stream: z.boolean().optional(),
});

export const RunResultSchema = z.object({
  run_id: Id,
  status: z.literal('succeeded'),
  answer: z.string(),
  sources: z.array(SourceSchema),
  usage: Usage,
  cost_usd: z.number().nullable(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  trace: Trace,
});

const RunStatus = z.enum(['running', 'succeeded', 'failed']);
const RunSource = z.enum(['draft', 'published']);

export const RunSummarySchema = z.object({
  id: Id,
  bot_id: Id,
  source: RunSource,
  version: z.number().nullable(),
  draft_revision: z.number().nullable(),
  session_id: z.string().nullable(),
  chat_message_id: Id.nullable(),
  status: RunStatus,
  message: z.string(),
  answer: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string(), node_id: z.string().nullable() }).nullable(),
  steps: z.number(),
  usage: Usage,
  duration_ms: z.number().nullable(),
  started_by: Id.nullable(),
  started_at: Timestamp,
  finished_at: Timestamp.nullable(),
});
export const RunSchema = RunSummarySchema.extend({ trace: Trace.nullable() });

export const RunsQuery = z.object({
  status: RunStatus.optional(),
  source: RunSource.optional(),
  session_id: z.string().max(128).optional(),
});

export const draftDto = (d: DraftRow) => ({
  revision: d.revision,
  valid: d.valid,
  problems: d.problems,
  document: d.document,
  updated_by: d.updated_by,
  created_at: iso(d.created_at) as string,
  updated_at: iso(d.updated_at) as string,
});

export const versionSummaryDto = (v: VersionSummaryRow | VersionRow) => ({
  version: v.version,
  draft_revision: v.draft_revision,
  note: v.note,
  published_by: v.published_by,
  published_at: iso(v.published_at) as string,
});

export const versionDto = (v: VersionRow) => ({ ...versionSummaryDto(v), document: v.document });

export const runSummaryDto = (r: RunRow) => ({
  id: r.id,
  bot_id: r.bot_id,
  source: r.source,
  version: r.version,
  draft_revision: r.draft_revision,
  session_id: r.session_id,
  chat_message_id: r.chat_message_id,
  status: r.status,
  message: r.message,
  answer: r.answer,
  error: r.error_code ? { code: r.error_code, message: r.error_message ?? '', node_id: r.error_node_id } : null,
  steps: r.steps,
  usage: { input_tokens: r.input_tokens, output_tokens: r.output_tokens },
  duration_ms: r.duration_ms,
  started_by: r.started_by,
  started_at: iso(r.started_at) as string,
  finished_at: iso(r.finished_at),
});

export const runDto = (r: RunRow) => ({ ...runSummaryDto(r), trace: r.trace });

/** A cited passage in the API's shape (chunk ids are strings, as in search and chat). */
export function toSourceDto(s: Source): SourceDto {
  return {
    document_id: s.document_id,
    chunk_id: String(s.chunk_id),
    filename: s.filename,
    content: s.content,
    score: s.score,
    ...(s.page !== undefined ? { page: s.page } : {}),
    ...(s.section !== undefined ? { section: s.section } : {}),
  };
}
