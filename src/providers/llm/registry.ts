import { type Config, ConfigError, type LlmProviderName } from '../../config.ts';
import { AppError, type FieldProblem } from '../../platform/errors.ts';
import { boundedLabel, metrics } from '../../platform/metrics.ts';
import { createAnthropicLlm } from './anthropic.ts';
import { type AwsCredentialsProvider, createBedrockLlm } from './bedrock.ts';
import { createOpenAiLlm } from './openai.ts';
import { createOpenAiCompatibleLlm } from './openai-compatible.ts';
import { createResilientModel, type LlmLogger, type RetryPolicy } from './resilient-model.ts';
import type { LlmCompletion, LlmModel } from './spec.ts';

/** What a bot's settings may say about its model: names only, never an endpoint or a key. */
export interface LlmChoice {
  provider?: string | undefined;
  model?: string | undefined;
}

/** A checked choice; `model` undefined means the provider's configured default. */
export interface ValidLlmChoice {
  provider: LlmProviderName;
  model: string | undefined;
}

export interface LlmRegistry {
  /** Providers the operator configured, the default first. */
  available(): LlmProviderName[];
  /**
   * The model for a bot's choice (or the default), wrapped with timeouts, retries and the
   * fallback provider; `undefined` when the choice or the configuration says no LLM, in which
   * case chat answers extractively. Throws `AppError` for a choice `validateLlmChoice` rejects.
   */
  resolve(choice?: LlmChoice): LlmModel | undefined;
}

export interface LlmRegistryDeps {
  /** Used for every provider call; tests and proxies inject it. */
  fetch?: typeof globalThis.fetch | undefined;
  /** Bedrock credentials; default the AWS SDK's Node provider chain. */
  awsCredentials?: AwsCredentialsProvider | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  logger?: LlmLogger | undefined;
}

const PROVIDERS: readonly LlmProviderName[] = ['anthropic', 'openai', 'bedrock', 'openai-compatible'];
const MAX_MODEL_ID_LENGTH = 200;
/** Model ids seen in the wild: `gpt-4o-mini`, `llama3.1:8b`, `meta-llama/Llama-3.1-8B`, Bedrock ARNs. */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;

/** Whether the operator gave this provider what it needs (a key, a base URL, or chose Bedrock). */
function isConfigured(config: Config, provider: LlmProviderName): boolean {
  switch (provider) {
    case 'anthropic':
      return Boolean(config.llm.anthropic.apiKey);
    case 'openai':
      return Boolean(config.llm.openai.apiKey);
    case 'openai-compatible':
      return Boolean(config.llm.openaiCompatible.baseUrl);
    case 'bedrock':
      // AWS credentials come from the environment's chain and cannot be seen here: an explicit choice.
      return config.llm.provider === 'bedrock' || config.llm.fallbackProvider === 'bedrock';
    case 'none':
      return true;
  }
}

function defaultModel(config: Config, provider: LlmProviderName): string | undefined {
  switch (provider) {
    case 'anthropic':
      return config.llm.anthropic.model;
    case 'openai':
      return config.llm.openai.model;
    case 'openai-compatible':
      return config.llm.openaiCompatible.model;
    case 'bedrock':
      return config.llm.bedrock.model;
    case 'none':
      return undefined;
  }
}

const REQUIREMENT: Record<LlmProviderName, string> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  'openai-compatible': 'OPENAI_COMPATIBLE_BASE_URL',
  bedrock: 'LLM_PROVIDER=bedrock or LLM_FALLBACK_PROVIDER=bedrock',
  none: '',
};

/** Problems with a model id, which must be a plain name: never a URL, a path or a query. */
function modelIdProblem(model: string): string | undefined {
  if (model.length === 0 || model.length > MAX_MODEL_ID_LENGTH) {
    return `must be 1 to ${MAX_MODEL_ID_LENGTH} characters`;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(model) || model.includes('//') || /^(https?|file|data|wss?):/i.test(model)) {
    return 'must be a model name, not a URL';
  }
  if (!MODEL_ID.test(model) || /(^|\/)\.\.?(\/|$)/.test(model)) {
    return 'may contain only letters, digits and . _ : / @ + -';
  }
  return undefined;
}

/**
 * Checks a bot's `{ provider?, model? }` against the operator's configuration: the provider must
 * be one the operator configured (or `none`, for extractive answers), and the model a plain name.
 * Bots can never choose an endpoint or a key. Throws `AppError('validation_failed')` listing each
 * problem; called when a bot's settings are saved and again on every `resolve`.
 */
