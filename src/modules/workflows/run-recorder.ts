import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../../platform/db/db.ts';
import type { LlmMessage } from '../../providers/llm/spec.ts';
import type { BotRow } from '../bots/repo.ts';
import type { Workflow } from './compiled-workflow.ts';
import { createEngineDeps, type EngineInfrastructure } from './engine-deps.ts';
import type { WorkflowEvent } from './events.ts';
import { runWorkflow } from './executor.ts';
import { createLlmMeter, type LlmMeterSummary } from './llm-meter.ts';
import * as repo from './repo.ts';
import { boundStoredTrace } from './stored-trace.ts';
import type { WorkflowRunResult } from './trace.ts';

/**
 * Runs a workflow and keeps a record of it: a `workflow_runs` row written before the run starts
 * (keyed by the engine's run id, so a run that never finishes is visible as `running`) and
 * completed with the answer, usage and a size-bounded trace. Chat runs and test runs both go
 * through here, so every run of a bot can be inspected afterwards.
 */
export interface StartRunInput {
  bot: Pick<BotRow, 'id' | 'settings'>;
  workflow: Workflow;
  source: repo.RunSource;
  version: number | null;
  draftRevision: number | null;
  message: string;
  history: LlmMessage[];
  sessionId: string | null;
  chatMessageId: string | null;
  startedBy: string | null;
  signal: AbortSignal;
}

export interface RecordedRun {
  runId: string;
  /**
   * The engine's events, iterated once. The final `done` or `error` is passed on only after the
   * run's row is stored, so a client that reads the run after it ended finds it complete.
   * Stopping early cancels the run (it is stored as failed with code `cancelled`).
   */
  events: AsyncIterable<WorkflowEvent>;
  /** The engine's result, once the run is stored. Never rejects. */
  result: Promise<WorkflowRunResult>;
  /** Cost and model of the run's LLM calls so far. */
  llm(): LlmMeterSummary;
}

export interface RunRecorder {
  start(input: StartRunInput): Promise<RecordedRun>;
}

export interface RunRecorderDeps {
  db: Db;
  infra: EngineInfrastructure;
  traceMaxBytes: number;
  log: Pick<Logger, 'error'>;
}

export function createRunRecorder(deps: RunRecorderDeps): RunRecorder {
  const { db } = deps;

  async function store(botId: string, runId: string, result: WorkflowRunResult): Promise<void> {
    try {
      await repo.finishRun(db, {
        id: runId,
        botId,
        status: result.status,
        answer: result.answer,
        error: result.error,
        steps: result.trace.steps,
        inputTokens: result.usage.input_tokens,
        outputTokens: result.usage.output_tokens,
        durationMs: Math.round(result.trace.duration_ms),
        trace: boundStoredTrace(result.trace, deps.traceMaxBytes),
      });
    } catch (err) {
      // The answer was given; losing its record is logged, not turned into a failed answer.
      deps.log.error({ err, bot_id: botId, run_id: runId }, 'could not store the workflow run');
    }
  }

  return {
    async start(input) {
      const runId = randomUUID();
      await repo.insertRun(db, {
        id: runId,
        botId: input.bot.id,
        source: input.source,
        version: input.version,
        draftRevision: input.draftRevision,
        sessionId: input.sessionId,
        chatMessageId: input.chatMessageId,
        message: input.message,
        startedBy: input.startedBy,
      });
      const meter = createLlmMeter();
      const run = runWorkflow(
        input.workflow,
        {
          botId: input.bot.id,
          message: input.message,
          history: input.history,
          sessionId: input.sessionId ?? undefined,
          runId,
          signal: input.signal,
        },
        createEngineDeps(deps.infra, input.bot, meter),
      );
      let stored: Promise<WorkflowRunResult> | undefined;
      const finish = () => {
        stored ??= run.result.then(async (result) => {
          await store(input.bot.id, runId, result);
          return result;
        });
        return stored;
      };

      async function* events(): AsyncGenerator<WorkflowEvent> {
        try {
          for await (const event of run) {
            if (event.type === 'done' || event.type === 'error') await finish();
            yield event;
          }
        } finally {
          await finish();
        }
      }

      return { runId, events: events(), result: run.result.then(finish), llm: meter.summary };
    },
  };
}
