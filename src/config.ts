import { z } from 'zod';

/**
 * Configuration, parsed once at start-up from an environment object. This is the only module
 * that knows environment variable names; everything else receives a typed `Config`.
 * `loadConfig` is pure so tests pass plain objects instead of mutating `process.env`.
 */

const DEV_JWT_SECRET = 'snapagent-development-secret-change-me';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));
const optionalUrl = optionalString.pipe(z.url().optional());
const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const llmProvider = z.enum(['anthropic', 'openai', 'bedrock', 'openai-compatible', 'none']);
const embeddingProvider = z.enum(['bedrock', 'openai', 'local', 'none']);

const envSchema = z.object({
  ENVIRONMENT: z.enum(['development', 'test', 'staging', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('0.0.0.0'),
  PORT: port.default(8001),
  WORKERS: positiveInt.max(64).default(2),
  RUN_WORKER_IN_SERVER: bool.optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  PUBLIC_URL: optionalUrl,

  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
      .optional(),
  ),
  DATABASE_HOST: optionalString,
  DATABASE_PORT: port.default(5432),
  DATABASE_NAME: z.string().default('postgres'),
  DATABASE_USER: z.string().default('postgres'),
  DATABASE_PASSWORD: optionalString,
  DATABASE_SSL: z.enum(['disable', 'require', 'verify-full']).default('disable'),
  DATABASE_POOL_SIZE: positiveInt.max(500).default(10),

  REDIS_URL: optionalString.pipe(
    z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
  ),
  REDIS_HOST: optionalString,
  REDIS_PORT: port.default(6379),
  REDIS_USERNAME: optionalString,
  REDIS_PASSWORD: optionalString,
  REDIS_TLS: bool.default(false),
  REDIS_TLS_CA_FILE: optionalString,

  JWT_SECRET_KEY: z.string().min(1).default(DEV_JWT_SECRET),
  JWT_PREVIOUS_SECRET_KEYS: csv,
  JWT_ISSUER: z.string().default('snapagent'),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt.default(15 * 60),
  REFRESH_TOKEN_TTL_SECONDS: positiveInt.default(7 * 24 * 60 * 60),

  GOOGLE_CLIENT_ID: optionalString,
  GOOGLE_CLIENT_SECRET: optionalString,
  GOOGLE_ISSUER_URL: z.url().default('https://accounts.google.com'),
  FRONTEND_URL: optionalUrl,

  CORS_ORIGINS: csv,

  LLM_PROVIDER: llmProvider.optional(),
  LLM_FALLBACK_PROVIDER: llmProvider.optional(),
  LLM_TIMEOUT_MS: positiveInt.default(60_000),
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_MODEL: z.string().default('claude-sonnet-4-5-20250929'),
  ANTHROPIC_BASE_URL: optionalUrl,
  OPENAI_API_KEY: optionalString,
  OPENAI_MODEL: z.string().default('gpt-4o-mini'),
  OPENAI_BASE_URL: optionalUrl,
  OPENAI_COMPATIBLE_BASE_URL: optionalUrl,
  OPENAI_COMPATIBLE_API_KEY: optionalString,
  OPENAI_COMPATIBLE_MODEL: optionalString,
  BEDROCK_LLM_MODEL: z.string().default('anthropic.claude-sonnet-4-5-20250929-v1:0'),
  AWS_REGION: z.string().default('us-east-1'),
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: optionalUrl,
  AWS_ENDPOINT_URL: optionalUrl,

  EMBEDDING_PROVIDER: embeddingProvider.optional(),
  EMBEDDING_MODEL: optionalString,
  EMBEDDING_DIMENSIONS: positiveInt.max(16_000).optional(),
  EMBEDDING_BATCH_SIZE: positiveInt.max(2048).default(64),
  EMBEDDING_CONCURRENCY: positiveInt.max(64).default(4),
  EMBEDDING_MODEL_DIR: optionalString,

  RERANK_URL: optionalUrl,
  RERANK_API_KEY: optionalString,
  RERANK_MODEL: optionalString,

  MAX_UPLOAD_BYTES: positiveInt.default(50 * 1024 * 1024),
});

export type Environment = z.input<typeof envSchema>;

export type LlmProviderName = z.infer<typeof llmProvider>;
export type EmbeddingProviderName = z.infer<typeof embeddingProvider>;

export type DatabaseConfig =
  | { driver: 'pglite'; dataDir: string }
  | { driver: 'postgres'; url: string; ssl: 'disable' | 'require' | 'verify-full'; poolSize: number };

export interface Config {
  environment: 'development' | 'test' | 'staging' | 'production';
  logLevel: string;
  host: string;
  port: number;
  /** Ingestion jobs one process works on at once. */
  workers: number;
  /** Run the ingestion worker inside `serve` (default on the embedded database). */
  runWorkerInServer: boolean;
  dataDir: string;
  publicUrl: string | undefined;
  database: DatabaseConfig;
  redis: { url: string; tls: boolean; tlsCaFile: string | undefined } | undefined;
  auth: {
    jwtSecret: string;
    previousJwtSecrets: string[];
    issuer: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    google: { clientId: string; clientSecret: string; issuerUrl: string } | undefined;
    frontendUrl: string | undefined;
  };
  corsOrigins: string[];
  llm: {
    provider: LlmProviderName;
    fallbackProvider: LlmProviderName | undefined;
    timeoutMs: number;
    anthropic: { apiKey: string | undefined; model: string; baseUrl: string | undefined };
    openai: { apiKey: string | undefined; model: string; baseUrl: string | undefined };
    openaiCompatible: { baseUrl: string | undefined; apiKey: string | undefined; model: string | undefined };
    bedrock: { model: string };
  };
  aws: { region: string; bedrockEndpoint: string | undefined };
  embedding: {
    provider: EmbeddingProviderName;
    model: string | undefined;
    dimensions: number | undefined;
    batchSize: number;
    concurrency: number;
    modelDir: string | undefined;
  };
  rerank: { url: string; apiKey: string | undefined; model: string | undefined } | undefined;
  maxUploadBytes: number;
}

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Parses and checks every variable, reporting all problems at once. */
export function loadConfig(env: Environment | NodeJS.ProcessEnv): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];

  if (e.ENVIRONMENT === 'production') {
    if (e.JWT_SECRET_KEY === DEV_JWT_SECRET) {
      problems.push('JWT_SECRET_KEY: the development default must not be used in production');
    } else if (e.JWT_SECRET_KEY.length < 32) {
      problems.push('JWT_SECRET_KEY: must be at least 32 characters in production');
    }
  }
  if (e.GOOGLE_CLIENT_ID && !e.GOOGLE_CLIENT_SECRET) {
    problems.push('GOOGLE_CLIENT_SECRET: required when GOOGLE_CLIENT_ID is set');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const database = databaseConfig(e);
  const llmDefault: LlmProviderName = e.ANTHROPIC_API_KEY
    ? 'anthropic'
    : e.OPENAI_API_KEY
      ? 'openai'
      : e.OPENAI_COMPATIBLE_BASE_URL
        ? 'openai-compatible'
        : 'none';

  return {
    environment: e.ENVIRONMENT,
    logLevel: e.LOG_LEVEL,
    host: e.HOST,
    port: e.PORT,
    workers: e.WORKERS,
    runWorkerInServer: e.RUN_WORKER_IN_SERVER ?? database.driver === 'pglite',
    dataDir: e.DATA_DIR,
    publicUrl: e.PUBLIC_URL,
    database,
    redis: redisConfig(e),
    auth: {
      jwtSecret: e.JWT_SECRET_KEY,
      previousJwtSecrets: e.JWT_PREVIOUS_SECRET_KEYS,
      issuer: e.JWT_ISSUER,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
      google:
        e.GOOGLE_CLIENT_ID && e.GOOGLE_CLIENT_SECRET
          ? { clientId: e.GOOGLE_CLIENT_ID, clientSecret: e.GOOGLE_CLIENT_SECRET, issuerUrl: e.GOOGLE_ISSUER_URL }
          : undefined,
      frontendUrl: e.FRONTEND_URL,
    },
    corsOrigins: e.CORS_ORIGINS,
    llm: {
      provider: e.LLM_PROVIDER ?? llmDefault,
      fallbackProvider: e.LLM_FALLBACK_PROVIDER,
      timeoutMs: e.LLM_TIMEOUT_MS,
      anthropic: { apiKey: e.ANTHROPIC_API_KEY, model: e.ANTHROPIC_MODEL, baseUrl: e.ANTHROPIC_BASE_URL },
      openai: { apiKey: e.OPENAI_API_KEY, model: e.OPENAI_MODEL, baseUrl: e.OPENAI_BASE_URL },
      openaiCompatible: {
        baseUrl: e.OPENAI_COMPATIBLE_BASE_URL,
        apiKey: e.OPENAI_COMPATIBLE_API_KEY,
        model: e.OPENAI_COMPATIBLE_MODEL,
      },
      bedrock: { model: e.BEDROCK_LLM_MODEL },
    },
    aws: { region: e.AWS_REGION, bedrockEndpoint: e.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ?? e.AWS_ENDPOINT_URL },
    embedding: {
      provider: e.EMBEDDING_PROVIDER ?? (e.OPENAI_API_KEY ? 'openai' : 'none'),
      model: e.EMBEDDING_MODEL,
      dimensions: e.EMBEDDING_DIMENSIONS,
      batchSize: e.EMBEDDING_BATCH_SIZE,
      concurrency: e.EMBEDDING_CONCURRENCY,
      modelDir: e.EMBEDDING_MODEL_DIR,
    },
    rerank: e.RERANK_URL ? { url: e.RERANK_URL, apiKey: e.RERANK_API_KEY, model: e.RERANK_MODEL } : undefined,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
  };
}

