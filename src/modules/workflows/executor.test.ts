import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WorkflowEvent } from './events.ts';
import { collectRun, runWorkflow } from './executor.ts';
import { compileWorkflow, createScriptedLlm, sleep, testDeps } from './testing.ts';
import type { RetrievedChunk } from './workflow-deps.ts';

const node = (id: string, type: string, data: Record<string, unknown> = {}) => ({ id, type, data });
const edge = (source: string, target: string, source_handle?: string) =>
  source_handle === undefined ? { source, target } : { source, target, source_handle };
const start = node('start', 'start');
const template = (id: string, text: string) => node(id, 'template', { template: text });
const chunk = (id: number, content: string): RetrievedChunk => ({
  chunkId: id,
  documentId: `doc-${id}`,
  filename: `file-${id}.pdf`,
  content,
  score: 0.9,
});
const input = { botId: 'bot-1', message: 'hello there', sessionId: 'sess-1' };

/** Compact event log: `started:x`, `finished:x:status`, `delta`, `sources`, `done`, `error`. */
const log = (events: WorkflowEvent[]) =>
  events.map((e) =>
    e.type === 'node_started'
      ? `started:${e.node_id}`
      : e.type === 'node_finished'
        ? `finished:${e.node_id}:${e.status}`
        : e.type,
  );

const deltas = (events: WorkflowEvent[]) => events.flatMap((e) => (e.type === 'delta' ? [e.text] : []));

const ragDoc = {
  nodes: [
    start,
    node('knowledge_1', 'knowledge', { query: '{{start.message}}' }),
    node('llm_1', 'llm', { system: 'Context:\n{{knowledge_1.result}}', prompt: '{{start.message}}' }),
    node('end', 'end', { answer: 'Answer: {{llm_1.text}}', sources: '{{knowledge_1.sources}}' }),
  ],
  edges: [edge('start', 'knowledge_1'), edge('knowledge_1', 'llm_1'), edge('llm_1', 'end')],
};

