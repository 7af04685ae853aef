import { fromPglite, PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import type { Db, Queryable } from './db/db.ts';

/**
 * The durable job queue: pg-boss over the same database as everything else, on both drivers.
 * Jobs are at-least-once: a worker that dies stops heart-beating and its job is retried by the
 * next one, so handlers must be idempotent and fenced (see documents/ingest).
 */
export interface QueueJob<T> {
  id: string;
  data: T;
  /** 0 on the first attempt, then 1, 2, ... */
  retryCount: number;
  /** Aborted when the job expires or the worker stops. */
  signal: AbortSignal;
}

export interface QueueDefinition {
  name: string;
  retryLimit: number;
  /** First retry delay in seconds; doubles on each retry. */
  retryDelaySeconds: number;
  /** A job running longer than this is failed and retried. */
  expireInSeconds: number;
  /** Lease: a worker that misses heartbeats this long is presumed dead (>= 10). */
  heartbeatSeconds: number;
}

export interface JobQueue {
  define(queue: QueueDefinition): Promise<void>;
  /** Enqueues a job; with `tx` the job commits or rolls back with that transaction. */
  send<T extends object>(name: string, data: T, options?: { tx?: Queryable }): Promise<string>;
  /** Enqueues several jobs in one statement (an upload of many files); ids in input order. */
  sendMany<T extends object>(name: string, data: T[], options?: { tx?: Queryable }): Promise<string[]>;
  work<T extends object>(
    name: string,
    concurrency: number,
    handler: (job: QueueJob<T>) => Promise<void>,
  ): Promise<void>;
  /** Sends a job to `name` on a cron schedule (UTC); every process may ask, one job is sent each time. */
  schedule(name: string, cron: string): Promise<void>;
  /** The job's state and last error as pg-boss records them. */
  status(name: string, id: string): Promise<{ state: string; output: unknown } | undefined>;
  stop(): Promise<void>;
}

export interface QueueOptions {
  db: Db;
  /** PostgreSQL URL (pg-boss keeps its own small pool there, with LISTEN/NOTIFY). */
  url?: string | undefined;
  log: Logger;
  /** Run maintenance (expiry, retries of dead workers' jobs). Every worker process does. */
  supervise: boolean;
  /** The job lease: supervision runs often enough to notice a lapsed one promptly. */
  leaseSeconds: number;
  pollingIntervalSeconds?: number;
}

/** Idle poll while LISTEN/NOTIFY is up: only catches retries and jobs whose notification was lost. */
const NOTIFY_BACKSTOP_SECONDS = 5;

const asDatabase = (q: Queryable) => ({
  executeSql: async (text: string, values?: unknown[]) => ({ rows: await q.query(text, values ?? []) }),
});

export async function startQueue(options: QueueOptions): Promise<JobQueue> {
  const { db, log } = options;
  const native = db.native;
  if (!native) throw new Error('The database must be open before the job queue starts');
  const supervision = {
    schema: 'pgboss',
    supervise: options.supervise,
    superviseIntervalSeconds: Math.min(60, Math.max(2, Math.floor(options.leaseSeconds / 2))),
  };
  // LISTEN/NOTIFY wakes idle workers the moment a job commits (PGlite delivers in-process);
  // polling stays on as the floor.
  const boss =
    native.driver === 'pglite'
      ? new PgBoss({ db: fromPglite(native.pglite), backend: 'pglite', useListenNotify: true, ...supervision })
      : new PgBoss({
          connectionString: options.url,
          max: 4,
          application_name: 'snapagent-queue',
          useListenNotify: true,
          ...supervision,
        });
  boss.on('error', (err) => log.error({ err }, 'job queue error'));
  await boss.start();
  const polling = options.pollingIntervalSeconds ?? 1;

  return {
    async define(queue) {
      const settings = {
        retryLimit: queue.retryLimit,
        retryDelay: queue.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds: queue.expireInSeconds,
        heartbeatSeconds: queue.heartbeatSeconds,
        notify: true,
      };
      const existing = await boss.getQueue(queue.name);
      if (existing) await boss.updateQueue(queue.name, settings);
      else await boss.createQueue(queue.name, settings);
    },

    async send(name, data, sendOptions = {}) {
      const id = await boss.send(name, data, sendOptions.tx ? { db: asDatabase(sendOptions.tx) } : {});
      if (!id) throw new Error(`Job for queue ${name} was not created`);
      return id;
    },

    async sendMany(name, data, sendOptions = {}) {
      if (data.length === 0) return [];
      const ids = await boss.insert(
        name,
        data.map((d) => ({ data: d })),
        { returnId: true, ...(sendOptions.tx ? { db: asDatabase(sendOptions.tx) } : {}) },
      );
      if (!ids || ids.length !== data.length) throw new Error(`Jobs for queue ${name} were not all created`);
      return ids;
    },

    async work(name, concurrency, handler) {
      // One pg-boss worker per slot, each told to fetch again as soon as its job ends: a worker
      // that just found a job does not sleep out a polling interval while the backlog waits.
      for (let i = 0; i < concurrency; i++) {
        let workerId: string | undefined;
        workerId = await boss.work(
          name,
          { batchSize: 1, pollingIntervalSeconds: polling, notifyPollingIntervalSeconds: NOTIFY_BACKSTOP_SECONDS },
          async (jobs) => {
            try {
              for (const job of jobs) {
                await handler({ id: job.id, data: job.data as never, retryCount: job.retryCount, signal: job.signal });
              }
            } finally {
              if (workerId) boss.notifyWorker(workerId);
            }
          },
        );
      }
    },

    async schedule(name, cron) {
      await boss.schedule(name, cron, {}, { tz: 'UTC' });
    },

    async status(name, id) {
      const job = await boss.getJobById(name, id);
      return job ? { state: job.state, output: job.output } : undefined;
    },

    async stop() {
      await boss.stop({ graceful: true, timeout: 20_000 });
    },
  };
}
