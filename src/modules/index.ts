import type { Deps } from '../deps.ts';
import { validateLlmChoice } from '../providers/llm/registry.ts';
import { createReranker } from '../providers/rerank/index.ts';
import { createAuditLog } from './auth/audit.ts';
import { createAuthModule } from './auth/index.ts';
import { createBotsService } from './bots/service.ts';
import { createChatService } from './chat/service.ts';
import { createDocumentsService } from './documents/service.ts';
import { createRetrievalService } from './retrieval/service.ts';
import { createAccess } from './teams/access.ts';
import { createTeamsService } from './teams/service.ts';
import { createWorkflowsModule } from './workflows/index.ts';

/**
 * Builds every module's service over the shared infrastructure, wired by hand so the
 * dependency graph reads top to bottom. Used by the HTTP app and by the worker.
 */
export function createServices(deps: Deps) {
  const { db, config } = deps;
  const access = createAccess(db);
  const audit = createAuditLog({ db });
  const teams = createTeamsService({ db, access, audit });
  const { apiKeys, tokens, auth, google } = createAuthModule(deps, { access, teams, audit });
  const documents = createDocumentsService({ db, access, queue: deps.queue });
  const bots = createBotsService({
    db,
    access,
    teams,
    checkSettings: (settings) => {
      if (settings.llm?.provider || settings.llm?.model) validateLlmChoice(config, settings.llm);
    },
    onSettingsChanged: async (ctx, before, after, tx) => {
      // Vectors from different models do not mix: a new embedding model means re-embedding.
      if (JSON.stringify(before.settings.embedding ?? {}) !== JSON.stringify(after.settings.embedding ?? {})) {
        const queued = await documents.reindexBot(tx, after.id);
        ctx.log.info({ bot_id: after.id, documents: queued }, 'embedding settings changed; re-indexing');
      }
    },
  });
  const retrieval = createRetrievalService({
    db,
    access,
    embeddings: deps.embeddings,
    reranker: createReranker(config),
    log: deps.log,
  });
  const workflows = createWorkflowsModule(deps, { access, retrieval });
  const chat = createChatService({
    db,
    access,
    retrieval,
    llm: deps.llm,
    workflows: workflows.turnRunner,
  });
  return {
    access,
    teams,
    apiKeys,
    tokens,
    auth,
    google,
    bots,
    documents,
    retrieval,
    chat,
    workflows: workflows.service,
  };
}

export type Services = ReturnType<typeof createServices>;
