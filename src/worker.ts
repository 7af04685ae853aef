import type { Deps } from './deps.ts';
import { ingestQueueDefinition, startIngestWorker } from './modules/documents/ingest.ts';
import { createPreparer } from './modules/documents/prepare-pool.ts';
import { pruneHistory } from './modules/retention/prune.ts';
import { closeAbandonedRuns } from './modules/workflows/repo.ts';
import { abandonedRunAfterMs } from './modules/workflows/service.ts';
import type { JobQueue } from './platform/queue.ts';

/** The daily prune of old history (see modules/retention), at a quiet hour. */
export const PRUNE_QUEUE = 'history-prune';
const PRUNE_CRON = '23 3 * * *';

/** A process's jobs side, started by `startJobs`. */
export interface Jobs {
  /** Lets running jobs finish (or hands them back), then stops what the handlers hold (parser threads). */
  stop(): Promise<void>;
}

/**
 * Starts the job queue, declares every queue (every process that sends jobs needs that) and, with
 * `work`, this process's job handlers (`worker`, or inside `serve` on PGlite).
 */
export async function startJobs(
  deps: Deps & { startQueue(supervise: boolean): Promise<JobQueue> },
  work: boolean,
): Promise<Jobs> {
  const queue = await deps.startQueue(work);
  await defineQueues(deps);
  const handlers = work ? await startWorker(deps) : undefined;
  return {
    async stop() {
      await queue.stop();
      await handlers?.close();
    },
  };
}

async function defineQueues(deps: Deps): Promise<void> {
  await deps.queue().define(ingestQueueDefinition(deps.config.jobLeaseSeconds));
  await deps
    .queue()
    .define({ name: PRUNE_QUEUE, retryLimit: 2, retryDelaySeconds: 600, expireInSeconds: 3600, heartbeatSeconds: 60 });
}

/** Every module's job handlers; the answer closes what they hold besides the queue (parser threads). */
async function startWorker(deps: Deps): Promise<{ close(): Promise<void> }> {
  const { config, db, log } = deps;
  const preparer = createPreparer(config.ingestThreads, { log });
  await preparer.ready;
  await startIngestWorker(
    deps.queue(),
    {
      db,
      log,
      embedderFor: (settings) => deps.embeddings.forChoice(settings.embedding),
      prepare: (input, signal) => preparer.prepare(input, signal),
    },
    config.workers,
  );
  log.info({ concurrency: config.workers, threads: config.ingestThreads }, 'ingestion worker started');
  await deps.queue().work(PRUNE_QUEUE, 1, async () => {
    log.info(await dailyPrune(deps), 'old history pruned');
  });
  await deps.queue().schedule(PRUNE_QUEUE, PRUNE_CRON);
  return preparer;
}

/**
 * The daily prune: first closes workflow runs a stopped server left `running` in every bot (a
 * bot nobody looks at would keep them forever), so they age out like any run; then deletes
 * history past its retention.
 */
export async function dailyPrune(deps: Pick<Deps, 'db' | 'config'>) {
  const { db, config } = deps;
  const interruptedRuns = await closeAbandonedRuns(db, abandonedRunAfterMs(config.workflow.maxRunMs));
  return { interruptedRuns, pruned: await pruneHistory(db, config.retention) };
}
