/**
 * The workflow engine: a bot's node-based pipeline (Start → Knowledge → LLM → End and more),
 * validated on save and run per chat message with streaming, budgets and a trace. Storage, the
 * editor's API (drafts, versions, test runs, run history) and chat's runner are wired in
 * `createWorkflowsModule`; the engine itself only needs the injected `WorkflowDeps`.
 */
export type { CompiledGraph, CompiledNode, Workflow } from './compiled-workflow.ts';
export {
  type WorkflowDocument,
  type WorkflowDocumentInput,
  WorkflowDocumentSchema,
  type WorkflowEdge,
  type WorkflowNode,
} from './document.ts';
export { createEngineDeps, type EngineInfrastructure, workflowLimits } from './engine-deps.ts';
export type { WorkflowEvent, WorkflowEventType } from './events.ts';
export { collectRun, runWorkflow, type WorkflowRun } from './executor.ts';
export { createWorkflowsModule } from './module.ts';
export {
  type AnyNodeDefinition,
  defineNode,
  type NodeContext,
  type NodeDefinition,
  type NodeResult,
  type RunInput,
  WorkflowNodeError,
} from './node-definition.ts';
export {
  createNodeRegistry,
  describeNodeTypes,
  type NodeRegistry,
  type NodeTypeDescription,
  nodeRegistry,
} from './nodes/registry.ts';
export { workflowsRoutes } from './routes.ts';
export { createRunRecorder, type RecordedRun, type RunRecorder, type StartRunInput } from './run-recorder.ts';
export { basicRagWorkflow, classifierRoutingWorkflow, sampleWorkflows } from './samples.ts';
export { createWorkflowsService, type WorkflowState, type WorkflowsService, workflowInvalid } from './service.ts';
export type { Source } from './sources.ts';
export { systemDnsLookup } from './ssrf.ts';
export type { NodeStatus, NodeTrace, RunError, RunTrace, TokenUsage, WorkflowRunResult } from './trace.ts';
export { createWorkflowTurnRunner } from './turn-runner.ts';
export { type ValidationResult, validateWorkflow } from './validate.ts';
export {
  DEFAULT_WORKFLOW_LIMITS,
  type DnsLookup,
  type LlmChoice,
  type RetrievalFilters,
  type RetrievalMode,
  type RetrievedChunk,
  type RetrieveOptions,
  type WorkflowDeps,
  type WorkflowLimits,
} from './workflow-deps.ts';
export type { ProblemCode, WorkflowProblem } from './workflow-problem.ts';
