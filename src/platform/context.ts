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
   * The check that the caller's sign-in session has not ended, when it is still owed: the access
   * check answers it inside its own query (one statement instead of two). Only routes whose
   * service starts with that access check leave it owed (see `Authenticate`).
   */
  sessionCheck?: SessionCheck | undefined;
}

export interface SessionCheck {
  /** The refresh-token family the access token was issued in. */
  familyId: string;
  /** Checks in a query of its own (once); rejects with 401 when the session has ended. */
  run(): Promise<void>;
  /** Gives the verdict of a query that checked alongside its own work: throws 401 if it ended. */
  settle(ended: boolean): void;
}

/** PostgreSQL's unique_violation, surfaced the same way by node-postgres and PGlite. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
