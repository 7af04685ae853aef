/** The formats we read. Anything else is refused at upload with `unsupported_media_type`. */
export type FileType = 'pdf' | 'docx' | 'text' | 'markdown' | 'html' | 'csv';

export interface DetectedType {
  fileType: FileType;
  mimeType: string;
}

/**
 * A contiguous range of the extracted text that chunks must not cross: a PDF page, or the body of
 * one heading in DOCX/Markdown/HTML. `sectionPath` lists the headings from the outermost down.
 */
export interface Section {
  start: number;
  end: number;
  page?: number;
  sectionPath?: string[];
}

/** The text of a document, plus where its pages or sections lie in that text. */
export interface ExtractedDocument {
  text: string;
  /** In text order, non-overlapping; what lies between two sections is whitespace. */
  sections: Section[];
  pageCount?: number;
  title?: string;
}

export interface ParseOptions {
  /** Aborting rejects the parse with `signal.reason` (not a DocumentParseError). */
  signal?: AbortSignal;
}
