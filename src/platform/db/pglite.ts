import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { Db, Tx } from './db.ts';

/** Opens PGlite with pgvector. `dataDir` undefined means in memory (tests). */
export async function openPglite(dataDir: string | undefined): Promise<Db> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const pg = await PGlite.create({ ...(dataDir ? { dataDir } : {}), extensions: { vector } });
  return wrapPglite(pg);
}

function asTx(target: PGlite | Transaction): Tx {
  return {
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      const result = await target.query<Row>(sql, params as unknown[]);
      return result.rows;
    },
    async exec(sql) {
      const results = await target.exec(sql);
      return results.map((r) => r.rows as Record<string, unknown>[]);
    },
  };
}

export function wrapPglite(pg: PGlite): Db {
  const root = asTx(pg);
  return {
    driver: 'pglite',
    native: { driver: 'pglite', pglite: pg },
    query: root.query,
    exec: root.exec,
    transaction(fn) {
      return pg.transaction((tx) => fn(asTx(tx)));
    },
    async close() {
      if (!pg.closed) await pg.close();
    },
  };
}
