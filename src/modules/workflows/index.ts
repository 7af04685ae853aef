import type { Deps } from '../../deps.ts';
import { validateLlmChoice } from '../../providers/llm/registry.ts';
import type { WorkflowTurnRunner } from '../chat/workflow-seam.ts';
import type { RetrievalService } from '../retrieval/service.ts';
import type { Access } from '../teams/access.ts';
import { workflowLimits } from './engine-deps.ts';
import { createRunRecorder } from './run-recorder.ts';
import { abandonedRunAfterMs, createWorkflowsService, type WorkflowsService } from './service.ts';
import { createWorkflowTurnRunner } from './turn-runner.ts';

/**
 * The workflow engine: a bot's node-based pipeline (Start → Knowledge → LLM → End and more),
 * validated on save and run per chat message with streaming, budgets and a trace. The engine
 * itself (`executor.ts`, `graph-runner.ts`, `nodes/`) only needs the injected `WorkflowDeps`.
 *
 * This wires the module over the shared infrastructure: the editor's service (drafts,
 * versions, publication, test runs, run history) and the runner chat consults for bots with a
 * published workflow. Both record their runs through one recorder, with the WORKFLOW_* limits.
 */
export function createWorkflowsModule(
  deps: Pick<Deps, 'db' | 'config' | 'llm' | 'log'>,
  options: { access: Access; retrieval: Pick<RetrievalService, 'retrieve'> },
): { service: WorkflowsService; turnRunner: WorkflowTurnRunner } {
  const { db, config, log } = deps;
  const recorder = createRunRecorder({
    db,
    infra: { retrieval: options.retrieval, llm: deps.llm, limits: workflowLimits(config.workflow), log },
    traceMaxBytes: config.workflow.traceMaxBytes,
    log,
  });
  return {
    service: createWorkflowsService({
      db,
      access: options.access,
      recorder,
      checkModelChoice: (choice) => validateLlmChoice(config, choice),
      abandonedRunAfterMs: abandonedRunAfterMs(config.workflow.maxRunMs),
    }),
    turnRunner: createWorkflowTurnRunner({ db, recorder }),
  };
}
