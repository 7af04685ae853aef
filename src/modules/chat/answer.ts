import type { Ctx } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { addCallCost } from '../../providers/llm/cost.ts';
import type { LlmCompletion, LlmModel } from '../../providers/llm/spec.ts';
import type { BotRow } from '../bots/repo.ts';
import { type FiltersInput, type RetrievalService, type SourceDto, sourceDto } from '../retrieval/service.ts';
import type { ChatEvent, TurnUsage } from './events.ts';
import { extractiveAnswer } from './extractive.ts';
import { buildAnswerPrompt, type HistoryMessage, type PromptBudget } from './prompt.ts';
import type { ChatMode } from './repo.ts';
import { rewriteQuery } from './rewrite.ts';
import type { WorkflowTurnRunner } from './workflow-seam.ts';

/**
 * The two ways a turn is answered, as event streams: the RAG pipeline (follow-up rewriting,
 * retrieval, then a grounded LLM answer — or an extract when there is no LLM, or the bot's
 * "I don't know" when nothing relevant was found), or the bot's workflow through the seam.
 * Both fill a `TurnRecord`, which the service stores when the turn ends.
 */

export const DEFAULT_NO_ANSWER = "I don't know based on the documents I have.";

/** A turn that passed every check: the bot, its session and history, and the model (if any). */
export interface PreparedTurn {
  ctx: Ctx;
  bot: BotRow;
  sessionId: string;
  title: string;
  history: HistoryMessage[];
  message: string;
  /** Narrows retrieval for this turn. */
  filters?: FiltersInput | undefined;
  model: LlmModel | undefined;
  workflow: boolean;
  signal: AbortSignal;
}

/** What a turn accumulates for the stored message and the final event. */
export interface TurnRecord {
  text: string;
  sources: SourceDto[];
  mode: ChatMode;
  searchQuery: string | null;
  provider: string | null;
  model: string | null;
  usage: TurnUsage;
  cost: number | null;
}

export function newTurnRecord(mode: ChatMode): TurnRecord {
  return {
    text: '',
    sources: [],
    mode,
    searchQuery: null,
    provider: null,
    model: null,
    usage: { input_tokens: 0, output_tokens: 0 },
    cost: 0,
  };
}

export async function* ragAnswer(
  deps: { retrieval: Pick<RetrievalService, 'retrieve'>; budget?: PromptBudget | undefined },
  turn: PreparedTurn,
  record: TurnRecord,
): AsyncGenerator<ChatEvent> {
  const { bot, model, signal } = turn;
  let query = turn.message;
  if (model && turn.history.length > 0) {
    try {
      const rewritten = await rewriteQuery(model, turn.history, turn.message, signal);
      addUsage(record, rewritten.completion);
      if (rewritten.query !== turn.message) {
        query = rewritten.query;
        record.searchQuery = query;
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      // The follow-up itself is still a usable query.
      turn.ctx.log.warn({ err, bot_id: bot.id }, 'query rewrite failed; searching with the question as asked');
    }
  }

  const { hits } = await deps.retrieval.retrieve(bot, query, { signal, filters: turn.filters });
  signal.throwIfAborted();

  if (hits.length === 0) {
    record.mode = 'no_answer';
    record.text = bot.settings.prompt?.no_answer?.trim() || DEFAULT_NO_ANSWER;
    yield { type: 'sources', sources: [] };
    yield { type: 'delta', text: record.text };
    return;
  }

  if (!model) {
    const extract = extractiveAnswer(query, hits);
    record.mode = 'extractive';
    record.sources = extract.passages.map(sourceDto);
    record.text = extract.text;
    yield { type: 'sources', sources: record.sources };
    yield { type: 'delta', text: record.text };
    return;
  }

  const prompt = buildAnswerPrompt({
    systemPrompt: bot.settings.prompt?.system,
    passages: hits,
    history: turn.history,
    question: turn.message,
    budget: deps.budget,
  });
  record.sources = prompt.passages.map(sourceDto);
  record.provider = model.provider;
  record.model = model.modelId;
  yield { type: 'sources', sources: record.sources };
  const llm = bot.settings.llm ?? {};
  for await (const event of model.stream({
    system: prompt.system,
    messages: prompt.messages,
    ...(llm.temperature !== undefined ? { temperature: llm.temperature } : {}),
    ...(llm.max_tokens !== undefined ? { maxTokens: llm.max_tokens } : {}),
    signal,
  })) {
    if (event.type === 'text') {
      record.text += event.text;
      yield { type: 'delta', text: event.text };
    } else {
      addUsage(record, event);
    }
  }
}

export async function* workflowAnswer(
  workflows: WorkflowTurnRunner,
  turn: PreparedTurn,
  messageId: string,
  record: TurnRecord,
): AsyncGenerator<ChatEvent> {
  let finished = false;
  for await (const event of workflows.run({
    bot: turn.bot,
    sessionId: turn.sessionId,
    messageId,
    message: turn.message,
    history: turn.history,
    signal: turn.signal,
    log: turn.ctx.log,
  })) {
    if (finished) break;
    switch (event.type) {
      case 'sources':
        record.sources = event.sources;
        yield event;
        break;
      case 'delta':
        record.text += event.text;
        yield event;
        break;
      case 'done':
        record.provider = event.provider ?? null;
        record.model = event.model ?? null;
        record.usage = {
          input_tokens: event.usage?.input_tokens ?? 0,
          output_tokens: event.usage?.output_tokens ?? 0,
        };
        record.cost = event.cost_usd === undefined ? 0 : event.cost_usd;
        finished = true;
        break;
      case 'error':
        throw new AppError('workflow_failed', `The bot's workflow failed: ${event.message}`, {
          extra: { workflow_code: event.code },
        });
    }
  }
  turn.signal.throwIfAborted();
  if (!finished) throw new AppError('workflow_failed', "The bot's workflow ended without an answer");
}

/** Adds one model call's tokens and cost; an unknown price makes the turn's cost unknown. */
function addUsage(record: TurnRecord, call: Pick<LlmCompletion, 'provider' | 'model' | 'usage'>) {
  record.usage.input_tokens += call.usage.inputTokens;
  record.usage.output_tokens += call.usage.outputTokens;
  record.cost = addCallCost(record.cost, call);
  record.provider = call.provider;
  record.model = call.model;
}
