import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './platform/db/db.ts';

/** Shared infrastructure handed to every module. Kept short on purpose. */
export interface Deps {
  config: Config;
  db: Db;
  log: Logger;
}
