import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { z } from 'zod';

/**
 * Configuration, parsed once at start-up from an environment object. This is the only module
 * that knows environment variable names; everything else receives a typed `Config`.
 * `loadConfig` is pure so tests pass plain objects instead of mutating `process.env`.
 */

const DEV_JWT_SECRET = 'snapagent-development-secret-change-me';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
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
  WORKERS: positiveInt.max(64).default(16),
  INGEST_THREADS: z.coerce.number().int().min(0).max(32).optional(),
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
  REDIS_KEY_PREFIX: z.string().max(64).default('snapagent:'),

  JWT_SECRET_KEY: z.string().min(1).default(DEV_JWT_SECRET),
  JWT_PREVIOUS_SECRET_KEYS: csv,
  JWT_ISSUER: z.string().default('snapagent'),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt.default(15 * 60),
  REFRESH_TOKEN_TTL_SECONDS: positiveInt.default(7 * 24 * 60 * 60),

  GOOGLE_CLIENT_ID: optionalString,
  GOOGLE_CLIENT_SECRET: optionalString,
  GOOGLE_ISSUER_URL: z.url().default('https://accounts.google.com'),
  FRONTEND_URL: optionalUrl,
  GOOGLE_REDIRECT_URI: optionalUrl,
  LOGIN_MAX_FAILURES: positiveInt.max(1000).default(5),
  LOGIN_LOCKOUT_SECONDS: positiveInt.max(86_400).default(900),

  RATE_LIMIT_ENABLED: bool.default(true),
  RATE_LIMIT_WINDOW_SECONDS: positiveInt.max(86_400).default(60),
  RATE_LIMIT_MAX: positiveInt.default(300),
  RATE_LIMIT_AUTH_MAX: positiveInt.default(20),
  RATE_LIMIT_API_KEY_MAX: positiveInt.default(600),
  RATE_LIMIT_PUBLIC_BOT_MAX: positiveInt.default(600),
  METRICS_TOKEN: optionalString,
  WORKER_METRICS_PORT: port.optional(),
  AUDIT_LOG_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(365),
  WORKFLOW_RUN_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(90),
  TRUST_PROXY: z
    .string()
    .default('loopback,linklocal,uniquelocal')
    .refine(
      (v) =>
        /^(true|false|)$/.test(v.trim()) ||
        v.split(',').every((p) => /^(loopback|linklocal|uniquelocal)$/.test(p.trim()) || isCidr(p.trim())),
      'true, false, or comma-separated proxy addresses/CIDRs (the names loopback, linklocal, uniquelocal allowed)',
    ),

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
  MAX_UPLOAD_FILES: positiveInt.max(100).default(10),
  JOB_LEASE_SECONDS: z.coerce.number().int().min(10).max(3600).default(30),

  WORKFLOW_MAX_RUN_MS: positiveInt.max(3_600_000).default(120_000),
  WORKFLOW_MAX_STEPS: positiveInt.max(10_000).default(200),
  WORKFLOW_ALLOW_PRIVATE_NETWORK: bool.default(false),
  WORKFLOW_ALLOWED_PRIVATE_NETWORKS: csv.refine(
    (cidrs) => cidrs.every(isCidr),
    'comma-separated CIDRs such as 10.20.0.0/16 or fd00:1::/64 (a bare address means just that address)',
  ),
  WORKFLOW_HTTP_TIMEOUT_MS: positiveInt.max(600_000).default(15_000),
  WORKFLOW_HTTP_MAX_RESPONSE_BYTES: positiveInt.max(100 * 1024 * 1024).default(1024 * 1024),
  WORKFLOW_TRACE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(4096)
    .max(16 * 1024 * 1024)
    .default(256 * 1024),
});

