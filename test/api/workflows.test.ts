import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { createLlmRegistry } from '../../src/providers/llm/registry.ts';
import { type AnthropicRequestBody, type FakeLlmServer, startFakeAnthropic } from '../fakes/anthropic.ts';
import { buildTestApp, type Session, signUp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';
import { eventually, multipart } from '../helpers/multipart.ts';
import { type ReceivedEvent, readSse } from '../helpers/sse.ts';

/**
 * The workflow API end to end: drafts validated on save, publishing and versions, test runs as
 * JSON and as SSE with traces, run history, the SSRF guard, both sample workflows from
 * docs/workflows over uploaded documents, and chat answering through a published workflow — with
 * every model call going to a fake Anthropic server over HTTP.
 */

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../docs/workflows/${name}.json`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

const REFUNDS = 'Refund requests are accepted within 30 days of the invoice date. Refunds go back to the card.';
const CRASH = 'When the agent crashes on start, upgrade Node to version 24 and restart the agent.';
const USAGE = { inputTokens: 100, outputTokens: 10 };
/** claude-sonnet-4-5 list price: $3 / $15 per million tokens. */
const COST_PER_CALL = (100 * 3 + 10 * 15) / 1e6;

/** A document with one problem of nearly every kind. */
const BROKEN = {
  version: 1,
  nodes: [
    { id: 'start', type: 'start', data: {} },
    { id: 'mystery', type: 'teleport', data: {} },
    { id: 'llm_1', type: 'llm', data: { temperature: 9 } },
    { id: 'tpl', type: 'template', data: { template: 'Hi {{start.nope}} and {{query}}' } },
    { id: 'tpl', type: 'template', data: { template: 'x' } },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'llm_1' },
    { id: 'e2', source: 'llm_1', target: 'ghost' },
    { id: 'e3', source: 'start', target: 'tpl' },
  ],
};

/** Start → HTTP request → End, answering with the response body. */
const httpWorkflow = (url: string) => ({
  version: 1,
  nodes: [
    { id: 'start', type: 'start', data: {} },
    { id: 'http_1', type: 'http_request', data: { url, query: { q: '{{start.message}}' } } },
    { id: 'end', type: 'end', data: { answer: 'Got: {{http_1.body}}' } },
  ],
  edges: [
    { source: 'start', target: 'http_1' },
    { source: 'http_1', target: 'end' },
  ],
});

const named = (events: ReceivedEvent[], name: string) => events.filter((e) => e.event === name);
type Data = Record<string, unknown>;

describe(`workflow API (${testDriver})`, () => {
  let anthropic: FakeLlmServer<AnthropicRequestBody>;
  let intranet: Server;
  let intranetHits = 0;
  let h: TestApp;
  let base: string;
  let owner: Session;
  let stranger: Session;
  let ragBot: string;
  let routerBot: string;

  before(async () => {
    anthropic = await startFakeAnthropic({ apiKey: 'test-key' });
    intranet = createServer((_req, res) => {
      intranetHits++;
      res.end('internal secret');
    });
    await new Promise<void>((resolve) => intranet.listen(0, '127.0.0.1', resolve));
    const env = {
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: anthropic.url,
      EMBEDDING_PROVIDER: 'none' as const,
      RATE_LIMIT_ENABLED: 'false' as const,
    };
    const llm = createLlmRegistry(loadConfig({ ENVIRONMENT: 'test', ...env }), {
      retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 2 },
    });
    h = await buildTestApp(env, { worker: true, deps: { llm } });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    owner = await signUp(h.app, 'flow');
    stranger = await signUp(h.app, 'stranger');
    const create = async (name: string) =>
      (await h.app.inject({ method: 'POST', url: '/api/v1/bots', headers: owner.auth, payload: { name } })).json()
        .id as string;
    ragBot = await create('Support');
    routerBot = await create('Router');

    // Real uploads through ingestion, so knowledge nodes search real chunks.
    const upload = async (botId: string, files: { filename: string; content: string }[]) => {
      const body = await multipart(files.map((f) => ({ ...f, type: 'text/markdown' })));
      const res = await h.app.inject({
        method: 'POST',
        url: `/api/v1/documents/upload?bot_id=${botId}`,
        headers: { ...owner.auth, ...body.headers },
        payload: body.payload,
      });
      assert.equal(res.statusCode, 202, res.body);
      return res.json().documents.map((d: { document_id: string }) => d.document_id) as string[];
    };
    const [ragDocs, routerDocs] = await Promise.all([
      upload(ragBot, [{ filename: 'refunds.md', content: `# Refunds\n\n${REFUNDS}` }]),
      upload(routerBot, [
        { filename: 'billing.md', content: `# Billing\n\n${REFUNDS}` },
        { filename: 'install.md', content: `# Troubleshooting\n\n${CRASH}` },
      ]),
    ]);
    for (const id of [...ragDocs, ...routerDocs]) {
      await eventually(
        async () => {
          const rows = await h.t.db.query<{ status: string }>('SELECT status FROM documents WHERE id = $1', [id]);
          return rows[0]?.status === 'ready' ? true : undefined;
        },
        240_000,
        `document ${id} ready`,
      );
    }
    // Uploads cannot tag documents yet; the router's knowledge nodes filter chunks by `category`.
    const [billingDoc, installDoc] = routerDocs;
    for (const [doc, category] of [
      [billingDoc, 'billing'],
      [installDoc, 'technical'],
    ] as const) {
      await h.t.db.query(`UPDATE chunks SET metadata = metadata || $2::jsonb WHERE bot_id = $1 AND document_id = $3`, [
        routerBot,
        JSON.stringify({ category }),
        doc,
      ]);
    }
  });
  after(async () => {
    await h.close();
    await anthropic.close();
    await new Promise((resolve) => intranet.close(resolve));
  });
  beforeEach(() => {
    for (const key of Object.keys(anthropic.script)) {
      if (key !== 'apiKey') delete (anthropic.script as Record<string, unknown>)[key];
    }
    anthropic.script.usage = USAGE;
    anthropic.script.reply = (req) => {
      if (req.system.startsWith('You classify')) return /refund|invoice/i.test(req.prompt) ? 'billing' : 'technical';
      if (req.system.startsWith('You are the billing assistant')) return 'Billing: within 30 days [1].';
      if (req.system.startsWith('You are the technical support assistant')) return 'Tech: upgrade Node [1].';
      return req.system.includes('within 30 days') ? 'You have 30 days to ask for a refund [1].' : 'I do not know.';
    };
  });

  const call = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown, headers = owner.auth) =>
    h.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Data }) });
  const wf = (botId: string, path = '') => `/api/v1/bots/${botId}/workflow${path}`;
  const stream = (url: string, payload: Data) =>
    fetch(`${base}${url}`, {
      method: 'POST',
      headers: { ...owner.auth, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(payload),
    });

  it('starts on plain RAG with no draft and no published version', async () => {
    const res = await call('GET', wf(ragBot));
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { bot_id: ragBot, mode: 'rag', draft: null, published: null });
  });

  it('saving an invalid draft answers 422 with every problem, keeps the draft, and refuses to publish or run it', async () => {
    const res = await call('PUT', wf(ragBot), { document: BROKEN });
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    const body = res.json();
    assert.equal(body.code, 'workflow_invalid');
    assert.equal(body.saved, true);
    assert.deepEqual(
      body.problems.map((p: { code: string; node_id?: string; edge_id?: string }) => [p.code, p.node_id ?? p.edge_id]),
      [
        ['unknown_node_type', 'mystery'],
        ['missing_field', 'llm_1'],
        ['invalid_config', 'llm_1'],
        ['duplicate_node_id', 'tpl'],
        ['missing_end', undefined],
        ['dangling_edge', 'e2'],
        ['unreachable_node', 'mystery'],
        ['invalid_reference', 'tpl'],
        ['unknown_variable', 'tpl'],
      ],
    );
    assert.match(body.detail, /9 problems/);
    const field = body.problems.find((p: { code: string }) => p.code === 'missing_field');
    assert.equal(field.field, 'data.prompt');

    const state = (await call('GET', wf(ragBot))).json();
    assert.equal(state.draft.valid, false);
    assert.equal(state.draft.revision, body.revision);
    assert.deepEqual(state.draft.document, BROKEN, 'the invalid draft is kept as sent');
    assert.equal(state.draft.problems.length, 9);

    const publish = await call('POST', wf(ragBot, '/publish'), {});
    assert.equal(publish.statusCode, 422);
    assert.equal(publish.json().problems.length, 9);
    const run = await call('POST', wf(ragBot, '/run'), { message: 'hi' });
    assert.equal(run.statusCode, 422);
    assert.equal(run.json().code, 'workflow_invalid');
    assert.equal((await call('GET', wf(ragBot))).json().published, null);
  });

  it('lists a model node naming a provider this server does not have as a problem on save', async () => {
    const doc = structuredClone(sample('basic-rag')) as { nodes: { id: string; data: Data }[] };
    (doc.nodes.find((n) => n.id === 'llm_1') as { data: Data }).data.provider = 'openai';
    const res = await call('PUT', wf(routerBot), { document: doc });
    assert.equal(res.statusCode, 422, res.body);
    assert.deepEqual(
      res.json().problems.map((p: { code: string; node_id: string; field: string }) => [p.code, p.node_id, p.field]),
      [['invalid_config', 'llm_1', 'data.provider']],
    );
  });

  it('rejects a body that is not a document at the schema, and a stale revision with 409', async () => {
    assert.equal((await call('PUT', wf(ragBot), { document: 'nodes' })).statusCode, 400);
    assert.equal((await call('PUT', wf(ragBot), {})).statusCode, 400);
    const current = (await call('GET', wf(ragBot))).json().draft.revision as number;
    const saved = await call('PUT', wf(ragBot), { document: sample('basic-rag'), revision: current });
    assert.equal(saved.statusCode, 200, saved.body);
    assert.equal(saved.json().revision, current + 1);
    assert.equal(saved.json().valid, true);
    assert.deepEqual(saved.json().problems, []);
    const stale = await call('PUT', wf(ragBot), { document: sample('basic-rag'), revision: current });
    assert.equal(stale.statusCode, 409);
    assert.equal(stale.json().code, 'conflict');
    const create = await call('PUT', wf(ragBot), { document: sample('basic-rag'), revision: 0 });
    assert.equal(create.statusCode, 409, 'revision 0 only creates a draft that does not exist yet');
  });

  it('test-runs the draft (the basic-rag sample) as JSON with the answer, sources and a per-node trace', async () => {
    await call('PUT', wf(ragBot), { document: sample('basic-rag') });
    const res = await call('POST', wf(ragBot, '/run'), {
      message: 'How long do I have to ask for a refund?',
      history: [
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: 'Hi, how can I help?' },
      ],
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.status, 'succeeded');
    assert.equal(body.answer, 'You have 30 days to ask for a refund [1].');
    assert.deepEqual(
      body.sources.map((s: { filename: string }) => s.filename),
      ['refunds.md'],
    );
    assert.match(body.sources[0].content, /within 30 days/);
    assert.deepEqual(body.usage, { input_tokens: 100, output_tokens: 10 });
    assert.equal(body.cost_usd, COST_PER_CALL);
    assert.equal(body.provider, 'anthropic');
    assert.deepEqual(
      body.trace.nodes.map((n: { node_id: string; status: string }) => [n.node_id, n.status]),
      [
        ['start', 'succeeded'],
        ['knowledge_1', 'succeeded'],
        ['llm_1', 'succeeded'],
        ['end', 'succeeded'],
      ],
    );
    const knowledge = body.trace.nodes[1];
    assert.equal(knowledge.outputs.count, 1);
    assert.equal(knowledge.inputs.query, 'How long do I have to ask for a refund?');

    // What the model got: the uploaded passage in the system prompt, the history, then the question.
    const seen = anthropic.requests.at(-1)!;
    assert.match(seen.system, /\[1\] refunds\.md/);
    assert.ok(seen.system.includes(REFUNDS));
    assert.deepEqual(
      seen.body.messages.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
    assert.equal(seen.body.temperature, 0.7);

    const stored = (await call('GET', wf(ragBot, `/runs/${body.run_id}`))).json();
    assert.equal(stored.status, 'succeeded');
    assert.equal(stored.source, 'draft');
    assert.equal(stored.started_by, owner.userId);
    assert.equal(stored.answer, body.answer);
    assert.equal(stored.steps, 4);
    assert.deepEqual(stored.usage, { input_tokens: 100, output_tokens: 10 });
    assert.equal(stored.trace.run_id, body.run_id);
    assert.equal(stored.trace.nodes.length, 4);
    assert.ok(stored.finished_at);
  });

  it('streams a test run: run, node events, sources, deltas, then done — stored before done arrives', async () => {
    anthropic.script.tokenDelayMs = 20;
    const res = await stream(wf(ragBot, '/run'), { message: 'Refund within how many days?' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    let rowAtDone: Promise<{ json(): Data }> | undefined;
    const events = await readSse(res, (e) => {
      // Read the run the moment `done` arrives: the row is already complete.
      if (e.event === 'done') rowAtDone = call('GET', wf(ragBot, `/runs/${(e.data as Data).run_id}`));
    });
    const names = events.map((e) => e.event);
    assert.equal(names[0], 'run');
    assert.equal(names.at(-1), 'done');
    assert.equal(names.filter((n) => n === 'done' || n === 'error').length, 1);
    assert.ok(names.indexOf('sources') < names.indexOf('delta'), 'sources before the first delta');
    const nodes = named(events, 'node').map((e) => e.data as Data);
    assert.deepEqual(
      nodes.filter((n) => n.status === 'running').map((n) => n.node_id),
      ['start', 'knowledge_1', 'llm_1', 'end'],
    );
    assert.ok(
      nodes.some((n) => n.node_id === 'llm_1' && n.status === 'succeeded' && typeof n.duration_ms === 'number'),
    );
    const deltas = named(events, 'delta').map((e) => (e.data as { text: string }).text);
    assert.ok(deltas.length > 3, 'the model text streamed in pieces');
    const done = events.at(-1)!.data as Data;
    assert.equal(deltas.join(''), done.answer);
    assert.equal(done.run_id, (events[0]!.data as Data).run_id);
    assert.equal((done.trace as { nodes: unknown[] }).nodes.length, 4);
    assert.equal(
      (named(events, 'sources')[0]!.data as { sources: { filename: string }[] }).sources[0]?.filename,
      'refunds.md',
    );

    const row = (await rowAtDone)?.json() ?? {};
    assert.equal(row.status, 'succeeded');
    assert.equal(row.answer, done.answer);
  });

  it('a failing node fails the run: 502 workflow_failed with the node and trace (JSON), an error event (SSE), stored as failed', async () => {
    anthropic.script.failTimes = 1;
    anthropic.script.failStatus = 400;
    const res = await call('POST', wf(ragBot, '/run'), { message: 'refund?' });
    assert.equal(res.statusCode, 502, res.body);
    const body = res.json();
    assert.equal(body.code, 'workflow_failed');
    assert.equal(body.workflow_code, 'llm_error');
    assert.equal(body.node_id, 'llm_1');
    const statuses = Object.fromEntries(
      body.trace.nodes.map((n: { node_id: string; status: string }) => [n.node_id, n.status]),
    );
    assert.equal(statuses.knowledge_1, 'succeeded');
    assert.equal(statuses.llm_1, 'failed');
    assert.notEqual(statuses.end, 'succeeded');
    assert.equal(body.trace.error.node_id, 'llm_1');
    const stored = (await call('GET', wf(ragBot, `/runs/${body.run_id}`))).json();
    assert.equal(stored.status, 'failed');
    assert.deepEqual(stored.error, { code: 'llm_error', message: stored.error.message, node_id: 'llm_1' });

    anthropic.script.failTimes = 1;
    const events = await readSse(await stream(wf(ragBot, '/run'), { message: 'refund?' }));
    const last = events.at(-1)!;
    assert.equal(last.event, 'error');
    assert.equal((last.data as Data).code, 'workflow_failed');
    assert.equal((last.data as Data).workflow_code, 'llm_error');
    assert.equal((last.data as Data).node_id, 'llm_1');
    assert.equal(named(events, 'done').length, 0);
  });

  it('refuses to reach the server’s own network from an http_request node (SSRF guard)', async () => {
    const { port } = intranet.address() as AddressInfo;
    for (const url of [`http://127.0.0.1:${port}/admin`, 'http://169.254.169.254/latest/meta-data/']) {
      const saved = await call('PUT', wf(routerBot), { document: httpWorkflow(url) });
      assert.equal(saved.statusCode, 200, saved.body);
      const res = await call('POST', wf(routerBot, '/run'), { message: 'hi' });
      assert.equal(res.statusCode, 502, res.body);
      assert.equal(res.json().workflow_code, 'http_blocked', url);
      assert.equal(res.json().node_id, 'http_1');
    }
    assert.equal(intranetHits, 0, 'no request reached the loopback server');
  });

  it('publishes immutable versions: editing the draft never changes what is published; rollback and unpublish', async () => {
    const doc = sample('basic-rag');
    const draft = (await call('PUT', wf(ragBot), { document: doc })).json();
    const published = await call('POST', wf(ragBot, '/publish'), { revision: draft.revision, note: 'first' });
    assert.equal(published.statusCode, 200, published.body);
    const v1 = published.json();
    assert.equal(v1.draft_revision, draft.revision);
    assert.equal(v1.note, 'first');
    assert.deepEqual(v1.document, draft.document);

    // Edit the draft: the published version stays as it was.
    const edited = structuredClone(doc) as { nodes: { id: string; data: Data }[] };
    const llm = edited.nodes.find((n) => n.id === 'llm_1')!;
    llm.data.system = `Answer in one word.\n\n${String(llm.data.system)}`;
    const draft2 = (await call('PUT', wf(ragBot), { document: edited })).json();
    let state = (await call('GET', wf(ragBot))).json();
    assert.equal(state.mode, 'workflow');
    assert.equal(state.published.version, v1.version);
    assert.deepEqual(state.published.document, v1.document);
    assert.match(state.draft.document.nodes[2].data.system, /^Answer in one word/);

    assert.equal((await call('POST', wf(ragBot, '/publish'), { revision: draft.revision })).statusCode, 409);
    const v2 = (await call('POST', wf(ragBot, '/publish'), { revision: draft2.revision })).json();
    assert.equal(v2.version, v1.version + 1);
    const versions = (await call('GET', wf(ragBot, '/versions'))).json().versions;
    assert.deepEqual(
      versions.map((v: { version: number; is_published: boolean }) => [v.version, v.is_published]),
      [
        [v2.version, true],
        [v1.version, false],
      ],
    );
    assert.deepEqual((await call('GET', wf(ragBot, `/versions/${v1.version}`))).json().document, v1.document);
    assert.equal((await call('GET', wf(ragBot, '/versions/999'))).statusCode, 404);
    assert.equal((await call('GET', wf(ragBot, '/versions/x'))).statusCode, 404);

    // Rollback: serve version 1 again, without a new version.
    const back = (await call('POST', wf(ragBot, '/publish'), { version: v1.version })).json();
    assert.equal(back.version, v1.version);
    state = (await call('GET', wf(ragBot))).json();
    assert.equal(state.published.version, v1.version);
    assert.equal((await call('POST', wf(ragBot, '/publish'), { version: 42 })).statusCode, 404);
    // Chat reads which version answers from the bot row; a trigger keeps it in step.
    const botWorkflowVersion = async () =>
      (await h.t.db.query<{ v: number | null }>('SELECT workflow_version AS v FROM bots WHERE id = $1', [ragBot]))[0]
        ?.v;
    assert.equal(await botWorkflowVersion(), v1.version);

    // Unpublish: plain RAG again; draft and versions stay.
    assert.equal((await call('DELETE', wf(ragBot))).statusCode, 204);
    assert.equal(await botWorkflowVersion(), null);
    const asked = await call('POST', '/api/v1/chat', { message: 'What is the refund window?', bot_id: ragBot });
    assert.notEqual(asked.json().mode, 'workflow', 'an unpublished workflow no longer answers chat');
    state = (await call('GET', wf(ragBot))).json();
    assert.equal(state.mode, 'rag');
    assert.equal(state.published, null);
    assert.equal(state.draft.revision, draft2.revision);
    assert.equal((await call('GET', wf(ragBot, '/versions'))).json().versions.length, 2);
    assert.equal((await call('DELETE', wf(ragBot))).statusCode, 204, 'idempotent');
  });

  it('chat on a bot with a published workflow runs the published version (JSON and streaming), recorded as runs', async () => {
    await call('PUT', wf(ragBot), { document: sample('basic-rag') });
    const version = (await call('POST', wf(ragBot, '/publish'), {})).json().version;
    // A draft edit after publishing must not reach chat.
    const edited = structuredClone(sample('basic-rag')) as { nodes: { id: string; data: Data }[] };
    (edited.nodes.find((n) => n.id === 'end') as { data: Data }).data.answer = 'DRAFT ONLY';
    await call('PUT', wf(ragBot), { document: edited });

    const res = await call('POST', '/api/v1/chat', { bot_id: ragBot, message: 'How many days for a refund?' });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.mode, 'workflow');
    assert.equal(body.response, 'You have 30 days to ask for a refund [1].');
    assert.equal(body.sources[0].filename, 'refunds.md');
    assert.deepEqual(body.usage, { input_tokens: 100, output_tokens: 10 });
    assert.equal(body.cost_usd, COST_PER_CALL);
    assert.equal(body.provider, 'anthropic');

    const runs = (await call('GET', wf(ragBot, `/runs?source=published&session_id=${body.session_id}`))).json().runs;
    assert.equal(runs.length, 1);
    assert.equal(runs[0].version, version);
    assert.equal(runs[0].chat_message_id, body.message_id);
    assert.equal(runs[0].status, 'succeeded');
    assert.equal(runs[0].started_by, null);
    assert.equal(runs[0].trace, undefined, 'lists carry no traces');

    // Streaming through chat, as a follow-up in the same session (history reaches the workflow).
    anthropic.script.tokenDelayMs = 10;
    const sse = await stream('/api/v1/chat', {
      bot_id: ragBot,
      message: 'Does the refund go back to the card?',
      session_id: body.session_id,
    });
    const events = await readSse(sse);
    const names = events.map((e) => e.event);
    assert.equal(names[0], 'sources');
    assert.ok(names.filter((n) => n === 'delta').length > 3);
    assert.equal(names.at(-1), 'done');
    assert.equal((events.at(-1)!.data as Data).mode, 'workflow');
    const text = named(events, 'delta')
      .map((e) => (e.data as { text: string }).text)
      .join('');
    assert.equal(text, 'You have 30 days to ask for a refund [1].');
    assert.deepEqual(
      anthropic.requests.at(-1)?.body.messages.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
    const all = (await call('GET', wf(ragBot, `/runs?session_id=${body.session_id}`))).json().runs;
    assert.equal(all.length, 2);
    // Deleting the session deletes its runs too: they hold its messages.
    assert.equal((await call('DELETE', `/api/v1/chat/sessions/${body.session_id}`)).statusCode, 204);
    assert.deepEqual((await call('GET', wf(ragBot, `/runs?session_id=${body.session_id}`))).json().runs, []);

    // Unpublished: chat is plain RAG again.
    await call('DELETE', wf(ragBot));
    const rag = (await call('POST', '/api/v1/chat', { bot_id: ragBot, message: 'refund days?' })).json();
    assert.equal(rag.mode, 'llm');
  });

  it('classifier-routing sample: each class answers from its own documents with its own prompt, through chat', async () => {
    const saved = await call('PUT', wf(routerBot), { document: sample('classifier-routing') });
    assert.equal(saved.statusCode, 200, saved.body);
    assert.equal((await call('POST', wf(routerBot, '/publish'), {})).statusCode, 200);

    const billing = (await call('POST', '/api/v1/chat', { bot_id: routerBot, message: 'Can I get a refund?' })).json();
    assert.equal(billing.response, 'Billing: within 30 days [1].');
    assert.deepEqual(
      billing.sources.map((s: { filename: string }) => s.filename),
      ['billing.md'],
    );
    assert.deepEqual(billing.usage, { input_tokens: 200, output_tokens: 20 }, 'classifier + answer');
    assert.equal(billing.cost_usd, 2 * COST_PER_CALL);

    const tech = (
      await call('POST', '/api/v1/chat', { bot_id: routerBot, message: 'The agent crashes on start' })
    ).json();
    assert.equal(tech.response, 'Tech: upgrade Node [1].');
    assert.deepEqual(
      tech.sources.map((s: { filename: string }) => s.filename),
      ['install.md'],
    );

    const [run] = (await call('GET', wf(routerBot, `/runs?session_id=${tech.session_id}`))).json().runs;
    const trace = (await call('GET', wf(routerBot, `/runs/${run.id}`))).json().trace;
    const byId = Object.fromEntries(trace.nodes.map((n: { node_id: string }) => [n.node_id, n]));
    assert.equal(byId.classify.branch, 'technical');
    assert.equal(byId.knowledge_billing.status, 'skipped');
    assert.equal(byId.end_technical.status, 'succeeded');
  });

  it('lists runs newest first with filters and pages, and finds each run only under its own bot', async () => {
    const page = (await call('GET', wf(ragBot, '/runs?limit=2'))).json();
    assert.equal(page.runs.length, 2);
    assert.ok(page.runs[0].started_at >= page.runs[1].started_at);
    const failed = (await call('GET', wf(ragBot, '/runs?status=failed'))).json().runs;
    assert.ok(failed.length >= 2);
    assert.ok(failed.every((r: { status: string }) => r.status === 'failed'));
    const drafts = (await call('GET', wf(ragBot, '/runs?source=draft&limit=200'))).json().runs;
    assert.ok(drafts.every((r: { source: string }) => r.source === 'draft'));

    const routerRun = (await call('GET', wf(routerBot, '/runs?limit=1'))).json().runs[0];
    assert.equal((await call('GET', wf(routerBot, `/runs/${routerRun.id}`))).statusCode, 200);
    assert.equal((await call('GET', wf(ragBot, `/runs/${routerRun.id}`))).statusCode, 404, 'another bot’s run');
    assert.equal((await call('GET', wf(ragBot, '/runs/not-a-uuid'))).statusCode, 404);
    assert.equal((await call('GET', wf(ragBot, '/runs?status=bogus'))).statusCode, 400);
  });

  it('closes runs a stopped server left running, once they outlive the longest run allowed', async () => {
    // As a crash leaves them: `running`, never finished. One from long ago, one just started.
    const [abandoned, live] = [crypto.randomUUID(), crypto.randomUUID()];
    await h.t.db.query(
      `INSERT INTO workflow_runs (id, bot_id, source, message, started_at)
       VALUES ($1, $3, 'draft', 'crashed', now() - interval '3 hours'), ($2, $3, 'draft', 'in flight', now())`,
      [abandoned, live, ragBot],
    );
    const runs = (await call('GET', wf(ragBot, '/runs?source=draft&limit=200'))).json().runs;
    const byId = new Map(runs.map((r: Data) => [r.id, r]));
    assert.equal((byId.get(abandoned) as Data).status, 'failed');
    assert.equal(((byId.get(abandoned) as Data).error as Data).code, 'interrupted');
    assert.ok((byId.get(abandoned) as Data).finished_at);
    assert.equal((byId.get(live) as Data).status, 'running', 'a run that may still be going is left alone');
    const one = (await call('GET', wf(ragBot, `/runs/${abandoned}`))).json();
    assert.match(one.error.message, /interrupted/);
  });

  it('answers 401 without credentials and 404 to another team, whatever the route', async () => {
    const routes: [method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: Data][] = [
      ['GET', ''],
      ['PUT', '', { document: sample('basic-rag') }],
      ['DELETE', ''],
      ['POST', '/publish', {}],
      ['POST', '/run', { message: 'hi' }],
      ['GET', '/runs'],
      ['GET', '/versions'],
    ];
    for (const [method, path, body] of routes) {
      const anonymous = await h.app.inject({ method, url: wf(ragBot, path), ...(body ? { payload: body } : {}) });
      assert.equal(anonymous.statusCode, 401, `${method} ${path}`);
      const foreign = await call(method, wf(ragBot, path), body, stranger.auth);
      assert.equal(foreign.statusCode, 404, `${method} ${path}`);
    }
    const ownRun = (await call('GET', wf(ragBot, '/runs?limit=1'))).json().runs[0];
    assert.equal((await call('GET', wf(ragBot, `/runs/${ownRun.id}`), undefined, stranger.auth)).statusCode, 404);

    // A bot key works on its own bot only.
    const key = (await call('POST', `/api/v1/bots/${ragBot}/api-keys`, { name: 'ci' })).json().key as string;
    const keyAuth = { authorization: `Bearer ${key}` };
    assert.equal((await call('GET', wf(ragBot), undefined, keyAuth)).statusCode, 200);
    assert.equal((await call('GET', wf(routerBot), undefined, keyAuth)).statusCode, 404);
  });

  it('describes node types and samples for an editor', async () => {
    const types = (await call('GET', '/api/v1/workflows/node-types')).json().node_types;
    const names = types.map((t: { type: string }) => t.type);
    for (const t of ['start', 'knowledge', 'llm', 'end', 'question_classifier', 'http_request', 'iteration']) {
      assert.ok(names.includes(t), t);
    }
    assert.equal(types.find((t: { type: string }) => t.type === 'question_classifier').branching, true);
    const samples = (await call('GET', '/api/v1/workflows/samples')).json().samples;
    assert.deepEqual(samples.map((s: { name: string }) => s.name).sort(), ['basic-rag', 'classifier-routing']);
    assert.deepEqual(samples.find((s: { name: string }) => s.name === 'basic-rag').document, sample('basic-rag'));
    assert.equal((await h.app.inject({ method: 'GET', url: '/api/v1/workflows/node-types' })).statusCode, 401);
  });
});
