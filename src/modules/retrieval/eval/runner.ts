import { fileURLToPath } from 'node:url';
import type { Db } from '../../../platform/db/db.ts';
import type { HybridWeights } from '../hybrid.ts';
import { type RetrievalTuning, type SearchMode, searchChunks } from '../search.ts';
import { ensureVectorIndex } from '../vector.ts';
import { type BeirDataset, hasBeirDataset, loadBeirDataset } from './beir.ts';
import { createCorpusBot, writeCorpus } from './corpus.ts';
import { mean, ndcgAt, recallAt } from './metrics.ts';

/**
 * Retrieval evaluation on BEIR-style sets: each corpus becomes one bot's chunks (one chunk per
 * corpus document, title + text; the corpus id is kept only as the document's filename, never
 * indexed), every judged query is searched in each mode, and nDCG@10, recall@10/@100 and the mean
 * latency are reported. Shared sets are read from `../shared/datasets/<name>/` and skipped when
 * absent; our own labelled set lives in the repository under `eval/`.
 */

export type EmbedFn = (texts: string[], purpose: 'document' | 'query') => Promise<number[][]>;

export interface EvalDatasetRef {
  name: string;
  dir: string;
}

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Our committed set, then the shared ones (present on developer machines and CI, never committed). */
export function defaultDatasets(): EvalDatasetRef[] {
  return [
    { name: 'snapagent-mini', dir: `${REPO_ROOT}eval/snapagent-mini` },
    ...['scifact', 'autorag-ko', 'korquad-v1-dev'].map((name) => ({
      name,
      dir: `${REPO_ROOT}../shared/datasets/${name}`,
    })),
  ];
}

export interface EvalOptions {
  db: Db;
  datasets?: EvalDatasetRef[];
  /** Defaults: fulltext, plus vector and hybrid when `embed` is given. */
  modes?: SearchMode[];
  /** The configured embedding provider; without it only full-text search is evaluated. */
  embed?: EmbedFn | undefined;
  /** Alternatively, an embedder fitted to each corpus (e.g. `createLsaEmbedder`). */
  embedderFor?: ((corpus: string[]) => EmbedFn) | undefined;
  /** Hybrid weights (default: the fusion's own). */
  weights?: HybridWeights | undefined;
  /** Evaluate at most this many queries per set (the first ones, in file order). */
  maxQueries?: number | undefined;
  tuning?: RetrievalTuning | undefined;
  /** Time the top-10 searches this many passes and keep the fastest pass (noisy machines). */
  latencyPasses?: number | undefined;
  /** Progress lines (indexing, skips). */
  log?: ((line: string) => void) | undefined;
}

export interface EvalRow {
  dataset: string;
  mode: SearchMode;
  documents: number;
  queries: number;
  ndcg10: number;
  recall10: number;
  recall100: number;
  /** Mean wall-clock time of one top-10 search (query embedding excluded). */
  msPerQuery: number;
}

export interface EvalResult {
  rows: EvalRow[];
  skipped: { dataset: string; reason: string }[];
}

const EMBED_BATCH = 64;

