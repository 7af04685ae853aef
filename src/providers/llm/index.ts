/** The LLM providers' public surface: everything outside `providers/llm` imports from here. */
export { DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE } from './ai-sdk-model.ts';
export type { AwsCredentials, AwsCredentialsProvider } from './bedrock.ts';
export { complete } from './complete.ts';
export { estimateCostUsd } from './cost.ts';
export {
  createLlmRegistry,
  type LlmChoice,
  type LlmRegistry,
  type LlmRegistryDeps,
  type ValidLlmChoice,
  validateLlmChoice,
} from './registry.ts';
export type { LlmLogger, RetryPolicy } from './resilient-model.ts';
export {
  type LlmCompletion,
  LlmError,
  type LlmEvent,
  type LlmMessage,
  type LlmModel,
  type LlmRequest,
  type LlmUsage,
} from './spec.ts';
