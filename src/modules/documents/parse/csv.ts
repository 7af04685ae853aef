import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { yieldToEventLoop } from './abort.ts';
import { DocumentParseError } from './errors.ts';
import { cleanText } from './text.ts';
import type { ExtractedDocument } from './types.ts';

const DELIMITERS = ['\t', ',', ';', '|'] as const;
const SLICE = 256 * 1024;
const WHITESPACE_RUN = /\s+/g;

/** The delimiter that splits the first lines into the same number of fields most consistently. */
export function sniffDelimiter(text: string): string {
  const lines = text
    .slice(0, 64 * 1024)
    .split('\n', 20)
    .filter((l) => l.trim().length > 0);
  let best: string = ',';
  let bestScore = 0;
  for (const delimiter of DELIMITERS) {
    const counts = lines.map((line) => line.split(delimiter).length - 1);
    const first = counts[0] ?? 0;
    if (first === 0) continue;
    const score = counts.filter((c) => c === first).length * 1000 + first;
    if (score > bestScore) {
      best = delimiter;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Whether text is CSV. `claimed` (a .csv/.tsv name) only needs the sample to parse; unnamed text
 * needs a table shape: three or more rows with the same two-plus field count.
 */
export function looksLikeCsv(text: string, claimed: boolean): boolean {
  const sample = text.length > 64 * 1024 ? text.slice(0, text.lastIndexOf('\n', 64 * 1024) + 1) : text;
  let records: string[][];
  try {
    records = parseSync(sample, {
      delimiter: sniffDelimiter(sample),
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      to_line: 50,
    });
  } catch {
    return false;
  }
  if (claimed) return records.length > 0;
  const width = records[0]?.length ?? 0;
  return records.length >= 3 && width >= 2 && records.every((r) => r.length === width);
}

/** A cell on one line: whitespace runs that hold a line break become one space. */
function oneLine(cell: string): string {
  return cleanText(cell)
    .replace(WHITESPACE_RUN, (run) => (run.includes('\n') ? ' ' : run))
    .trim();
}

function renderRow(header: readonly string[], row: readonly string[]): string {
  const lines: string[] = [];
  for (let i = 0; i < row.length; i++) {
    const value = oneLine(row[i] ?? '');
    if (value.length === 0) continue;
    lines.push(`${header[i] ?? `Column ${i + 1}`}: ${value}`);
  }
  return lines.join('\n');
}

/**
 * CSV → one paragraph per row, each cell as a `header: value` line, so a row found by search reads
 * on its own ("Price: 12,000") instead of as a bare list of values. Parsed in slices so a large file
 * yields to the event loop and honours the abort signal.
 */
export async function parseCsv(decoded: string, signal?: AbortSignal): Promise<ExtractedDocument> {
  const parser = parse({
    delimiter: sniffDelimiter(decoded),
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
  });
  let header: string[] | undefined;
  const rows: string[] = [];
  parser.on('data', (record: string[]) => {
    if (!header) {
      header = record.map((h, i) => oneLine(h) || `Column ${i + 1}`);
      return;
    }
    const row = renderRow(header, record);
    if (row.length > 0) rows.push(row);
  });
  let failure: unknown;
  const done = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', (error) => {
      failure = error;
      reject(error);
    });
  });
  done.catch(() => {});
  try {
    for (let at = 0; at < decoded.length; ) {
      signal?.throwIfAborted();
      let end = Math.min(decoded.length, at + SLICE);
      const last = decoded.charCodeAt(end - 1);
      if (end < decoded.length && last >= 0xd800 && last <= 0xdbff) end++;
      parser.write(decoded.slice(at, end));
      at = end;
      await yieldToEventLoop();
      if (failure !== undefined) throw failure;
    }
    parser.end();
    await done;
    signal?.throwIfAborted();
  } catch (error) {
    parser.destroy();
    if (signal?.aborted) throw signal.reason;
    const detail = error instanceof Error ? error.message : String(error);
    throw new DocumentParseError('corrupt', `The CSV file could not be read: ${detail}`, { cause: error });
  }
  if (rows.length === 0) {
    throw new DocumentParseError('empty', 'The CSV file has no data rows (at most a header line).');
  }
  const text = rows.join('\n\n');
  return { text, sections: [{ start: 0, end: text.length }] };
}
