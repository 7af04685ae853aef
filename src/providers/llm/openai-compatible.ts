import { createOpenAI } from '@ai-sdk/openai';
import { aiSdkModel } from './ai-sdk-model.ts';
import type { LlmModel } from './spec.ts';

export interface OpenAiCompatibleSettings {
  /** API root including `/v1`, e.g. `http://localhost:11434/v1` (Ollama), `http://vllm:8000/v1`. */
  baseUrl: string;
  /** Optional: Ollama needs none, vLLM only when started with `--api-key`. */
  apiKey?: string | undefined;
  fetch?: typeof globalThis.fetch | undefined;
}

/**
 * A self-hosted Chat Completions server (Ollama, vLLM, LM Studio, LiteLLM...). Without a key no
 * Authorization header is sent at all: the AI SDK would otherwise fill it from OPENAI_API_KEY,
 * handing the operator's OpenAI key to another server.
 */
export function createOpenAiCompatibleLlm(settings: OpenAiCompatibleSettings): (modelId: string) => LlmModel {
  const baseFetch = settings.fetch ?? globalThis.fetch;
  const withoutAuthorization: typeof globalThis.fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.delete('authorization');
    return baseFetch(input, { ...init, headers });
  };
  const provider = createOpenAI({
    name: 'openai-compatible',
    apiKey: settings.apiKey ?? 'no-key',
    baseURL: settings.baseUrl,
    fetch: settings.apiKey ? baseFetch : withoutAuthorization,
  });
  return (modelId) => aiSdkModel('openai-compatible', provider.chat(modelId));
}
