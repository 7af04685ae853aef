import type { Deps } from '../deps.ts';
import { validateLlmChoice } from '../providers/llm/registry.ts';
import { createApiKeysService } from './auth/api-keys.ts';
import { createAuthService } from './auth/service.ts';
import { createTokenService } from './auth/tokens.ts';
import { createBotsService } from './bots/service.ts';
import { createDocumentsService } from './documents/service.ts';
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
  const documents = createDocumentsService({ db, access, queue: deps.queue });
  const bots = createBotsService({
    db,
    access,
    teams,
    checkSettings: (settings) => {
      if (settings.llm?.provider || settings.llm?.model) validateLlmChoice(config, settings.llm);
    },
    onSettingsChanged: async (ctx, before, after) => {
      // Vectors from different models do not mix: a new embedding model means re-embedding.
      if (JSON.stringify(before.settings.embedding ?? {}) !== JSON.stringify(after.settings.embedding ?? {})) {
        const queued = await documents.reindexBot(after.id);
        ctx.log.info({ bot_id: after.id, documents: queued }, 'embedding settings changed; re-indexing');
      }
    },
  });
  return { access, teams, apiKeys, tokens, auth, bots, documents };
}

export type Services = ReturnType<typeof createServices>;
