import type { Queryable } from '../../platform/db/db.ts';
import { assertUuid, filterSql, type SearchFilters } from './filters.ts';
import { type TermFrequencies, termFrequencies, tokenize } from './tokenize.ts';

/**
 * BM25 full-text search kept in PostgreSQL: postings in `chunk_terms`, per-bot N and total length
 * in `chunk_stats` (kept exact by triggers), document frequencies counted from the bot's postings
 * at query time. Works the same on PGlite and PostgreSQL; no extension needed.
 */

/** BM25 parameters. Defaults chosen on SciFact, AutoRAG-ko and KorQuAD (see the eval README). */
export interface Bm25Params {
  k1: number;
  b: number;
}

export const DEFAULT_BM25: Bm25Params = { k1: 0.9, b: 0.6 };

/** A query is cut to this many distinct terms (a pasted page must not become 2,000 index scans). */
export const MAX_QUERY_TERMS = 128;

/** Rows per INSERT statement: keeps one statement's arrays to a few MB for huge documents. */
export const POSTINGS_PER_STATEMENT = 20_000;

/** One chunk to index: its text, or its terms already counted outside the transaction. */
export type PostingsInput = { id: number | string; text: string } | { id: number | string; terms: TermFrequencies };

/** A ranked chunk id with the ranker's own score (higher is better). */
export interface Candidate {
  chunkId: string;
  score: number;
}

/** Postings as the column arrays of an `unnest`, one row per (chunk, term). */
export interface PostingColumns<K> {
  keys: K[];
  terms: string[];
  tfs: number[];
  lens: number[];
  /** How many chunks, from `from` on, these rows cover. */
  chunks: number;
}

/**
 * The postings of `chunks[from…]`, as many whole chunks as fit `limit` rows (always at least
 * one), keyed by whatever identifies a chunk in the statement (its id, or its index in a batch).
 */
export function postingColumns<K>(
  chunks: readonly { key: K; terms: TermFrequencies }[],
  from = 0,
  limit = POSTINGS_PER_STATEMENT,
): PostingColumns<K> {
  const out: PostingColumns<K> = { keys: [], terms: [], tfs: [], lens: [], chunks: 0 };
  for (let i = from; i < chunks.length; i++) {
    const { key, terms } = chunks[i] as (typeof chunks)[number];
    if (out.chunks > 0 && out.terms.length + terms.terms.size > limit) break;
    for (const [term, tf] of terms.terms) {
      out.keys.push(key);
      out.terms.push(term);
      out.tfs.push(tf);
      out.lens.push(terms.length);
    }
    out.chunks++;
  }
  return out;
}

/**
 * Writes the BM25 postings of chunks that all belong to `botId`, a few multi-row statements at
 * most. Call it in the transaction that writes the chunks, so a chunk and its postings commit
 * together; deleting chunks deletes their postings (a statement trigger, migration 0008). To keep
 * CPU work out of the transaction, pass `terms` from `termFrequencies(text)` computed beforehand.
 */
export async function insertPostings(
  tx: Queryable,
  botId: string,
  chunks: readonly PostingsInput[],
): Promise<{ postings: number }> {
  assertUuid(botId, 'botId');
  const counted = chunks.map((c) => ({ key: String(c.id), terms: 'terms' in c ? c.terms : termFrequencies(c.text) }));
  let total = 0;
  for (let from = 0; from < counted.length; ) {
    const rows = postingColumns(counted, from);
    await tx.query(
      `INSERT INTO chunk_terms (bot_id, term, chunk_id, tf, len)
       SELECT $1, t.term, t.chunk_id, t.tf, t.len
       FROM unnest($2::bigint[], $3::text[], $4::int[], $5::int[]) AS t(chunk_id, term, tf, len)`,
      [botId, rows.keys, rows.terms, rows.tfs, rows.lens],
    );
    total += rows.terms.length;
    from += rows.chunks;
  }
  return { postings: total };
}

