import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Reads a retrieval set in BEIR's layout: `corpus.jsonl.gz` (or `corpus.jsonl`) with
 * `{_id, title, text}` a line, `queries.jsonl` with `{_id, text}`, and `qrels-test.tsv` with the
 * header `query-id corpus-id score`. Only queries that have judgements are kept (BEIR's test split).
 */
export interface BeirDoc {
  id: string;
  title: string;
  text: string;
}

export interface BeirQuery {
  id: string;
  text: string;
}

export interface BeirDataset {
  name: string;
  corpus: BeirDoc[];
  queries: BeirQuery[];
  /** query id → (corpus id → gain) */
  qrels: Map<string, Map<string, number>>;
}

/** True when `dir` holds a BEIR set (so callers can skip absent shared data cleanly). */
export function hasBeirDataset(dir: string): boolean {
  return (
    (existsSync(join(dir, 'corpus.jsonl.gz')) || existsSync(join(dir, 'corpus.jsonl'))) &&
    existsSync(join(dir, 'queries.jsonl')) &&
    existsSync(join(dir, 'qrels-test.tsv'))
  );
}

export async function loadBeirDataset(dir: string, name: string): Promise<BeirDataset> {
  const gz = join(dir, 'corpus.jsonl.gz');
  const corpusText = existsSync(gz)
    ? gunzipSync(await readFile(gz)).toString('utf8')
    : await readFile(join(dir, 'corpus.jsonl'), 'utf8');
  const corpus = jsonLines(corpusText).map((o) => ({
    id: String(o._id),
    title: typeof o.title === 'string' ? o.title : '',
    text: typeof o.text === 'string' ? o.text : '',
  }));

  const qrels = new Map<string, Map<string, number>>();
  const lines = (await readFile(join(dir, 'qrels-test.tsv'), 'utf8')).split('\n');
  for (const [i, line] of lines.entries()) {
    if (i === 0 || line.trim() === '') continue; // header
    const [qid, docId, score] = line.replace(/\r$/, '').split('\t');
    if (qid === undefined || docId === undefined) continue;
    let judged = qrels.get(qid);
    if (!judged) {
      judged = new Map();
      qrels.set(qid, judged);
    }
    judged.set(docId, Number(score ?? 1));
  }

  const queries = jsonLines(await readFile(join(dir, 'queries.jsonl'), 'utf8'))
    .map((o) => ({ id: String(o._id), text: typeof o.text === 'string' ? o.text : '' }))
    .filter((q) => qrels.has(q.id));
  return { name, corpus, queries, qrels };
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
