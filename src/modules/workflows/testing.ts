import type { LlmEvent, LlmModel, LlmRequest, LlmUsage } from '../../providers/llm/spec.ts';
import type { Workflow } from './compiled-workflow.ts';
import { validateWorkflow } from './validate.ts';
import type { RetrievedChunk, RetrieveOptions, WorkflowDeps } from './workflow-deps.ts';

/**
 * In-process fakes of the engine's dependencies for the workflow tests: a chat model that
 * implements the real `LlmModel` interface (streams text events, then a finish event with usage,
 * and honours the abort signal) and a keyword retriever over a small corpus. Provider wire-format
 * fakes live in test/fakes; these stand in for a whole provider.
 */

export interface ScriptedReply {
  /** The text, streamed in these pieces (a string streams word by word). */
  text: string | string[];
  usage?: LlmUsage;
  /** Waits before each piece. */
  delayMs?: number;
  /** Resolved before the first piece is sent (lets a test hold a model mid-call). */
  before?: Promise<unknown>;
  /** Never answers; ends only when the request is aborted. */
  hang?: boolean;
  error?: Error;
}

export interface ScriptedLlm extends LlmModel {
  readonly requests: LlmRequest[];
  /** The AbortSignal of every call, to check that aborts reach the model. */
  readonly signals: AbortSignal[];
}

export function createScriptedLlm(
  reply: (request: LlmRequest, call: number) => ScriptedReply | string,
  identity: { provider?: LlmModel['provider']; modelId?: string } = {},
): ScriptedLlm {
  const requests: LlmRequest[] = [];
  const signals: AbortSignal[] = [];
  return {
    provider: identity.provider ?? 'openai-compatible',
    modelId: identity.modelId ?? 'scripted',
    requests,
    signals,
    async *stream(request): AsyncIterable<LlmEvent> {
      const call = requests.length;
      requests.push(request);
      const signal = request.signal ?? new AbortController().signal;
      signals.push(signal);
      const spec = reply(request, call);
      const r: ScriptedReply = typeof spec === 'string' ? { text: spec } : spec;
      if (r.before) await r.before;
      if (r.hang) await sleep(60_000, signal);
      if (r.error) throw r.error;
      const pieces = typeof r.text === 'string' ? (r.text.match(/\S+\s*|\s+/g) ?? []) : r.text;
      for (const text of pieces) {
        if (r.delayMs) await sleep(r.delayMs, signal);
        signal.throwIfAborted();
        yield { type: 'text', text };
      }
      const prompt = request.system.length + request.messages.reduce((n, m) => n + m.content.length, 0);
      yield {
        type: 'finish',
        usage: r.usage ?? { inputTokens: Math.ceil(prompt / 4), outputTokens: pieces.length },
        finishReason: 'stop',
        provider: identity.provider ?? 'openai-compatible',
        model: identity.modelId ?? 'scripted',
      };
    },
  };
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface CorpusChunk extends RetrievedChunk {
  botId: string;
  metadata?: Record<string, unknown>;
}

export interface FakeRetriever {
  retrieve: WorkflowDeps['retrieve'];
  calls: Array<{ botId: string; query: string; options: RetrieveOptions }>;
}

/**
 * Ranks a bot's chunks by how many query words they contain, honours metadata filters (equality)
 * and top-k, and records every call.
 */
export function createFakeRetriever(corpus: readonly CorpusChunk[]): FakeRetriever {
  const calls: FakeRetriever['calls'] = [];
  return {
    calls,
    async retrieve(botId, query, options) {
      calls.push({ botId, query, options });
      options.signal?.throwIfAborted();
      const words = query.toLowerCase().match(/\p{L}+/gu) ?? [];
      const wanted = options.filters?.metadata ?? {};
      return corpus
        .filter((c) => c.botId === botId)
        .filter((c) => Object.entries(wanted).every(([k, v]) => c.metadata?.[k] === v))
        .map((c) => {
          const text = c.content.toLowerCase();
          const hits = words.filter((w) => text.includes(w)).length;
          const { botId: _bot, metadata: _meta, ...chunk } = c;
          return { ...chunk, score: words.length ? hits / words.length : 0 };
        })
        .filter((c) => c.score > 0)
        .sort((a, b) => b.score - a.score)
        .slice(0, options.topK);
    },
  };
}

/** Validates a document and returns the compiled workflow, or throws listing the problems. */
export function compileWorkflow(doc: unknown): Workflow {
  const result = validateWorkflow(doc);
  if (!result.ok) throw new Error(`Invalid workflow: ${JSON.stringify(result.errors, null, 2)}`);
  return result.workflow;
}

/** Deps for a test: the given model (or none), a retriever over `corpus`, and limits. */
export function testDeps(options: {
  llm?: LlmModel | undefined;
  corpus?: readonly CorpusChunk[];
  limits?: WorkflowDeps['limits'];
  retrieve?: WorkflowDeps['retrieve'];
  dnsLookup?: WorkflowDeps['dnsLookup'];
  fetch?: WorkflowDeps['fetch'];
}): WorkflowDeps {
  return {
    retrieve: options.retrieve ?? createFakeRetriever(options.corpus ?? []).retrieve,
    llm: { resolve: () => options.llm },
    limits: options.limits,
    dnsLookup: options.dnsLookup,
    fetch: options.fetch,
  };
}
