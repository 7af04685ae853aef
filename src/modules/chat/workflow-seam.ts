import type { Logger } from 'pino';
import type { Queryable } from '../../platform/db/db.ts';
import type { BotRow } from '../bots/repo.ts';
import type { SourceDto } from '../retrieval/service.ts';
import type { HistoryMessage } from './prompt.ts';

/**
 * Where chat hands a turn to a bot's workflow instead of the plain RAG pipeline (the original's
 * "if the bot has a workflow, run WorkflowExecutor"). Chat owns sessions, persistence, usage and
 * the HTTP/SSE transport; a runner only turns one message into events. The workflow engine plugs
 * in by implementing `WorkflowTurnRunner` (`modules/workflows/turn-runner.ts`).
 */

export interface WorkflowTurn {
  bot: BotRow;
  sessionId: string;
  /** The id the answer will be stored under (e.g. to link a run to its message). */
  messageId: string;
  message: string;
  /** Earlier messages of the session, oldest first. */
  history: HistoryMessage[];
  signal: AbortSignal;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/**
 * What a runner yields: `sources` (optional, before the text), `delta`s, then exactly one `done`
 * or `error`. Field names follow the workflow engine's own events, so its run maps one to one.
 */
export type WorkflowTurnEvent =
  | { type: 'sources'; sources: SourceDto[] }
  | { type: 'delta'; text: string }
  | {
      type: 'done';
      usage?: { input_tokens: number; output_tokens: number } | undefined;
      cost_usd?: number | null | undefined;
      provider?: string | undefined;
      model?: string | undefined;
    }
  | { type: 'error'; code: string; message: string };

export interface WorkflowTurnRunner {
  /** Whether this bot's turns go to its workflow (e.g. it has a published one); asked per turn. */
  hasWorkflow(bot: BotRow): boolean;
  run(turn: WorkflowTurn): AsyncIterable<WorkflowTurnEvent>;
  /** Deletes what the runner recorded of a session's turns (their runs hold its messages), inside `tx`. */
  forgetSession(tx: Queryable, botId: string, sessionId: string): Promise<void>;
}
