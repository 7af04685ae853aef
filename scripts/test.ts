/**
 * Runs the test suite with Node's own runner, then re-runs every suite that touches storage
 * against a real PostgreSQL. Ends with one plain line, `N passed, N failed`, so a run that
 * executed nothing is visible.
 *
 *   npm test                      # PGlite, then PostgreSQL if TEST_DATABASE_URL or CI is set
 *   npm test -- src/modules/auth  # only files under these paths
 *   TEST_DRIVERS=pglite npm test  # one driver
 */
import { readFileSync } from 'node:fs';
import { glob } from 'node:fs/promises';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const filters = process.argv.slice(2);
const files: string[] = [];
for await (const f of glob(['src/**/*.test.ts', 'test/**/*.test.ts'])) {
  if (filters.length === 0 || filters.some((p) => f.startsWith(p) || f === p)) files.push(f);
}
files.sort();

/** A suite is a storage suite when it opens a test database or builds the app. */
const storageFiles = files.filter((f) => /openTestDb|buildTestApp|storageDrivers/.test(readFileSync(f, 'utf8')));
const postgresUrl =
  process.env.TEST_DATABASE_URL ?? (process.env.CI ? 'postgres://postgres@127.0.0.1:5432/postgres' : undefined);
const drivers = (process.env.TEST_DRIVERS ?? (postgresUrl ? 'pglite,postgres' : 'pglite')).split(',');

let passed = 0;
let failed = 0;
let skipped = 0;

for (const driver of drivers) {
  const set = driver === 'pglite' ? files : storageFiles;
  if (set.length === 0) continue;
  process.stdout.write(`\n# driver ${driver}: ${set.length} file(s)\n`);
  process.env.TEST_DB_DRIVER = driver;
  if (driver === 'postgres' && postgresUrl) process.env.TEST_DATABASE_URL = postgresUrl;
  const stream = run({ files: set, concurrency: Number(process.env.TEST_CONCURRENCY ?? 2), timeout: 300_000 });
  stream.on('test:pass', (e) => {
    if (e.details.type === 'suite') return;
    if (e.skip || e.todo) skipped++;
    else passed++;
  });
  stream.on('test:fail', (e) => {
    if (e.details.type !== 'suite') failed++;
  });
  await new Promise<void>((resolve, reject) => {
    stream.compose(spec).pipe(process.stdout, { end: false }).on('error', reject);
    stream.on('end', resolve);
  });
}

const total = passed + failed;
process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exitCode = failed > 0 || total === 0 ? 1 : 0;
