import { setTimeout as sleep } from 'node:timers/promises';
import { toLlmError } from './ai-sdk-model.ts';
import { type LlmCompletion, LlmError, type LlmEvent, type LlmModel, type LlmRequest } from './spec.ts';

export interface RetryPolicy {
  /** Attempts per provider, the first included. */
  maxAttempts: number;
  /** Backoff before the second attempt; doubles each time, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 4_000 };

/** pino-compatible: a failed attempt is logged once, as data. */
export interface LlmLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface ResilienceOptions {
  /**
   * Per attempt: the longest silence of a stream (before its first event and between two events)
   * and the longest non-streaming call.
   */
  timeoutMs: number;
  retry?: Partial<RetryPolicy> | undefined;
  logger?: LlmLogger | undefined;
  /** Told of every call that finished: which model really answered (a fallback's own) and its tokens. */
  onUsage?: ((call: Pick<LlmCompletion, 'provider' | 'model' | 'usage'>) => void) | undefined;
}

/**
 * Retries, timeouts and fallback, written once for every provider. `chain[0]` is the model asked
 * for, the rest are fallbacks tried in order. A stream is retried (with backoff, on retryable
 * errors) and then handed to the next model only while it has emitted no text: once text has
 * reached the caller, a failure is surfaced as is, because a retry would repeat or contradict
 * what was already shown. Non-retryable errors (a 400, a 401) skip the retries but still fall
 * back, since the fallback is a different provider with its own key. The caller's `signal`
 * stops everything at once and its reason is rethrown.
 */
export function createResilientModel(chain: readonly LlmModel[], options: ResilienceOptions): LlmModel {
  const primary = chain[0];
  if (!primary) throw new Error('createResilientModel needs at least one model');
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  return {
    provider: primary.provider,
    modelId: primary.modelId,
    stream: (request) => streamWithFallback(chain, policy, options, request),
    generate: async (request) => {
      const completion = await generateWithFallback(chain, policy, options.logger, request.signal, (model) =>
        generateAttempt(model, request, options.timeoutMs),
      );
      options.onUsage?.(completion);
      return completion;
    },
  };
}

async function* streamWithFallback(
  chain: readonly LlmModel[],
  policy: RetryPolicy,
  options: ResilienceOptions,
  request: LlmRequest,
): AsyncGenerator<LlmEvent> {
  const failures: LlmError[] = [];
  for (const [index, model] of chain.entries()) {
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
      request.signal?.throwIfAborted();
      let emittedText = false;
      try {
        for await (const event of streamAttempt(model, request, options.timeoutMs)) {
          if (event.type === 'text') emittedText = true;
          else if (event.type === 'finish') options.onUsage?.(event);
          yield event;
        }
        return;
      } catch (caught) {
        if (request.signal?.aborted) throw request.signal.reason;
        const error = toLlmError(model.provider, caught);
        if (emittedText) throw error;
        failures.push(error);
        const retry = error.retryable && attempt < policy.maxAttempts;
        logFailure(options.logger, model, attempt, error, retry ? 'retry' : nextStep(chain, index));
        if (!retry) break;
        await backoff(policy, attempt, request.signal);
      }
    }
  }
  throw exhausted(chain, failures);
}

async function generateWithFallback<T>(
  chain: readonly LlmModel[],
  policy: RetryPolicy,
  logger: LlmLogger | undefined,
  signal: AbortSignal | undefined,
  attempt: (model: LlmModel) => Promise<T>,
): Promise<T> {
  const failures: LlmError[] = [];
  for (const [index, model] of chain.entries()) {
    for (let n = 1; n <= policy.maxAttempts; n++) {
      signal?.throwIfAborted();
      try {
        return await attempt(model);
      } catch (caught) {
        if (signal?.aborted) throw signal.reason;
        const error = toLlmError(model.provider, caught);
        failures.push(error);
        const retry = error.retryable && n < policy.maxAttempts;
        logFailure(logger, model, n, error, retry ? 'retry' : nextStep(chain, index));
        if (!retry) break;
        await backoff(policy, n, signal);
      }
    }
  }
  throw exhausted(chain, failures);
}

