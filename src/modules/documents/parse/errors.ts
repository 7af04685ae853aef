/** Why a document could not be read; stable, so the UI can offer a fitting hint. */
export type DocumentParseFailure = 'corrupt' | 'encrypted' | 'empty' | 'too_large';

/**
 * The file is of a type we read but this copy cannot be read (damaged, password-protected, no
 * text, decompression bomb). Retrying will not help; the message is written for the uploader and
 * is what the ingestion worker stores as the document's failure reason.
 */
export class DocumentParseError extends Error {
  readonly reason: DocumentParseFailure;

  constructor(reason: DocumentParseFailure, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'DocumentParseError';
    this.reason = reason;
  }
}
