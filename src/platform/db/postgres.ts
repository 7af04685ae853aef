import pg from 'pg';
import type { Logger } from 'pino';
import type { Db, Tx } from './db.ts';

// int8 (bigint ids, counts) as JS strings would leak into every caller; our counts fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface PostgresOptions {
  url: string;
  ssl: 'disable' | 'require' | 'verify-full';
  poolSize: number;
  log?: Logger;
}

/** Opens a node-postgres pool. Pool and client errors are logged, never fatal (a DB restart must not kill us). */
export async function openPostgres(options: PostgresOptions): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    ssl: options.ssl === 'disable' ? undefined : { rejectUnauthorized: options.ssl === 'verify-full' },
  });
  pool.on('error', (err) => options.log?.error({ err }, 'idle PostgreSQL client failed'));
  // Fail fast on a wrong URL instead of at the first request.
  const client = await pool.connect();
  client.release();
  return wrapPool(pool);
}

export function wrapPool(pool: pg.Pool): Db {
  return {
    driver: 'postgres',
    native: { driver: 'postgres', pool },
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      const result = await pool.query(sql, params as unknown[]);
      return result.rows as Row[];
    },
    exec: (sql) => execScript(pool, sql),
    async transaction(fn) {
      const client = await pool.connect();
      const tx: Tx = {
        async query<Row>(sql: string, params: readonly unknown[] = []) {
          return (await client.query(sql, params as unknown[])).rows as Row[];
        },
        exec: (sql) => execScript(client, sql),
      };
      try {
        await client.query('BEGIN');
        const value = await fn(tx);
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** Simple-protocol query: several statements, each one's rows returned. */
async function execScript(target: pg.Pool | pg.PoolClient, sql: string): Promise<Record<string, unknown>[][]> {
  const result = (await target.query(sql)) as unknown as pg.QueryResult | pg.QueryResult[];
  return (Array.isArray(result) ? result : [result]).map((r) => r.rows);
}
