import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDatabase, testDriver } from '../../../test/helpers/db.ts';
import { migrate } from './migrate.ts';
import { openPostgres } from './postgres.ts';

describe(`migrations (${testDriver})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await openTestDb({ migrate: false });
  });
  after(() => t.close());

  it('applies every migration once, then nothing', async () => {
    const first = await migrate(t.db);
    assert.ok(first.applied.length >= 3);
    assert.deepEqual(first.applied, [...first.applied].sort());
    const second = await migrate(t.db);
    assert.deepEqual(second.applied, []);
    const rows = await t.db.query<{ extname: string }>("SELECT extname FROM pg_extension WHERE extname = 'vector'");
    assert.equal(rows.length, 1);
  });

  it('two processes migrating together do not race', {
    skip: testDriver !== 'postgres' ? 'PGlite has one connection' : false,
  }, async () => {
    // Fresh database so both starts find work to do.
    const url = new URL(t.url as string);
    const name = `${url.pathname.slice(1)}_race`;
    await t.db.query(`CREATE DATABASE ${name}`);
    url.pathname = `/${name}`;
    const a = await openPostgres({ url: url.toString(), ssl: 'disable', poolSize: 2 });
    const b = await openPostgres({ url: url.toString(), ssl: 'disable', poolSize: 2 });
    try {
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      const total = ra.applied.length + rb.applied.length;
      assert.equal(total, first(ra, rb));
      const rows = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      assert.equal(rows[0]?.n, total);
    } finally {
      await a.close();
      await b.close();
      await t.db.query(`DROP DATABASE ${name} WITH (FORCE)`);
    }
  });
});

/** Exactly one of the two runs applied everything; the other found nothing to do. */
function first(a: { applied: string[] }, b: { applied: string[] }): number {
  assert.ok(a.applied.length === 0 || b.applied.length === 0, 'both processes applied migrations');
  return Math.max(a.applied.length, b.applied.length);
}