export function validateLlmChoice(config: Config, choice: LlmChoice | undefined): ValidLlmChoice {
  const problems: FieldProblem[] = [];
  const requested = choice?.provider;
  let provider: LlmProviderName = config.llm.provider;
  if (requested !== undefined) {
    if (requested === 'none' || PROVIDERS.includes(requested as LlmProviderName)) {
      provider = requested as LlmProviderName;
      if (!isConfigured(config, provider)) {
        problems.push({ field: 'provider', message: `LLM provider '${requested}' is not configured on this server` });
      }
    } else {
      problems.push({
        field: 'provider',
        message: `unknown LLM provider; use one of: ${[...PROVIDERS, 'none'].join(', ')}`,
      });
    }
  }
  const model = choice?.model;
  if (model !== undefined) {
    const problem = modelIdProblem(model);
    if (problem) problems.push({ field: 'model', message: `model ${problem}` });
    else if (provider === 'none') problems.push({ field: 'model', message: 'a model needs an LLM provider' });
  } else if (provider !== 'none' && problems.length === 0 && !defaultModel(config, provider)) {
    problems.push({
      field: 'model',
      message: `provider '${provider}' has no default model on this server; choose one`,
    });
  }
  if (problems.length > 0) {
    throw new AppError('validation_failed', problems.map((p) => p.message).join('; '), { errors: problems });
  }
  return { provider, model };
}

/**
 * The LLM providers the operator configured, built once with their endpoints and keys from
 * `config` only. Throws `ConfigError` at start-up when LLM_PROVIDER or LLM_FALLBACK_PROVIDER name
 * a provider that lacks what it needs.
 */
export function createLlmRegistry(config: Config, deps: LlmRegistryDeps = {}): LlmRegistry {
  const issues: string[] = [];
  for (const [variable, provider] of [
    ['LLM_PROVIDER', config.llm.provider],
    ['LLM_FALLBACK_PROVIDER', config.llm.fallbackProvider],
  ] as const) {
    if (provider && !isConfigured(config, provider)) {
      issues.push(`${variable}: '${provider}' needs ${REQUIREMENT[provider]}`);
    } else if (provider === 'openai-compatible' && !config.llm.openaiCompatible.model) {
      issues.push(`OPENAI_COMPATIBLE_MODEL: required when ${variable} is openai-compatible`);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const factories = new Map<LlmProviderName, (modelId: string) => LlmModel>();
  const factory = (provider: LlmProviderName): ((modelId: string) => LlmModel) => {
    let make = factories.get(provider);
    if (!make) {
      make = createProvider(config, provider, deps);
      factories.set(provider, make);
    }
    return make;
  };

  const fallback = config.llm.fallbackProvider;
  // Every call's tokens, under the model that answered; model names are bounded (bots choose them).
  const modelsSeen = new Set<string>();
  const countTokens = ({ provider, model, usage }: Pick<LlmCompletion, 'provider' | 'model' | 'usage'>) => {
    const labels = { provider, model: boundedLabel(modelsSeen, model) };
    metrics.llmTokens.inc({ ...labels, direction: 'input' }, usage.inputTokens);
    metrics.llmTokens.inc({ ...labels, direction: 'output' }, usage.outputTokens);
  };
  return {
    available() {
      const configured = PROVIDERS.filter((p) => isConfigured(config, p));
      const first = config.llm.provider;
      return configured.includes(first) ? [first, ...configured.filter((p) => p !== first)] : configured;
    },

    resolve(choice) {
      const { provider, model } = validateLlmChoice(config, choice);
      const modelId = model ?? defaultModel(config, provider);
      if (provider === 'none' || !modelId) return undefined;
      const chain = [factory(provider)(modelId)];
      const fallbackModel = fallback ? defaultModel(config, fallback) : undefined;
      if (fallback && fallback !== 'none' && fallback !== provider && fallbackModel) {
        chain.push(factory(fallback)(fallbackModel));
      }
      return createResilientModel(chain, {
        timeoutMs: config.llm.timeoutMs,
        retry: deps.retry,
        logger: deps.logger,
        onUsage: countTokens,
      });
    },
  };
}

function createProvider(
  config: Config,
  provider: LlmProviderName,
  deps: LlmRegistryDeps,
): (modelId: string) => LlmModel {
  const { llm, aws } = config;
  switch (provider) {
    case 'anthropic':
      return createAnthropicLlm({
        apiKey: llm.anthropic.apiKey ?? '',
        baseUrl: llm.anthropic.baseUrl,
        fetch: deps.fetch,
      });
    case 'openai':
      return createOpenAiLlm({ apiKey: llm.openai.apiKey ?? '', baseUrl: llm.openai.baseUrl, fetch: deps.fetch });
    case 'openai-compatible':
      return createOpenAiCompatibleLlm({
        baseUrl: llm.openaiCompatible.baseUrl ?? '',
        apiKey: llm.openaiCompatible.apiKey,
        fetch: deps.fetch,
      });
    case 'bedrock':
      return createBedrockLlm({
        region: aws.region,
        endpoint: aws.bedrockEndpoint,
        credentials: deps.awsCredentials,
        fetch: deps.fetch,
      });
    case 'none':
      throw new Error('no model for provider none');
  }
}
