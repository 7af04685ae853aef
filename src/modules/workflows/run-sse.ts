import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { WorkflowEvent } from './events.ts';
import type { RecordedRun } from './run-recorder.ts';
import { toSourceDto } from './schema.ts';

/** An SSE comment keeps proxies from closing a stream that waits long for a node. */
const HEARTBEAT_MS = 15_000;

/**
 * Sends a run as Server-Sent Events with the names chat uses (`sources`, `delta`, `done`,
 * `error`), plus `run` first (its id) and `node` as nodes start and finish. Writes wait for a
 * full socket buffer to drain, so a slow client slows the writer rather than filling memory.
 */
export async function streamRun(run: RecordedRun, res: ServerResponse, headers: Record<string, string>): Promise<void> {
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  let lastWrite = Date.now();
  const heartbeat = setInterval(() => {
    if (Date.now() - lastWrite >= HEARTBEAT_MS) void write(res, ': keep-alive\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();
  try {
    for await (const [name, data] of sseEvents(run)) {
      lastWrite = Date.now();
      await write(res, `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    }
  } finally {
    clearInterval(heartbeat);
    if (!res.destroyed) res.end();
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

/** Writes and, when the socket's buffer is full, waits for it to drain (or close). */
async function write(res: ServerResponse, chunk: string): Promise<void> {
  if (res.destroyed || res.writableEnded) return;
  if (!res.write(chunk)) {
    await Promise.race([once(res, 'drain'), once(res, 'close')]).catch(() => {});
  }
}
