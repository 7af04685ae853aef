import mammoth from 'mammoth';
import { type Entry, fromBufferPromise, type ZipFile } from 'yauzl';
import { raceAbort } from '../../../platform/abort.ts';
import { DocumentParseError } from './errors.ts';
import { parseHtml } from './html.ts';
import type { ExtractedDocument } from './types.ts';

/** What a DOCX may expand to before we refuse it as a decompression bomb. */
export const DOCX_LIMITS = {
  /** Sum of the entries' declared uncompressed sizes. */
  maxUncompressedBytes: 200 * 1024 * 1024,
  maxEntries: 10_000,
  /** Largest uncompressed/compressed ratio for an entry bigger than `ratioFloorBytes`. */
  maxRatio: 200,
  ratioFloorBytes: 1024 * 1024,
};

const XML_PART = /\.(xml|rels)$/i;
const MB = 1024 * 1024;

function bomb(detail: string): DocumentParseError {
  return new DocumentParseError(
    'too_large',
    `The Word file expands to too much data to read safely (${detail}); it may be a decompression bomb. Re-save the document and upload it again.`,
  );
}

/** Inflates an XML part and throws its bytes away: yauzl fails if it yields more than declared. */
async function drainEntry(zip: ZipFile, entry: Entry, signal: AbortSignal | undefined): Promise<void> {
  try {
    const stream = await zip.openReadStreamPromise(entry);
    for await (const _ of stream) signal?.throwIfAborted();
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith('too many bytes')) {
      throw bomb(`${entry.fileName} inflates past the ${entry.uncompressedSize} bytes its archive header declares`);
    }
    throw new DocumentParseError('corrupt', `The Word file is damaged: ${entry.fileName} cannot be decompressed.`, {
      cause: error,
    });
  }
}

/**
 * Checks a DOCX archive before anything decompresses it for real: entry count, declared sizes and
 * ratios, and — by inflating each XML part once with size validation — that the declared sizes
 * are true. Mammoth (JSZip) trusts the archive; this is what keeps a 40 KB upload from becoming
 * gigabytes in memory.
 */
export async function inspectDocxArchive(bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  let zip: ZipFile;
  try {
    zip = await fromBufferPromise(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      lazyEntries: true,
      validateEntrySizes: true,
      strictFileNames: false,
    });
  } catch (error) {
    throw new DocumentParseError('corrupt', 'The Word file is damaged: it is not a readable ZIP archive.', {
      cause: error,
    });
  }
  try {
    if (zip.entryCount > DOCX_LIMITS.maxEntries) throw bomb(`${zip.entryCount} archive entries`);
    let total = 0;
    let hasBody = false;
    for await (const entry of zip.eachEntry()) {
      signal?.throwIfAborted();
      if (entry.fileName.endsWith('/')) continue;
      if (entry.isEncrypted()) {
        throw new DocumentParseError('encrypted', 'The Word file is password-protected; upload an unencrypted copy.');
      }
      total += entry.uncompressedSize;
      if (total > DOCX_LIMITS.maxUncompressedBytes) {
        throw bomb(`more than ${DOCX_LIMITS.maxUncompressedBytes / MB} MB uncompressed`);
      }
      const size = entry.uncompressedSize;
      if (size > DOCX_LIMITS.ratioFloorBytes && size > entry.compressedSize * DOCX_LIMITS.maxRatio) {
        throw bomb(`${entry.fileName} is compressed ${Math.round(size / Math.max(1, entry.compressedSize))}:1`);
      }
      if (entry.fileName === 'word/document.xml') hasBody = true;
      if (XML_PART.test(entry.fileName)) await drainEntry(zip, entry, signal);
    }
    if (!hasBody) {
      throw new DocumentParseError('corrupt', 'The Word file is damaged: it has no document body (word/document.xml).');
    }
  } catch (error) {
    if (error instanceof DocumentParseError || signal?.aborted) throw error;
    throw new DocumentParseError('corrupt', 'The Word file is damaged: its ZIP archive cannot be read.', {
      cause: error,
    });
  } finally {
    zip.close();
  }
}

const STYLE_MAP = ["p[style-name='Title'] => h1:fresh", "p[style-name='Subtitle'] => p:fresh"];
/** Images are not read at all (no base64 blow-up); their text is not ours to extract. */
const SKIP_IMAGES = mammoth.images.imgElement(() => Promise.resolve({ src: '' }));

/** DOCX → HTML (mammoth, after the archive check) → text with Word headings as sections. */
export async function parseDocx(bytes: Uint8Array, signal?: AbortSignal): Promise<ExtractedDocument> {
  await inspectDocxArchive(bytes, signal);
  let html: string;
  try {
    const result = await raceAbort(
      mammoth.convertToHtml(
        { buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
        { styleMap: STYLE_MAP, convertImage: SKIP_IMAGES, externalFileAccess: false, ignoreEmptyParagraphs: true },
      ),
      signal,
    );
    html = result.value;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const detail = error instanceof Error ? error.message : String(error);
    throw new DocumentParseError('corrupt', `The Word file could not be read: ${detail}`, { cause: error });
  }
  signal?.throwIfAborted();
  return parseHtml(html);
}
