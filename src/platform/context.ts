import type { FastifyBaseLogger } from 'fastify';

/** Who is calling: a signed-in user, or an API key scoped to a team or to one bot. */
export type Actor =
  | {
      kind: 'user';
      userId: string;
      /** The sign-in session (refresh family) the access token belongs to. */
      sessionId?: string;
    }
  | { kind: 'api_key'; keyId: string; teamId: string; botId: string | null };

/** Passed explicitly to every service call: the tenant is an argument, never ambient state. */
export interface Ctx {
  actor: Actor;
  requestId: string;
  log: FastifyBaseLogger;
  /** The client's address and user agent, for the audit trail. */
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** PostgreSQL's unique_violation, surfaced the same way by node-postgres and PGlite. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
