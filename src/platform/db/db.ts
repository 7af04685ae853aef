import type { PGlite } from '@electric-sql/pglite';
import type { Pool } from 'pg';

/**
 * The one database interface every repository uses. Two drivers implement it: PGlite (embedded
 * default, a folder on disk) and node-postgres (production). Both speak the same SQL and run the
 * same migrations, so repositories never know which one they talk to.
 */
export interface Queryable {
  /** Runs one parameterised statement and returns its rows. */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

/** A connection inside a transaction; `exec` runs a script of several statements. */
export interface Tx extends Queryable {
  exec(sql: string): Promise<Record<string, unknown>[][]>;
}

export interface Db extends Tx {
  readonly driver: 'pglite' | 'postgres';
  /** The driver's own handle, for libraries that need it (the job queue). */
  readonly native: { driver: 'pglite'; pglite: PGlite } | { driver: 'postgres'; pool: Pool } | undefined;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
