import type { Deps } from './deps.ts';
import { ingestQueueDefinition, startIngestWorker } from './modules/documents/ingest.ts';

/** Declares every queue; each process that sends jobs does this once the queue has started. */
export async function defineQueues(deps: Deps): Promise<void> {
  await deps.queue().define(ingestQueueDefinition(deps.config.jobLeaseSeconds));
}

/** Starts every module's job handlers in this process (`worker`, or inside `serve` on PGlite). */
export async function startWorker(deps: Deps): Promise<void> {
  const { config, db, log } = deps;
  await startIngestWorker(
    deps.queue(),
    { db, log, embedderFor: (settings) => deps.embeddings.forChoice(settings.embedding) },
    config.workers,
  );
  log.info({ concurrency: config.workers }, 'ingestion worker started');
}