export type Environment = Record<string, string | undefined>;

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
  /** Worker threads that parse and chunk documents (0: on the main thread). */
  ingestThreads: number;
  /** Run the ingestion worker inside `serve` (default on the embedded database). */
  runWorkerInServer: boolean;
  dataDir: string;
  publicUrl: string | undefined;
  database: DatabaseConfig;
  redis: { url: string; tls: boolean; tlsCaFile: string | undefined; keyPrefix: string } | undefined;
  /** Which proxies may set X-Forwarded-For (Fastify `trustProxy`): the client IP behind them is what limits count. */
  trustProxy: boolean | string;
  /** Bearer token `GET /metrics` requires; open when unset. */
  metricsToken: string | undefined;
  /** Where a `worker` process serves `GET /metrics` (none when unset). */
  workerMetricsPort: number | undefined;
  /** Days of history kept by the daily prune (0: forever). */
  retention: { auditLogDays: number; workflowRunDays: number };
  /** Requests per window; see README "Sign-in, tokens and limits". */
  rateLimit: {
    enabled: boolean;
    windowSeconds: number;
    /** Per client IP and route. */
    max: number;
    /** Per client IP and route on sign-in routes (login, register, refresh, logout, Google). */
    authMax: number;
    /** Per API key (and per IP across the keys it presents). */
    apiKeyMax: number;
    /** Per bot on public (widget) routes. */
    publicBotMax: number;
  };
  auth: {
    jwtSecret: string;
    previousJwtSecrets: string[];
    issuer: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    google: { clientId: string; clientSecret: string; issuerUrl: string; redirectUri: string } | undefined;
    frontendUrl: string | undefined;
    /** Failed passwords per email and IP before that pair is locked out for `loginLockoutSeconds`. */
    loginMaxFailures: number;
    loginLockoutSeconds: number;
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
  maxUploadFiles: number;
  /** A worker that stops heart-beating this long loses its job to another worker. */
  jobLeaseSeconds: number;
  /** Budgets and network rules of workflow runs (see docs/workflows/README.md). */
  workflow: {
    maxRunMs: number;
    /** Node executions one run may start. */
    maxSteps: number;
    /** Let http_request nodes reach private and loopback addresses (link-local stays closed). */
    allowPrivateNetwork: boolean;
    /** CIDRs http_request nodes may reach although they are private. */
    allowedPrivateNetworks: string[];
    httpTimeoutMs: number;
    httpMaxResponseBytes: number;
    /** A run's stored trace is cut to this many bytes of JSON. */
    traceMaxBytes: number;
  };
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
  // A variable set to nothing (`PORT=` in a copied .env.example) means its default, as unset does.
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value?.trim()));
  const parsed = envSchema.safeParse(given);
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
  problems.push(...googleProblems(e));
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
    // One core stays with the main thread (requests, embedding calls, writes).
    ingestThreads: e.INGEST_THREADS ?? Math.max(1, Math.min(4, availableParallelism() - 1)),
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
          ? {
              clientId: e.GOOGLE_CLIENT_ID,
              clientSecret: e.GOOGLE_CLIENT_SECRET,
              issuerUrl: e.GOOGLE_ISSUER_URL,
              redirectUri: googleRedirectUri(e) as string,
            }
          : undefined,
      frontendUrl: e.FRONTEND_URL,
      loginMaxFailures: e.LOGIN_MAX_FAILURES,
      loginLockoutSeconds: e.LOGIN_LOCKOUT_SECONDS,
    },
    corsOrigins: e.CORS_ORIGINS,
    trustProxy: trustProxy(e.TRUST_PROXY),
    metricsToken: e.METRICS_TOKEN,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    retention: { auditLogDays: e.AUDIT_LOG_RETENTION_DAYS, workflowRunDays: e.WORKFLOW_RUN_RETENTION_DAYS },
    rateLimit: {
      enabled: e.RATE_LIMIT_ENABLED,
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
      max: e.RATE_LIMIT_MAX,
      authMax: e.RATE_LIMIT_AUTH_MAX,
      apiKeyMax: e.RATE_LIMIT_API_KEY_MAX,
      publicBotMax: e.RATE_LIMIT_PUBLIC_BOT_MAX,
    },
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
    maxUploadFiles: e.MAX_UPLOAD_FILES,
    jobLeaseSeconds: e.JOB_LEASE_SECONDS,
    workflow: {
      maxRunMs: e.WORKFLOW_MAX_RUN_MS,
      maxSteps: e.WORKFLOW_MAX_STEPS,
      allowPrivateNetwork: e.WORKFLOW_ALLOW_PRIVATE_NETWORK,
      allowedPrivateNetworks: e.WORKFLOW_ALLOWED_PRIVATE_NETWORKS,
      httpTimeoutMs: e.WORKFLOW_HTTP_TIMEOUT_MS,
      httpMaxResponseBytes: e.WORKFLOW_HTTP_MAX_RESPONSE_BYTES,
      traceMaxBytes: e.WORKFLOW_TRACE_MAX_BYTES,
    },
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
    return {
      url: e.REDIS_URL,
      tls: e.REDIS_URL.startsWith('rediss://'),
      tlsCaFile: e.REDIS_TLS_CA_FILE,
      keyPrefix: e.REDIS_KEY_PREFIX,
    };
  }
  if (!e.REDIS_HOST) return undefined;
  const scheme = e.REDIS_TLS ? 'rediss' : 'redis';
  const user = e.REDIS_USERNAME ? encodeURIComponent(e.REDIS_USERNAME) : '';
  const auth = e.REDIS_PASSWORD ? `${user}:${encodeURIComponent(e.REDIS_PASSWORD)}@` : '';
  return {
    url: `${scheme}://${auth}${e.REDIS_HOST}:${e.REDIS_PORT}`,
    tls: e.REDIS_TLS,
    tlsCaFile: e.REDIS_TLS_CA_FILE,
    keyPrefix: e.REDIS_KEY_PREFIX,
  };
}

const GOOGLE_CALLBACK_PATH = '/api/v1/auth/callback/google';

function googleRedirectUri(e: ParsedEnv): string | undefined {
  if (e.GOOGLE_REDIRECT_URI) return e.GOOGLE_REDIRECT_URI;
  return e.PUBLIC_URL ? `${e.PUBLIC_URL.replace(/\/+$/, '')}${GOOGLE_CALLBACK_PATH}` : undefined;
}

/** Google sign-in needs to know where to come back to and where to hand the user over. */
function googleProblems(e: ParsedEnv): string[] {
  if (!e.GOOGLE_CLIENT_ID) return [];
  const problems: string[] = [];
  if (!googleRedirectUri(e)) problems.push('PUBLIC_URL: required for Google sign-in (or set GOOGLE_REDIRECT_URI)');
  if (!e.FRONTEND_URL) problems.push('FRONTEND_URL: required for Google sign-in (the user is handed back there)');
  const issuer = new URL(e.GOOGLE_ISSUER_URL);
  if (issuer.protocol !== 'https:' && !isLoopback(issuer.hostname)) {
    problems.push('GOOGLE_ISSUER_URL: must be https:// (plain http only on a loopback address, for tests)');
  }
  return problems;
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a network of one). */
function isCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** `false`, `true` (any peer: only behind a proxy that overwrites the header), or addresses/CIDRs. */
function trustProxy(value: string): boolean | string {
  const v = value.trim();
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  return v;
}
