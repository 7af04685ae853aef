import type { FastifyBaseLogger } from 'fastify';

/** Who is calling: a signed-in user, or an API key scoped to a team or to one bot. */
export type Actor =
  | {
      kind: 'user';
      userId: string;
      /** The sign-in session (refresh family) the access token belongs to. */
      sessionId?: string;
    }
  | {
      kind: 'api_key';
      keyId: string;
      teamId: string;
      botId: string | null;
      /** A widget's publishable key: an anonymous visitor, who may only continue its own sessions. */
      publishable?: boolean;
    };

/** Passed explicitly to every service call: the tenant is an argument, never ambient state. */
export interface Ctx {
  actor: Actor;
  requestId: string;
  log: FastifyBaseLogger;
  /** The client's address and user agent, for the audit trail. */
  ip?: string | undefined;
  userAgent?: string | undefined;
  /**
   * The check that the caller's sign-in session has not ended, when it is still running: the
   * access check awaits it beside its own query (one round trip instead of two). Only routes whose
   * service starts with that access check ask for this (see `Authenticate`).
   */
  sessionCheck?: Promise<void> | undefined;
}

/** PostgreSQL's unique_violation, surfaced the same way by node-postgres and PGlite. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
