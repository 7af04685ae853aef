import type { SseStream } from '../../platform/http/sse.ts';
import type { WorkflowEvent } from './events.ts';
import type { RecordedRun } from './run-recorder.ts';
import { toSourceDto } from './schema.ts';

/**
 * Sends a run as Server-Sent Events with the names chat uses (`sources`, `delta`, `done`,
 * `error`), plus `run` first (its id) and `node` as nodes start and finish.
 */
export async function streamRun(run: RecordedRun, sse: SseStream): Promise<void> {
  try {
    for await (const [name, data] of sseEvents(run)) await sse.send(name, data);
  } finally {
    sse.end();
  }
}

/** The run's events as SSE `[event, data]` pairs, named as chat names them. */
async function* sseEvents(run: RecordedRun): AsyncGenerator<[string, Record<string, unknown>]> {
  yield ['run', { run_id: run.runId }];
  for await (const event of run.events) {
    const mapped = toSse(event, run);
    if (mapped) yield mapped;
  }
}

function toSse(event: WorkflowEvent, run: RecordedRun): [string, Record<string, unknown>] | undefined {
  switch (event.type) {
    case 'run_started':
      return undefined;
    case 'node_started': {
      const { type: _, ...node } = event;
      return ['node', { ...node, status: 'running' }];
    }
    case 'node_finished': {
      const { type: _, ...node } = event;
      return ['node', node];
    }
    case 'sources':
      return ['sources', { sources: event.sources.map(toSourceDto) }];
    case 'delta':
      return ['delta', { text: event.text }];
    case 'done': {
      const llm = run.llm();
      return [
        'done',
        {
          run_id: event.run_id,
          answer: event.answer,
          sources: event.sources.map(toSourceDto),
          usage: event.usage,
          cost_usd: llm.costUsd,
          provider: llm.provider ?? null,
          model: llm.model ?? null,
          trace: event.trace,
        },
      ];
    }
    case 'error':
      return [
        'error',
        {
          code: 'workflow_failed',
          detail: event.message,
          workflow_code: event.code,
          node_id: event.node_id ?? null,
          run_id: event.run_id,
          trace: event.trace,
        },
      ];
  }
}
