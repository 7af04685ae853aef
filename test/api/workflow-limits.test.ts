import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type AnthropicRequestBody, type FakeLlmServer, startFakeAnthropic } from '../fakes/anthropic.ts';
import { buildTestApp, type Session, signUp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';

/**
 * The operator's WORKFLOW_* settings reach every run: step and time budgets, the private networks
 * an http_request node may reach, and the size of stored traces.
 */

type Node = { id: string; type: string; data: Record<string, unknown> };

/** Start → the given nodes in a line → End answering with `answer`. */
const chain = (nodes: Node[], answer: string) => {
  const all: Node[] = [
    { id: 'start', type: 'start', data: {} },
    ...nodes,
    { id: 'end', type: 'end', data: { answer } },
  ];
  return {
    version: 1,
    nodes: all,
    edges: all.slice(1).map((n, i) => ({ source: all[i]?.id as string, target: n.id })),
  };
};

describe(`workflow limits from configuration (${testDriver})`, () => {
  let anthropic: FakeLlmServer<AnthropicRequestBody>;
  let intranet: Server;
  let h: TestApp;
  let owner: Session;
  let botId: string;

  before(async () => {
    anthropic = await startFakeAnthropic({ apiKey: 'test-key' });
    intranet = createServer((req, res) =>
      res.end(`intranet says ${new URL(req.url ?? '/', 'http://x').searchParams.get('q')}`),
    );
    await new Promise<void>((resolve) => intranet.listen(0, '127.0.0.1', resolve));
    h = await buildTestApp({
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: anthropic.url,
      EMBEDDING_PROVIDER: 'none',
      RATE_LIMIT_ENABLED: 'false',
      WORKFLOW_MAX_STEPS: '3',
      WORKFLOW_MAX_RUN_MS: '400',
      WORKFLOW_ALLOWED_PRIVATE_NETWORKS: '127.0.0.1/32',
      WORKFLOW_TRACE_MAX_BYTES: '4096',
    });
    owner = await signUp(h.app, 'limits');
    botId = (
      await h.app.inject({ method: 'POST', url: '/api/v1/bots', headers: owner.auth, payload: { name: 'L' } })
    ).json().id;
  });
  after(async () => {
    await h.close();
    await anthropic.close();
    await new Promise((resolve) => intranet.close(resolve));
  });

  const run = async (document: unknown, message = 'hi') => {
    const saved = await h.app.inject({
      method: 'PUT',
      url: `/api/v1/bots/${botId}/workflow`,
      headers: owner.auth,
      payload: { document },
    });
    assert.equal(saved.statusCode, 200, saved.body);
    return h.app.inject({
      method: 'POST',
      url: `/api/v1/bots/${botId}/workflow/run`,
      headers: owner.auth,
      payload: { message },
    });
  };
  const storedTrace = async (runId: string) =>
    (await h.t.db.query<{ trace: unknown }>('SELECT trace FROM workflow_runs WHERE id = $1', [runId]))[0]?.trace;

  it('stops a run that would start more nodes than WORKFLOW_MAX_STEPS', async () => {
    const tpl = (id: string): Node => ({ id, type: 'template', data: { template: 'x' } });
    const res = await run(chain([tpl('a'), tpl('b')], '{{b.text}}'));
    assert.equal(res.statusCode, 502, res.body);
    assert.equal(res.json().workflow_code, 'step_budget_exceeded');
    assert.equal(res.json().trace.steps, 3);
    // Exactly at the budget is fine.
    const ok = await run(chain([tpl('a')], '{{a.text}}'));
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it('stops a run that takes longer than WORKFLOW_MAX_RUN_MS, naming the node that was running', async () => {
    anthropic.script.firstTokenDelayMs = 5_000;
    const started = performance.now();
    const res = await run(
      chain([{ id: 'llm_1', type: 'llm', data: { prompt: '{{start.message}}' } }], '{{llm_1.text}}'),
    );
    const took = performance.now() - started;
    anthropic.script.firstTokenDelayMs = 0;
    assert.equal(res.statusCode, 502, res.body);
    assert.equal(res.json().workflow_code, 'time_budget_exceeded');
    assert.equal(res.json().node_id, 'llm_1');
    assert.ok(took < 4_000, `stopped after ${Math.round(took)} ms, not when the model answered`);
  });

  it('lets http_request reach exactly the private networks in WORKFLOW_ALLOWED_PRIVATE_NETWORKS', async () => {
    const { port } = intranet.address() as AddressInfo;
    const http = (url: string) =>
      chain(
        [{ id: 'http_1', type: 'http_request', data: { url, query: { q: '{{start.message}}' } } }],
        '{{http_1.body}}',
      );
    const allowed = await run(http(`http://127.0.0.1:${port}/lookup`), 'order 42');
    assert.equal(allowed.statusCode, 200, allowed.body);
    assert.equal(allowed.json().answer, 'intranet says order 42');
    for (const url of [
      `http://127.0.0.2:${port}/`,
      'http://169.254.169.254/latest/meta-data/',
      `http://[::1]:${port}/`,
    ]) {
      const blocked = await run(http(url));
      assert.equal(blocked.statusCode, 502, url);
      assert.equal(blocked.json().workflow_code, 'http_blocked', url);
    }
  });

  it('cuts stored traces to WORKFLOW_TRACE_MAX_BYTES while the answer and the live trace stay whole', async () => {
    const message = 'm'.repeat(3000);
    const res = await run(
      chain(
        [{ id: 'tpl', type: 'template', data: { template: '{{start.message}}{{start.message}}' } }],
        '{{tpl.text}}',
      ),
      message,
    );
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.answer.length, 6000);
    assert.ok(JSON.stringify(body.trace).length > 4096);
    const trace = (await storedTrace(body.run_id)) as { truncated?: string; nodes: { status: string }[] };
    assert.ok(Buffer.byteLength(JSON.stringify(trace)) <= 4096);
    assert.ok(trace.truncated, 'marked as cut');
    assert.deepEqual(
      trace.nodes.map((n) => n.status),
      ['succeeded', 'succeeded', 'succeeded'],
    );
    const [row] = await h.t.db.query<{ answer: string }>('SELECT answer FROM workflow_runs WHERE id = $1', [
      body.run_id,
    ]);
    assert.equal(row?.answer.length, 6000);
  });
});
