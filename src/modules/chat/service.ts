import { randomUUID } from 'node:crypto';
import type { Ctx } from '../../platform/context.ts';
import type { Db } from '../../platform/db/db.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';
import { metrics } from '../../platform/metrics.ts';
import type { LlmRegistry } from '../../providers/llm/registry.ts';
import type { LlmModel } from '../../providers/llm/spec.ts';
import type { BotRow } from '../bots/repo.ts';
import type { FiltersInput, RetrievalService } from '../retrieval/service.ts';
import type { Access } from '../teams/access.ts';
import { newTurnRecord, type PreparedTurn, ragAnswer, workflowAnswer } from './answer.ts';
import { type ChatErrorCode, type ChatEvent, describeFailure, roundUsd } from './events.ts';
import type { PromptBudget } from './prompt.ts';
import * as repo from './repo.ts';
import { summarizeUsage, type UsageSummary } from './usage.ts';
import type { WorkflowTurnRunner } from './workflow-seam.ts';

export { DEFAULT_NO_ANSWER } from './answer.ts';
export type { ChatErrorCode, ChatEvent, TurnUsage } from './events.ts';
export type { ChatMode, FeedbackRow, MessageRow, SessionRow, UsageRow } from './repo.ts';
export type { UsageSummary } from './usage.ts';

/**
 * One chat turn: access check, session and history, (follow-up rewriting), retrieval, then a
 * grounded answer from the LLM — or an extract when no LLM is configured, or the bot's "I don't
 * know" when nothing relevant was found — or the bot's workflow. Every turn is an event stream
 * (`sources`, `delta`s, then `done` or `error`) that the route sends as SSE or collects into JSON;
 * the turn (question and answer, with usage and cost) is stored in one write when it ends.
 */

/** A widget visitor (publishable key) sees only the sessions its key started; everyone else, any of the bot's. */
function visitorMayUse(ctx: Ctx, session: repo.SessionRow): boolean {
  const actor = ctx.actor;
  return !(actor.kind === 'api_key' && actor.publishable && session.api_key_id !== actor.keyId);
}

/** Earlier messages read for the prompt's history (the token budget then trims them). */
const HISTORY_MESSAGES = 20;

export interface ChatInput {
  message: string;
  bot_id: string;
  session_id?: string | undefined;
  /** Narrows this turn's retrieval (the bot's own filters still hold), e.g. to one customer's documents. */
  filters?: FiltersInput | undefined;
}

export interface ChatTurn {
  sessionId: string;
  /** Ends with exactly one `done` or `error`; never throws once started. */
  events: AsyncIterable<ChatEvent>;
}

export interface ChatService {
  /**
   * Checks access and the session, then starts the turn. Problems found here (unknown bot or
   * session, unusable LLM choice) throw before any event, so the route can answer them as plain
   * HTTP errors; everything after arrives as an `error` event.
   */
  start(ctx: Ctx, input: ChatInput, signal: AbortSignal): Promise<ChatTurn>;
  /** `start` on a bot whose access the caller already checked (the widget: its key and origin). */
  startForBot(ctx: Ctx, bot: BotRow, input: Omit<ChatInput, 'bot_id'>, signal: AbortSignal): Promise<ChatTurn>;
  listSessions(ctx: Ctx, botId: string, page: { limit: number; offset: number }): Promise<repo.SessionRow[]>;
  /** Deletes a session, its messages and feedback, and the workflow runs of its turns (edit right). */
  deleteSession(ctx: Ctx, sessionId: string): Promise<void>;
  listMessages(
    ctx: Ctx,
    sessionId: string,
    page: { limit: number; offset: number },
  ): ReturnType<typeof repo.listMessages>;
  feedback(
    ctx: Ctx,
    messageId: string,
    input: { rating: 'up' | 'down'; comment?: string | undefined },
  ): Promise<repo.FeedbackRow>;
  usage(ctx: Ctx, botId: string, range: { from?: Date | undefined; to?: Date | undefined }): Promise<UsageSummary>;
}

export interface ChatDeps {
  db: Db;
  access: Access;
  retrieval: Pick<RetrievalService, 'retrieve'>;
  llm: Pick<LlmRegistry, 'resolve'>;
  workflows: WorkflowTurnRunner;
  budget?: PromptBudget | undefined;
}

