import { badRequest } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';

/** Narrows a search to some of a bot's chunks. Every given condition must hold. */
export interface SearchFilters {
  /** Only chunks of these documents. */
  documentIds?: readonly string[] | undefined;
  /** Only chunks of documents whose `documents.file_type` is one of these (e.g. `pdf`, `docx`). */
  fileTypes?: readonly string[] | undefined;
  /** Only chunks whose metadata contains this JSON (jsonb `@>`), e.g. `{ "lang": "ko" }`. */
  metadata?: Readonly<Record<string, unknown>> | undefined;
}

export { isUuid };

/** Throws a validation error naming `field` unless `value` is a UUID. */
export function assertUuid(value: string, field: string): void {
  if (!isUuid(value)) throw badRequest(`${field} must be a UUID, got ${JSON.stringify(value.slice(0, 64))}`, field);
}

export function hasFilters(filters: SearchFilters | undefined): filters is SearchFilters {
  return (
    filters !== undefined &&
    (filters.documentIds !== undefined || filters.fileTypes !== undefined || filters.metadata !== undefined)
  );
}

/**
 * SQL conditions (joined with AND, each starting with ` AND `) on the chunk alias `c`, with their
 * parameters numbered from `firstParam`. File types are checked against `documents` (joined by a
 * semi-join on the same bot) rather than copied into chunk metadata, so they cannot drift.
 */
export function filterSql(filters: SearchFilters | undefined, firstParam: number): { sql: string; params: unknown[] } {
  if (!hasFilters(filters)) return { sql: '', params: [] };
  const parts: string[] = [];
  const params: unknown[] = [];
  const next = (value: unknown) => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  if (filters.documentIds !== undefined) {
    for (const id of filters.documentIds) assertUuid(id, 'filters.documentIds');
    parts.push(` AND c.document_id = ANY(${next([...filters.documentIds])}::uuid[])`);
  }
  if (filters.fileTypes !== undefined) {
    const types = filters.fileTypes.map((t) => t.toLowerCase());
    parts.push(
      ` AND c.document_id IN (SELECT d.id FROM documents d WHERE d.bot_id = c.bot_id AND lower(d.file_type) = ANY(${next(types)}::text[]))`,
    );
  }
  if (filters.metadata !== undefined) {
    parts.push(` AND c.metadata @> ${next(JSON.stringify(filters.metadata))}::jsonb`);
  }
  return { sql: parts.join(''), params };
}
