/**
 * Chat server overhead under concurrent streaming: what the whole chat pipeline (auth, access
 * check, session, retrieval, prompt, SSE, storing the turn) adds on top of the LLM's own time.
 *
 * This process runs the clients and a fake Anthropic API with a fixed first-token delay and token
 * pacing; the servers under test run in processes of their own (bench/chat-server-process.ts): a
 * bare Fastify route that only relays that stream through the same provider client (the
 * baseline), and the real app (PGlite in memory, or a throwaway PostgreSQL database) with one
 * small bot. For 1, 50 and 200 concurrent streaming chats against each, it reports p50/p99 of
 * (total latency − the fake's fixed delay), the errors, and the app's ratio to the relay.
 *
 *   node bench/chat-overhead.ts [--postgres postgres://postgres@127.0.0.1:5432/postgres] [--quick]
 *
 * Loopback only; every loop is bounded in count and time.
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createScratchDatabase } from '../src/platform/db/scratch-database.ts';
import { startFakeAnthropic } from '../test/fakes/anthropic.ts';
import { type ChatServer, startChatServer } from './chat-server-process.ts';

export interface ChatOverheadOptions {
  /** Concurrent streams per level. */
  levels?: number[];
  /** Streams each concurrent client runs one after another, per level. */
  roundsFor?: (concurrency: number) => number;
  /** The fake model's wait before its first token, and between tokens. */
  firstTokenDelayMs?: number;
  tokenDelayMs?: number;
  /** Words in each answer (one token each). */
  answerTokens?: number;
  /** Admin URL of a PostgreSQL server (a throwaway database is created); default PGlite in memory. */
  postgresUrl?: string | undefined;
  /** Longest a level may run before it is cut off (its unfinished streams count as errors). */
  levelTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface OverheadRow {
  target: 'relay' | 'app';
  concurrency: number;
  streams: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  /** Mean overhead, for context. */
  meanMs: number;
  /** The server process's CPU time per stream (user + system), in ms. */
  cpuPerStreamMs: number;
}

export interface ChatOverheadResult {
  driver: 'pglite' | 'postgres';
  /** The fake's fixed delay subtracted from every stream's total latency. */
  fixedDelayMs: number;
  rows: OverheadRow[];
  /** The machine's 1-minute load average before and after the run (2 cores: above 2 is contention). */
  loadAverage: [before: number, after: number];
  /** app ÷ relay, per level (target: ≤ 1.5 at 50 and 200 streams). */
  ratios: Array<{ concurrency: number; p50: number; p99: number }>;
}

const API_KEY = 'bench-key';
const QUESTIONS = [
  'How long do I have to return an item?',
  'When does the refund reach my card?',
  'Can I return opened software?',
  'How long does shipping to Jeju take?',
];
const CORPUS = [
  'Items can be returned within 30 days of delivery, in their original packaging.',
  'The refund reaches your card within five business days after we receive the return.',
  'Opened software and gift cards cannot be returned.',
  'Orders ship within two business days; shipping to Jeju takes one more day.',
  'Support answers by email on weekdays from 9 to 5.',
  'Large items are collected by a courier; book the pickup online.',
  'Damaged items are replaced free of charge when reported within 48 hours.',
  'Gift wrapping is available for most items at checkout.',
];

