import { TextDecoder } from 'node:util';
import type { ExtractedDocument } from './types.ts';

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const EUC_KR = new TextDecoder('euc-kr', { fatal: true });
const UTF16LE = new TextDecoder('utf-16le', { fatal: true });
const UTF16BE = new TextDecoder('utf-16be', { fatal: true });

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const HANGUL = /[\uac00-\ud7a3]/g;
const NON_ASCII = /[\u0080-\uffff]/g;

function tryDecode(decoder: TextDecoder, bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Decodes bytes that are text: UTF-8 (with or without BOM), UTF-16 with a BOM, or Korean CP949/EUC-KR
 * (what Korean Excel and Notepad still write) when the result is mostly Hangul. Returns undefined for
 * anything else, including binary data that happens to be valid UTF-8 but is full of control bytes.
 */
export function decodeText(bytes: Uint8Array): string | undefined {
  let text: string | undefined;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = tryDecode(UTF16LE, bytes);
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = tryDecode(UTF16BE, bytes);
  else {
    text = tryDecode(UTF8, bytes);
    if (text === undefined) {
      const korean = tryDecode(EUC_KR, bytes);
      if (korean !== undefined && isMostlyHangul(korean)) text = korean;
    }
  }
  if (text === undefined || looksBinary(text)) return undefined;
  return text;
}

const WINDOWS_1252 = new TextDecoder('windows-1252');

/**
 * Whether bytes that `decodeText` refused still look like text, in some other legacy encoding
 * (Latin-1, Shift-JIS…): no NUL and hardly any control characters. Only used to word an error.
 */
export function looksLikeLegacyText(bytes: Uint8Array): boolean {
  return bytes.length > 0 && !bytes.includes(0) && !looksBinary(WINDOWS_1252.decode(bytes.subarray(0, 64 * 1024)));
}

function isMostlyHangul(text: string): boolean {
  const nonAscii = text.match(NON_ASCII)?.length ?? 0;
  const hangul = text.match(HANGUL)?.length ?? 0;
  return hangul > 0 && hangul >= nonAscii * 0.7;
}

function looksBinary(text: string): boolean {
  if (text.includes('\u0000')) return true;
  const controls = text.match(CONTROL)?.length ?? 0;
  return controls > 8 && controls > text.length / 200;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const NEEDS_CLEANING = /[\r\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const HAS_NON_ASCII = /[\u0080-\uffff]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CLEAN = /\r\n?|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/**
 * Makes extracted text safe to store and consistent to split: `\n` line ends, form feed as a blank
 * line, no other control characters (PostgreSQL rejects NUL), no lone surrogates, NFC (so Hangul
 * from a PDF that spells it in conjoining jamo matches what users type).
 */
export function cleanText(text: string): string {
  let out = text;
  if (NEEDS_CLEANING.test(out)) {
    out = out.replace(CLEAN, (m) => (m[0] === '\r' ? '\n' : m === '\f' ? '\n\n' : m === '\u000b' ? '\n' : ''));
  }
  if (!out.isWellFormed()) out = out.toWellFormed();
  return HAS_NON_ASCII.test(out) ? out.normalize('NFC') : out;
}

/** Plain text: the whole file is one section. */
export function parseText(decoded: string): ExtractedDocument {
  const text = cleanText(decoded);
  return { text, sections: [{ start: 0, end: text.length }] };
}
