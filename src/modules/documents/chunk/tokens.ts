import { countTokens as countBpeTokens } from 'gpt-tokenizer';

/** Special-token strings in a document ("<|endoftext|>") are plain text to us, never an error. */
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * Longest run of spaces, or of non-spaces, handed to the BPE in one piece. Byte-pair merging is
 * quadratic in the length of a pre-token, so a 100 KB DNA sequence or run of dots would take
 * minutes; cutting such runs costs at most a token per cut.
 */
const MAX_RUN = 256;

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x3000;
}

function count(text: string): number {
  return text.length === 0 ? 0 : countBpeTokens(text, AS_PLAIN_TEXT);
}

/**
 * Counts tokens with the o200k BPE (gpt-tokenizer): exact for text, a token or so over for
 * pathological runs. Embedding models have their own tokenizers; this is the common yardstick
 * chunk sizes are set in.
 */
export function countTokens(text: string): number {
  if (text.length <= MAX_RUN) return count(text);
  let total = 0;
  let from = 0;
  let run = 0;
  let inSpace = false;
  for (let i = 0; i < text.length; i++) {
    const space = isSpace(text.charCodeAt(i));
    if (space !== inSpace) {
      inSpace = space;
      run = 1;
    } else if (++run > MAX_RUN) {
      total += count(text.slice(from, i));
      from = i;
      run = 1;
    }
  }
  return total + count(text.slice(from));
}