export async function runChatOverheadBench(options: ChatOverheadOptions = {}): Promise<ChatOverheadResult> {
  const o = {
    levels: [1, 50, 200],
    roundsFor: (c: number) => (c === 1 ? 40 : c <= 50 ? 8 : 4),
    firstTokenDelayMs: 200,
    tokenDelayMs: 15,
    answerTokens: 20,
    levelTimeoutMs: 120_000,
    log: () => {},
    ...options,
  };
  const loadBefore = loadavg()[0] as number;
  const reply = Array.from({ length: o.answerTokens }, (_, i) => `token${i}`).join(' ');
  const fixedDelayMs = o.firstTokenDelayMs + o.tokenDelayMs * (o.answerTokens - 1);
  const fake = await startFakeAnthropic({
    apiKey: API_KEY,
    reply,
    firstTokenDelayMs: o.firstTokenDelayMs,
    tokenDelayMs: o.tokenDelayMs,
    usage: { inputTokens: 500, outputTokens: o.answerTokens },
  });
  // A throwaway PostgreSQL database for the app, or none (PGlite in memory).
  const database = o.postgresUrl
    ? await createScratchDatabase(o.postgresUrl, 'snapagent_bench_chat')
    : { url: undefined, drop: async () => {} };
  const server = (target: 'relay' | 'app') =>
    startChatServer({ target, anthropicUrl: fake.url, apiKey: API_KEY, databaseUrl: database.url, corpus: CORPUS });
  const relay = await server('relay');
  let app: ChatServer | undefined;
  try {
    app = await server('app');
    const targets = {
      relay: { server: relay, url: relay.url, headers: {}, body: (q: string) => ({ message: q }) },
      app: {
        server: app,
        url: app.url,
        headers: { authorization: `Bearer ${app.token}` },
        body: (q: string) => ({ message: q, bot_id: app?.botId, stream: true }),
      },
    };
    // Warm both paths (JIT, connection pools, prepared plans) before measuring.
    for (const target of Object.values(targets)) {
      await runLevel(target, 4, 3, fixedDelayMs, o.levelTimeoutMs);
    }

    const rows: OverheadRow[] = [];
    for (const concurrency of o.levels) {
      const rounds = o.roundsFor(concurrency);
      for (const name of ['relay', 'app'] as const) {
        const cpuBefore = await targets[name].server.cpuMs();
        const samples = await runLevel(targets[name], concurrency, rounds, fixedDelayMs, o.levelTimeoutMs);
        const cpuMs = (await targets[name].server.cpuMs()) - cpuBefore;
        const row = summarise(name, concurrency, samples, cpuMs);
        rows.push(row);
        o.log(
          `${name.padEnd(5)} ${String(concurrency).padStart(3)} streams: p50 ${row.p50Ms.toFixed(1)} ms, ` +
            `p99 ${row.p99Ms.toFixed(1)} ms, mean ${row.meanMs.toFixed(1)} ms, ${row.streams} streams, ${row.errors} errors, ` +
            `server CPU ${row.cpuPerStreamMs.toFixed(2)} ms/stream`,
        );
      }
    }
    const ratios = o.levels.map((concurrency) => {
      const r = rows.find((x) => x.target === 'relay' && x.concurrency === concurrency) as OverheadRow;
      const a = rows.find((x) => x.target === 'app' && x.concurrency === concurrency) as OverheadRow;
      return { concurrency, p50: ratio(a.p50Ms, r.p50Ms), p99: ratio(a.p99Ms, r.p99Ms) };
    });
    return {
      driver: database.url ? 'postgres' : 'pglite',
      fixedDelayMs,
      loadAverage: [round1(loadBefore), round1(loadavg()[0] as number)],
      rows,
      ratios,
    };
  } finally {
    await app?.close();
    await relay.close();
    await fake.close();
    await database.drop();
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Overheads below 1 ms are noise-level; the ratio uses at least 1 ms on both sides. */
function ratio(app: number, relay: number): number {
  return Math.round((Math.max(app, 1) / Math.max(relay, 1)) * 100) / 100;
}

interface Target {
  url: string;
  headers: Record<string, string>;
  body: (question: string) => Record<string, unknown>;
}

interface Sample {
  overheadMs: number;
  ok: boolean;
}

/** `concurrency` clients, each running `rounds` streams back to back; bounded by `timeoutMs`. */
async function runLevel(
  target: Target,
  concurrency: number,
  rounds: number,
  fixedDelayMs: number,
  timeoutMs: number,
): Promise<Sample[]> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const samples: Sample[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      // Clients start spread over one stream's length, so `concurrency` streams are in flight at
      // any moment rather than all starting in the same millisecond (the same for both targets).
      if (client > 0) await sleep((client / concurrency) * fixedDelayMs);
      for (let i = 0; i < rounds; i++) {
        const question = QUESTIONS[n++ % QUESTIONS.length] as string;
        if (deadline.aborted) {
          samples.push({ overheadMs: Number.NaN, ok: false });
          continue;
        }
        samples.push(await oneStream(target, question, fixedDelayMs, deadline));
      }
    }),
  );
  return samples;
}

async function oneStream(target: Target, question: string, fixedDelayMs: number, signal: AbortSignal): Promise<Sample> {
  const started = performance.now();
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...target.headers },
      body: JSON.stringify(target.body(question)),
      signal,
    });
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      return { overheadMs: Number.NaN, ok: false };
    }
    const decoder = new TextDecoder();
    let tail = '';
    let done = false;
    let failed = false;
    for await (const chunk of res.body) {
      tail = (tail + decoder.decode(chunk as Uint8Array, { stream: true })).slice(-4096);
      if (tail.includes('event: error')) failed = true;
      if (tail.includes('event: done')) done = true;
    }
    const total = performance.now() - started;
    return { overheadMs: total - fixedDelayMs, ok: done && !failed };
  } catch {
    return { overheadMs: Number.NaN, ok: false };
  }
}

function summarise(target: 'relay' | 'app', concurrency: number, samples: Sample[], cpuMs: number): OverheadRow {
  const ok = samples
    .filter((s) => s.ok)
    .map((s) => s.overheadMs)
    .sort((a, b) => a - b);
  const pick = (q: number) =>
    ok.length === 0 ? Number.NaN : (ok[Math.min(ok.length - 1, Math.ceil(q * ok.length) - 1)] as number);
  return {
    target,
    concurrency,
    streams: samples.length,
    errors: samples.length - ok.length,
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    meanMs: ok.reduce((s, x) => s + x, 0) / Math.max(1, ok.length),
    cpuPerStreamMs: cpuMs / Math.max(1, samples.length),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { postgres: { type: 'string' }, quick: { type: 'boolean' } } });
  const result = await runChatOverheadBench({
    postgresUrl: values.postgres,
    ...(values.quick ? { levels: [1, 50], roundsFor: (c: number) => (c === 1 ? 10 : 2) } : {}),
    log: (line) => console.log(line),
  });
  console.log(
    `\ndriver ${result.driver}; fixed delay of the fake model ${result.fixedDelayMs} ms subtracted; ` +
      `load average ${result.loadAverage.join(' → ')}`,
  );
  console.table(result.rows);
  console.table(result.ratios);
}
