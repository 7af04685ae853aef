import {
  BedrockRuntimeClient,
  type BedrockRuntimeClientConfig,
  InvokeModelCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { EmbeddingProvider } from './spec.ts';
import { EmbeddingError } from './spec.ts';

export const TITAN_V2 = 'amazon.titan-embed-text-v2:0';
const TITAN_V1 = 'amazon.titan-embed-text-v1';
const TITAN_V2_DIMENSIONS = [256, 512, 1024];

export interface BedrockEmbeddingSettings {
  region: string;
  /** Endpoint override (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME` / `AWS_ENDPOINT_URL`, VPC endpoints, tests). */
  endpoint?: string;
  /** Default `amazon.titan-embed-text-v2:0`. */
  modelId?: string;
  /** Titan v2: 256, 512 or 1024 (default). Titan v1 is fixed at 1536. */
  dimensions?: number;
  /** Titan v2 only; default true, so cosine and inner product agree. */
  normalize?: boolean;
  /** Default: the SDK's own chain (environment, profile, SSO, container and instance roles). */
  credentials?: BedrockRuntimeClientConfig['credentials'];
}

/**
 * Amazon Titan Text Embeddings through Bedrock `InvokeModel`. Titan embeds one text per call, so
 * `maxBatchSize` is 1 and throughput comes from the embedder's concurrency. The SDK's own retries
 * are off (the embedder retries once, for every provider) and it talks HTTP/1.1, which real AWS
 * and loopback endpoints both accept (the default HTTP/2 handler fails against plain endpoints).
 */
export function createBedrockProvider(settings: BedrockEmbeddingSettings): EmbeddingProvider {
  const modelId = settings.modelId ?? TITAN_V2;
  const isV1 = modelId === TITAN_V1;
  if (!isV1 && !modelId.startsWith('amazon.titan-embed-text-v2')) {
    throw new EmbeddingError(`Bedrock embedding model ${modelId} is not supported; use ${TITAN_V2} (or ${TITAN_V1})`, {
      retryable: false,
    });
  }
  const dimensions = isV1 ? 1536 : (settings.dimensions ?? 1024);
  if (
    isV1 ? settings.dimensions !== undefined && settings.dimensions !== 1536 : !TITAN_V2_DIMENSIONS.includes(dimensions)
  ) {
    throw new EmbeddingError(
      `${modelId} does not produce ${settings.dimensions}-dimensional vectors; choose ${isV1 ? '1536' : TITAN_V2_DIMENSIONS.join(', ')}`,
      { retryable: false },
    );
  }
  const normalize = settings.normalize ?? true;
  const client = new BedrockRuntimeClient({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000 }),
    maxAttempts: 1,
  });

  return {
    provider: 'bedrock',
    modelId,
    dimensions,
    maxBatchSize: 1,
    async doEmbed(texts, { signal }) {
      const vectors: number[][] = [];
      for (const inputText of texts) {
        const body = isV1 ? { inputText } : { inputText, dimensions, normalize };
        let raw: Uint8Array | undefined;
        try {
          const out = await client.send(
            new InvokeModelCommand({
              modelId,
              contentType: 'application/json',
              accept: 'application/json',
              body: JSON.stringify(body),
            }),
            { abortSignal: signal },
          );
          raw = out.body;
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          throw toEmbeddingError(error, modelId);
        }
        vectors.push(parseTitanResponse(raw, modelId));
      }
      return vectors;
    },
  };
}

function parseTitanResponse(raw: Uint8Array | undefined, modelId: string): number[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    parsed = undefined;
  }
  const embedding = (parsed as { embedding?: unknown } | undefined)?.embedding;
  if (!Array.isArray(embedding) || !embedding.every((v) => typeof v === 'number')) {
    throw new EmbeddingError(`Bedrock ${modelId} answered without an embedding`, { retryable: false });
  }
  return embedding;
}

const RETRYABLE_ERRORS = new Set([
  'ThrottlingException',
  'ServiceUnavailableException',
  'InternalServerException',
  'ModelNotReadyException',
  'ModelTimeoutException',
  'TimeoutError',
  'RequestTimeout',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Maps an SDK failure to an `EmbeddingError` that says whether retrying can help. */
function toEmbeddingError(error: unknown, modelId: string): EmbeddingError {
  const e = error as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  const message = e.message ?? String(error);
  if (name === 'CredentialsProviderError') {
    return new EmbeddingError(
      `Bedrock ${modelId}: no AWS credentials found (${message}). Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or run with an IAM role`,
      { retryable: false, cause: error },
    );
  }
  const retryable =
    RETRYABLE_ERRORS.has(name) ||
    (e.code !== undefined && NETWORK_CODES.has(e.code)) ||
    (status !== undefined && (status === 429 || status >= 500));
  return new EmbeddingError(`Bedrock ${modelId} ${name}${status ? ` (${status})` : ''}: ${message}`, {
    retryable,
    ...(status !== undefined ? { status } : {}),
    cause: error,
  });
}
