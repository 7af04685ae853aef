/**
 * Structure-aware recursive splitting by tokens. A range of text is cut into pieces at paragraph,
 * sentence and line boundaries (a piece too big for a chunk is cut again at words, then at
 * characters); each piece is counted once and chunks are packed from pieces, so counting costs one
 * pass over the text, not one per candidate chunk. A chunk ends at the strongest boundary that
 * still leaves it at least half full, so paragraphs and sentences stay whole whenever they can; the
 * next chunk starts with the previous chunk's last sentences (or words) as overlap.
 *
 * Where a cut falls inside whitespace: line breaks stay with the text before them and spaces go
 * with the word after them, as the BPE pre-tokenizer groups them — so the pieces' counts add up to
 * the count of the joined text. Chunks are trimmed; only their first piece is counted again,
 * without its leading space.
 */

export interface ChunkSpan {
  start: number;
  end: number;
  tokenCount: number;
}

export interface SplitOptions {
  chunkSize: number;
  chunkOverlap: number;
  countTokens: (text: string) => number;
}

/** Break strength before a piece: lower is stronger. */
const PARAGRAPH = 1;
const SENTENCE = 2;
const LINE = 3;
const WORD = 4;
/** Cuts the tokenizer may not respect (inside a run of letters): chunks holding one are recounted. */
const SEGMENT = 5;
const CHARACTER = 6;
/** A chunk may end at a stronger boundary only if it is at least this full. */
const MIN_FILL = 0.5;
/** How close to the limit a piece must be before its trimmed form is counted too. */
const NEAR_LIMIT = 8;

const sentenceSegmenter = new Intl.Segmenter(undefined, { granularity: 'sentence' });
const wordSegmenter = new Intl.Segmenter(undefined, { granularity: 'word' });
const NEWLINE = /\n/g;

