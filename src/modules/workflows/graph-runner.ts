import type { LlmMessage, LlmUsage } from '../../providers/llm/spec.ts';
import { LlmError } from '../../providers/llm/spec.ts';
import type { CompiledGraph, CompiledNode } from './compiled-workflow.ts';
import type { WorkflowEvent } from './events.ts';
import type { NodeContext, SubgraphRun } from './node-definition.ts';
import { WorkflowNodeError } from './node-definition.ts';
import { mergeSources, toSources } from './sources.ts';
import { boundForTrace, type NodeStatus, type NodeTrace } from './trace.ts';
import { renderTemplate, renderValue, resolveValue, type VariableScope } from './variables.ts';
import type { ResolvedWorkflowDeps } from './workflow-deps.ts';

/**
 * Walks one compiled graph (the workflow, or one iteration of a sub-graph).
 *
 * Semantics, precisely:
 * - Every edge ends up *active* or *inactive*. A finished node makes all its outgoing edges active,
 *   except a branching node, which activates only the edges whose `source_handle` is the branch
 *   it took. A skipped node makes all its outgoing edges inactive.
 * - A node is decided once all its inbound edges are: it runs if at least one is active (the join
 *   rule: any active inbound path suffices), and is skipped otherwise. So a node after a join waits
 *   for every inbound path to settle, then runs once; values from skipped branches read as empty.
 * - Decided nodes start at once, so independent branches run concurrently (up to
 *   `maxParallelNodes` at a time).
 * - The first node to fail fails the graph: the others are aborted and marked cancelled; nodes
 *   never reached stay `not_run`. Skipped nodes are `skipped`, not failed.
 */

export const ANSWER_SEPARATOR = '\n\n';

export interface RunContext {
  runId: string;
  botId: string;
  input: { message: string; history: LlmMessage[]; sessionId: string };
  deps: ResolvedWorkflowDeps;
  /** Counts one node execution; throws `step_budget_exceeded` past the budget. */
  countStep(): void;
  addUsage(usage: LlmUsage): void;
}

export interface GraphHooks {
  emit?(event: WorkflowEvent): void;
  onStarted?(nodeId: string): void;
  onSettled?(nodeId: string, status: SettledStatus): void;
  stream?(nodeId: string, text: string): void;
}

export type SettledStatus = Exclude<NodeStatus, 'not_run'>;

/** Why a graph stopped: a node's failure, a budget, or an abort. Also used as the abort reason. */
export class GraphFailure extends Error {
  readonly code: string;
  readonly nodeId: string | undefined;
  readonly nodeType: string | undefined;
  constructor(code: string, message: string, node?: { id: string; type: string }) {
    super(message);
    this.name = 'GraphFailure';
    this.code = code;
    this.nodeId = node?.id;
    this.nodeType = node?.type;
  }
}

export interface GraphRunHandle {
  /** Resolves when every node is decided; rejects with a `GraphFailure`. */
  done: Promise<void>;
  traces(): NodeTrace[];
  status(nodeId: string): NodeStatus | 'running';
  /** Nodes running right now, in start order. */
  running(): string[];
}

