import { collect } from './resilient-model.ts';
import type { LlmCompletion, LlmModel, LlmRequest } from './spec.ts';

/**
 * One whole answer, for callers that do not stream (query rewriting, workflow nodes). Uses the
 * provider's non-streaming API when the model has one; models from the registry do, with the same
 * retries, timeout and fallback as streaming.
 */
export function complete(model: LlmModel, request: LlmRequest): Promise<LlmCompletion> {
  return model.generate ? model.generate(request) : collect(model.stream(request));
}
