/**
 * Runs test/fakes' OpenAI embeddings server in a process of its own, so the pipeline under test
 * (ours in the bench process, LangChain.js in its child) never shares an event loop with it.
 * Driven over IPC by `startFakeEmbeddingsProcess`; also runnable alone for a look with curl.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { type FakeEmbeddingStats, startFakeOpenAIEmbeddings } from '../test/fakes/openai-embeddings.ts';

type Request = { type: 'stats' } | { type: 'reset' } | { type: 'latency'; ms: number } | { type: 'close' };
type Reply = { type: 'ready'; url: string; apiKey: string } | { type: 'stats'; stats: Summary } | { type: 'ok' };

/** What the benchmark reports of the fake's counters (the raw lists stay in the child). */
export interface Summary {
  calls: number;
  inputs: number;
  maxInFlight: number;
  /** Mean texts per successful call. */
  meanBatch: number;
}

export interface FakeEmbeddingsProcess {
  url: string;
  apiKey: string;
  stats(): Promise<Summary>;
  resetStats(): Promise<void>;
  setLatency(ms: number): Promise<void>;
  close(): Promise<void>;
}

function summarise(stats: FakeEmbeddingStats): Summary {
  return {
    calls: stats.calls,
    inputs: stats.inputs,
    maxInFlight: stats.maxInFlight,
    meanBatch: stats.succeeded ? stats.inputs / stats.succeeded : 0,
  };
}

/** Forks this file as the fake server (vectors of `dimensions`, `latencyMs` per call). */
export async function startFakeEmbeddingsProcess(options: {
  dimensions: number;
  latencyMs: number;
}): Promise<FakeEmbeddingsProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = async (request: Request): Promise<Reply> => {
    const reply = once(child, 'message') as Promise<[Reply]>;
    child.send(request);
    return (await reply)[0];
  };
  const [ready] = (await once(child, 'message')) as [Reply];
  if (ready.type !== 'ready') throw new Error('fake embeddings process did not start');
  return {
    url: ready.url,
    apiKey: ready.apiKey,
    async stats() {
      const reply = await ask({ type: 'stats' });
      if (reply.type !== 'stats') throw new Error('unexpected reply');
      return reply.stats;
    },
    async resetStats() {
      await ask({ type: 'reset' });
    },
    async setLatency(ms) {
      await ask({ type: 'latency', ms });
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.send({ type: 'close' } satisfies Request);
      await exited;
    },
  };
}

async function serve(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as { dimensions?: number; latencyMs?: number };
  const fake = await startFakeOpenAIEmbeddings({
    dimensions: options.dimensions ?? 1536,
    latencyMs: options.latencyMs ?? 0,
  });
  const send = (reply: Reply) => process.send?.(reply);
  process.on('message', (request: Request) => {
    if (request.type === 'stats') send({ type: 'stats', stats: summarise(fake.stats) });
    else if (request.type === 'reset') {
      fake.resetStats();
      send({ type: 'ok' });
    } else if (request.type === 'latency') {
      fake.setLatency(request.ms);
      send({ type: 'ok' });
    } else if (request.type === 'close') {
      void fake.close().then(() => process.exit(0));
    }
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => void fake.close().then(() => process.exit(0)));
  if (process.send) send({ type: 'ready', url: fake.url, apiKey: fake.apiKey });
  else process.stdout.write(`fake OpenAI embeddings on ${fake.url} (key ${fake.apiKey})\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await serve();