export function startGraph(
  graph: CompiledGraph,
  options: { run: RunContext; scope: VariableScope; signal: AbortSignal; hooks?: GraphHooks },
): GraphRunHandle {
  const { run, scope } = options;
  const hooks = options.hooks ?? {};
  const { clock, limits } = run.deps;
  const controller = new AbortController();
  const signal = AbortSignal.any([options.signal, controller.signal]);

  const status = new Map<string, NodeStatus | 'running'>();
  const traces = new Map<string, NodeTrace>();
  const settledIn = new Map<string, number>();
  const activeIn = new Map<string, number>();
  for (const [id, node] of graph.nodes) {
    status.set(id, 'not_run');
    traces.set(id, { node_id: id, node_type: node.type, status: 'not_run' });
  }
  const running: string[] = [];
  const queue: string[] = [];
  let undecided = graph.nodes.size;
  let failure: GraphFailure | undefined;
  const finished = Promise.withResolvers<void>();
  finished.promise.catch(() => {});

  const iso = (ms: number) => new Date(ms).toISOString();
  const bound = (v: Record<string, unknown> | undefined) =>
    v === undefined ? undefined : (boundForTrace(v, limits.traceMaxStringChars) as Record<string, unknown>);

  const fail = (f: GraphFailure) => {
    if (failure) return;
    failure = f;
    for (const id of running) {
      status.set(id, 'cancelled');
      const t = traces.get(id) as NodeTrace;
      t.status = 'cancelled';
      hooks.onSettled?.(id, 'cancelled');
    }
    controller.abort(f);
    finished.reject(f);
  };
  const onOuterAbort = () => fail(asFailure(options.signal.reason));
  if (options.signal.aborted) onOuterAbort();
  else options.signal.addEventListener('abort', onOuterAbort, { once: true });

  const settle = (id: string, s: SettledStatus) => {
    status.set(id, s);
    undecided--;
    hooks.onSettled?.(id, s);
  };
  const decideEdgesFrom = (id: string, take: (handle: string | undefined) => boolean) => {
    for (const edge of graph.analysis.outbound.get(id) ?? []) {
      const t = edge.target;
      settledIn.set(t, (settledIn.get(t) ?? 0) + 1);
      if (take(edge.source_handle)) activeIn.set(t, (activeIn.get(t) ?? 0) + 1);
      if (settledIn.get(t) === (graph.analysis.inbound.get(t) ?? []).length) {
        if ((activeIn.get(t) ?? 0) > 0) queue.push(t);
        else skip(t);
      }
    }
  };
  const skip = (id: string) => {
    const node = graph.nodes.get(id) as CompiledNode;
    (traces.get(id) as NodeTrace).status = 'skipped';
    settle(id, 'skipped');
    hooks.emit?.({ type: 'node_finished', node_id: id, node_type: node.type, status: 'skipped' });
    decideEdgesFrom(id, () => false);
  };
  const pump = () => {
    while (!failure && running.length < limits.maxParallelNodes && queue.length > 0) {
      void launch(queue.shift() as string);
    }
    if (!failure && undecided === 0) finished.resolve();
  };

  const launch = async (id: string) => {
    const node = graph.nodes.get(id) as CompiledNode;
    const trace = traces.get(id) as NodeTrace;
    const usage = { input_tokens: 0, output_tokens: 0 };
    let startedMs: number | undefined;
    running.push(id);
    status.set(id, 'running');
    try {
      run.countStep();
      startedMs = clock.now();
      trace.started_at = iso(startedMs);
      hooks.emit?.({ type: 'node_started', node_id: id, node_type: node.type, started_at: trace.started_at });
      hooks.onStarted?.(id);
      const ctx: NodeContext = {
        nodeId: id,
        runId: run.runId,
        botId: run.botId,
        input: run.input,
        signal,
        deps: run.deps,
        scope,
        render: (template) => renderTemplate(template, scope),
        resolve: (text) => resolveValue(text, scope),
        stream: (text) => hooks.stream?.(id, text),
        addUsage(u) {
          usage.input_tokens += u.inputTokens;
          usage.output_tokens += u.outputTokens;
          run.addUsage(u);
        },
        runSubgraph: (variables, itemSignal) => runSubgraph(node, variables, itemSignal),
      };
      const result = await node.definition.run(node.config, ctx);
      if (failure) return;
      if (node.branches && (result.branch === undefined || !node.branches.includes(result.branch))) {
        throw new WorkflowNodeError('invalid_branch', `Node chose branch "${result.branch}", which it does not have`);
      }
      scope.set(id, result.outputs);
      const finishedMs = clock.now();
      Object.assign(trace, {
        status: 'succeeded',
        finished_at: iso(finishedMs),
        duration_ms: finishedMs - (startedMs as number),
        inputs: bound(result.inputs),
        outputs: bound(result.outputs),
        details: bound(result.details),
        branch: result.branch,
        usage: usage.input_tokens + usage.output_tokens > 0 ? usage : undefined,
      });
      running.splice(running.indexOf(id), 1);
      settle(id, 'succeeded');
      hooks.emit?.({
        type: 'node_finished',
        node_id: id,
        node_type: node.type,
        status: 'succeeded',
        duration_ms: trace.duration_ms,
        branch: result.branch,
        usage: trace.usage,
      });
      decideEdgesFrom(id, node.branches ? (handle) => handle === result.branch : () => true);
      pump();
    } catch (err) {
      if (failure) return;
      const finishedMs = clock.now();
      const { code, message } = describeError(err);
      Object.assign(trace, {
        status: 'failed',
        finished_at: iso(finishedMs),
        duration_ms: startedMs === undefined ? undefined : finishedMs - startedMs,
        error: { code, message },
        details: err instanceof WorkflowNodeError ? bound(err.details) : undefined,
        usage: usage.input_tokens + usage.output_tokens > 0 ? usage : undefined,
      });
      running.splice(running.indexOf(id), 1);
      settle(id, 'failed');
      if (startedMs !== undefined) {
        hooks.emit?.({
          type: 'node_finished',
          node_id: id,
          node_type: node.type,
          status: 'failed',
          duration_ms: trace.duration_ms,
          error: { code, message },
        });
      }
      fail(new GraphFailure(code, message, node));
    }
  };

  const runSubgraph = async (
    node: CompiledNode,
    variables: Record<string, unknown>,
    itemSignal: AbortSignal,
  ): Promise<SubgraphRun> => {
    const sub = node.subgraph;
    if (!sub) throw new Error(`Node type "${node.type}" has no sub-graph`);
    const child = scope.child();
    child.set(node.id, variables);
    const handle = startGraph(sub, { run, scope: child, signal: AbortSignal.any([signal, itemSignal]) });
    try {
      await handle.done;
    } catch (err) {
      const f = asFailure(err);
      const where = f.nodeId ? `node "${f.nodeId}" failed: ` : '';
      throw new WorkflowNodeError(f.code, `${where}${f.message}`, { details: { trace: handle.traces() } });
    }
    const reached = sub.endIds.filter((id) => handle.status(id) === 'succeeded');
    return {
      answer: reached
        .map((id) => renderValue(child.get(id)?.answer))
        .filter((a) => a !== '')
        .join(ANSWER_SEPARATOR),
      sources: mergeSources(reached.map((id) => toSources(child.get(id)?.sources))),
      trace: handle.traces(),
    };
  };

  queue.push(graph.startId);
  pump();
  const done = finished.promise.finally(() => options.signal.removeEventListener('abort', onOuterAbort));
  done.catch(() => {});

  return {
    done,
    traces: () => graph.analysis.order.map((id) => ({ ...(traces.get(id) as NodeTrace) })),
    status: (id) => status.get(id) ?? 'not_run',
    running: () => [...running],
  };
}

/** Any thrown value or abort reason as a `GraphFailure`. */
export function asFailure(reason: unknown): GraphFailure {
  if (reason instanceof GraphFailure) return reason;
  const { code, message } = describeError(reason);
  return new GraphFailure(code, message);
}

function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof GraphFailure || err instanceof WorkflowNodeError) return { code: err.code, message: err.message };
  if (err instanceof LlmError) return { code: 'llm_error', message: err.message };
  if (err instanceof Error && err.name === 'AbortError') return { code: 'aborted', message: 'The node was aborted' };
  if (err instanceof Error) return { code: 'node_failed', message: err.message };
  return { code: 'node_failed', message: String(err) };
}
