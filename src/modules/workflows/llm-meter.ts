import type { LlmProviderName } from '../../config.ts';
import { addCallCost } from '../../providers/llm/cost.ts';
import type { LlmEvent, LlmModel } from '../../providers/llm/spec.ts';

/**
 * Counts what a run's model calls cost. A workflow may call several models (a classifier, then an
 * answering model, maybe a fallback provider); each call's `finish` event says which model really
 * answered and how many tokens it used, so the cost is summed per call. One call of a model without
 * a known price makes the run's cost unknown (`null`), as in chat.
 */
export interface LlmMeter {
  wrap(model: LlmModel): LlmModel;
  summary(): LlmMeterSummary;
}

export interface LlmMeterSummary {
  calls: number;
  costUsd: number | null;
  /** The model of the last call that finished (usually the one that wrote the answer). */
  provider: LlmProviderName | undefined;
  model: string | undefined;
}

export function createLlmMeter(): LlmMeter {
  const summary: LlmMeterSummary = { calls: 0, costUsd: 0, provider: undefined, model: undefined };
  const record = (event: Extract<LlmEvent, { type: 'finish' }>) => {
    summary.calls++;
    summary.costUsd = addCallCost(summary.costUsd, event);
    summary.provider = event.provider;
    summary.model = event.model;
  };
  return {
    wrap(model) {
      return {
        provider: model.provider,
        modelId: model.modelId,
        async *stream(request) {
          for await (const event of model.stream(request)) {
            if (event.type === 'finish') record(event);
            yield event;
          }
        },
      };
    },
    summary: () => ({ ...summary }),
  };
}
