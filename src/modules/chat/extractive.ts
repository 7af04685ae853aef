import type { SearchHit } from '../retrieval/search.ts';
import { tokenize } from '../retrieval/tokenize.ts';

/**
 * The answer when no LLM is configured at all: the best passages, quoted with [n] citations and
 * clearly introduced as an extract rather than a written answer. From each passage it quotes the
 * sentences that share the most terms with the question (the same analyser as full-text search,
 * so Korean and English work alike).
 */

export const EXTRACTIVE_INTRO =
  'No language model is configured for this bot, so this is not a written answer: here are the most relevant passages from its documents.';

export interface ExtractiveOptions {
  /** Passages quoted; default 3. */
  maxPassages?: number;
  /** Longest quote from one passage, in characters; default 400. */
  quoteChars?: number;
}

export interface ExtractiveAnswer {
  text: string;
  /** The quoted passages, in citation order. */
  passages: SearchHit[];
}

export function extractiveAnswer(
  question: string,
  hits: readonly SearchHit[],
  options: ExtractiveOptions = {},
): ExtractiveAnswer {
  const passages = hits.slice(0, options.maxPassages ?? 3);
  const terms = new Set(tokenize(question));
  const lines = passages.map((hit, i) => {
    const where = [hit.filename, hit.page !== undefined ? `p. ${hit.page}` : undefined, hit.section]
      .filter(Boolean)
      .join(', ');
    return `[${i + 1}] ${bestQuote(hit.content, terms, options.quoteChars ?? 400)} (${where})`;
  });
  return { text: `${EXTRACTIVE_INTRO}\n\n${lines.join('\n\n')}`, passages };
}

/** The sentence that shares the most terms with the question, with its neighbours while they fit. */
export function bestQuote(content: string, terms: ReadonlySet<string>, maxChars: number): string {
  const sentences = splitSentences(content);
  if (sentences.length === 0) return '';
  let best = 0;
  let bestScore = -1;
  sentences.forEach((s, i) => {
    const seen = new Set(tokenize(s).filter((t) => terms.has(t)));
    if (seen.size > bestScore) {
      best = i;
      bestScore = seen.size;
    }
  });
  // The best sentence, then the ones after it, then the ones before it, while they fit.
  let quote = sentences[best] as string;
  let first = best;
  let last = best;
  while (last + 1 < sentences.length && quote.length + 1 + (sentences[last + 1] as string).length <= maxChars) {
    last++;
    quote = `${quote} ${sentences[last]}`;
  }
  while (first > 0 && quote.length + 1 + (sentences[first - 1] as string).length <= maxChars) {
    first--;
    quote = `${sentences[first]} ${quote}`;
  }
  const lead = first > 0 ? '…' : '';
  if (quote.length <= maxChars) return `${lead}${quote}${last + 1 < sentences.length ? '…' : ''}`;
  const cut = quote.slice(0, maxChars);
  const space = cut.lastIndexOf(' ');
  return `${lead}${space > maxChars / 2 ? cut.slice(0, space) : cut}…`;
}

function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?。！？])\s+|\n+/)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s !== '');
}
