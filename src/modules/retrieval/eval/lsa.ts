import { termFrequencies } from '../tokenize.ts';
import type { EmbedFn } from './runner.ts';

/**
 * Latent semantic analysis (truncated SVD of the corpus's TF-IDF matrix) as an embedder trained on
 * the corpus it will embed. A weak dense retriever, but a real one that needs no model download,
 * so the vector and hybrid paths can be evaluated on the benchmark sets offline (`--embedder lsa`).
 * Figures from it say how fusion behaves when the dense half is weak, not how a neural model does.
 */
export function createLsaEmbedder(corpus: readonly string[], dims = 128, seed = 42): EmbedFn {
  const docs = corpus.map((t) => termFrequencies(t).terms);
  const df = new Map<string, number>();
  for (const d of docs) for (const term of d.keys()) df.set(term, (df.get(term) ?? 0) + 1);
  const vocab = new Map<string, number>();
  for (const [term, n] of df) if (n >= 2) vocab.set(term, vocab.size);
  const idf = new Float64Array(vocab.size);
  for (const [term, j] of vocab) idf[j] = Math.log(docs.length / df.get(term)!);

  const rows = docs.map((d) => weigh(d, vocab, idf));
  const termVectors = rightSingularVectors(rows, vocab.size, Math.min(dims, docs.length - 1), seed);
  const k = termVectors.length === 0 ? 0 : termVectors[0]!.length;

  const embedOne = (text: string): number[] => {
    const row = weigh(termFrequencies(text).terms, vocab, idf);
    const v = Array.from({ length: Math.max(k, 1) }, () => 0);
    for (const [j, w] of row) {
      const t = termVectors[j]!;
      for (let c = 0; c < k; c++) v[c]! += w * t[c]!;
    }
    if (!v.some((x) => x !== 0)) v[0] = 1e-6; // pgvector cannot take a zero vector's cosine
    return v;
  };
  return async (texts) => texts.map(embedOne);
}

/** Sparse TF-IDF row, (1 + ln tf) · idf, L2-normalised. */
function weigh(terms: Map<string, number>, vocab: Map<string, number>, idf: Float64Array): [number, number][] {
  const row: [number, number][] = [];
  let norm = 0;
  for (const [term, tf] of terms) {
    const j = vocab.get(term);
    if (j === undefined) continue;
    const w = (1 + Math.log(tf)) * idf[j]!;
    row.push([j, w]);
    norm += w * w;
  }
  norm = Math.sqrt(norm) || 1;
  for (const e of row) e[1] /= norm;
  return row;
}

/** Randomised SVD (Halko et al.): the top-k right singular vectors of the sparse matrix, as V rows. */
function rightSingularVectors(rows: [number, number][][], cols: number, k: number, seed: number): number[][] {
  const l = k + 16;
  let state = seed;
  const gauss = () => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    const u = (state + 1) / 4294967297;
    state = (state * 1664525 + 1013904223) % 4294967296;
    const v = (state + 1) / 4294967297;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  // Y = A Ω, with one power iteration Y = A (Aᵀ Y), orthonormalised between steps.
  const omega = Array.from({ length: cols }, () => Float64Array.from({ length: l }, gauss));
  let y = rows.map((r) => multiplyRow(r, omega, l));
  orthonormalise(y, l);
  const z = transposeMultiply(rows, y, cols, l);
  orthonormalise(z, l);
  y = rows.map((r) => multiplyRow(r, z, l));
  orthonormalise(y, l);
  // B = Qᵀ A (l × cols), then B Bᵀ = W Λ Wᵀ and V = Bᵀ W Λ^(-1/2).
  const bt = transposeMultiply(rows, y, cols, l); // cols × l, i.e. Bᵀ
  const bbt = Array.from({ length: l }, () => new Float64Array(l));
  for (const row of bt) {
    for (let i = 0; i < l; i++) {
      if (row[i] === 0) continue;
      for (let j = i; j < l; j++) bbt[i]![j]! += row[i]! * row[j]!;
    }
  }
  for (let i = 0; i < l; i++) for (let j = 0; j < i; j++) bbt[i]![j] = bbt[j]![i]!;
  const { values, vectors } = jacobiEigen(bbt);
  const order = [...values.keys()].sort((a, b) => values[b]! - values[a]!).slice(0, k);
  return bt.map((row) =>
    order.map((e) => {
      let s = 0;
      for (let i = 0; i < l; i++) s += row[i]! * vectors[i]![e]!;
      return s / Math.sqrt(Math.max(values[e]!, 1e-12));
    }),
  );
}

function multiplyRow(row: [number, number][], m: Float64Array[], l: number): Float64Array {
  const out = new Float64Array(l);
  for (const [j, w] of row) {
    const mj = m[j]!;
    for (let c = 0; c < l; c++) out[c]! += w * mj[c]!;
  }
  return out;
}

/** Aᵀ Y for sparse A (n × cols) and dense Y (n × l). */
function transposeMultiply(rows: [number, number][][], y: Float64Array[], cols: number, l: number): Float64Array[] {
  const out = Array.from({ length: cols }, () => new Float64Array(l));
  rows.forEach((row, i) => {
    const yi = y[i]!;
    for (const [j, w] of row) {
      const oj = out[j]!;
      for (let c = 0; c < l; c++) oj[c]! += w * yi[c]!;
    }
  });
  return out;
}

/** Modified Gram–Schmidt on the columns of a row-major matrix. */
function orthonormalise(m: Float64Array[], l: number): void {
  for (let c = 0; c < l; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (const r of m) dot += r[c]! * r[p]!;
      for (const r of m) r[c]! -= dot * r[p]!;
    }
    let norm = 0;
    for (const r of m) norm += r[c]! * r[c]!;
    norm = Math.sqrt(norm) || 1;
    for (const r of m) r[c]! /= norm;
  }
}

/** Cyclic Jacobi eigen-decomposition of a small symmetric matrix. */
function jacobiEigen(input: Float64Array[]): { values: number[]; vectors: Float64Array[] } {
  const n = input.length;
  const a = input.map((r) => Float64Array.from(r));
  const v = Array.from({ length: n }, (_, i) => Float64Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (off < 1e-18) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (Math.abs(apq) < 1e-15) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: a.map((r, i) => r[i]!), vectors: v };
}
