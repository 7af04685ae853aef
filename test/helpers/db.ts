import { createHash } from 'node:crypto';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { Db } from '../../src/platform/db/db.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { openPglite, wrapPglite } from '../../src/platform/db/pglite.ts';
import { openPostgres } from '../../src/platform/db/postgres.ts';
import { createScratchDatabase } from '../../src/platform/db/scratch-database.ts';

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
    if (options.migrate === false) {
      const db = await openPglite(undefined);
      return { db, url: undefined, close: () => db.close() };
    }
    const db = wrapPglite(await PGlite.create({ extensions: { vector }, loadDataDir: await migratedTemplate() }));
    return { db, url: undefined, close: () => db.close() };
  }
  const scratch = await createScratchDatabase(adminUrl(), 'snapagent_test');
  const db = await openPostgres({ url: scratch.url, ssl: 'disable', poolSize: 5 });
  if (options.migrate !== false) await migrate(db);
  return {
    db,
    url: scratch.url,
    async close() {
      await db.close();
      await scratch.drop();
    },
  };
}

/** A team with one bot in it, for storage tests that need a bot to hang their rows on. */
export async function insertTeamAndBot(db: Db, settings: object = {}): Promise<{ teamId: string; botId: string }> {
  const [team] = await db.query<{ id: string }>(`INSERT INTO teams (name) VALUES ('t') RETURNING id`);
  const [bot] = await db.query<{ id: string }>(
    `INSERT INTO bots (team_id, name, settings) VALUES ($1, 'b', $2) RETURNING id`,
    [team?.id, JSON.stringify(settings)],
  );
  return { teamId: team?.id as string, botId: bot?.id as string };
}

const MIGRATIONS = new URL('../../migrations/', import.meta.url);

/**
 * A migrated PGlite data directory, made once per migration set and kept in the temp folder:
 * loading it takes a fraction of initialising and migrating a fresh instance in every test file.
 */
async function migratedTemplate(): Promise<Blob> {
  const hash = createHash('sha256');
  for (const f of (await readdir(MIGRATIONS)).sort()) hash.update(f).update(await readFile(new URL(f, MIGRATIONS)));
  const path = join(tmpdir(), `snapagent-pglite-${hash.digest('hex').slice(0, 16)}.tar`);
  try {
    return new Blob([await readFile(path)]);
  } catch {
    const fresh = await PGlite.create({ extensions: { vector } });
    await migrate(wrapPglite(fresh));
    const dump = await fresh.dumpDataDir('none');
    await fresh.close();
    const partial = `${path}.${process.pid}.tmp`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, path);
    return dump;
  }
}