/**
 * One attempt of one model. A watchdog aborts the attempt when the model has sent nothing for
 * `timeoutMs` — before the first event or between two events. Time the consumer spends on an
 * event does not count. The wait itself is raced against the abort, so even a model that ignores
 * its signal cannot hang the caller.
 */
async function* streamAttempt(model: LlmModel, request: LlmRequest, timeoutMs: number): AsyncGenerator<LlmEvent> {
  const watchdog = new AbortController();
  const signal = request.signal ? AbortSignal.any([request.signal, watchdog.signal]) : watchdog.signal;
  let waiting = true;
  let rejectWait: ((reason: unknown) => void) | undefined;
  const timer = setTimeout(() => {
    if (!waiting) {
      timer.refresh();
      return;
    }
    watchdog.abort(timeoutError(model, timeoutMs));
  }, timeoutMs);
  const onAbort = () => rejectWait?.(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const events = model.stream({ ...request, signal })[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await new Promise<IteratorResult<LlmEvent>>((resolve, reject) => {
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        rejectWait = reject;
        events.next().then(resolve, reject);
      });
      rejectWait = undefined;
      if (next.done) return;
      waiting = false;
      yield next.value;
      waiting = true;
      timer.refresh();
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    // Not awaited: if the model is stuck in a read it ignores the abort for, we don't wait for it.
    events.return?.().catch(() => {});
  }
}

async function generateAttempt(model: LlmModel, request: LlmRequest, timeoutMs: number): Promise<LlmCompletion> {
  if (!model.generate) return collect(streamAttempt(model, request, timeoutMs));
  const watchdog = new AbortController();
  const signal = request.signal ? AbortSignal.any([request.signal, watchdog.signal]) : watchdog.signal;
  const timer = setTimeout(() => watchdog.abort(timeoutError(model, timeoutMs)), timeoutMs);
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      model.generate({ ...request, signal }),
      new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** Reads a whole stream into one completion. */
export async function collect(events: AsyncIterable<LlmEvent>): Promise<LlmCompletion> {
  let text = '';
  for await (const event of events) {
    if (event.type === 'text') text += event.text;
    else
      return {
        text,
        usage: event.usage,
        finishReason: event.finishReason,
        provider: event.provider,
        model: event.model,
      };
  }
  throw new LlmError('the model stream ended without a finish event', { retryable: true });
}

function timeoutError(model: LlmModel, timeoutMs: number): LlmError {
  return new LlmError(`${model.provider} (${model.modelId}) sent nothing for ${timeoutMs} ms`, { retryable: true });
}

function backoff(policy: RetryPolicy, attempt: number, signal: AbortSignal | undefined): Promise<void> {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const delay = Math.round(ceiling * (0.5 + Math.random() / 2));
  return sleep(delay, undefined, { signal }).catch((error: unknown) => {
    throw signal?.aborted ? signal.reason : error;
  });
}

function nextStep(chain: readonly LlmModel[], index: number): string {
  const next = chain[index + 1];
  return next ? `fallback to ${next.provider}` : 'give up';
}

function logFailure(logger: LlmLogger | undefined, model: LlmModel, attempt: number, error: LlmError, then: string) {
  logger?.warn(
    {
      provider: model.provider,
      model: model.modelId,
      attempt,
      status: error.status,
      retryable: error.retryable,
      err: error.message,
    },
    `LLM call failed; ${then}`,
  );
}

function exhausted(chain: readonly LlmModel[], failures: LlmError[]): LlmError {
  const last = failures.at(-1);
  if (chain.length === 1 && last) return last;
  const summary = [...new Set(failures.map((f) => f.message))].join('; ');
  return new LlmError(`every LLM provider failed (${chain.map((m) => m.provider).join(' → ')}): ${summary}`, {
    retryable: last?.retryable ?? false,
    status: last?.status,
    cause: last,
  });
}
