import { stemmer } from 'stemmer';
import { eng } from 'stopword';

/**
 * The one analyser for BM25, used when chunks are indexed and when queries are parsed, so both
 * sides always produce the same terms.
 *
 * - Latin, Cyrillic and other space-separated scripts: NFKC-normalised words, lowercased, English
 *   stopwords removed, letter-only words Porter-stemmed; numbers and letter+digit words kept as is.
 * - Hangul: each run of Hangul is cut into overlapping two-character pieces (`임종석이` →
 *   `임종`, `종석`, `석이`), a one-character run stays whole. Korean attaches particles and endings
 *   to words, so whole words rarely match between a question and its passage; bigrams do
 *   (DESIGN.md "Retrieval": +10–12 points of nDCG@10 on the Korean sets).
 * - Han, Hiragana and Katakana (no spaces between words): bigrams as for Hangul.
 */

const STOPWORDS = new Set(eng);

const LETTERS_ONLY = /^\p{L}+$/u;
const WORD_CHAR = /[\p{L}\p{M}\p{N}]/u;
const NON_ASCII = /[\u0080-\uFFFF]/;

const OTHER = 0;
const WORD = 1;
const HANGUL = 2;
const CJK = 3;

/** Character class of a UTF-16 code unit (surrogates: see `classOfPair`). ASCII is decided inline. */
function classOf(c: number): number {
  if (c < 0x80) {
    return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ? WORD : OTHER;
  }
  if ((c >= 0xac00 && c <= 0xd7a3) || (c >= 0x1100 && c <= 0x11ff) || (c >= 0x3130 && c <= 0x318f)) return HANGUL;
  if ((c >= 0xa960 && c <= 0xa97f) || (c >= 0xd7b0 && c <= 0xd7ff)) return HANGUL;
  if ((c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff)) return CJK;
  if ((c >= 0x3040 && c <= 0x30ff) || (c >= 0x31f0 && c <= 0x31ff)) return CJK; // kana, incl. the long-vowel mark
  if (c >= 0xd800 && c <= 0xdfff) return OTHER; // surrogate halves are classified as pairs
  return WORD_CHAR.test(String.fromCharCode(c)) ? WORD : OTHER;
}

/** Astral code points: CJK extension ideographs bigram like Han; other letters are word characters. */
function classOfPair(cp: number): number {
  if (cp >= 0x20000 && cp <= 0x3ffff) return CJK;
  return WORD_CHAR.test(String.fromCodePoint(cp)) ? WORD : OTHER;
}

/** Porter stemming dominates the cost of English text; words repeat, so remember recent stems. */
const STEM_CACHE_LIMIT = 50_000;
const stemCache = new Map<string, string>();

function stem(word: string): string {
  let s = stemCache.get(word);
  if (s === undefined) {
    s = stemmer(word);
    if (stemCache.size >= STEM_CACHE_LIMIT) stemCache.clear();
    stemCache.set(word, s);
  }
  return s;
}

function pushBigrams(run: string, out: (term: string) => void): void {
  // Hangul and common Han are in the BMP; astral ideographs need code-point indexing.
  const chars = /[\uD800-\uDFFF]/.test(run) ? [...run] : null;
  const n = chars ? chars.length : run.length;
  if (n === 1) {
    out(run);
    return;
  }
  for (let i = 0; i < n - 1; i++) out(chars ? chars[i]! + chars[i + 1]! : run.slice(i, i + 2));
}

function pushWord(word: string, out: (term: string) => void): void {
  const lower = word.toLowerCase();
  if (STOPWORDS.has(lower)) return;
  out(LETTERS_ONLY.test(lower) ? stem(lower) : lower);
}

/** One pass over the text, cutting it into runs of one character class. */
function analyse(text: string, out: (term: string) => void): void {
  const s = NON_ASCII.test(text) ? text.normalize('NFKC') : text;
  let runStart = 0;
  let runClass = OTHER;
  const n = s.length;
  for (let i = 0; i <= n; ) {
    let cls = OTHER;
    let width = 1;
    if (i < n) {
      const c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const cp = s.codePointAt(i)!;
        if (cp > 0xffff) {
          cls = classOfPair(cp);
          width = 2;
        }
      } else {
        cls = classOf(c);
      }
    }
    if (cls !== runClass) {
      if (runClass !== OTHER) {
        const run = s.slice(runStart, i);
        if (runClass === WORD) pushWord(run, out);
        else pushBigrams(run, out);
      }
      runClass = cls;
      runStart = i;
    }
    i += width;
  }
}

/** The terms of `text`, in order, with repeats (what BM25 counts). */
export function tokenize(text: string): string[] {
  const terms: string[] = [];
  analyse(text, (t) => terms.push(t));
  return terms;
}

/** What BM25 needs from one text: each term's frequency, and the text's length in terms. */
export interface TermFrequencies {
  terms: Map<string, number>;
  /** Number of terms, repeats included (BM25's document length); the sum of `terms`' values. */
  length: number;
}

/** Term frequencies of `text` and its length in terms, in one pass. */
export function termFrequencies(text: string): TermFrequencies {
  const terms = new Map<string, number>();
  let length = 0;
  analyse(text, (t) => {
    terms.set(t, (terms.get(t) ?? 0) + 1);
    length++;
  });
  return { terms, length };
}
