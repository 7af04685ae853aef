import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Deps } from './deps.ts';
import type { Db } from './platform/db/db.ts';
import { AppError } from './platform/errors.ts';
import { type JobQueue, startQueue } from './platform/queue.ts';
import { createRedis } from './platform/redis.ts';
import { createEmbeddingRegistry } from './providers/embedding/registry.ts';
import { createLlmRegistry } from './providers/llm/registry.ts';

/**
 * Builds `Deps` around an (possibly still opening) database. The job queue starts once the
 * database is open; until then `deps.queue()` answers 503.
 */
export function createDeps(
  config: Config,
  db: Db,
  log: Logger,
): Deps & { startQueue(supervise: boolean): Promise<JobQueue> } {
  let queue: JobQueue | undefined;
  return {
    config,
    db,
    log,
    queue() {
      if (!queue) throw new AppError('service_unavailable', 'The job queue is starting; try again in a moment');
      return queue;
    },
    embeddings: createEmbeddingRegistry(config, { log }),
    llm: createLlmRegistry(config, { logger: log }),
    redis: config.redis ? createRedis(config.redis, log) : undefined,
    async startQueue(supervise) {
      queue = await startQueue({
        db,
        url: config.database.driver === 'postgres' ? config.database.url : undefined,
        log,
        supervise,
        leaseSeconds: config.jobLeaseSeconds,
      });
      return queue;
    },
  };
}
