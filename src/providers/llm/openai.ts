import { createOpenAI } from '@ai-sdk/openai';
import { aiSdkModel } from './ai-sdk-model.ts';
import type { LlmModel } from './spec.ts';

export interface OpenAiSettings {
  apiKey: string;
  /** API root including `/v1`, as OPENAI_BASE_URL is for OpenAI's own SDKs. */
  baseUrl?: string | undefined;
  fetch?: typeof globalThis.fetch | undefined;
}

/**
 * OpenAI through the Chat Completions API (`POST {base}/chat/completions`), not the Responses
 * API, so the same code also talks to OpenAI-compatible servers. Settings are explicit so the
 * AI SDK never reads OPENAI_API_KEY / OPENAI_BASE_URL from the environment itself.
 */
export function createOpenAiLlm(settings: OpenAiSettings): (modelId: string) => LlmModel {
  const provider = createOpenAI({
    apiKey: settings.apiKey,
    baseURL: settings.baseUrl ?? 'https://api.openai.com/v1',
    fetch: settings.fetch,
  });
  return (modelId) => aiSdkModel('openai', provider.chat(modelId));
}
