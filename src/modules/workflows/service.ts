import type { Ctx } from '../../platform/context.ts';
import type { Db } from '../../platform/db/db.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';
import type { LlmMessage } from '../../providers/llm/spec.ts';
import type { Access } from '../teams/access.ts';
import { findModelChoiceProblems, type ModelChoiceCheck } from './model-choices.ts';
import * as repo from './repo.ts';
import type { RecordedRun, RunRecorder } from './run-recorder.ts';
import { type ValidationResult, validateWorkflow } from './validate.ts';
import type { WorkflowProblem } from './workflow-problem.ts';

export type { DraftRow, RunRow, VersionRow, VersionSummaryRow } from './repo.ts';

/**
 * A bot's workflow as the editor sees it: one draft that is saved (and validated) as often as the
 * author likes, immutable numbered versions made by publishing it, and the version that serves
 * chat. Publishing never changes what chat runs until it succeeds; editing the draft never changes
 * it at all. Reading and run history need the `use` right on the bot; saving, publishing,
 * unpublishing and test runs (which execute unpublished configuration) need `edit`.
 *
 * An invalid draft is kept — work is not lost — and answered with 422 `workflow_invalid` listing
 * every problem; it cannot be published or test-run until it is valid.
 */

export interface WorkflowState {
  draft: repo.DraftRow | undefined;
  published: (repo.VersionRow & { served_since: Date }) | undefined;
}

export interface SaveDraftInput {
  document: unknown;
  /** The revision the editor read (0: there was none); omitted, the save overwrites whatever is stored. */
  revision?: number | undefined;
}

export interface PublishInput {
  /** Publish the draft only if it still has this revision (the one that was tested). */
  revision?: number | undefined;
  /** Serve this existing version again instead of publishing the draft (a rollback). */
  version?: number | undefined;
  note?: string | undefined;
}

export interface TestRunInput {
  message: string;
  history?: LlmMessage[] | undefined;
  session_id?: string | undefined;
}

export interface RunFilter {
  status?: repo.RunStatus | undefined;
  source?: repo.RunSource | undefined;
  session_id?: string | undefined;
}

export interface Page {
  limit: number;
  offset: number;
}

export interface WorkflowsService {
  get(ctx: Ctx, botId: string): Promise<WorkflowState>;
  saveDraft(ctx: Ctx, botId: string, input: SaveDraftInput): Promise<repo.DraftRow>;
  publish(ctx: Ctx, botId: string, input: PublishInput): Promise<repo.VersionRow & { served_since: Date }>;
  /** Removes the publication: the bot answers with plain RAG again. Draft and versions stay. */
  unpublish(ctx: Ctx, botId: string): Promise<{ wasPublished: boolean }>;
  listVersions(ctx: Ctx, botId: string, page: Page): Promise<repo.VersionSummaryRow[]>;
  getVersion(ctx: Ctx, botId: string, version: string): Promise<repo.VersionRow>;
  /** Starts a run of the (valid) draft; problems found before the run starts throw. */
  testRun(ctx: Ctx, botId: string, input: TestRunInput, signal: AbortSignal): Promise<RecordedRun>;
  listRuns(ctx: Ctx, botId: string, filter: RunFilter, page: Page): Promise<repo.RunRow[]>;
  getRun(ctx: Ctx, botId: string, runId: string): Promise<repo.RunRow>;
}

export interface WorkflowsServiceDeps {
  db: Db;
  access: Access;
  recorder: RunRecorder;
  /** The server's rule for model choices (provider configured, model a plain name); throws AppError. */
  checkModelChoice?: ModelChoiceCheck | undefined;
  /** A run still `running` after this long was abandoned by a stopped process (longest run + a margin). */
  abandonedRunAfterMs?: number | undefined;
}

/** When a `running` run counts as abandoned, given the longest a run may take: a minute later. */
export const abandonedRunAfterMs = (maxRunMs: number) => maxRunMs + 60_000;

/** Without the server's limit: after the longest run WORKFLOW_MAX_RUN_MS can allow (an hour). */
const DEFAULT_ABANDONED_RUN_AFTER_MS = abandonedRunAfterMs(3_600_000);

/** 422 with every problem, in `problems` of the problem+json body. */
export function workflowInvalid(problems: WorkflowProblem[], message: string, extra: Record<string, unknown> = {}) {
  return new AppError('workflow_invalid', message, { extra: { problems, ...extra } });
}

const count = (n: number) => `${n} problem${n === 1 ? '' : 's'}`;
const userOf = (ctx: Ctx) => (ctx.actor.kind === 'user' ? ctx.actor.userId : null);

