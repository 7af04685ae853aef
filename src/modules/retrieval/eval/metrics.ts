/**
 * Ranking metrics as the IR community computes them, so our figures compare with published ones.
 * `qrels` maps a document id to its graded gain (BEIR qrels, as given); a ranking is a list of
 * document ids, best first.
 */
export type Qrels = ReadonlyMap<string, number>;

/**
 * nDCG@k with trec_eval's `ndcg_cut.k` definition: gain / log2(rank + 1) with linear gains, the
 * ideal ranking built from every judged document with a positive gain. 0 when nothing is relevant.
 */
export function ndcgAt(ranking: readonly string[], qrels: Qrels, k: number): number {
  let dcg = 0;
  const seen = new Set<string>();
  let rank = 0;
  for (const id of ranking) {
    if (rank >= k) break;
    if (seen.has(id)) continue; // a document counts once, at its best rank
    seen.add(id);
    rank++;
    const gain = qrels.get(id) ?? 0;
    if (gain > 0) dcg += gain / Math.log2(rank + 1);
  }
  const ideal = [...qrels.values()]
    .filter((g) => g > 0)
    .sort((a, b) => b - a)
    .slice(0, k);
  let idcg = 0;
  ideal.forEach((g, i) => {
    idcg += g / Math.log2(i + 2);
  });
  return idcg === 0 ? 0 : dcg / idcg;
}

/** Share of the relevant documents (gain > 0) found in the first k results. */
export function recallAt(ranking: readonly string[], qrels: Qrels, k: number): number {
  const relevant = [...qrels].filter(([, g]) => g > 0).map(([id]) => id);
  if (relevant.length === 0) return 0;
  const top = new Set(ranking.slice(0, k));
  return relevant.filter((id) => top.has(id)).length / relevant.length;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
