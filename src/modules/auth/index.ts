import type { Deps } from '../../deps.ts';
import type { Access } from '../teams/access.ts';
import type { TeamsService } from '../teams/service.ts';
import { createApiKeysService } from './api-keys.ts';
import type { AuditLog } from './audit.ts';
import { createGoogleSignIn } from './google.ts';
import { createLoginGuard } from './login-guard.ts';
import { createAuthService } from './service.ts';
import { createSessionStore } from './sessions.ts';
import { createTokenService } from './tokens.ts';

/**
 * The auth module wires itself: tokens, API keys, the audit trail, login lockouts, sessions
 * (Redis when configured, the database otherwise) and, when configured, Google sign-in.
 */
export function createAuthModule(deps: Deps, shared: { access: Access; teams: TeamsService; audit: AuditLog }) {
  const { db, config, redis, log } = deps;
  const keyPrefix = config.redis?.keyPrefix ?? 'snapagent:';
  const { audit } = shared;
  const apiKeys = createApiKeysService({ db, access: shared.access, audit });
  const tokens = createTokenService(config.auth);
  const auth = createAuthService({
    db,
    tokens,
    apiKeys,
    teams: shared.teams,
    audit,
    loginGuard: createLoginGuard({ settings: config.auth, redis, keyPrefix }),
    sessions: createSessionStore({ db, redis, keyPrefix, log }),
    settings: config.auth,
  });
  const google = config.auth.google
    ? createGoogleSignIn({ db, auth, teams: shared.teams, audit, settings: config.auth.google })
    : undefined;
  return { apiKeys, tokens, auth, audit, google };
}