/** The same characters as `\s` in a regular expression. */
function isSpace(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

class Splitter {
  readonly starts: number[] = [];
  readonly tokens: number[] = [];
  readonly levels: number[] = [];
  readonly text: string;
  readonly size: number;
  readonly overlap: number;
  readonly count: (text: string) => number;

  constructor(text: string, options: SplitOptions) {
    this.text = text;
    this.size = options.chunkSize;
    this.overlap = options.chunkOverlap;
    this.count = options.countTokens;
  }

  skipSpace(position: number, end: number): number {
    let p = position;
    while (p < end && isSpace(this.text.charCodeAt(p))) p++;
    return p;
  }

  trimEnd(position: number, start: number): number {
    let p = position;
    while (p > start && isSpace(this.text.charCodeAt(p - 1))) p--;
    return p;
  }

  /**
   * Where to cut before the text at `position`: just after the last line break in the whitespace
   * before it, else at the start of that whitespace.
   */
  cutBefore(position: number, floor: number): number {
    let p = position;
    while (p > floor) {
      const c = this.text.charCodeAt(p - 1);
      if (c === 10) return p;
      if (!isSpace(c)) return p;
      p--;
    }
    return p;
  }

  #push(start: number, tokens: number, level: number): void {
    this.starts.push(start);
    this.tokens.push(tokens);
    this.levels.push(level);
  }

  /** Adds [start, end) as one piece, or as smaller pieces if it is bigger than a chunk. */
  #add(start: number, end: number, level: number): void {
    let tokens = this.count(this.text.slice(start, end));
    // A piece that opens a chunk loses its leading space, which can change how its first word
    // tokenizes: near the limit, make sure it fits that way too.
    if (tokens <= this.size && tokens > this.size - NEAR_LIMIT && isSpace(this.text.charCodeAt(start))) {
      const trimmed = this.count(this.text.slice(this.skipSpace(start, end), end));
      if (trimmed > this.size) tokens = trimmed;
    }
    if (tokens <= this.size) {
      this.#push(start, tokens, level);
      return;
    }
    let cuts = level < WORD ? this.spaceCuts(start, end) : [];
    let cutLevel = WORD;
    if (cuts.length === 0 && level < SEGMENT) {
      cuts = this.segmentCuts(start, end);
      cutLevel = SEGMENT;
    }
    if (cuts.length === 0) {
      this.#addCharacters(start, end, level);
      return;
    }
    let from = start;
    let fromLevel = level;
    for (const cut of cuts) {
      this.#add(from, cut, fromLevel);
      from = cut;
      fromLevel = cutLevel;
    }
    this.#add(from, end, fromLevel);
  }

  /** Cuts [start, end) every few characters, shrinking each slice until it fits a chunk. */
  #addCharacters(start: number, end: number, level: number): void {
    let from = start;
    let fromLevel = level;
    while (from < end) {
      // Every piece holds some text: a slice starts with at most the whitespace before it.
      const content = this.skipSpace(from, end);
      let length = Math.min(end - from, this.size * 4);
      for (;;) {
        let to = Math.max(from + length, content + 1);
        if (to < end && isHighSurrogate(this.text.charCodeAt(to - 1))) to = to - 1 > content ? to - 1 : to + 1;
        const tokens = this.count(this.text.slice(from, to));
        if (tokens <= this.size || to <= content + 2) {
          this.#push(from, tokens, fromLevel);
          from = to;
          break;
        }
        length = Math.max(1, Math.floor(((to - from) * this.size * 0.9) / tokens));
      }
      fromLevel = CHARACTER;
    }
  }

  /** Cuts before each word that follows whitespace. */
  spaceCuts(start: number, end: number): number[] {
    const text = this.text;
    const cuts: number[] = [];
    for (let p = start + 1; p < end; p++) {
      if (!isSpace(text.charCodeAt(p)) && isSpace(text.charCodeAt(p - 1))) {
        const cut = this.cutBefore(p, start);
        if (cut > start) cuts.push(cut);
      }
    }
    return cuts;
  }

  /** Cuts before each word found by Intl word segmentation (scripts written without spaces). */
  segmentCuts(start: number, end: number): number[] {
    const cuts: number[] = [];
    for (const segment of wordSegmenter.segment(this.text.slice(start, end))) {
      if (segment.index === 0 || !segment.isWordLike) continue;
      const cut = this.cutBefore(start + segment.index, start);
      if (cut > start && cut !== cuts[cuts.length - 1]) cuts.push(cut);
    }
    return cuts;
  }

  /**
   * Splits [start, end) (trimmed) into pieces at paragraph, line and sentence boundaries, found in
   * one pass each over the whole range (an Intl segmenter per paragraph costs more than the
   * segmentation itself).
   */
  addRange(start: number, end: number): void {
    const text = this.text;
    const range = text.slice(start, end);
    const breakCuts: number[] = [];
    const breakLevels: number[] = [];
    for (let q = range.indexOf('\n'); q !== -1; ) {
      const next = this.skipSpace(start + q, end);
      if (next >= end) break;
      let newlines = 0;
      for (let p = this.trimEnd(start + q, start); p < next && newlines < 2; p++) {
        if (text.charCodeAt(p) === 10) newlines++;
      }
      breakCuts.push(this.cutBefore(next, start));
      breakLevels.push(newlines >= 2 ? PARAGRAPH : LINE);
      q = range.indexOf('\n', next - start);
    }
    // Line ends are not sentence ends (a PDF wraps mid-sentence): segment as if they were spaces.
    const sentenceCuts: number[] = [];
    for (const segment of sentenceSegmenter.segment(breakCuts.length > 0 ? range.replace(NEWLINE, ' ') : range)) {
      if (segment.index === 0) continue;
      const cut = this.cutBefore(start + segment.index, start);
      if (cut > start && cut !== sentenceCuts[sentenceCuts.length - 1]) sentenceCuts.push(cut);
    }
    let from = start;
    let fromLevel = PARAGRAPH;
    let s = 0;
    let b = 0;
    while (s < sentenceCuts.length || b < breakCuts.length) {
      const sentence = sentenceCuts[s] ?? Number.POSITIVE_INFINITY;
      const lineBreak = breakCuts[b] ?? Number.POSITIVE_INFINITY;
      const cut = Math.min(sentence, lineBreak);
      let level = LINE;
      if (sentence === cut) {
        s++;
        level = SENTENCE;
      }
      if (lineBreak === cut) {
        level = Math.min(level, breakLevels[b]!);
        b++;
      }
      this.#add(from, cut, fromLevel);
      from = cut;
      fromLevel = level;
    }
    this.#add(from, end, fromLevel);
  }

  /**
   * The start and token count of the longest word-aligned suffix of [start, end) within `budget`
   * tokens, counted as the chunk will hold it (trimmed), or undefined if not even a word fits.
   */
  wordSuffix(start: number, end: number, budget: number): { start: number; tokens: number } | undefined {
    let cuts = this.spaceCuts(start, end);
    if (cuts.length === 0) cuts = this.segmentCuts(start, end);
    let to = end;
    let tokens = 0;
    let best: number | undefined;
    for (let i = cuts.length - 1; i >= 0; i--) {
      tokens += this.count(this.text.slice(cuts[i], to));
      if (tokens > budget) break;
      best = cuts[i]!;
      to = best;
    }
    if (best === undefined) return undefined;
    const trimmed = this.skipSpace(best, end);
    const exact = this.count(this.text.slice(trimmed, end));
    return exact <= budget ? { start: trimmed, tokens: exact } : undefined;
  }
}