describe('runWorkflow', { timeout: 20_000 }, () => {
  it('streams sources, then the answer token by token, then done with the same answer', async () => {
    const llm = createScriptedLlm(() => ({
      text: ['Hel', 'lo ', 'world'],
      usage: { inputTokens: 11, outputTokens: 3 },
    }));
    const retrieve = async () => [chunk(1, 'Greetings are said with hello.')];
    const { events, result } = await collectRun(
      runWorkflow(compileWorkflow(ragDoc), input, { ...testDeps({ llm }), retrieve }),
    );
    assert.equal(result.status, 'succeeded');
    assert.equal(result.answer, 'Answer: Hello world');
    assert.deepEqual(deltas(events), ['Answer: ', 'Hel', 'lo ', 'world']);
    const kinds = log(events);
    assert.equal(kinds[0], 'run_started');
    assert.equal(kinds.at(-1), 'done');
    assert.ok(kinds.indexOf('sources') < kinds.indexOf('delta'), 'sources come before the first delta');
    assert.ok(kinds.indexOf('started:llm_1') < kinds.indexOf('delta'));
    const done = events.at(-1);
    assert.ok(done?.type === 'done');
    assert.equal(done.answer, deltas(events).join(''));
    assert.deepEqual(done.sources, [
      {
        document_id: 'doc-1',
        chunk_id: 1,
        filename: 'file-1.pdf',
        content: 'Greetings are said with hello.',
        score: 0.9,
      },
    ]);
    assert.deepEqual(done.usage, { input_tokens: 11, output_tokens: 3 });
    // The model saw the retrieved context.
    assert.match(llm.requests[0]?.system ?? '', /\[1\] file-1\.pdf\nGreetings are said with hello\./);
    assert.deepEqual(llm.requests[0]?.messages, [{ role: 'user', content: 'hello there' }]);
  });

  it('streams while the model is still writing', async () => {
    const gate = Promise.withResolvers<void>();
    const llm = createScriptedLlm(() => ({ text: ['first ', 'second'], before: undefined }));
    // The model sends its first piece, then waits until the test has seen that piece as a delta.
    const held = {
      ...llm,
      async *stream(request: Parameters<typeof llm.stream>[0]) {
        for await (const e of llm.stream(request)) {
          yield e;
          if (e.type === 'text' && e.text === 'first ') await gate.promise;
        }
      },
    };
    const run = runWorkflow(compileWorkflow(ragDoc), input, testDeps({ llm: held }));
    const seen: string[] = [];
    for await (const e of run) {
      seen.push(log([e])[0] as string);
      if (e.type === 'delta' && e.text === 'first ') {
        assert.equal(seen.includes('finished:llm_1:succeeded'), false, 'the model has not finished yet');
        gate.resolve();
      }
    }
    assert.equal((await run.result).answer, 'Answer: first second');
  });

  it('records a trace: inputs, outputs, timing, branch and tokens per node', async () => {
    let t = Date.parse('2025-01-01T00:00:00Z');
    const llm = createScriptedLlm(() => ({ text: 'ok', usage: { inputTokens: 7, outputTokens: 2 } }));
    const { result } = await collectRun(
      runWorkflow(
        compileWorkflow(ragDoc),
        { ...input, runId: 'run-42' },
        {
          ...testDeps({ llm, corpus: [{ ...chunk(1, 'hello world'), botId: 'bot-1' }] }),
          clock: { now: () => (t += 10) },
          limits: { traceMaxStringChars: 12 },
        },
      ),
    );
    const trace = result.trace;
    assert.equal(trace.run_id, 'run-42');
    assert.equal(trace.status, 'succeeded');
    assert.equal(trace.steps, 4);
    assert.deepEqual(trace.usage, { input_tokens: 7, output_tokens: 2 });
    assert.deepEqual(
      trace.nodes.map((n) => [n.node_id, n.status]),
      [
        ['start', 'succeeded'],
        ['knowledge_1', 'succeeded'],
        ['llm_1', 'succeeded'],
        ['end', 'succeeded'],
      ],
    );
    const k = trace.nodes[1];
    assert.deepEqual(k?.inputs, { query: 'hello there', top_k: 5, mode: 'hybrid', filters: undefined });
    assert.equal(k?.outputs?.count, 1);
    assert.equal(k?.duration_ms, 10);
    assert.match(String(k?.started_at), /^2025-01-01T00:00:00\.\d{3}Z$/);
    const l = trace.nodes[2];
    assert.deepEqual(l?.usage, { input_tokens: 7, output_tokens: 2 });
    assert.equal(l?.inputs?.system, 'Context:\n[1]… [23 more chars]', 'long strings are cut');
    assert.equal(trace.nodes[0]?.usage, undefined);
  });

  it('takes one branch and marks the other skipped, not failed', async () => {
    const doc = {
      nodes: [
        start,
        node('check', 'condition', {
          conditions: [{ variable: '{{start.message}}', operator: 'contains', value: 'refund' }],
        }),
        template('yes_text', 'Refund desk'),
        template('no_text', 'General desk'),
        node('end_yes', 'end', { answer: '{{yes_text.text}}' }),
        node('end_no', 'end', { answer: '{{no_text.text}}' }),
      ],
      edges: [
        edge('start', 'check'),
        edge('check', 'yes_text', 'true'),
        edge('check', 'no_text', 'false'),
        edge('yes_text', 'end_yes'),
        edge('no_text', 'end_no'),
      ],
    };
    const wf = compileWorkflow(doc);
    for (const [message, answer, skipped] of [
      ['I want a refund', 'Refund desk', ['no_text', 'end_no']],
      ['Where is my parcel?', 'General desk', ['yes_text', 'end_yes']],
    ] as const) {
      const { events, result } = await collectRun(runWorkflow(wf, { ...input, message }, testDeps({})));
      assert.equal(result.answer, answer);
      assert.deepEqual(
        result.trace.nodes.filter((n) => n.status === 'skipped').map((n) => n.node_id),
        skipped,
      );
      for (const id of skipped) assert.ok(log(events).includes(`finished:${id}:skipped`));
      assert.equal(
        result.trace.nodes.find((n) => n.node_id === 'check')?.branch,
        answer === 'Refund desk' ? 'true' : 'false',
      );
    }
  });

  it('join rule: a node after a join runs once when any inbound path is active, after all have settled', async () => {
    // c0 false → end0; c0 true → c1, which picks a or b; both lead to the join `pick` → end1.
    const doc = {
      nodes: [
        start,
        node('c0', 'condition', {
          conditions: [{ variable: '{{start.message}}', operator: 'not_equals', value: 'skip' }],
        }),
        node('c1', 'condition', {
          conditions: [{ variable: '{{start.message}}', operator: 'starts_with', value: 'a' }],
        }),
        template('a', 'from a'),
        template('b', 'from b'),
        node('pick', 'variable_aggregator', { variables: ['{{a.text}}', '{{b.text}}'] }),
        node('end1', 'end', { answer: '{{pick.output}} ({{pick.index}})' }),
        node('end0', 'end', { answer: 'skipped all' }),
      ],
      edges: [
        edge('start', 'c0'),
        edge('c0', 'c1', 'true'),
        edge('c0', 'end0', 'false'),
        edge('c1', 'a', 'true'),
        edge('c1', 'b', 'false'),
        edge('a', 'pick'),
        edge('b', 'pick'),
        edge('pick', 'end1'),
      ],
    };
    const wf = compileWorkflow(doc);
    const statuses = async (message: string) => {
      const { events, result } = await collectRun(runWorkflow(wf, { ...input, message }, testDeps({})));
      assert.equal(events.filter((e) => e.type === 'node_started' && e.node_id === 'pick').length <= 1, true);
      return {
        answer: result.answer,
        status: Object.fromEntries(result.trace.nodes.map((n) => [n.node_id, n.status])),
      };
    };
    const viaA = await statuses('apple');
    assert.equal(viaA.answer, 'from a (0)');
    assert.equal(viaA.status.b, 'skipped');
    assert.equal(viaA.status.pick, 'succeeded');
    const viaB = await statuses('banana');
    assert.equal(viaB.answer, 'from b (1)');
    assert.equal(viaB.status.a, 'skipped');
    // No inbound path active: the join node is skipped too, and so is everything after it.
    const none = await statuses('skip');
    assert.equal(none.answer, 'skipped all');
    for (const id of ['c1', 'a', 'b', 'pick', 'end1']) assert.equal(none.status[id], 'skipped', id);
  });

  it('a join waits for every inbound path, even a slow one', async () => {
    const doc = {
      nodes: [
        start,
        node('slow', 'llm', { prompt: '{{start.message}}' }),
        template('fast', 'fast'),
        template('join', '{{fast.text}}+{{slow.text}}'),
        node('end', 'end', { answer: '{{join.text}}' }),
      ],
      edges: [
        edge('start', 'slow'),
        edge('start', 'fast'),
        edge('slow', 'join'),
        edge('fast', 'join'),
        edge('join', 'end'),
      ],
    };
    const llm = createScriptedLlm(() => ({ text: ['slow'], delayMs: 20 }));
    const { events, result } = await collectRun(runWorkflow(compileWorkflow(doc), input, testDeps({ llm })));
    assert.equal(result.answer, 'fast+slow');
    const kinds = log(events);
    assert.ok(kinds.indexOf('started:join') > kinds.indexOf('finished:slow:succeeded'));
    assert.ok(kinds.indexOf('started:join') > kinds.indexOf('finished:fast:succeeded'));
  });

  it('runs independent branches concurrently', async () => {
    // Each retrieval waits until both have started: only possible if they overlap.
    let inFlight = 0;
    const bothStarted = Promise.withResolvers<void>();
    const order: string[] = [];
    const retrieve = async (_bot: string, query: string) => {
      order.push(`start:${query}`);
      if (++inFlight === 2) bothStarted.resolve();
      await Promise.race([bothStarted.promise, sleep(2000).then(() => Promise.reject(new Error('ran one at a time')))]);
      order.push(`end:${query}`);
      inFlight--;
      return [chunk(query === 'one' ? 1 : 2, query)];
    };
    const doc = {
      nodes: [
        start,
        node('k1', 'knowledge', { query: 'one' }),
        node('k2', 'knowledge', { query: 'two' }),
        node('end', 'end', { answer: '{{k1.count}}{{k2.count}}', sources: ['{{k1.sources}}', '{{k2.sources}}'] }),
      ],
      edges: [edge('start', 'k1'), edge('start', 'k2'), edge('k1', 'end'), edge('k2', 'end')],
    };
    const { result } = await collectRun(runWorkflow(compileWorkflow(doc), input, { ...testDeps({}), retrieve }));
    assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
    assert.deepEqual(order.slice(0, 2).sort(), ['start:one', 'start:two']);
    assert.equal(result.answer, '11');
    assert.equal(result.sources.length, 2);

    // With one node at a time they do not overlap (and the latch above would fail).
    let maxInFlight = 0;
    let current = 0;
    const sequential = async (_bot: string, query: string) => {
      maxInFlight = Math.max(maxInFlight, ++current);
      await sleep(5);
      current--;
      return [chunk(query === 'one' ? 1 : 2, query)];
    };
    const serial = await collectRun(
      runWorkflow(compileWorkflow(doc), input, {
        ...testDeps({ limits: { maxParallelNodes: 1 } }),
        retrieve: sequential,
      }),
    );
    assert.equal(serial.result.status, 'succeeded');
    assert.equal(maxInFlight, 1);
  });

  it('fails the run with the failing node named, cancelling the others', async () => {
    const doc = {
      nodes: [
        start,
        node('k1', 'knowledge', { query: 'boom' }),
        node('llm_1', 'llm', { prompt: 'x' }),
        node('end', 'end', { answer: '{{k1.result}}{{llm_1.text}}' }),
      ],
      edges: [edge('start', 'k1'), edge('start', 'llm_1'), edge('k1', 'end'), edge('llm_1', 'end')],
    };
    const llm = createScriptedLlm(() => ({ text: 'never', hang: true }));
    const retrieve = async () => {
      await sleep(5);
      throw new Error('index unavailable');
    };
    const { events, result } = await collectRun(
      runWorkflow(compileWorkflow(doc), input, { ...testDeps({ llm }), retrieve }),
    );
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.error, {
      code: 'node_failed',
      message: 'index unavailable',
      node_id: 'k1',
      node_type: 'knowledge',
    });
    const last = events.at(-1);
    assert.ok(last?.type === 'error');
    assert.equal(last.node_id, 'k1');
    assert.equal(events.filter((e) => e.type === 'done' || e.type === 'error').length, 1);
    const status = Object.fromEntries(result.trace.nodes.map((n) => [n.node_id, n.status]));
    assert.deepEqual(status, { start: 'succeeded', k1: 'failed', llm_1: 'cancelled', end: 'not_run' });
    assert.equal(llm.signals[0]?.aborted, true, 'the running model call was aborted');
    assert.equal(result.trace.nodes[1]?.error?.message, 'index unavailable');
    const finished = events.find((e) => e.type === 'node_finished' && e.status === 'failed');
    assert.deepEqual(finished?.type === 'node_finished' && finished.error, {
      code: 'node_failed',
      message: 'index unavailable',
    });
  });

  it('fails an llm node clearly when no model is configured', async () => {
    const { result } = await collectRun(runWorkflow(compileWorkflow(ragDoc), input, testDeps({ llm: undefined })));
    assert.equal(result.error?.code, 'llm_unavailable');
    assert.equal(result.error?.node_id, 'llm_1');
    assert.match(result.error?.message ?? '', /No language model is configured/);
  });

  it('enforces the time budget, aborting the running node', async () => {
    const llm = createScriptedLlm(() => ({ text: 'never', hang: true }));
    const began = Date.now();
    const { events, result } = await collectRun(
      runWorkflow(compileWorkflow(ragDoc), input, testDeps({ llm, limits: { maxRunMs: 80 } })),
    );
    assert.ok(Date.now() - began < 3000);
    assert.equal(result.error?.code, 'time_budget_exceeded');
    assert.equal(result.error?.node_id, 'llm_1');
    assert.equal(llm.signals[0]?.aborted, true);
    assert.equal(result.trace.nodes.find((n) => n.node_id === 'llm_1')?.status, 'cancelled');
    assert.equal(events.at(-1)?.type, 'error');
  });

  it('enforces the step budget, naming the node that would exceed it', async () => {
    const doc = {
      nodes: [
        start,
        template('t1', 'a'),
        template('t2', 'b'),
        template('t3', 'c'),
        node('end', 'end', { answer: 'x' }),
      ],
      edges: [edge('start', 't1'), edge('t1', 't2'), edge('t2', 't3'), edge('t3', 'end')],
    };
    const { result } = await collectRun(
      runWorkflow(compileWorkflow(doc), input, testDeps({ limits: { maxSteps: 3 } })),
    );
    assert.equal(result.error?.code, 'step_budget_exceeded');
    assert.equal(result.error?.node_id, 't3');
    assert.equal(result.trace.steps, 3);
    assert.deepEqual(
      result.trace.nodes.map((n) => n.status),
      ['succeeded', 'succeeded', 'succeeded', 'failed', 'not_run'],
    );
    const ok = await collectRun(runWorkflow(compileWorkflow(doc), input, testDeps({ limits: { maxSteps: 5 } })));
    assert.equal(ok.result.status, 'succeeded');
  });

  it("stops when the caller's signal aborts or the consumer stops reading", async () => {
    const llm = createScriptedLlm(() => ({ text: 'never', hang: true }));
    const controller = new AbortController();
    const run = runWorkflow(compileWorkflow(ragDoc), { ...input, signal: controller.signal }, testDeps({ llm }));
    setTimeout(() => controller.abort(), 10);
    const { result } = await collectRun(run);
    assert.equal(result.error?.code, 'aborted');
    assert.equal(llm.signals[0]?.aborted, true);

    const llm2 = createScriptedLlm(() => ({ text: ['a ', 'b ', 'c'], delayMs: 5 }));
    const run2 = runWorkflow(compileWorkflow(ragDoc), input, testDeps({ llm: llm2 }));
    for await (const e of run2) if (e.type === 'delta') break;
    const result2 = await run2.result;
    assert.equal(result2.error?.code, 'cancelled');
    assert.equal(llm2.signals[0]?.aborted, true);
  });

  it('never streams tokens of a model whose branch may still be abandoned', async () => {
    // The model's text reaches end_a only through a condition, so it is not streamed live; when
    // the condition picks end_b, none of it appears.
    const doc = {
      nodes: [
        start,
        node('draft', 'llm', { prompt: '{{start.message}}' }),
        node('check', 'condition', {
          conditions: [{ variable: '{{draft.text}}', operator: 'contains', value: 'SAFE' }],
        }),
        node('end_a', 'end', { answer: '{{draft.text}}' }),
        node('end_b', 'end', { answer: 'I cannot answer that.' }),
      ],
      edges: [
        edge('start', 'draft'),
        edge('draft', 'check'),
        edge('check', 'end_a', 'true'),
        edge('check', 'end_b', 'false'),
      ],
    };
    const wf = compileWorkflow(doc);
    const unsafe = await collectRun(
      runWorkflow(wf, input, testDeps({ llm: createScriptedLlm(() => 'secret internal text') })),
    );
    assert.deepEqual(deltas(unsafe.events), ['I cannot answer that.']);
    const safe = await collectRun(runWorkflow(wf, input, testDeps({ llm: createScriptedLlm(() => 'SAFE reply') })));
    assert.deepEqual(deltas(safe.events), ['SAFE reply'], 'sent whole once the branch is known');
  });

  it('joins the answers of several reached end nodes in order', async () => {
    const doc = {
      nodes: [
        start,
        node('l1', 'llm', { prompt: 'one' }),
        node('l2', 'llm', { prompt: 'two' }),
        node('end_1', 'end', { answer: '{{l1.text}}' }),
        node('end_2', 'end', { answer: '{{l2.text}}' }),
      ],
      edges: [edge('start', 'l1'), edge('start', 'l2'), edge('l1', 'end_1'), edge('l2', 'end_2')],
    };
    // The second model answers first; the answer order still follows the graph.
    const llm = createScriptedLlm((req) =>
      req.messages[0]?.content === 'one' ? { text: ['first'], delayMs: 20 } : { text: ['second'] },
    );
    const { events, result } = await collectRun(runWorkflow(compileWorkflow(doc), input, testDeps({ llm })));
    assert.equal(result.answer, 'first\n\nsecond');
    assert.equal(deltas(events).join(''), result.answer);
  });
});
