import type { Queryable } from '../../platform/db/db.ts';
import type { WorkflowTurnEvent, WorkflowTurnRunner } from '../chat/workflow-seam.ts';
import * as repo from './repo.ts';
import type { RunRecorder } from './run-recorder.ts';
import { toSourceDto } from './schema.ts';
import { mergeSources, type Source } from './sources.ts';
import { type ValidationResult, validateWorkflow } from './validate.ts';

/** Compiled published versions kept per runner; versions never change, so entries never go stale. */
const COMPILED_CACHE_SIZE = 200;

interface CompiledVersion {
  checked: ValidationResult;
  draftRevision: number | null;
}

/**
 * What chat consults for every turn (the original's "if the bot has a workflow, run
 * WorkflowExecutor"): a bot with a published workflow answers through its published version —
 * never the draft — and each turn is recorded as a run (`source: published`, with the session and
 * the chat message it produced), so its trace can be read from the runs API. Which version
 * answers comes with the bot (`workflow_version`); a version is read and compiled once.
 */
export function createWorkflowTurnRunner(deps: { db: Queryable; recorder: RunRecorder }): WorkflowTurnRunner {
  const { db, recorder } = deps;
  const compiled = new Map<string, CompiledVersion>();
  async function compiledVersion(botId: string, version: number): Promise<CompiledVersion | undefined> {
    const key = `${botId}:${version}`;
    let entry = compiled.get(key);
    if (!entry) {
      const stored = await repo.findVersion(db, botId, version);
      if (!stored) return undefined;
      entry = { checked: validateWorkflow(stored.document), draftRevision: stored.draft_revision };
      if (compiled.size >= COMPILED_CACHE_SIZE) compiled.delete(compiled.keys().next().value as string);
      compiled.set(key, entry);
    }
    return entry;
  }
  return {
    hasWorkflow: (bot) => bot.workflow_version !== null,

    forgetSession: (tx, botId, sessionId) => repo.deleteSessionRuns(tx, botId, sessionId),

    async *run(turn): AsyncGenerator<WorkflowTurnEvent> {
      const version = turn.bot.workflow_version;
      const published = version === null ? undefined : await compiledVersion(turn.bot.id, version);
      if (version === null || !published) {
        yield {
          type: 'error',
          code: 'workflow_unpublished',
          message: "The bot's workflow was unpublished while this message was being answered; send it again",
        };
        return;
      }
      const { checked, draftRevision } = published;
      if (!checked.ok) {
        // Published versions were valid when published; only a change of node types can get here.
        turn.log.error(
          { bot_id: turn.bot.id, version, problems: checked.errors },
          'the published workflow no longer validates',
        );
        yield {
          type: 'error',
          code: 'workflow_invalid',
          message: `Published version ${version} is no longer valid: ${checked.errors[0]?.message ?? ''}`,
        };
        return;
      }
      const run = await recorder.start({
        bot: turn.bot,
        workflow: checked.workflow,
        source: 'published',
        version,
        draftRevision,
        message: turn.message,
        history: turn.history.map((m) => ({ role: m.role, content: m.content })),
        sessionId: turn.sessionId,
        chatMessageId: turn.messageId,
        startedBy: null,
        signal: turn.signal,
      });
      // Each end node that runs sends its sources; chat keeps the latest list, so send them all so far.
      let sources: Source[] = [];
      for await (const event of run.events) {
        switch (event.type) {
          case 'sources':
            sources = mergeSources([sources, event.sources]);
            yield { type: 'sources', sources: sources.map(toSourceDto) };
            break;
          case 'delta':
            yield { type: 'delta', text: event.text };
            break;
          case 'done': {
            const llm = run.llm();
            yield {
              type: 'done',
              usage: event.usage,
              cost_usd: llm.costUsd,
              provider: llm.provider,
              model: llm.model,
            };
            return;
          }
          case 'error':
            yield { type: 'error', code: event.code, message: event.message };
            return;
        }
      }
    },
  };
}
