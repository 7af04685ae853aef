import type { Deps } from './deps.ts';
import { ingestQueueDefinition, startIngestWorker } from './modules/documents/ingest.ts';
import { createPreparer } from './modules/documents/prepare-pool.ts';

/** Declares every queue; each process that sends jobs does this once the queue has started. */
export async function defineQueues(deps: Deps): Promise<void> {
  await deps.queue().define(ingestQueueDefinition(deps.config.jobLeaseSeconds));
}

/**
 * Starts every module's job handlers in this process (`worker`, or inside `serve` on PGlite).
 * The answer stops what they hold besides the queue (parser threads); call it after the queue stopped.
 */
export async function startWorker(deps: Deps): Promise<{ close(): Promise<void> }> {
  const { config, db, log } = deps;
  const preparer = createPreparer(config.ingestThreads);
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
  return preparer;
}
