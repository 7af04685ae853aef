import type { LlmProviderName } from '../../config.ts';
import type { LlmUsage } from './spec.ts';

/** US dollars per million tokens. */
interface Price {
  input: number;
  output: number;
}

const CLAUDE_SONNET_4_5: Price = { input: 3, output: 15 };
const GPT_4O_MINI: Price = { input: 0.15, output: 0.6 };

/**
 * List prices of the default models only. Anything else (other models, self-hosted servers,
 * Bedrock's geo inference profiles, which AWS prices differently) has no entry: an unknown cost
 * is reported as unknown rather than guessed.
 */
const PRICES: Record<LlmProviderName, Array<[pattern: RegExp, price: Price]>> = {
  anthropic: [[/^claude-sonnet-4-5(-20250929)?$/, CLAUDE_SONNET_4_5]],
  openai: [[/^gpt-4o-mini(-2024-07-18)?$/, GPT_4O_MINI]],
  bedrock: [[/^(global\.)?anthropic\.claude-sonnet-4-5-20250929-v1:0$/, CLAUDE_SONNET_4_5]],
  'openai-compatible': [],
  none: [],
};

/**
 * What a call cost in US dollars, from the token usage its `finish` event reported; `null` when
 * the model's price is not known.
 */
export function estimateCostUsd(provider: LlmProviderName, model: string, usage: LlmUsage): number | null {
  const price = PRICES[provider]?.find(([pattern]) => pattern.test(model))?.[1];
  if (!price) return null;
  return (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
}

/**
 * A running total plus one call: one call of a model without a known price makes the whole total
 * unknown (`null`), rather than quietly too low.
 */
export function addCallCost(
  total: number | null,
  call: { provider: LlmProviderName; model: string; usage: LlmUsage },
): number | null {
  const cost = estimateCostUsd(call.provider, call.model, call.usage);
  return total === null || cost === null ? null : total + cost;
}
