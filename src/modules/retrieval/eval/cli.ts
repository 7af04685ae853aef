/**
 * Retrieval evaluation from the command line. Full-text by default; `--embedder lsa` adds vector
 * and hybrid modes with a corpus-trained LSA embedder (the product's providers are wired by
 * `npm run eval`).
 *
 *   node src/modules/retrieval/eval/cli.ts                       # PGlite in memory, every set found
 *   node src/modules/retrieval/eval/cli.ts --driver postgres     # a throwaway database on the local server
 *   node src/modules/retrieval/eval/cli.ts --datasets scifact --max-queries 500 --k1 1.2 --b 0.75
 *   node src/modules/retrieval/eval/cli.ts --embedder lsa --fusion linear --weights 0.3,0.7
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Db } from '../../../platform/db/db.ts';
import { migrate } from '../../../platform/db/migrate.ts';
import { openPglite } from '../../../platform/db/pglite.ts';
import { openPostgres } from '../../../platform/db/postgres.ts';
import type { FusionMethod } from '../hybrid.ts';
import type { SearchMode } from '../search.ts';
import { createLsaEmbedder } from './lsa.ts';
import { defaultDatasets, formatEvalTable, runEval } from './runner.ts';

const { values } = parseArgs({
  options: {
    driver: { type: 'string', default: 'pglite' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    datasets: { type: 'string' },
    'max-queries': { type: 'string' },
    k1: { type: 'string' },
    b: { type: 'string' },
    embedder: { type: 'string' },
    dims: { type: 'string', default: '128' },
    fusion: { type: 'string' },
    weights: { type: 'string' },
    modes: { type: 'string' },
  },
});

const wanted = values.datasets?.split(',').map((s) => s.trim());
const datasets = defaultDatasets().filter((d) => !wanted || wanted.includes(d.name));
const bm25 = values.k1 || values.b ? { k1: Number(values.k1 ?? 0.9), b: Number(values.b ?? 0.6) } : undefined;
if (values.embedder !== undefined && values.embedder !== 'lsa') throw new Error('--embedder: only "lsa" is built in');
if (values.fusion !== undefined && values.fusion !== 'rrf' && values.fusion !== 'linear') {
  throw new Error('--fusion must be rrf or linear');
}
const fusion = values.fusion as FusionMethod | undefined;
const [vectorWeight, fulltextWeight] = (values.weights ?? '').split(',').map(Number);
const weights =
  vectorWeight !== undefined && fulltextWeight !== undefined && values.weights
    ? { vector: vectorWeight, fulltext: fulltextWeight }
    : undefined;
const modes = values.modes?.split(',') as SearchMode[] | undefined;
const lsaDims = Number(values.dims);

let db: Db;
let dropDatabase: (() => Promise<void>) | undefined;
if (values.driver === 'postgres') {
  const admin = new URL(values['database-url']);
  const name = `snapagent_eval_${randomBytes(4).toString('hex')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  dropDatabase = () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  db = await openPostgres({ url: url.toString(), ssl: 'disable', poolSize: 4 });
} else {
  db = await openPglite(undefined);
}

try {
  await migrate(db);
  const result = await runEval({
    db,
    datasets,
    maxQueries: values['max-queries'] ? Number(values['max-queries']) : undefined,
    tuning: { bm25, fusion },
    weights,
    modes,
    embedderFor: values.embedder === 'lsa' ? (corpus) => createLsaEmbedder(corpus, lsaDims) : undefined,
    log: (line) => console.error(line),
  });
  const settings = [
    `driver ${db.driver}`,
    bm25 && `k1 ${bm25.k1} b ${bm25.b}`,
    values.embedder && `embedder ${values.embedder} (${lsaDims} d)`,
    fusion && `fusion ${fusion}`,
    weights && `weights vector ${weights.vector} fulltext ${weights.fulltext}`,
  ];
  console.log(settings.filter(Boolean).join(', '));
  console.log(formatEvalTable(result));
} finally {
  await db.close();
  await dropDatabase?.();
}
