/**
 * Retrieval evaluation from the command line (`npm run eval -- <options>`). Full-text always;
 * vector and hybrid with the configured embedding provider when there is one, or with
 * `--embedder lsa`, a corpus-trained LSA embedder that needs no model.
 *
 *   npm run eval                                   # PGlite in memory, every set found
 *   npm run eval -- --driver postgres              # a throwaway database on the local server
 *   npm run eval -- --datasets scifact --max-queries 500 --k1 1.2 --b 0.75
 *   npm run eval -- --embedder lsa --fusion linear --weights 0.3,0.7
 *   npm run eval -- --embedder none                # full-text only, whatever is configured
 */
import { parseArgs } from 'node:util';
import type { Db } from '../../../platform/db/db.ts';
import { migrate } from '../../../platform/db/migrate.ts';
import { openPglite } from '../../../platform/db/pglite.ts';
import { openPostgres } from '../../../platform/db/postgres.ts';
import { createScratchDatabase } from '../../../platform/db/scratch-database.ts';
import type { FusionMethod } from '../hybrid.ts';
import type { SearchMode } from '../search.ts';
import { createLsaEmbedder } from './lsa.ts';
import { defaultDatasets, type EmbedFn, formatEvalTable, runEval } from './runner.ts';

/** Runs the evaluation; `configured` is the deployment's embedder, used unless `--embedder` says otherwise. */
export async function runEvalCommand(args: string[], configured?: { name: string; embed: EmbedFn }): Promise<void> {
  const { values } = parseArgs({
    args,
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
      passes: { type: 'string', default: '1' },
    },
  });

  const wanted = values.datasets?.split(',').map((s) => s.trim());
  const datasets = defaultDatasets().filter((d) => !wanted || wanted.includes(d.name));
  const bm25 = values.k1 || values.b ? { k1: Number(values.k1 ?? 0.9), b: Number(values.b ?? 0.6) } : undefined;
  if (values.embedder !== undefined && values.embedder !== 'lsa' && values.embedder !== 'none') {
    throw new Error('--embedder: "lsa" (built in) or "none"; without it the configured provider is used');
  }
  const useConfigured = values.embedder === undefined ? configured : undefined;
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
    const scratch = await createScratchDatabase(values['database-url'], 'snapagent_eval');
    dropDatabase = scratch.drop;
    db = await openPostgres({ url: scratch.url, ssl: 'disable', poolSize: 4 });
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
      latencyPasses: Number(values.passes),
      embed: useConfigured?.embed,
      embedderFor: values.embedder === 'lsa' ? (corpus) => createLsaEmbedder(corpus, lsaDims) : undefined,
      log: (line) => console.error(line),
    });
    const settings = [
      `driver ${db.driver}`,
      bm25 && `k1 ${bm25.k1} b ${bm25.b}`,
      values.embedder === 'lsa' && `embedder lsa (${lsaDims} d)`,
      useConfigured && `embedder ${useConfigured.name}`,
      fusion && `fusion ${fusion}`,
      weights && `weights vector ${weights.vector} fulltext ${weights.fulltext}`,
    ];
    console.log(settings.filter(Boolean).join(', '));
    console.log(formatEvalTable(result));
  } finally {
    await db.close();
    await dropDatabase?.();
  }
}