export function createWorkflowsService(deps: WorkflowsServiceDeps): WorkflowsService {
  const { db, access } = deps;

  /** The engine's validation, plus the models it names checked against this server's providers. */
  function check(document: unknown): ValidationResult {
    const checked = validateWorkflow(document);
    if (!deps.checkModelChoice) return checked;
    const known = new Set(checked.errors.map((e) => `${e.parent_node_id}/${e.node_id}/${e.field}`));
    const models = findModelChoiceProblems(document, deps.checkModelChoice).filter(
      (p) => !known.has(`${p.parent_node_id}/${p.node_id}/${p.field}`),
    );
    return models.length === 0 ? checked : { ok: false, errors: [...checked.errors, ...models] };
  }

  /** The draft, checked again (the node types may have changed since it was saved). */
  async function validDraft(botId: string, action: string) {
    const draft = await repo.findDraft(db, botId);
    if (!draft) throw notFound('Workflow draft');
    const checked = check(draft.document);
    if (!checked.ok) {
      throw workflowInvalid(checked.errors, `The draft has ${count(checked.errors.length)}; fix them to ${action}`, {
        revision: draft.revision,
      });
    }
    return { draft, workflow: checked.workflow };
  }

  return {
    async get(ctx, botId) {
      await access.requireBot(ctx, botId, 'use');
      const [draft, published] = await Promise.all([repo.findDraft(db, botId), repo.findPublishedVersion(db, botId)]);
      return { draft, published };
    },

    async saveDraft(ctx, botId, input) {
      await access.requireBot(ctx, botId, 'edit');
      const checked = check(input.document);
      const draft = await repo.saveDraft(
        db,
        {
          botId,
          // A valid document is stored as the engine reads it (handles normalised, defaults filled).
          document: checked.ok ? checked.workflow.document : input.document,
          valid: checked.ok,
          problems: checked.errors,
          userId: userOf(ctx),
        },
        input.revision,
      );
      if (!draft) {
        throw new AppError(
          'conflict',
          `The draft is no longer at revision ${input.revision}: someone saved it since; reload it and apply your changes again`,
        );
      }
      if (!checked.ok) {
        throw workflowInvalid(
          checked.errors,
          `The workflow has ${count(checked.errors.length)}. The draft was saved (revision ${draft.revision}) but cannot be published or run until they are fixed`,
          { revision: draft.revision, saved: true },
        );
      }
      return draft;
    },

    async publish(ctx, botId, input) {
      await access.requireBot(ctx, botId, 'edit');
      const userId = userOf(ctx);
      if (input.version !== undefined) {
        const version = await repo.findVersion(db, botId, input.version);
        if (!version) throw notFound('Workflow version');
        const publication = await repo.publishVersion(db, { botId, version: version.version, userId });
        return { ...version, served_since: publication.published_at };
      }
      const { draft, workflow } = await validDraft(botId, 'publish it');
      if (input.revision !== undefined && draft.revision !== input.revision) {
        throw new AppError('conflict', `The draft is at revision ${draft.revision}, not ${input.revision}`);
      }
      return db.transaction(async (tx) => {
        // The draft's row lock serialises publishers of one bot, so version numbers never collide.
        const locked = await repo.findDraft(tx, botId, { lock: true });
        if (locked?.revision !== draft.revision) {
          throw new AppError('conflict', 'The draft changed while it was being published; try again');
        }
        const version = await repo.insertVersion(tx, {
          botId,
          document: workflow.document,
          draftRevision: draft.revision,
          note: input.note ?? null,
          userId,
        });
        const publication = await repo.publishVersion(tx, { botId, version: version.version, userId });
        return { ...version, served_since: publication.published_at };
      });
    },

    async unpublish(ctx, botId) {
      await access.requireBot(ctx, botId, 'edit');
      return { wasPublished: await repo.deletePublication(db, botId) };
    },

    async listVersions(ctx, botId, page) {
      await access.requireBot(ctx, botId, 'use');
      return repo.listVersions(db, botId, page);
    },

    async getVersion(ctx, botId, version) {
      await access.requireBot(ctx, botId, 'use');
      const number = /^\d{1,9}$/.test(version) ? Number(version) : undefined;
      const row = number ? await repo.findVersion(db, botId, number) : undefined;
      if (!row) throw notFound('Workflow version');
      return row;
    },

    async testRun(ctx, botId, input, signal) {
      const { bot } = await access.requireBot(ctx, botId, 'edit');
      const { draft, workflow } = await validDraft(botId, 'run it');
      return deps.recorder.start({
        bot,
        workflow,
        source: 'draft',
        version: null,
        draftRevision: draft.revision,
        message: input.message,
        history: input.history ?? [],
        sessionId: input.session_id ?? null,
        chatMessageId: null,
        startedBy: userOf(ctx),
        signal,
      });
    },

    async listRuns(ctx, botId, filter, page) {
      await access.requireBot(ctx, botId, 'use');
      await repo.closeAbandonedRuns(db, deps.abandonedRunAfterMs ?? DEFAULT_ABANDONED_RUN_AFTER_MS, botId);
      return repo.listRuns(
        db,
        botId,
        { status: filter.status, source: filter.source, sessionId: filter.session_id },
        page,
      );
    },

    async getRun(ctx, botId, runId) {
      await access.requireBot(ctx, botId, 'use');
      await repo.closeAbandonedRuns(db, deps.abandonedRunAfterMs ?? DEFAULT_ABANDONED_RUN_AFTER_MS, botId);
      const run = isUuid(runId) ? await repo.findRun(db, botId, runId) : undefined;
      if (!run) throw notFound('Workflow run');
      return run;
    },
  };
}