/** Packs the pieces of one range into chunk spans. */
function pack(splitter: Splitter, end: number): ChunkSpan[] {
  const { starts, tokens, levels, size, overlap, text, count } = splitter;
  const n = starts.length;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + tokens[i]!;
  const pieceEnd = (k: number) => (k + 1 < n ? starts[k + 1]! : end);
  const spans: ChunkSpan[] = [];
  let i = 0;
  let head: { start: number; tokens: number } | undefined;
  while (i < n) {
    // The chunk opens with a partial piece (word overlap) or with piece i counted without its leading space.
    let start: number;
    let base: number;
    if (head) {
      start = head.start;
      base = head.tokens - prefix[i]!;
    } else {
      start = splitter.skipSpace(starts[i]!, end);
      const first = start === starts[i]! ? tokens[i]! : count(text.slice(start, pieceEnd(i)));
      base = first - prefix[i + 1]!;
    }
    let j = i + 1;
    while (j < n && base + prefix[j + 1]! <= size) j++;
    let cut = j;
    if (j < n) {
      let bestLevel = levels[j]!;
      const floor = size * MIN_FILL;
      for (let k = j - 1; k > i && base + prefix[k]! >= floor; k--) {
        if (levels[k]! < bestLevel) {
          bestLevel = levels[k]!;
          cut = k;
        }
      }
    }
    let tokenCount = base + prefix[cut]!;
    let spanEnd = splitter.trimEnd(cut < n ? starts[cut]! : end, start);
    // Pieces cut inside a run of letters may tokenize differently once joined: count the chunk itself.
    let unsure = false;
    for (let k = i + 1; k < cut && !unsure; k++) unsure = levels[k]! >= SEGMENT;
    while (unsure) {
      tokenCount = count(text.slice(start, spanEnd));
      if (tokenCount <= size || cut <= i + 1) break;
      cut--;
      spanEnd = splitter.trimEnd(starts[cut]!, start);
    }
    spans.push({ start, end: spanEnd, tokenCount });
    if (cut >= n) break;

    const room = Math.min(overlap, size - tokens[cut]!);
    let m = cut;
    let carried = 0;
    while (m - 1 > i && carried + tokens[m - 1]! <= room) {
      carried += tokens[m - 1]!;
      m--;
    }
    head = undefined;
    if (overlap > 0 && carried < overlap / 3 && room - carried > 0) {
      const suffix = splitter.wordSuffix(starts[m - 1]!, starts[m]!, room - carried);
      if (suffix && suffix.start > start) head = suffix;
    }
    i = m;
  }
  return spans;
}

/** A whitespace run this long is a hard boundary: no chunk holds it, so none is made of it. */
const LONG_GAP = /\s{65,}/g;

/** Splits text[start, end) into chunk spans that never leave that range. */
export function splitRange(text: string, start: number, end: number, options: SplitOptions): ChunkSpan[] {
  const spans: ChunkSpan[] = [];
  let from = start;
  for (const gap of text.slice(start, end).matchAll(LONG_GAP)) {
    spans.push(...splitPart(text, from, start + gap.index, options));
    from = start + gap.index + gap[0].length;
  }
  spans.push(...splitPart(text, from, end, options));
  return spans;
}

function splitPart(text: string, start: number, end: number, options: SplitOptions): ChunkSpan[] {
  const splitter = new Splitter(text, options);
  const from = splitter.skipSpace(start, end);
  const to = splitter.trimEnd(end, from);
  if (from >= to) return [];
  splitter.addRange(from, to);
  return pack(splitter, to);
}
