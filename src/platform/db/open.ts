import type { Logger } from 'pino';
import type { DatabaseConfig } from '../../config.ts';
import type { Db } from './db.ts';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';

/** Opens the configured driver. */
export function openDb(config: DatabaseConfig, log?: Logger): Promise<Db> {
  if (config.driver === 'pglite') return openPglite(config.dataDir);
  return openPostgres({ url: config.url, ssl: config.ssl, poolSize: config.poolSize, ...(log ? { log } : {}) });
}