export function createChatService(deps: ChatDeps): ChatService {
  const { db, access } = deps;

  /** Loads a session the caller may use (or edit); foreign and missing both answer 404. */
  async function authorizedSession(ctx: Ctx, sessionId: string, action: 'use' | 'edit' = 'use') {
    if (!isUuid(sessionId)) throw notFound('Session');
    const session = await repo.findSession(db, sessionId);
    if (!session || !visitorMayUse(ctx, session)) throw notFound('Session');
    await access.requireBot(ctx, session.bot_id, action, { notFoundAs: 'Session' });
    return session;
  }

  function resolveModel(bot: BotRow): LlmModel | undefined {
    try {
      return deps.llm.resolve(bot.settings.llm);
    } catch (err) {
      // The bot's saved choice no longer matches the server's configuration.
      if (err instanceof AppError) {
        throw new AppError('provider_unavailable', `This bot's LLM is not available: ${err.message}`);
      }
      throw err;
    }
  }

  const readSession = (sessionId: string | undefined) =>
    sessionId ? repo.findSessionWithHistory(db, sessionId, HISTORY_MESSAGES) : Promise.resolve(undefined);

  /** The turn on a bot the caller may use, with the session it continues (if any) already read. */
  function begin(
    ctx: Ctx,
    bot: BotRow,
    input: Omit<ChatInput, 'bot_id'>,
    session: Awaited<ReturnType<typeof readSession>>,
    signal: AbortSignal,
  ): ChatTurn {
    // Another bot's session is as unknown here as a missing one; so is, to a widget visitor,
    // any session its own key did not start.
    if (input.session_id && (session?.bot_id !== bot.id || !visitorMayUse(ctx, session))) throw notFound('Session');
    const workflow = deps.workflows.hasWorkflow(bot);
    const prepared: PreparedTurn = {
      ctx,
      bot,
      sessionId: session?.id ?? randomUUID(),
      title: input.message.replace(/\s+/g, ' ').trim().slice(0, 80),
      history: (session?.history ?? [])
        .filter((m) => m.error_code === null || m.role === 'user')
        .map((m) => ({ role: m.role, content: m.content })),
      message: input.message,
      filters: input.filters,
      model: workflow ? undefined : resolveModel(bot),
      workflow,
      signal,
    };
    return { sessionId: prepared.sessionId, events: runTurn(prepared) };
  }

  async function* runTurn(turn: PreparedTurn): AsyncGenerator<ChatEvent> {
    const started = performance.now();
    const { ctx, bot, sessionId, signal } = turn;
    const messageId = randomUUID();
    const askedAt = new Date();
    const record = newTurnRecord(turn.workflow ? 'workflow' : 'llm');
    const store = (error?: { code: ChatErrorCode; detail: string }) =>
      repo.insertTurn(db, {
        sessionId,
        botId: bot.id,
        userId: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
        apiKeyId: ctx.actor.kind === 'api_key' ? ctx.actor.keyId : null,
        title: turn.title,
        question: { id: randomUUID(), content: turn.message, askedAt },
        answer: {
          id: messageId,
          content: record.text,
          sources: record.sources,
          mode: record.mode,
          searchQuery: record.searchQuery,
          provider: record.provider,
          model: record.model,
          inputTokens: record.usage.input_tokens,
          outputTokens: record.usage.output_tokens,
          costUsd: record.cost === null ? null : roundUsd(record.cost),
          latencyMs: Math.round(performance.now() - started),
          errorCode: error?.code ?? null,
          error: error?.detail ?? null,
        },
      });

    const count = (outcome: string) => metrics.chatTurns.inc({ mode: record.mode, outcome });
    try {
      const answer = turn.workflow
        ? workflowAnswer(deps.workflows, turn, messageId, record)
        : ragAnswer(deps, turn, record);
      for await (const event of answer) yield event;
      await store();
      count('ok');
    } catch (err) {
      const problem = describeFailure(err, signal);
      count(problem.code);
      const log = problem.code === 'internal_error' ? ctx.log.error.bind(ctx.log) : ctx.log.warn.bind(ctx.log);
      log({ err, bot_id: bot.id, session_id: sessionId, code: problem.code }, 'chat turn failed');
      try {
        await store(problem);
      } catch (storeErr) {
        ctx.log.error({ err: storeErr, bot_id: bot.id }, 'could not store the failed chat turn');
      }
      yield { type: 'error', code: problem.code, detail: problem.detail, message_id: messageId, session_id: sessionId };
      return;
    }
    yield {
      type: 'done',
      message_id: messageId,
      session_id: sessionId,
      mode: record.mode,
      usage: record.usage,
      cost_usd: record.cost === null ? null : roundUsd(record.cost),
      provider: record.provider,
      model: record.model,
    };
  }

  return {
    async start(ctx, input, signal) {
      // One round trip of latency: the access check (which loads the bot) and the session read
      // (with its recent history; it only needs ids) run side by side; if access fails, the
      // session is dropped unread.
      const [{ bot }, session] = await Promise.all([
        access.requireBot(ctx, input.bot_id, 'use'),
        readSession(input.session_id),
      ]);
      return begin(ctx, bot, input, session, signal);
    },

    async startForBot(ctx, bot, input, signal) {
      return begin(ctx, bot, input, await readSession(input.session_id), signal);
    },

    async listSessions(ctx, botId, page) {
      await access.requireBot(ctx, botId, 'use');
      return repo.listSessions(db, botId, page);
    },

    async deleteSession(ctx, sessionId) {
      const session = await authorizedSession(ctx, sessionId, 'edit');
      await db.transaction(async (tx) => {
        await deps.workflows.forgetSession(tx, session.bot_id, session.id);
        await repo.deleteSession(tx, session.id);
      });
      ctx.log.info({ bot_id: session.bot_id, session_id: session.id }, 'chat session deleted');
    },

    async listMessages(ctx, sessionId, page) {
      const session = await authorizedSession(ctx, sessionId);
      return repo.listMessages(db, session.id, page);
    },

    async feedback(ctx, messageId, input) {
      if (!isUuid(messageId)) throw notFound('Message');
      const message = await repo.findMessage(db, messageId);
      if (!message) throw notFound('Message');
      await access.requireBot(ctx, message.bot_id, 'use', { notFoundAs: 'Message' });
      if (message.role !== 'assistant') {
        throw new AppError('validation_failed', 'Feedback is for answers; this message is a question');
      }
      const actor = ctx.actor.kind === 'user' ? `user:${ctx.actor.userId}` : `api_key:${ctx.actor.keyId}`;
      return repo.upsertFeedback(db, {
        messageId,
        botId: message.bot_id,
        actor,
        rating: input.rating,
        comment: input.comment?.trim() || null,
      });
    },

    async usage(ctx, botId, range) {
      await access.requireBot(ctx, botId, 'use');
      const rows = await repo.usageByModel(db, botId, range.from ?? null, range.to ?? null);
      return summarizeUsage(botId, range, rows);
    },
  };
}