type ParsedEnv = z.infer<typeof envSchema>;

function databaseConfig(e: ParsedEnv): DatabaseConfig {
  const ssl = e.DATABASE_SSL;
  if (e.DATABASE_URL) return { driver: 'postgres', url: e.DATABASE_URL, ssl, poolSize: e.DATABASE_POOL_SIZE };
  if (e.DATABASE_HOST) {
    const auth = e.DATABASE_PASSWORD
      ? `${encodeURIComponent(e.DATABASE_USER)}:${encodeURIComponent(e.DATABASE_PASSWORD)}`
      : encodeURIComponent(e.DATABASE_USER);
    const url = `postgres://${auth}@${e.DATABASE_HOST}:${e.DATABASE_PORT}/${encodeURIComponent(e.DATABASE_NAME)}`;
    return { driver: 'postgres', url, ssl, poolSize: e.DATABASE_POOL_SIZE };
  }
  return { driver: 'pglite', dataDir: e.DATA_DIR };
}

function redisConfig(e: ParsedEnv): Config['redis'] {
  if (e.REDIS_URL) {
    return { url: e.REDIS_URL, tls: e.REDIS_URL.startsWith('rediss://'), tlsCaFile: e.REDIS_TLS_CA_FILE };
  }
  if (!e.REDIS_HOST) return undefined;
  const scheme = e.REDIS_TLS ? 'rediss' : 'redis';
  const user = e.REDIS_USERNAME ? encodeURIComponent(e.REDIS_USERNAME) : '';
  const auth = e.REDIS_PASSWORD ? `${user}:${encodeURIComponent(e.REDIS_PASSWORD)}@` : '';
  return {
    url: `${scheme}://${auth}${e.REDIS_HOST}:${e.REDIS_PORT}`,
    tls: e.REDIS_TLS,
    tlsCaFile: e.REDIS_TLS_CA_FILE,
  };
}
