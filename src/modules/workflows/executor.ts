import { randomUUID } from 'node:crypto';
import type { LlmUsage } from '../../providers/llm/spec.ts';
import { type AnswerRuntime, composeAnswer, planAnswer } from './answer-stream.ts';
import type { Workflow } from './compiled-workflow.ts';
import { EventChannel, TextStream } from './event-channel.ts';
import type { WorkflowEvent } from './events.ts';
import { asFailure, GraphFailure, type RunContext, type SettledStatus, startGraph } from './graph-runner.ts';
import { type RunInput, WorkflowNodeError } from './node-definition.ts';
import type { RunError, RunTrace, TokenUsage, WorkflowRunResult } from './trace.ts';
import { VariableScope } from './variables.ts';
import { resolveWorkflowDeps, type WorkflowDeps } from './workflow-deps.ts';

/**
 * Runs a validated workflow for one chat message. The run starts at once; its events can be
 * iterated (`for await (const e of run)`), and `run.result` resolves — never rejects — with the
 * answer, sources, token usage and trace, whether the run succeeded or failed.
 *
 * Budgets: the run fails with `time_budget_exceeded` after `limits.maxRunMs` (naming the node
 * that was running) and with `step_budget_exceeded` when it would start more than
 * `limits.maxSteps` nodes (naming the node that would have been one too many). Every node gets
 * an AbortSignal that fires on either, on the caller's `signal`, and when the consumer stops
 * reading events.
 */
/** setTimeout fires at once past this (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

export interface WorkflowRun extends AsyncIterable<WorkflowEvent> {
  readonly runId: string;
  readonly result: Promise<WorkflowRunResult>;
}

export function runWorkflow(workflow: Workflow, input: RunInput, deps: WorkflowDeps): WorkflowRun {
  const runId = input.runId ?? randomUUID();
  const controller = new AbortController();
  const channel = new EventChannel<WorkflowEvent>(() =>
    controller.abort(new GraphFailure('cancelled', 'The caller stopped reading the run')),
  );
  const result = executeRun(workflow, input, resolveWorkflowDeps(deps), runId, controller, (e) => channel.push(e));
  void result.finally(() => channel.close());
  return { runId, result, [Symbol.asyncIterator]: () => channel.iterate() };
}

/** Drains a run's events and returns its result (for callers that do not stream). */
export async function collectRun(run: WorkflowRun): Promise<{ events: WorkflowEvent[]; result: WorkflowRunResult }> {
  const events: WorkflowEvent[] = [];
  for await (const e of run) events.push(e);
  return { events, result: await run.result };
}

async function executeRun(
  workflow: Workflow,
  input: RunInput,
  deps: ReturnType<typeof resolveWorkflowDeps>,
  runId: string,
  controller: AbortController,
  emit: (event: WorkflowEvent) => void,
): Promise<WorkflowRunResult> {
  const { clock, limits } = deps;
  const startedMs = clock.now();
  const usage: TokenUsage = { input_tokens: 0, output_tokens: 0 };
  let steps = 0;
  const run: RunContext = {
    runId,
    botId: input.botId,
    input: { message: input.message, history: input.history ?? [], sessionId: input.sessionId ?? '' },
    deps,
    countStep() {
      if (steps >= limits.maxSteps) {
        throw new WorkflowNodeError(
          'step_budget_exceeded',
          `The run reached its budget of ${limits.maxSteps} node executions`,
        );
      }
      steps++;
    },
    addUsage(u: LlmUsage) {
      usage.input_tokens += u.inputTokens;
      usage.output_tokens += u.outputTokens;
    },
  };

  const scope = new VariableScope();
  scope.set('sys', {
    session_id: run.input.sessionId,
    bot_id: input.botId,
    run_id: runId,
    now: new Date(startedMs).toISOString(),
  });

  // Per-node promises the answer composer waits on, and the streams of nodes that feed the answer.
  const graph = workflow.graph;
  const plan = planAnswer(graph);
  const started = new Map([...graph.nodes.keys()].map((id) => [id, Promise.withResolvers<void>()]));
  const settled = new Map([...graph.nodes.keys()].map((id) => [id, Promise.withResolvers<SettledStatus>()]));
  const streams = new Map([...plan.streamedNodes].map((id) => [id, new TextStream()]));

  emit({ type: 'run_started', run_id: runId });
  const handle = startGraph(graph, {
    run,
    scope,
    signal: controller.signal,
    hooks: {
      emit,
      onStarted: (id) => started.get(id)?.resolve(),
      onSettled(id, status) {
        settled.get(id)?.resolve(status);
        streams.get(id)?.close();
      },
      stream: (id, text) => streams.get(id)?.push(text),
    },
  });

  const timer = setTimeout(
    () => {
      const [node] = handle.running();
      const type = node ? graph.nodes.get(node)?.type : undefined;
      const message = `The run exceeded its time budget of ${limits.maxRunMs} ms`;
      controller.abort(
        new GraphFailure('time_budget_exceeded', message, node && type ? { id: node, type } : undefined),
      );
    },
    Math.min(limits.maxRunMs, MAX_TIMER_MS),
  );
  const onCallerAbort = () => controller.abort(new GraphFailure('aborted', 'The run was aborted by the caller'));
  if (input.signal?.aborted) onCallerAbort();
  else input.signal?.addEventListener('abort', onCallerAbort, { once: true });

  const runtime: AnswerRuntime = {
    scope,
    started: (id) => started.get(id)?.promise ?? Promise.resolve(),
    settled: (id) => settled.get(id)?.promise ?? Promise.resolve('succeeded'),
    stream: (id) => streams.get(id),
  };
  const composed = composeAnswer(plan, runtime, emit, controller.signal);
  composed.catch(() => {});

  let error: RunError | undefined;
  let answer = '';
  let sources: WorkflowRunResult['sources'] = [];
  try {
    await handle.done;
    ({ answer, sources } = await composed);
    if (!graph.endIds.some((id) => handle.status(id) === 'succeeded')) {
      throw new GraphFailure('no_answer', 'The run ended without reaching an end node');
    }
  } catch (err) {
    const f = asFailure(err);
    error = { code: f.code, message: f.message, node_id: f.nodeId, node_type: f.nodeType };
    if (!controller.signal.aborted) controller.abort(f);
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onCallerAbort);
  }

  const finishedMs = clock.now();
  const trace: RunTrace = {
    run_id: runId,
    status: error ? 'failed' : 'succeeded',
    started_at: new Date(startedMs).toISOString(),
    finished_at: new Date(finishedMs).toISOString(),
    duration_ms: finishedMs - startedMs,
    steps,
    usage: { ...usage },
    nodes: handle.traces(),
    error,
  };
  if (error) {
    emit({ type: 'error', run_id: runId, code: error.code, message: error.message, node_id: error.node_id, trace });
    return { status: 'failed', answer, sources, usage: trace.usage, trace, error };
  }
  emit({ type: 'done', run_id: runId, answer, sources, usage: trace.usage, trace });
  return { status: 'succeeded', answer, sources, usage: trace.usage, trace };
}
