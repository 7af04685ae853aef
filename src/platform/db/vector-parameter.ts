import type { Db } from './db.ts';

/**
 * Vectors (or NULLs) as one `vector[]` statement expression with parameters from `$first` on.
 * PGlite takes one array of text literals; node-postgres sends each vector as a parameter of its
 * own in pgvector's binary format (int16 size, int16 zero, big-endian float4s): a fifth of the
 * bytes of the text form, and neither side prints or parses a float.
 */
export function vectorArrayParameter(
  driver: Db['driver'],
  vectors: readonly (readonly number[] | undefined)[],
  first: number,
): { sql: string; params: unknown[] } {
  if (driver !== 'postgres') {
    return { sql: `$${first}::text[]`, params: [vectors.map((v) => (v ? `[${v.join(',')}]` : null))] };
  }
  const params: Buffer[] = [];
  const items = vectors.map((v) => {
    if (!v) return 'NULL';
    const buffer = Buffer.allocUnsafe(4 + 4 * v.length);
    buffer.writeInt16BE(v.length, 0);
    buffer.writeInt16BE(0, 2);
    for (let i = 0; i < v.length; i++) buffer.writeFloatBE(v[i] as number, 4 + 4 * i);
    params.push(buffer);
    return `$${first + params.length - 1}::vector`;
  });
  return { sql: `ARRAY[${items.join(', ')}]::vector[]`, params };
}
