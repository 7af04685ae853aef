import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, EmbeddingProviderName } from '../../config.ts';
import { type BedrockEmbeddingSettings, createBedrockProvider } from './bedrock.ts';
import { createEmbedder, type EmbedderLog, modelKeyOf } from './embedder.ts';
import { createLocalProvider, DEFAULT_LOCAL_EMBEDDING_MODEL, resolveModelFolder } from './local.ts';
import { createOpenAIProvider } from './openai.ts';
import type { Embedder, EmbeddingProvider } from './spec.ts';
import { EmbeddingError } from './spec.ts';

/**
 * The slice of `Config` the embedding providers read (a whole `Config` fits), plus the seams a
 * caller may inject: `fetch` for OpenAI-compatible servers, AWS credentials instead of the SDK's
 * default chain, and the transformers.js loader.
 */
export interface EmbeddingSettings {
  embedding: Pick<Config['embedding'], 'model' | 'dimensions' | 'modelDir'>;
  aws: Config['aws'];
  llm: { openai: Pick<Config['llm']['openai'], 'apiKey' | 'baseUrl'> };
  /** Downloaded local models are kept in `<dataDir>/models`. */
  dataDir: string;
  fetch?: typeof fetch;
  awsCredentials?: BedrockEmbeddingSettings['credentials'];
  importTransformers?: () => Promise<unknown>;
}

/**
 * Builds the provider a bot (or the deployment default) asks for. `none` gives `undefined`: the
 * product then searches full-text only. Misconfiguration (an unknown vector size, a Titan size
 * that does not exist) throws `EmbeddingError` here, at start-up, not on the first upload.
 */
export function createEmbeddingProvider(
  name: EmbeddingProviderName,
  settings: EmbeddingSettings,
): EmbeddingProvider | undefined {
  const { model, dimensions, modelDir } = settings.embedding;
  switch (name) {
    case 'none':
      return undefined;
    case 'bedrock':
      return createBedrockProvider({
        region: settings.aws.region,
        endpoint: settings.aws.bedrockEndpoint,
        modelId: model,
        dimensions,
        credentials: settings.awsCredentials,
      });
    case 'openai':
      return createOpenAIProvider({
        baseURL: settings.llm.openai.baseUrl,
        apiKey: settings.llm.openai.apiKey,
        model,
        dimensions,
        fetch: settings.fetch,
      });
    case 'local':
      return createLocalProvider({
        modelId: model,
        modelDir,
        dimensions,
        cacheDir: join(settings.dataDir, 'models'),
        importLibrary: settings.importTransformers,
      });
  }
}

/** The deployment's default embedder from configuration, or `undefined` when embeddings are off. */
export function createConfiguredEmbedder(
  config: EmbeddingSettings & { embedding: Pick<Config['embedding'], 'provider' | 'batchSize' | 'concurrency'> },
  options: { log?: EmbedderLog; timeoutMs?: number } = {},
): Embedder | undefined {
  const provider = createEmbeddingProvider(config.embedding.provider, config);
  if (!provider) return undefined;
  return createEmbedder(provider, {
    batchSize: config.embedding.batchSize,
    concurrency: config.embedding.concurrency,
    ...options,
  });
}

export interface EmbeddingStatus {
  provider: EmbeddingProviderName;
  /** False when the provider is `none`: search runs full-text only. */
  enabled: boolean;
  /** Whether embedding can work as configured, judged without calling a paid API. */
  usable: boolean;
  modelKey: string | undefined;
  detail: string;
}

/**
 * For `/ready` and start-up logs: is the configured embedding provider usable? Checks what can be
 * checked locally — configuration, the optional package, a model folder or cache — and never
 * calls the provider (a readiness probe must not spend money or wait on a download).
 */
export async function describeEmbedding(
  config: EmbeddingSettings & { embedding: Pick<Config['embedding'], 'provider'> },
): Promise<EmbeddingStatus> {
  const name = config.embedding.provider;
  if (name === 'none') {
    return {
      provider: name,
      enabled: false,
      usable: true,
      modelKey: undefined,
      detail: 'embeddings off: full-text search only',
    };
  }
  let provider: EmbeddingProvider | undefined;
  try {
    provider = createEmbeddingProvider(name, config);
  } catch (error) {
    const detail = error instanceof EmbeddingError ? error.message : String(error);
    return { provider: name, enabled: true, usable: false, modelKey: undefined, detail };
  }
  const modelKey = provider ? modelKeyOf(provider) : undefined;
  const status = (usable: boolean, detail: string): EmbeddingStatus => ({
    provider: name,
    enabled: true,
    usable,
    modelKey,
    detail,
  });

  switch (name) {
    case 'openai': {
      const base = config.llm.openai.baseUrl ?? 'https://api.openai.com/v1';
      if (!config.llm.openai.apiKey && config.llm.openai.baseUrl === undefined) {
        return status(false, 'OPENAI_API_KEY is not set');
      }
      return status(true, `OpenAI-compatible endpoint ${new URL(base).origin}`);
    }
    case 'bedrock':
      return status(
        true,
        `Bedrock in ${config.aws.region}${config.aws.bedrockEndpoint ? ` via ${new URL(config.aws.bedrockEndpoint).origin}` : ''}, credentials from the AWS default chain`,
      );
    case 'local': {
      try {
        await (config.importTransformers ?? (() => import(TRANSFORMERS_PACKAGE)))();
      } catch {
        return status(false, 'the optional package @huggingface/transformers is not installed');
      }
      const modelId = config.embedding.model ?? DEFAULT_LOCAL_EMBEDDING_MODEL;
      if (config.embedding.modelDir) {
        const folder = resolveModelFolder(config.embedding.modelDir, modelId);
        return existsSync(join(folder, 'config.json'))
          ? status(true, `model loaded from ${folder}`)
          : status(false, `EMBEDDING_MODEL_DIR has no model: ${join(folder, 'config.json')} is missing`);
      }
      const cached = join(config.dataDir, 'models', modelId);
      return existsSync(join(cached, 'config.json'))
        ? status(true, `model cached in ${cached}`)
        : status(true, `model ${modelId} will be downloaded on first use into ${cached}`);
    }
  }
}

const TRANSFORMERS_PACKAGE: string = '@huggingface/transformers';