export async function runEval(options: EvalOptions): Promise<EvalResult> {
  const log = options.log ?? (() => {});
  const canEmbed = options.embed !== undefined || options.embedderFor !== undefined;
  const modes = options.modes ?? (canEmbed ? ['fulltext', 'vector', 'hybrid'] : ['fulltext']);
  if (!canEmbed && modes.some((m) => m !== 'fulltext')) {
    throw new Error('vector and hybrid evaluation need an embed function');
  }
  const result: EvalResult = { rows: [], skipped: [] };
  for (const ref of options.datasets ?? defaultDatasets()) {
    if (!hasBeirDataset(ref.dir)) {
      result.skipped.push({ dataset: ref.name, reason: `not found at ${ref.dir}` });
      log(`skip ${ref.name}: not found at ${ref.dir}`);
      continue;
    }
    const dataset = await loadBeirDataset(ref.dir, ref.name);
    const queries = dataset.queries.slice(0, options.maxQueries ?? dataset.queries.length);
    const started = performance.now();
    const texts = dataset.corpus.map((d) => (d.title.trim() ? `${d.title}\n${d.text}` : d.text));
    const embed = options.embed ?? options.embedderFor?.(texts);
    const botId = await indexDataset(options.db, dataset, texts, embed);
    log(`indexed ${ref.name}: ${dataset.corpus.length} documents in ${Math.round(performance.now() - started)} ms`);
    const queryTexts = queries.map((q) => q.text);
    const vectors = embed ? await embedAll(embed, queryTexts, 'query') : undefined;

    for (const mode of modes) {
      const ndcg: number[] = [];
      const r10: number[] = [];
      const r100: number[] = [];
      let elapsed = 0;
      for (const [i, q] of queries.entries()) {
        const search = (topK: number) =>
          searchChunks(
            options.db,
            { botId, query: q.text, queryVector: vectors?.[i], topK, mode, weights: options.weights },
            options.tuning,
          );
        // Timed as the product searches (top 10); recall@100 from a second, untimed search.
        const t0 = performance.now();
        const top10 = (await search(10)).map((h) => h.filename);
        elapsed += performance.now() - t0;
        const top100 = (await search(100)).map((h) => h.filename);
        const judged = dataset.qrels.get(q.id) ?? new Map<string, number>();
        ndcg.push(ndcgAt(top10, judged, 10));
        r10.push(recallAt(top10, judged, 10));
        r100.push(recallAt(top100, judged, 100));
      }
      let best = elapsed;
      for (let pass = 1; pass < (options.latencyPasses ?? 1); pass++) {
        const t0 = performance.now();
        for (const [i, q] of queries.entries()) {
          await searchChunks(
            options.db,
            { botId, query: q.text, queryVector: vectors?.[i], topK: 10, mode, weights: options.weights },
            options.tuning,
          );
        }
        best = Math.min(best, performance.now() - t0);
      }
      result.rows.push({
        dataset: ref.name,
        mode,
        documents: dataset.corpus.length,
        queries: queries.length,
        ndcg10: mean(ndcg),
        recall10: mean(r10),
        recall100: mean(r100),
        msPerQuery: queries.length ? best / queries.length : 0,
      });
    }
  }
  return result;
}

async function embedAll(embed: EmbedFn, texts: string[], purpose: 'document' | 'query'): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += EMBED_BATCH)
    out.push(...(await embed(texts.slice(i, i + EMBED_BATCH), purpose)));
  return out;
}

/** Writes the corpus as a new bot's documents, chunks and postings; returns the bot id. */
async function indexDataset(
  db: Db,
  dataset: BeirDataset,
  texts: string[],
  embed: EmbedFn | undefined,
): Promise<string> {
  const vectors = embed ? await embedAll(embed, texts, 'document') : undefined;
  const botId = await createCorpusBot(db, `eval ${dataset.name}`);
  await writeCorpus(
    db,
    botId,
    dataset.corpus.map((d, i) => ({ filename: d.id, content: texts[i]!, embedding: vectors?.[i] })),
    { embeddingModel: 'eval' },
  );
  if (vectors?.[0]) await ensureVectorIndex(db, botId, vectors[0].length);
  // Steady state for the planner (and index-only scans on PostgreSQL), as autovacuum would leave it.
  for (const table of ['chunks', 'chunk_terms', 'chunk_stats', 'documents']) await db.query(`VACUUM ANALYZE ${table}`);
  return botId;
}

/** The results as an aligned text table. */
export function formatEvalTable(result: EvalResult): string {
  const header = ['dataset', 'mode', 'docs', 'queries', 'nDCG@10', 'R@10', 'R@100', 'ms/query'];
  const lines = result.rows.map((r) => [
    r.dataset,
    r.mode,
    String(r.documents),
    String(r.queries),
    r.ndcg10.toFixed(4),
    r.recall10.toFixed(4),
    r.recall100.toFixed(4),
    r.msPerQuery.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)];
  for (const s of result.skipped) out.push(`(skipped ${s.dataset}: ${s.reason})`);
  return out.join('\n');
}
