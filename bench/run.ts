/**
 * `npm run bench`: runs every benchmark, or those named (`npm run bench -- ingest`), and prints
 * each one's table. Benchmarks need the local PostgreSQL (127.0.0.1:5432) and assert nothing:
 * each prints its figures and, where it has targets, PASS/FAIL.
 *
 * A benchmark is one line below: a name and a function that runs it and returns its table.
 * The ingestion benchmark installs its LangChain.js baseline (`npm ci --prefix
 * bench/langchain-baseline`) the first time.
 */
import { type ChatOverheadResult, runChatOverheadBench } from './chat-overhead.ts';
import { formatIngestTable, runIngestBench } from './ingest.ts';
import { formatVectorBench, runVectorBench } from './vector-search.ts';

type Log = (line: string) => void;

const BENCHMARKS: { name: string; run: (log: Log) => Promise<string> }[] = [
  { name: 'ingest', run: async (log) => formatIngestTable(await runIngestBench({ log })) },
  { name: 'vector', run: async () => formatVectorBench(await runVectorBench()) },
  {
    name: 'chat',
    run: async (log) =>
      formatChatOverhead(
        await runChatOverheadBench({ postgresUrl: 'postgres://postgres@127.0.0.1:5432/postgres', log }),
      ),
  },
];

/** Overhead = total stream latency minus the fake model's fixed delay; the relay is the baseline. */
function formatChatOverhead(result: ChatOverheadResult): string {
  const lines = [
    `driver ${result.driver}, fake fixed delay ${result.fixedDelayMs} ms, load ${result.loadAverage.join(' -> ')}`,
    'target  streams  errors  p50 ms  p99 ms  server CPU ms/stream',
    ...result.rows.map(
      (r) =>
        `${r.target.padEnd(6)}  ${String(r.concurrency).padStart(7)}  ${String(r.errors).padStart(6)}  ${r.p50Ms.toFixed(1).padStart(6)}  ${r.p99Ms.toFixed(1).padStart(6)}  ${r.cpuPerStreamMs.toFixed(2).padStart(20)}`,
    ),
    'app / relay: ' +
      result.ratios.map((r) => `${r.concurrency}: p50 ${r.p50.toFixed(2)}x p99 ${r.p99.toFixed(2)}x`).join('; '),
  ];
  return lines.join('\n');
}

const log: Log = (line) => process.stdout.write(`${line}\n`);
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !BENCHMARKS.some((b) => b.name === name));
if (unknown.length > 0) {
  process.stderr.write(
    `Unknown benchmark(s): ${unknown.join(', ')}. Known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
  );
  process.exit(64);
}

for (const bench of BENCHMARKS.filter((b) => wanted.length === 0 || wanted.includes(b.name))) {
  log(`\n## ${bench.name}`);
  const started = Date.now();
  const table = await bench.run(log);
  log(`\n${table}\n(${((Date.now() - started) / 1000).toFixed(0)} s)`);
}
