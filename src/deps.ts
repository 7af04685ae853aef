import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './platform/db/db.ts';
import type { JobQueue } from './platform/queue.ts';
import type { RedisClient } from './platform/redis.ts';
import type { EmbeddingRegistry } from './providers/embedding/registry.ts';
import type { LlmRegistry } from './providers/llm/registry.ts';

/** Shared infrastructure handed to every module. Kept short on purpose. */
export interface Deps {
  config: Config;
  db: Db;
  log: Logger;
  /** The job queue; available once the database is open (throws before). */
  queue: () => JobQueue;
  embeddings: EmbeddingRegistry;
  llm: LlmRegistry;
  /** Shared Redis (limits, lockouts, sessions) when REDIS_URL/REDIS_HOST is set. */
  redis: RedisClient | undefined;
}
