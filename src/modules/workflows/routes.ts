import { z } from 'zod';
import { AppError } from '../../platform/errors.ts';
import { IdParams, iso, Pagination } from '../../platform/http/schemas.ts';
import { abortOnDisconnect, openSse, wantsEventStream } from '../../platform/http/sse.ts';
import { type App, type Authenticate, BEARER } from '../../platform/http/types.ts';
import { describeNodeTypes } from './nodes/registry.ts';
import { streamRun } from './run-sse.ts';
import { sampleWorkflows } from './samples.ts';
import {
  DraftSchema,
  draftDto,
  PublishBody,
  PublishedSchema,
  RunBody,
  RunResultSchema,
  RunSchema,
  RunSummarySchema,
  RunsQuery,
  runDto,
  runSummaryDto,
  SaveDraftBody,
  toSourceDto,
  VersionSchema,
  VersionSummarySchema,
  versionDto,
  versionSummaryDto,
  WorkflowFailedProblem,
  WorkflowInvalidProblem,
  WorkflowStateSchema,
} from './schema.ts';
import type { WorkflowsService } from './service.ts';

export function workflowsRoutes(app: App, deps: { workflows: WorkflowsService; authenticate: Authenticate }): void {
  const { workflows, authenticate } = deps;
  const tags = ['workflows'];
  const base = '/api/v1/bots/:id/workflow';

  app.get(base, {
    schema: {
      tags,
      security: BEARER,
      summary: "A bot's workflow: the draft being edited and the published version that answers chat",
      params: IdParams,
      response: { 200: WorkflowStateSchema },
    },
    handler: async (req) => {
      const { draft, published } = await workflows.get(await authenticate(req), req.params.id);
      return {
        bot_id: req.params.id,
        mode: published ? ('workflow' as const) : ('rag' as const),
        draft: draft ? draftDto(draft) : null,
        published: published ? { ...versionDto(published), served_since: iso(published.served_since) as string } : null,
      };
    },
  });

  app.put(base, {
    schema: {
      tags,
      security: BEARER,
      summary: 'Save the draft; it is validated and every problem is listed',
      description:
        'A valid document answers 200 with the stored draft. An invalid one is stored too (so no work is lost) but answers ' +
        '422 `workflow_invalid` with every problem in `problems`; it cannot be published or run until fixed. ' +
        'Send the `revision` you read to fail with 409 instead of overwriting someone else’s save.',
      params: IdParams,
      body: SaveDraftBody,
      response: { 200: DraftSchema, 422: WorkflowInvalidProblem },
    },
    handler: async (req) => draftDto(await workflows.saveDraft(await authenticate(req), req.params.id, req.body)),
  });

  app.delete(base, {
    schema: {
      tags,
      security: BEARER,
      summary: 'Unpublish: the bot answers with plain RAG again (the draft and versions are kept)',
      params: IdParams,
    },
    handler: async (req, reply) => {
      await workflows.unpublish(await authenticate(req), req.params.id);
      return reply.status(204).send();
    },
  });

  app.post(`${base}/publish`, {
    schema: {
      tags,
      security: BEARER,
      summary: 'Publish the draft as a new immutable version that answers chat, or serve an older version again',
      params: IdParams,
      body: PublishBody,
      response: { 200: PublishedSchema, 422: WorkflowInvalidProblem },
    },
    handler: async (req) => {
      const v = await workflows.publish(await authenticate(req), req.params.id, req.body);
      return { ...versionDto(v), served_since: iso(v.served_since) as string };
    },
  });

  app.get(`${base}/versions`, {
    schema: {
      tags,
      security: BEARER,
      summary: 'Published versions, newest first',
      params: IdParams,
      querystring: Pagination,
      response: {
        200: z.object({
          versions: z.array(VersionSummarySchema.extend({ is_published: z.boolean() })),
          limit: z.number(),
          offset: z.number(),
        }),
      },
    },
    handler: async (req) => {
      const rows = await workflows.listVersions(await authenticate(req), req.params.id, req.query);
      return {
        versions: rows.map((v) => ({ ...versionSummaryDto(v), is_published: v.is_published })),
        ...req.query,
      };
    },
  });

  app.get(`${base}/versions/:version`, {
    schema: {
      tags,
      security: BEARER,
      summary: 'One published version with its document',
      params: IdParams.extend({ version: z.string().max(16) }),
      response: { 200: VersionSchema },
    },
    handler: async (req) =>
      versionDto(await workflows.getVersion(await authenticate(req), req.params.id, req.params.version)),
  });

  app.post(`${base}/run`, {
    schema: {
      tags,
      security: BEARER,
      summary: 'Test-run the draft with a message: JSON with the trace, or Server-Sent Events',
      description:
        'JSON: `{ run_id, answer, sources, usage, trace, ... }`; a failed run answers 502 `workflow_failed` with ' +
        '`workflow_code`, `node_id` and the `trace`. With `stream: true` or `Accept: text/event-stream`: `run` ' +
        '`{ run_id }`, `node` events as nodes start (`status: running`) and finish, `sources`, `delta` `{ text }`, then ' +
        'exactly one `done` `{ run_id, answer, sources, usage, cost_usd, trace }` or `error` ' +
        '`{ code: workflow_failed, detail, workflow_code, node_id, run_id, trace }` — the names chat uses.',
      params: IdParams,
      body: RunBody,
      response: { 200: RunResultSchema, 422: WorkflowInvalidProblem, 502: WorkflowFailedProblem },
    },
    handler: async (req, reply) => {
      const ctx = await authenticate(req);
      const stream = wantsEventStream(req, req.body.stream);
      const run = await workflows.testRun(ctx, req.params.id, req.body, abortOnDisconnect(reply));

      if (!stream) {
        for await (const _ of run.events) {
          // Drained: the result below has everything; the final event comes once the run is stored.
        }
        const result = await run.result;
        if (result.status === 'failed') {
          throw new AppError('workflow_failed', `The workflow failed: ${result.error?.message ?? 'unknown error'}`, {
            extra: {
              run_id: run.runId,
              workflow_code: result.error?.code ?? 'unknown',
              ...(result.error?.node_id ? { node_id: result.error.node_id } : {}),
              trace: result.trace,
            },
          });
        }
        const llm = run.llm();
        return {
          run_id: run.runId,
          status: 'succeeded' as const,
          answer: result.answer,
          sources: result.sources.map(toSourceDto),
          usage: result.usage,
          cost_usd: llm.costUsd,
          provider: llm.provider ?? null,
          model: llm.model ?? null,
          trace: result.trace as unknown as Record<string, unknown>,
        };
      }

      await streamRun(run, openSse(reply));
    },
  });

  app.get(`${base}/runs`, {
    schema: {
      tags,
      security: BEARER,
      summary: "The bot's workflow runs (chat and test runs), newest first, without traces",
      params: IdParams,
      querystring: Pagination.extend(RunsQuery.shape),
      response: { 200: z.object({ runs: z.array(RunSummarySchema), limit: z.number(), offset: z.number() }) },
    },
    handler: async (req) => {
      const { limit, offset, ...filter } = req.query;
      const rows = await workflows.listRuns(await authenticate(req), req.params.id, filter, { limit, offset });
      return { runs: rows.map(runSummaryDto), limit, offset };
    },
  });

  app.get(`${base}/runs/:runId`, {
    schema: {
      tags,
      security: BEARER,
      summary: 'One run with its per-node trace',
      params: IdParams.extend({ runId: z.string().max(64) }),
      response: { 200: RunSchema },
    },
    handler: async (req) => runDto(await workflows.getRun(await authenticate(req), req.params.id, req.params.runId)),
  });

  app.get('/api/v1/workflows/node-types', {
    schema: {
      tags,
      security: BEARER,
      summary: 'The node types an editor can offer, with the JSON Schema of each one’s `data`',
      response: {
        200: z.object({
          node_types: z.array(
            z.object({
              type: z.string(),
              description: z.string(),
              role: z.enum(['start', 'end']).optional(),
              branching: z.boolean(),
              streams: z.string().optional(),
              config_schema: z.record(z.string(), z.unknown()),
            }),
          ),
        }),
      },
    },
    handler: async (req) => {
      await authenticate(req);
      return { node_types: describeNodeTypes() };
    },
  });

  app.get('/api/v1/workflows/samples', {
    schema: {
      tags,
      security: BEARER,
      summary: 'Ready-made workflows to start from (docs/workflows/*.json)',
      response: {
        200: z.object({
          samples: z.array(z.object({ name: z.string(), document: z.record(z.string(), z.unknown()) })),
        }),
      },
    },
    handler: async (req) => {
      await authenticate(req);
      return {
        samples: Object.entries(sampleWorkflows).map(([name, document]) => ({
          name,
          document: document as Record<string, unknown>,
        })),
      };
    },
  });
}
