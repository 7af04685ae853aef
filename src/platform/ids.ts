const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ids are UUIDs. Checking before a query turns a malformed id into a plain 404/400 instead of a
 * database cast error, and makes an id safe to inline where SQL needs a literal (partial indexes).
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
