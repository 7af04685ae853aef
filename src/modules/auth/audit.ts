import type { Ctx } from '../../platform/context.ts';
import type { Queryable } from '../../platform/db/db.ts';

/**
 * The security audit trail: sign-ins (and failures), lockouts, token reuse, sign-outs and API
 * key changes, as rows in `audit_log` (who, when, from where, what) plus one log line each.
 * The row is written before the caller answers, so an answered request always left its trace.
 */
export type AuditEvent =
  | 'auth.registered'
  | 'auth.login'
  | 'auth.login_failed'
  | 'auth.locked_out'
  | 'auth.google_linked'
  | 'auth.google_failed'
  | 'auth.refresh_reuse'
  | 'auth.logout'
  | 'auth.session_revoked'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'team.member_added'
  | 'team.role_changed'
  | 'team.member_removed';

export interface AuditEntry {
  event: AuditEvent;
  userId?: string | null | undefined;
  teamId?: string | null | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  /** Never secrets: ids, methods, reasons. */
  details?: Record<string, unknown>;
}

/** Who is asking, for the audit trail: the request's logger and its client address. */
export interface ClientInfo {
  log: Ctx['log'];
  ip?: string | undefined;
  userAgent?: string | undefined;
}

export interface AuditLog {
  record(client: ClientInfo, entry: Omit<AuditEntry, 'ip' | 'userAgent'>): Promise<void>;
}

const MESSAGES: Record<AuditEvent, string> = {
  'auth.registered': 'account created',
  'auth.login': 'signed in',
  'auth.login_failed': 'sign-in failed',
  'auth.locked_out': 'sign-in locked out after repeated failures',
  'auth.google_linked': 'Google account linked',
  'auth.google_failed': 'Google sign-in refused',
  'auth.refresh_reuse': 'refresh token reuse',
  'auth.logout': 'signed out',
  'auth.session_revoked': 'session revoked',
  'api_key.created': 'API key created',
  'api_key.revoked': 'API key revoked',
  'team.member_added': 'team member added',
  'team.role_changed': 'team member role changed',
  'team.member_removed': 'team member removed',
};

const WARNINGS = new Set<AuditEvent>(['auth.refresh_reuse', 'auth.locked_out', 'auth.google_failed']);

export function createAuditLog(deps: { db: Queryable }): AuditLog {
  return {
    async record(client, entry) {
      const details = entry.details ?? {};
      const userAgent = client.userAgent?.slice(0, 512);
      await deps.db.query(
        `INSERT INTO audit_log (event, actor_user_id, team_id, ip, user_agent, details)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
        [
          entry.event,
          entry.userId ?? null,
          entry.teamId ?? null,
          client.ip ?? null,
          userAgent ?? null,
          JSON.stringify(details),
        ],
      );
      const fields = { audit: entry.event, user_id: entry.userId, team_id: entry.teamId, ip: client.ip, ...details };
      if (WARNINGS.has(entry.event)) client.log.warn(fields, MESSAGES[entry.event]);
      else client.log.info(fields, MESSAGES[entry.event]);
    },
  };
}
