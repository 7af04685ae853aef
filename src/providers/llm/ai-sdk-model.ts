import type { LlmProviderName } from '../../config.ts';
import { type LlmCompletion, LlmError, type LlmEvent, type LlmModel, type LlmRequest, type LlmUsage } from './spec.ts';

/** The original service's settings: temperature 0.7, at most 2000 output tokens. */
export const DEFAULT_TEMPERATURE = 0.7;
export const DEFAULT_MAX_TOKENS = 2000;

/**
 * The part of the AI SDK's language-model spec (LanguageModelV4) used here, written out because
 * each provider package pins its own copy of `@ai-sdk/provider` and their types do not unify.
 */
interface AiSdkUsage {
  inputTokens: { total: number | undefined };
  outputTokens: { total: number | undefined };
}

interface AiSdkCallOptions {
  prompt: Array<
    { role: 'system'; content: string } | { role: 'user' | 'assistant'; content: Array<{ type: 'text'; text: string }> }
  >;
  temperature?: number;
  maxOutputTokens?: number;
  abortSignal?: AbortSignal | undefined;
}

interface AiSdkStreamPart {
  type: string;
  delta?: string;
  error?: unknown;
  usage?: AiSdkUsage;
  finishReason?: { unified: string };
}

export interface AiSdkLanguageModel {
  readonly modelId: string;
  doStream(options: AiSdkCallOptions): PromiseLike<{ stream: ReadableStream<AiSdkStreamPart> }>;
  doGenerate(options: AiSdkCallOptions): PromiseLike<{
    content: ReadonlyArray<{ type: string; text?: string }>;
    usage: AiSdkUsage;
    finishReason: { unified: string };
  }>;
}

/** Statuses where the same request can succeed later (529 is Anthropic's "overloaded"). */
const RETRYABLE_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504, 529]);

/**
 * Wraps an AI SDK provider model (`@ai-sdk/anthropic`, `@ai-sdk/openai`, `@ai-sdk/amazon-bedrock`)
 * as an `LlmModel`. It calls the provider's `doStream` / `doGenerate` directly: the provider
 * packages own the wire formats, and we skip `streamText`'s agent machinery (steps, tools,
 * telemetry), which measured two to four times the CPU per streamed token. Retries, timeouts and
 * fallback are not done here but once for every provider in `resilient-model.ts`.
 */
export function aiSdkModel(provider: LlmProviderName, languageModel: AiSdkLanguageModel): LlmModel {
  const modelId = languageModel.modelId;
  return {
    provider,
    modelId,

    async *stream(request: LlmRequest): AsyncGenerator<LlmEvent> {
      let stream: ReadableStream<AiSdkStreamPart>;
      try {
        ({ stream } = await languageModel.doStream(callOptions(request)));
      } catch (error) {
        throw toLlmError(provider, error);
      }
      const reader = stream.getReader();
      let finish: AiSdkStreamPart | undefined;
      try {
        for (;;) {
          let part: Awaited<ReturnType<typeof reader.read>>;
          try {
            part = await reader.read();
          } catch (error) {
            throw toLlmError(provider, error);
          }
          if (part.done) break;
          const value = part.value;
          if (value.type === 'text-delta') {
            if (value.delta) yield { type: 'text', text: value.delta };
          } else if (value.type === 'error') {
            throw toLlmError(provider, value.error);
          } else if (value.type === 'finish') {
            finish = value;
          }
        }
      } finally {
        // Also runs when the consumer stops early: cancelling releases the HTTP response.
        reader.cancel().catch(() => {});
      }
      if (!finish) throw new LlmError(`${provider} stream ended without a finish event`, { retryable: true });
      yield {
        type: 'finish',
        usage: toUsage(finish.usage),
        finishReason: finish.finishReason?.unified ?? 'other',
        provider,
        model: modelId,
      };
    },

    async generate(request: LlmRequest): Promise<LlmCompletion> {
      try {
        const result = await languageModel.doGenerate(callOptions(request));
        let text = '';
        for (const part of result.content) if (part.type === 'text' && part.text) text += part.text;
        return {
          text,
          usage: toUsage(result.usage),
          finishReason: result.finishReason.unified,
          provider,
          model: modelId,
        };
      } catch (error) {
        throw toLlmError(provider, error);
      }
    },
  };
}

function callOptions(request: LlmRequest): AiSdkCallOptions {
  const prompt: AiSdkCallOptions['prompt'] = [];
  if (request.system) prompt.push({ role: 'system', content: request.system });
  for (const message of request.messages) {
    prompt.push({ role: message.role, content: [{ type: 'text', text: message.content }] });
  }
  return {
    prompt,
    temperature: request.temperature ?? DEFAULT_TEMPERATURE,
    maxOutputTokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
    abortSignal: request.signal,
  };
}

function toUsage(usage: AiSdkUsage | undefined): LlmUsage {
  return { inputTokens: usage?.inputTokens.total ?? 0, outputTokens: usage?.outputTokens.total ?? 0 };
}

/**
 * Turns whatever a provider threw into an `LlmError` that says whether trying again can help:
 * AI SDK API errors carry the HTTP status (or stream exception status) and their own verdict;
 * connection failures are retryable; anything else is not.
 */
export function toLlmError(provider: LlmProviderName, error: unknown): LlmError {
  if (error instanceof LlmError) return error;
  const fields = (error ?? {}) as { statusCode?: unknown; isRetryable?: unknown; message?: unknown };
  const status = typeof fields.statusCode === 'number' ? fields.statusCode : undefined;
  const sdkRetryable = fields.isRetryable === true;
  const message = typeof fields.message === 'string' ? fields.message : String(error);
  if (status !== undefined) {
    return new LlmError(`${provider} answered ${status}: ${message}`, {
      retryable: sdkRetryable || RETRYABLE_STATUS.has(status),
      status,
      cause: error,
    });
  }
  return new LlmError(`${provider} request failed: ${message}`, { retryable: sdkRetryable, cause: error });
}
