#!/usr/bin/env node
/**
 * SnapAgent's command line: `serve` (HTTP API; on the embedded database also the ingestion
 * worker), `worker` (ingestion worker only), `migrate`, `eval`.
 * loadConfig → open infrastructure → start; SIGTERM/SIGINT drain and close everything.
 */
import { existsSync } from 'node:fs';
import pino from 'pino';
import { buildApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createDeps } from './infrastructure.ts';
import type { Db } from './platform/db/db.ts';
import { deferredDb } from './platform/db/deferred.ts';
import { migrate } from './platform/db/migrate.ts';
import { openDb } from './platform/db/open.ts';
import { loggerOptions } from './platform/logger.ts';
import { serveWorkerMetrics } from './platform/metrics.ts';
import { closeRedis } from './platform/redis.ts';
import { createEmbeddingRegistry } from './providers/embedding/registry.ts';
import { type Jobs, startJobs } from './worker.ts';

const command = process.argv[2] ?? 'serve';

let config: Config;
try {
  // A .env in the working directory fills in what the environment does not set.
  if (existsSync('.env')) process.loadEnvFile('.env');
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}
const log = pino(loggerOptions(config.logLevel));

async function openMigrated(): Promise<Db> {
  const db = await openDb(config.database, log);
  const { applied } = await migrate(db);
  if (applied.length) log.info({ applied }, 'migrations applied');
  return db;
}

/** HTTP first (so /health answers while an embedded database initialises), then queue and worker. */
async function serve(): Promise<void> {
  const opening = openMigrated();
  opening.catch((err) => {
    log.fatal({ err }, 'database could not be opened');
    process.exit(1);
  });
  const db = deferredDb(opening, config.database.driver);
  const deps = createDeps(config, db, log);
  const { app } = await buildApp(deps);
  await app.listen({ host: config.host, port: config.port });
  // Drains from the moment requests can arrive, even while the queue and worker still start.
  let jobs: Jobs | undefined;
  onShutdown(async () => {
    await app.close(); // stops accepting, waits for in-flight requests
    await jobs?.stop(); // lets running jobs finish (or hands them back)
    await db.close();
    if (deps.redis) await closeRedis(deps.redis);
  });
  await opening;
  jobs = await startJobs(deps, config.runWorkerInServer);
  log.info({ driver: config.database.driver, worker: config.runWorkerInServer }, 'ready');
}

async function worker(): Promise<void> {
  const db = await openMigrated();
  const deps = createDeps(config, db, log);
  const jobs = await startJobs(deps, true);
  const metrics =
    config.workerMetricsPort === undefined
      ? undefined
      : await serveWorkerMetrics({ host: config.host, port: config.workerMetricsPort, token: config.metricsToken });
  onShutdown(async () => {
    metrics?.close();
    await jobs.stop();
    await db.close();
    if (deps.redis) await closeRedis(deps.redis);
  });
}

function onShutdown(close: () => Promise<void>): void {
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

switch (command) {
  case 'serve':
    await serve();
    break;
  case 'worker':
    await worker();
    break;
  case 'migrate': {
    const db = await openMigrated();
    await db.close();
    break;
  }
  case 'eval': {
    const { runEvalCommand } = await import('./modules/retrieval/eval/cli.ts');
    const embedder = createEmbeddingRegistry(config, { log }).forChoice();
    await runEvalCommand(
      process.argv.slice(3),
      embedder && { name: embedder.modelKey, embed: (texts, purpose) => embedder.embed(texts, { purpose }) },
    );
    break;
  }
  default:
    process.stderr.write(`Unknown command "${command}". Use: serve | worker | migrate | eval\n`);
    process.exit(64);
}
