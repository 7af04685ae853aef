import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));
/** Arbitrary constant shared by every SnapAgent process migrating the same database. */
const MIGRATION_LOCK_KEY = 7_302_114_559;

export interface MigrationResult {
  applied: string[];
}

/**
 * Applies pending migrations (forward-only, numbered `NNNN_name.sql`) in one transaction that
 * first takes a transaction-scoped advisory lock: replicas starting together queue behind the
 * first one and then find nothing left to do.
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  const scripts = await Promise.all(files.map(async (f) => ({ version: f, sql: await readFile(dir + f, 'utf8') })));

  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await tx.query<{ version: string }>('SELECT version FROM schema_migrations')).map((r) => r.version),
    );
    const applied: string[] = [];
    for (const { version, sql } of scripts) {
      if (done.has(version)) continue;
      await tx.exec(sql);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
      applied.push(version);
    }
    return { applied };
  });
}
