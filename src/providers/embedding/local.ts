import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { EmbeddingProvider, EmbeddingPurpose } from './spec.ts';
import { EmbeddingError } from './spec.ts';

export const DEFAULT_LOCAL_EMBEDDING_MODEL = 'Xenova/multilingual-e5-small';
const DEFAULT_REMOTE_HOST = 'https://huggingface.co/';
/** A variable, so type-checking does not depend on the optional package being installed. */
const TRANSFORMERS_PACKAGE: string = '@huggingface/transformers';
const INSTALL_HINT =
  'install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install @huggingface/transformers@4` (the CPU runtime ships in the package), or choose EMBEDDING_PROVIDER=bedrock or openai';

type Pooling = 'mean' | 'cls';
type Prefixes = Record<EmbeddingPurpose, string>;
const E5: Prefixes = { query: 'query: ', document: 'passage: ' };

/** What is known about common models, so their size and use are right without configuration. */
const KNOWN_MODELS: Record<string, { dimensions: number; pooling: Pooling; prefixes?: Prefixes }> = {
  'Xenova/multilingual-e5-small': { dimensions: 384, pooling: 'mean', prefixes: E5 },
  'Xenova/multilingual-e5-base': { dimensions: 768, pooling: 'mean', prefixes: E5 },
  'Xenova/multilingual-e5-large': { dimensions: 1024, pooling: 'mean', prefixes: E5 },
  'Xenova/e5-small-v2': { dimensions: 384, pooling: 'mean', prefixes: E5 },
  'Xenova/all-MiniLM-L6-v2': { dimensions: 384, pooling: 'mean' },
  'Xenova/paraphrase-multilingual-MiniLM-L12-v2': { dimensions: 384, pooling: 'mean' },
  'Xenova/bge-m3': { dimensions: 1024, pooling: 'cls' },
};

export interface LocalEmbeddingSettings {
  /** A Hugging Face model id. Default `Xenova/multilingual-e5-small` (384 dims, 100 languages). */
  modelId?: string;
  /**
   * Air-gapped installs: a folder holding the model (`config.json` at its root), or a folder of
   * models laid out as `<org>/<name>/`. Nothing is downloaded when it is set.
   */
  modelDir?: string;
  /** Where downloaded models are kept, so they are fetched once. */
  cacheDir?: string;
  /** Default: `hidden_size` from the model folder's config.json, else known for the models above. */
  dimensions?: number;
  /** `q8` → `onnx/model_quantized.onnx`, `fp32` → `onnx/model.onnx`. Default: q8 when present. */
  dtype?: 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4';
  pooling?: Pooling;
  /** Text put before each input by purpose; e5 models are trained with `query: ` / `passage: `. */
  prefixes?: Prefixes;
  /** Default 8 texts per forward pass: a CPU pass over 8 long chunks stays well inside the call timeout. */
  maxBatchSize?: number;
  /** A Hugging Face mirror to download from. Default https://huggingface.co/. */
  remoteHost?: string;
  /** Loads transformers.js; defaults to a dynamic import so the product runs without it. */
  importLibrary?: () => Promise<unknown>;
}

/** The slice of transformers.js used here, typed locally so the package stays optional. */
interface TransformersLibrary {
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; remoteHost: string; cacheDir: string | null };
  pipeline(task: 'feature-extraction', model: string, options: Record<string, unknown>): Promise<FeatureExtractor>;
}
type FeatureExtractor = (
  texts: string[],
  options: { pooling: Pooling; normalize: boolean },
) => Promise<{ tolist(): unknown }>;

/**
 * A local model run in-process by transformers.js (ONNX Runtime on the CPU): no API, no key, no
 * data leaving the machine. The library is an optional dependency imported on first use; the
 * model is loaded once by `prepare` — from `modelDir` with downloads disabled, or downloaded
 * from the hub into `cacheDir` once — and failures say what to do instead of `fetch failed`.
 *
 * transformers.js keeps its settings (`env`) per process, so this provider sets them right
 * before it loads; two local providers with different settings should not load at the same time.
 */