/** Removes the postings of chunks whose text is about to be re-indexed in place. */
export async function deletePostings(tx: Queryable, botId: string, chunkIds: readonly (number | string)[]) {
  assertUuid(botId, 'botId');
  await tx.query('DELETE FROM chunk_terms WHERE bot_id = $1 AND chunk_id = ANY($2::bigint[])', [
    botId,
    chunkIds.map(String),
  ]);
}

/** The distinct terms of a query, in first-seen order, at most `MAX_QUERY_TERMS`. */
export function queryTerms(query: string): string[] {
  return [...new Set(tokenize(query))].slice(0, MAX_QUERY_TERMS);
}

/**
 * The bot's chunks ranked by BM25 (Lucene's idf, ln(1 + (N − df + 0.5) / (df + 0.5))), best first.
 * Every statement leads with `bot_id = $1`: postings of other bots are never read.
 */
export async function searchLexical(
  db: Queryable,
  botId: string,
  query: string,
  options: LexicalOptions,
): Promise<Candidate[]> {
  const statement = lexicalRanking(botId, query, options);
  if (!statement) return [];
  const rows = await db.query<{ id: string; score: number }>(statement.sql, statement.params);
  return rows.map((r) => ({ chunkId: r.id, score: Number(r.score) }));
}

export interface LexicalOptions {
  limit: number;
  filters?: SearchFilters | undefined;
  bm25?: Bm25Params | undefined;
}

/**
 * The statement behind `searchLexical` (rows `{id, score}`, best first), for callers that wrap it,
 * e.g. to load the chunks in the same round trip; undefined when the query has no terms.
 */
export function lexicalRanking(
  botId: string,
  query: string,
  options: LexicalOptions,
): { sql: string; params: unknown[] } | undefined {
  assertUuid(botId, 'botId');
  const terms = queryTerms(query);
  if (terms.length === 0 || options.limit <= 0) return undefined;
  const { k1, b } = options.bm25 ?? DEFAULT_BM25;
  const filter = filterSql(options.filters, 6);
  // Per query term: its document frequency, counted from the bot's postings (an index-only range
  // scan), and the constants of the length normalisation; then one pass over the postings of
  // every term, each carrying its chunk's length, so `chunks` is read only to apply filters.
  const scored = `
    SELECT t.chunk_id, sum(q.idf * t.tf * ($3::float8 + 1) / (t.tf + q.k1_b + q.k1_b_avg * t.len)) AS score
    FROM q JOIN chunk_terms t ON t.bot_id = $1 AND t.term = q.term
    GROUP BY t.chunk_id`;
  const ranked = filter.sql
    ? `SELECT s.chunk_id::text AS id, s.score FROM (${scored}) s JOIN chunks c ON c.id = s.chunk_id
       WHERE c.bot_id = $1${filter.sql}
       ORDER BY s.score DESC, s.chunk_id LIMIT $5`
    : `SELECT s.chunk_id::text AS id, s.score FROM (${scored}) s ORDER BY s.score DESC, s.chunk_id LIMIT $5`;
  return {
    sql: `WITH stats AS MATERIALIZED (
       SELECT greatest(chunks, 1)::float8 AS n, greatest(terms::float8 / greatest(chunks, 1), 1) AS avglen
       FROM chunk_stats WHERE bot_id = $1
     ),
     q AS MATERIALIZED (
       SELECT u.term,
              ln(1 + (st.n - d.df + 0.5) / (d.df + 0.5)) AS idf,
              $3::float8 * (1 - $4::float8) AS k1_b,
              $3::float8 * $4::float8 / st.avglen AS k1_b_avg
       FROM stats st
       CROSS JOIN unnest($2::text[]) AS u(term)
       CROSS JOIN LATERAL (SELECT count(*) AS df FROM chunk_terms t WHERE t.bot_id = $1 AND t.term = u.term) d
       WHERE d.df > 0
     )
     ${ranked}`,
    params: [botId, terms, k1, b, options.limit, ...filter.params],
  };
}
