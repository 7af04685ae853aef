import { z } from 'zod';

/** Building blocks shared by route schemas. */
export const Id = z.uuid().describe('Identifier (UUID string)');
export const IdParams = z.object({ id: z.string().max(64) });
export const Timestamp = z.string().describe('ISO 8601 timestamp');
export const Email = z.email().max(254);
export const iso = (d: Date | string | null | undefined) =>
  d === null || d === undefined ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString();

/** problem+json, documented once for every error response. */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    code: z.string(),
    detail: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    request_id: z.string(),
  })
  .describe('application/problem+json');

export const Pagination = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