export function createLocalProvider(settings: LocalEmbeddingSettings = {}): EmbeddingProvider {
  const modelId = settings.modelId ?? DEFAULT_LOCAL_EMBEDDING_MODEL;
  const known = KNOWN_MODELS[modelId];
  const folder = settings.modelDir ? resolveModelFolder(settings.modelDir, modelId) : undefined;
  const dimensions = settings.dimensions ?? (folder ? hiddenSize(folder) : undefined) ?? known?.dimensions;
  if (dimensions === undefined) {
    throw new EmbeddingError(
      `the size of vectors from local model ${modelId} is unknown: set EMBEDDING_DIMENSIONS to its hidden size`,
      { retryable: false },
    );
  }
  const pooling = settings.pooling ?? known?.pooling ?? 'mean';
  const prefixes = settings.prefixes ?? known?.prefixes ?? (/(^|[/_-])e5([_-]|$)/i.test(modelId) ? E5 : undefined);
  const dtype = settings.dtype ?? (folder ? dtypeInFolder(folder) : 'q8');
  const remoteHost = settings.remoteHost ?? DEFAULT_REMOTE_HOST;
  const importLibrary = settings.importLibrary ?? (() => import(TRANSFORMERS_PACKAGE));
  let loading: Promise<FeatureExtractor> | undefined;
  /** Forward passes run one at a time: parallel runs only fight over the same CPU cores. */
  let running: Promise<unknown> = Promise.resolve();

  async function loadModel(): Promise<FeatureExtractor> {
    let library: TransformersLibrary;
    try {
      library = (await importLibrary()) as TransformersLibrary;
    } catch (error) {
      throw libraryError(error);
    }
    const { env } = library;
    env.allowLocalModels = true;
    env.allowRemoteModels = folder === undefined;
    env.remoteHost = remoteHost.endsWith('/') ? remoteHost : `${remoteHost}/`;
    if (settings.cacheDir) env.cacheDir = resolve(settings.cacheDir);
    try {
      // An absolute path is never taken for a hub id, so a folder loads as it is.
      return await library.pipeline('feature-extraction', folder ?? modelId, {
        dtype,
        device: 'cpu',
        local_files_only: folder !== undefined,
      });
    } catch (error) {
      throw loadError(error, { modelId, folder, remoteHost: env.remoteHost, cacheDir: env.cacheDir });
    }
  }

  function load(): Promise<FeatureExtractor> {
    loading ??= loadModel().catch((error: unknown) => {
      loading = undefined; // the next call tries again (network back, folder filled)
      throw error;
    });
    return loading;
  }

  return {
    provider: 'local',
    modelId,
    dimensions,
    maxBatchSize: settings.maxBatchSize ?? 8,
    maxConcurrency: 1,
    async prepare() {
      await load();
    },
    async doEmbed(texts, { purpose }) {
      const extractor = await load();
      const prefix = prefixes?.[purpose] ?? '';
      const run = running.then(() =>
        extractor(
          texts.map((t) => prefix + t),
          { pooling, normalize: true },
        ),
      );
      running = run.catch(() => {});
      try {
        return (await run).tolist() as number[][];
      } catch (error) {
        throw new EmbeddingError(`local model ${modelId} failed to embed: ${messageOf(error)}`, {
          retryable: false,
          cause: error,
        });
      }
    },
  };
}

/** The folder itself when it holds a config.json, else `<dir>/<org>/<name>` (a folder of models). */
export function resolveModelFolder(modelDir: string, modelId: string): string {
  const dir = resolve(modelDir);
  if (existsSync(join(dir, 'config.json'))) return dir;
  const nested = join(dir, modelId);
  return isAbsolute(nested) ? nested : resolve(nested);
}

/** The quantised model (a quarter of the size, near-equal quality) unless only the fp32 one is there. */
function dtypeInFolder(folder: string): 'q8' | 'fp32' {
  const has = (file: string) => existsSync(join(folder, 'onnx', file));
  return !has('model_quantized.onnx') && has('model.onnx') ? 'fp32' : 'q8';
}

function hiddenSize(folder: string): number | undefined {
  try {
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as { hidden_size?: unknown };
    return typeof config.hidden_size === 'number' ? config.hidden_size : undefined;
  } catch {
    return undefined;
  }
}

function libraryError(error: unknown): EmbeddingError {
  const code = (error as { code?: string }).code;
  const missing = code === 'ERR_MODULE_NOT_FOUND' && /@huggingface\/transformers/.test(messageOf(error));
  const message = missing
    ? `the local embedding provider needs the optional package @huggingface/transformers, which is not installed: ${INSTALL_HINT}`
    : `the local embedding provider could not load @huggingface/transformers or its ONNX runtime (${messageOf(error)}): reinstall it — ${INSTALL_HINT}`;
  return new EmbeddingError(message, { retryable: false, cause: error });
}

function loadError(
  error: unknown,
  where: { modelId: string; folder: string | undefined; remoteHost: string; cacheDir: string | null },
): EmbeddingError {
  const files = 'config.json, tokenizer.json, tokenizer_config.json and onnx/model_quantized.onnx or onnx/model.onnx';
  if (where.folder) {
    return new EmbeddingError(
      `could not load embedding model ${where.modelId} from EMBEDDING_MODEL_DIR (${where.folder}): ${messageOf(error).replace(/\.+$/, '')}. The folder must hold ${files}`,
      { retryable: false, cause: error },
    );
  }
  const network = networkCause(error);
  if (network) {
    return new EmbeddingError(
      `could not download embedding model ${where.modelId} from ${where.remoteHost} (${network}). ` +
        `Without internet access, copy the model's files (${files}) into a folder and set EMBEDDING_MODEL_DIR to it; ` +
        `or allow access to ${where.remoteHost} once (the model is then kept in ${where.cacheDir ?? 'the cache folder'}); ` +
        'or choose another EMBEDDING_PROVIDER (bedrock, openai)',
      { retryable: false, cause: error },
    );
  }
  return new EmbeddingError(`could not load embedding model ${where.modelId}: ${messageOf(error)}`, {
    retryable: false,
    cause: error,
  });
}

const NETWORK_CODE = /^(ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_\w+)$/;

/** `fetch failed` and its cause, e.g. `fetch failed: getaddrinfo ENOTFOUND huggingface.co`. */
function networkCause(error: unknown): string | undefined {
  const parts: string[] = [];
  let found = false;
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const message = messageOf(e);
    const code = (e as { code?: unknown }).code;
    if (message === 'fetch failed' || (typeof code === 'string' && NETWORK_CODE.test(code))) found = true;
    parts.push(message);
  }
  return found ? parts.join(': ') : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
