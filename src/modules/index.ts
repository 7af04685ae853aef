import type { Deps } from '../deps.ts';
import { createApiKeysService } from './auth/api-keys.ts';
import { createAuthService } from './auth/service.ts';
import { createTokenService } from './auth/tokens.ts';
import { createBotsService } from './bots/service.ts';
import { createAccess } from './teams/access.ts';
import { createTeamsService } from './teams/service.ts';

/**
 * Builds every module's service over the shared infrastructure, wired by hand so the
 * dependency graph reads top to bottom. Used by the HTTP app and by the worker.
 */
export function createServices(deps: Deps) {
  const { db, config } = deps;
  const access = createAccess(db);
  const teams = createTeamsService({ db, access });
  const apiKeys = createApiKeysService({ db, access });
  const tokens = createTokenService(config.auth);
  const auth = createAuthService({ db, tokens, apiKeys, teams, settings: config.auth });
  const bots = createBotsService({ db, access, teams });
  return { access, teams, apiKeys, tokens, auth, bots };
}

export type Services = ReturnType<typeof createServices>;
