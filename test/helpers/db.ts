import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Db } from '../../src/platform/db/db.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { openPglite } from '../../src/platform/db/pglite.ts';
import { openPostgres } from '../../src/platform/db/postgres.ts';

/** Which storage driver this test process runs on (set by scripts/test.ts). */
export const testDriver = (process.env.TEST_DB_DRIVER ?? 'pglite') as 'pglite' | 'postgres';

const adminUrl = () => process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  db: Db;
  /** A connection URL for the postgres driver (undefined on PGlite). */
  url: string | undefined;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: an in-memory PGlite, or a new database on the
 * test PostgreSQL server that is dropped on close.
 */
export async function openTestDb(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  if (testDriver === 'pglite') {
    const db = await openPglite(undefined);
    if (options.migrate !== false) await migrate(db);
    return { db, url: undefined, close: () => db.close() };
  }
  const name = `snapagent_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const db = await openPostgres({ url: url.toString(), ssl: 'disable', poolSize: 5 });
  if (options.migrate !== false) await migrate(db);
  return {
    db,
    url: url.toString(),
    async close() {
      await db.close();
      const admin2 = new pg.Client({ connectionString: adminUrl() });
      await admin2.connect();
      await admin2.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin2.end();
    },
  };
}
