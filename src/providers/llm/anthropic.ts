import { createAnthropic } from '@ai-sdk/anthropic';
import { aiSdkModel } from './ai-sdk-model.ts';
import type { LlmModel } from './spec.ts';

export interface AnthropicSettings {
  apiKey: string;
  /** API root, with or without `/v1` (Anthropic's SDKs use it without, the AI SDK with). */
  baseUrl?: string | undefined;
  fetch?: typeof globalThis.fetch | undefined;
}

const ANTHROPIC_API = 'https://api.anthropic.com';

/**
 * Anthropic Messages API (`POST {base}/v1/messages`, SSE when streaming). Every setting is passed
 * explicitly so the AI SDK never falls back to reading ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL
 * from the environment itself.
 */
export function createAnthropicLlm(settings: AnthropicSettings): (modelId: string) => LlmModel {
  const provider = createAnthropic({
    apiKey: settings.apiKey,
    baseURL: withVersionPath(settings.baseUrl ?? ANTHROPIC_API),
    fetch: settings.fetch,
  });
  return (modelId) => aiSdkModel('anthropic', provider.languageModel(modelId));
}

/** `https://proxy.example` and `https://proxy.example/v1` both mean the same API root. */
function withVersionPath(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  return /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
}
