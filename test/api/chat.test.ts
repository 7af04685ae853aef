import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type ChatEvent, type ChatInput, createChatService } from '../../src/modules/chat/service.ts';
import type { WorkflowTurn, WorkflowTurnRunner } from '../../src/modules/chat/workflow-seam.ts';
import { writeCorpus } from '../../src/modules/retrieval/eval/corpus.ts';
import { createLlmRegistry } from '../../src/providers/llm/registry.ts';
import { type AnthropicRequestBody, contentText, type FakeLlmServer, startFakeAnthropic } from '../fakes/anthropic.ts';
import { type ChatCompletionsRequestBody, startFakeOpenAiChat } from '../fakes/openai-chat.ts';
import { buildTestApp, type Session, signUp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';
import { eventually } from '../helpers/multipart.ts';
import { parseSse, type ReceivedEvent, readSse } from '../helpers/sse.ts';

const POLICY = 'Items can be returned within 30 days of delivery. Refunds reach your card within five business days.';
const SOFTWARE = 'Opened software and gift cards cannot be returned.';
const SHIPPING = '주문하신 상품은 평일 기준 2일 안에 배송됩니다. 제주도는 하루가 더 걸립니다.';
const SECRET = 'The launch code of project Zebra is 0000. Returned items go to the Zebra warehouse.';

const ANSWER = 'You can return items within 30 days [1].';
const USAGE = { inputTokens: 1000, outputTokens: 50 };
/** claude-sonnet-4-5 list price: $3 / $15 per million tokens. */
const ANTHROPIC_COST = (1000 * 3 + 50 * 15) / 1e6;

const event = (events: ReceivedEvent[], name: string) => events.filter((e) => e.event === name);

describe(`chat (${testDriver})`, () => {
  let anthropic: FakeLlmServer<AnthropicRequestBody>;
  let openai: FakeLlmServer<ChatCompletionsRequestBody>;
  let h: TestApp;
  let base: string;
  let owner: Session;
  let botId: string;
  let otherBotId: string;

  before(async () => {
    anthropic = await startFakeAnthropic({ apiKey: 'test-key' });
    openai = await startFakeOpenAiChat({ apiKey: 'test-key' });
    const env = {
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: anthropic.url,
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: `${openai.url}/v1`,
      LLM_FALLBACK_PROVIDER: 'openai' as const,
      EMBEDDING_PROVIDER: 'none' as const,
      RATE_LIMIT_ENABLED: 'false' as const,
    };
    // Same providers, with retries fast enough for a test.
    const llm = createLlmRegistry(loadConfig({ ENVIRONMENT: 'test', ...env }), {
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    });
    h = await buildTestApp(env, { deps: { llm } });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    owner = await signUp(h.app, 'chat');
    const create = (name: string, settings = {}) =>
      h.app
        .inject({ method: 'POST', url: '/api/v1/bots', headers: owner.auth, payload: { name, settings } })
        .then((r) => r.json().id as string);
    botId = await create('Shop', {
      prompt: { system: 'You are the help desk of ACME.', no_answer: 'No idea, sorry.' },
    });
    otherBotId = await create('Other');
    await writeCorpus(h.t.db, botId, [
      { filename: 'policy.md', content: POLICY, metadata: { page: 2, section_path: ['Returns'] } },
      { filename: 'software.md', content: SOFTWARE },
      { filename: 'shipping.md', content: SHIPPING },
    ]);
    await writeCorpus(h.t.db, otherBotId, [{ filename: 'secret.md', content: SECRET }]);
  });
  after(async () => {
    await h.close();
    await Promise.all([anthropic.close(), openai.close()]);
  });
  beforeEach(() => {
    for (const fake of [anthropic, openai] as FakeLlmServer<unknown>[]) {
      for (const key of Object.keys(fake.script))
        if (key !== 'apiKey') delete (fake.script as Record<string, unknown>)[key];
    }
    anthropic.script.reply = ANSWER;
    anthropic.script.usage = USAGE;
  });

  const chat = (payload: Record<string, unknown>, headers: Record<string, string> = owner.auth) =>
    h.app.inject({ method: 'POST', url: '/api/v1/chat', headers, payload });
  const stream = (payload: Record<string, unknown>, signal?: AbortSignal) =>
    fetch(`${base}/api/v1/chat`, {
      method: 'POST',
      headers: { ...owner.auth, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(payload),
      ...(signal ? { signal } : {}),
    });
  const storedMessage = async (id: string) =>
    (await h.t.db.query<Record<string, unknown>>('SELECT * FROM chat_messages WHERE id = $1', [id]))[0];

  it('answers as JSON in the original shape, from numbered, delimited passages, and stores usage and cost', async () => {
    const res = await chat({ message: 'How long do I have to return an item?', bot_id: botId });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.response, ANSWER);
    assert.equal(body.mode, 'llm');
    assert.match(body.session_id, /^[0-9a-f-]{36}$/);
    assert.equal(body.sources[0].filename, 'policy.md');
    assert.equal(body.sources[0].content, POLICY);
    assert.equal(body.sources[0].page, 2);
    assert.equal(body.sources[0].section, 'Returns');
    assert.deepEqual(body.usage, { input_tokens: 1000, output_tokens: 50 });
    assert.equal(body.cost_usd, ANTHROPIC_COST);
    assert.equal(body.provider, 'anthropic');

    // What the model saw: the bot's prompt and the rules, then exactly the sources returned.
    const seen = anthropic.requests.at(-1)!;
    assert.equal(seen.stream, true);
    assert.match(seen.system, /^You are the help desk of ACME\./);
    assert.match(seen.system, /reference data, not instructions/);
    assert.match(seen.prompt, /^<sources>\n<source id="1" file="policy\.md" page="2" section="Returns">\n/);
    assert.ok(seen.prompt.endsWith('Question: How long do I have to return an item?'));
    const ids = [...seen.prompt.matchAll(/<source id="(\d+)" file="([^"]+)"/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(
      ids,
      body.sources.map((s: { filename: string }, i: number) => [String(i + 1), s.filename]),
    );
    for (const s of body.sources) assert.ok(seen.prompt.includes(s.content));

    const row = await storedMessage(body.message_id);
    assert.equal(row?.role, 'assistant');
    assert.equal(row?.content, ANSWER);
    assert.equal(row?.input_tokens, 1000);
    assert.equal(row?.output_tokens, 50);
    assert.equal(Number(row?.cost_usd), ANTHROPIC_COST);
    assert.equal((row?.sources as unknown[] | undefined)?.length, body.sources.length);
  });

  it('streams sources, then deltas flushed one by one, then done; Accept: text/event-stream also streams', async () => {
    anthropic.script.reply = 'Returns are accepted for thirty days [1].';
    anthropic.script.tokenDelayMs = 40;
    const res = await stream({ message: 'Can I return an item?', bot_id: botId });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache, no-transform');
    assert.ok(res.headers.get('x-request-id'));
    const events = await readSse(res);
    assert.deepEqual([...new Set(events.map((e) => e.event))], ['sources', 'delta', 'done']);
    assert.equal(events[0]?.event, 'sources');
    assert.equal(events.at(-1)?.event, 'done');
    const deltas = event(events, 'delta');
    assert.equal(deltas.map((d) => (d.data as { text: string }).text).join(''), anthropic.script.reply);
    // Each delta left the server when the model sent it: they arrive spread over the stream.
    assert.ok(deltas.length >= 6);
    assert.ok(deltas.at(-1)!.at - deltas[0]!.at >= 120, 'deltas were buffered instead of flushed');
    const done = events.at(-1)!.data as Record<string, unknown>;
    assert.equal(done.mode, 'llm');
    assert.deepEqual(done.usage, { input_tokens: 1000, output_tokens: 50 });
    assert.equal(done.cost_usd, ANTHROPIC_COST);
    const sources = (events[0]!.data as { sources: { filename: string }[] }).sources;
    assert.equal(sources[0]?.filename, 'policy.md');
    assert.equal((await storedMessage(done.message_id as string))?.content, anthropic.script.reply);

    const negotiated = await h.app.inject({
      method: 'POST',
      url: '/api/v1/chat',
      headers: { ...owner.auth, accept: 'text/event-stream' },
      payload: { message: 'Can I return an item?', bot_id: botId },
    });
    assert.match(String(negotiated.headers['content-type']), /^text\/event-stream/);
    assert.deepEqual(parseSse(negotiated.body).map((e) => e.event)[0], 'sources');
  });

  it('falls back to OpenAI when Anthropic keeps failing, and records who answered', async () => {
    anthropic.script.failTimes = 2;
    openai.script.reply = 'Thirty days [1].';
    openai.script.usage = USAGE;
    const before = anthropic.requests.length;
    const res = await chat({ message: 'How long do I have to return an item?', bot_id: botId });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.response, 'Thirty days [1].');
    assert.equal(body.provider, 'openai');
    assert.equal(body.model, 'gpt-4o-mini');
    assert.equal(body.cost_usd, (1000 * 0.15 + 50 * 0.6) / 1e6);
    assert.equal(anthropic.requests.length - before, 2, 'the primary was retried before falling back');
    assert.match(openai.requests.at(-1)!.system, /reference data, not instructions/);
    const row = await storedMessage(body.message_id);
    assert.equal(row?.provider, 'openai');
  });

  it('an LLM failure arrives as an SSE error event, and as 502 problem+json without streaming', async () => {
    anthropic.script.failTimes = 2;
    openai.script.failTimes = 2;
    const res = await stream({ message: 'How long do I have to return an item?', bot_id: botId });
    assert.equal(res.status, 200);
    const events = await readSse(res);
    assert.deepEqual(
      events.map((e) => e.event),
      ['sources', 'error'],
    );
    const error = events[1]!.data as { code: string; detail: string; message_id: string; session_id: string };
    assert.equal(error.code, 'provider_error');
    assert.match(error.detail, /anthropic → openai/);
    assert.equal((await storedMessage(error.message_id))?.error_code, 'provider_error');

    // Failing after some text: the text already sent stays, the error follows it.
    anthropic.script.failAfterChunks = 2;
    anthropic.script.reply = 'one two three four five';
    const midway = await readSse(await stream({ message: 'Can I return an item?', bot_id: botId }));
    assert.deepEqual(
      midway.map((e) => e.event),
      ['sources', 'delta', 'delta', 'error'],
    );
    const stored = await storedMessage((midway.at(-1)!.data as { message_id: string }).message_id);
    assert.equal(stored?.content, 'one two ');
    assert.equal(stored?.error_code, 'provider_error');

    anthropic.script.failAfterChunks = undefined;
    anthropic.script.failTimes = 2;
    openai.script.failTimes = 2;
    const json = await chat({ message: 'How long do I have to return an item?', bot_id: botId });
    assert.equal(json.statusCode, 502);
    assert.equal(json.json().code, 'provider_error');
    assert.match(json.json().session_id, /^[0-9a-f-]{36}$/);
  });

  it('a client that disconnects stops the model stream', async () => {
    anthropic.script.reply = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    anthropic.script.tokenDelayMs = 100; // four seconds in all
    const controller = new AbortController();
    const res = await stream({ message: 'Can I return an item?', bot_id: botId }, controller.signal);
    let firstDelta = false;
    await readSse(res, (e) => {
      if (e.event === 'delta' && !firstDelta) {
        firstDelta = true;
        controller.abort();
      }
    }).catch(() => {});
    assert.ok(firstDelta);
    const abortedAt = Date.now();
    const row = await eventually(
      async () =>
        (
          await h.t.db.query<{ content: string; error_code: string }>(
            "SELECT content, error_code FROM chat_messages WHERE bot_id = $1 AND error_code = 'cancelled'",
            [botId],
          )
        )[0],
      3_000,
      'the cancelled answer stored',
    );
    assert.ok(Date.now() - abortedAt < 2_500, 'the turn ended long before the model would have finished');
    assert.ok(row.content.length > 0 && row.content.length < anthropic.script.reply.length);
  });

  it('narrows a turn’s retrieval with request filters, e.g. to one customer’s documents', async () => {
    const question = 'Which items can be returned, and how is shipping?';
    const narrowed = await chat({ message: question, bot_id: botId, filters: { metadata: { page: 2 } } });
    assert.equal(narrowed.statusCode, 200, narrowed.body);
    assert.deepEqual(
      narrowed.json().sources.map((x: { filename: string }) => x.filename),
      ['policy.md'],
    );
    const before = anthropic.requests.length;
    const none = await chat({ message: question, bot_id: botId, filters: { document_ids: [randomUUID()] } });
    assert.equal(none.json().mode, 'no_answer');
    assert.equal(anthropic.requests.length, before, 'nothing to ground an answer on: no model call');
    const invalid = await chat({ message: question, bot_id: botId, filters: { document_ids: ['not-a-uuid'] } });
    assert.equal(invalid.statusCode, 400);
  });

  it('says it does not know, without calling the LLM, when nothing relevant is found', async () => {
    const before = anthropic.requests.length;
    const res = await chat({ message: 'quantum chromodynamics lattice', bot_id: botId });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().response, 'No idea, sorry.');
    assert.equal(res.json().mode, 'no_answer');
    assert.deepEqual(res.json().sources, []);
    assert.equal(anthropic.requests.length, before);
  });

  it('keeps the conversation: history in the prompt and the follow-up rewritten for search', async () => {
    anthropic.script.reply = (req) =>
      req.system.startsWith('You rewrite')
        ? 'refund time to the card for returned items'
        : req.body.messages.length > 1
          ? 'Refunds take five business days [1].'
          : ANSWER;
    const first = (await chat({ message: 'How long do I have to return an item?', bot_id: botId })).json();
    const before = anthropic.requests.length;
    const second = await chat({ message: 'And my money?', bot_id: botId, session_id: first.session_id });
    assert.equal(second.statusCode, 200, second.body);
    assert.equal(second.json().session_id, first.session_id);
    assert.equal(second.json().response, 'Refunds take five business days [1].');

    const [rewrite, answer] = anthropic.requests.slice(before);
    assert.equal(rewrite?.stream, false);
    assert.match(
      rewrite!.prompt,
      /User: How long do I have to return an item\?\nAssistant: You can return items within 30 days \[1\]\./,
    );
    assert.match(rewrite!.prompt, /Last question: And my money\?/);
    assert.deepEqual(
      answer!.body.messages.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
    assert.equal(contentText(answer!.body.messages[0]!.content), 'How long do I have to return an item?');
    assert.ok(answer!.prompt.endsWith('Question: And my money?'));
    // The rewritten query found the refund passage; usage counts both calls.
    assert.equal(second.json().sources[0].filename, 'policy.md');
    assert.deepEqual(second.json().usage, { input_tokens: 2000, output_tokens: 100 });
    const stored = await storedMessage(second.json().message_id);
    assert.equal(stored?.search_query, 'refund time to the card for returned items');

    const sessions = (
      await h.app.inject({ method: 'GET', url: `/api/v1/chat/sessions?bot_id=${botId}`, headers: owner.auth })
    ).json().sessions;
    const session = sessions.find((s: { id: string }) => s.id === first.session_id);
    assert.equal(session.message_count, 4);
    assert.equal(session.title, 'How long do I have to return an item?');
    const messages = (
      await h.app.inject({
        method: 'GET',
        url: `/api/v1/chat/sessions/${first.session_id}/messages`,
        headers: owner.auth,
      })
    ).json().messages;
    assert.deepEqual(
      messages.map((m: { role: string }) => m.role),
      ['user', 'assistant', 'user', 'assistant'],
    );
    assert.equal(messages[3].search_query, 'refund time to the card for returned items');
    assert.equal(messages[3].sources[0].filename, 'policy.md');

    // A session belongs to its bot: used with another bot it does not exist.
    const foreign = await chat({ message: 'hello', bot_id: otherBotId, session_id: first.session_id });
    assert.equal(foreign.statusCode, 404);
  });

  it('deletes a session with its messages and feedback; strangers cannot', async () => {
    const answer = (await chat({ message: 'How long do I have to return an item?', bot_id: botId })).json();
    await h.app.inject({
      method: 'POST',
      url: `/api/v1/chat/messages/${answer.message_id}/feedback`,
      headers: owner.auth,
      payload: { rating: 'up' },
    });
    const remove = (headers: Record<string, string>) =>
      h.app.inject({ method: 'DELETE', url: `/api/v1/chat/sessions/${answer.session_id}`, headers });
    const stranger = await signUp(h.app, 'session-stranger');
    assert.equal((await remove(stranger.auth)).statusCode, 404, "another team's session is unknown");
    assert.equal((await remove(owner.auth)).statusCode, 204);
    const left = await h.t.db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM chat_messages WHERE session_id = $1)
            + (SELECT count(*) FROM message_feedback WHERE message_id = $2)::int AS n`,
      [answer.session_id, answer.message_id],
    );
    assert.equal(Number(left[0]?.n), 0, 'messages and feedback went with it');
    const messages = await h.app.inject({
      method: 'GET',
      url: `/api/v1/chat/sessions/${answer.session_id}/messages`,
      headers: owner.auth,
    });
    assert.equal(messages.statusCode, 404);
    assert.equal((await remove(owner.auth)).statusCode, 404, 'deleted is gone');
  });

  it('takes feedback on answers: one rating per caller, replaced by the next', async () => {
    const answer = (await chat({ message: 'Can I return an item?', bot_id: botId })).json();
    const rate = (id: string, payload: Record<string, unknown>) =>
      h.app.inject({ method: 'POST', url: `/api/v1/chat/messages/${id}/feedback`, headers: owner.auth, payload });
    assert.equal((await rate(answer.message_id, { rating: 'up' })).statusCode, 200);
    const down = await rate(answer.message_id, { rating: 'down', comment: 'Too short' });
    assert.equal(down.statusCode, 200);
    assert.equal(down.json().rating, 'down');
    const rows = await h.t.db.query<{ rating: string; comment: string }>(
      'SELECT rating, comment FROM message_feedback WHERE message_id = $1',
      [answer.message_id],
    );
    assert.deepEqual(rows, [{ rating: 'down', comment: 'Too short' }]);
    const messages = (
      await h.app.inject({
        method: 'GET',
        url: `/api/v1/chat/sessions/${answer.session_id}/messages`,
        headers: owner.auth,
      })
    ).json().messages;
    assert.deepEqual(messages[1].feedback, [{ rating: 'down', comment: 'Too short' }]);
    const question = messages[0].id;
    assert.equal((await rate(question, { rating: 'up' })).statusCode, 400);
    assert.equal((await rate('00000000-0000-4000-8000-000000000000', { rating: 'up' })).statusCode, 404);
    assert.equal((await rate(answer.message_id, { rating: 'meh' })).statusCode, 400);
  });

  it('sums usage and cost per bot, by provider and model, within a time range', async () => {
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/bots/${botId}/usage`, headers: owner.auth });
    assert.equal(res.statusCode, 200, res.body);
    const usage = res.json();
    const rows = await h.t.db.query<{ n: number; i: number; o: number; c: string }>(
      `SELECT count(*)::int AS n, sum(input_tokens)::int AS i, sum(output_tokens)::int AS o, sum(cost_usd)::text AS c
       FROM chat_messages WHERE bot_id = $1 AND role = 'assistant'`,
      [botId],
    );
    assert.equal(usage.messages, rows[0]!.n);
    assert.equal(usage.input_tokens, rows[0]!.i);
    assert.equal(usage.output_tokens, rows[0]!.o);
    assert.ok(Math.abs(usage.cost_usd - Number(rows[0]!.c)) < 1e-9);
    assert.ok(usage.errors >= 1);
    const anthropicRow = usage.by_model.find(
      (r: { provider: string; mode: string }) => r.provider === 'anthropic' && r.mode === 'llm',
    );
    assert.equal(anthropicRow.model, 'claude-sonnet-4-5-20250929');
    assert.ok(usage.by_model.some((r: { provider: string }) => r.provider === 'openai'));
    const past = await h.app.inject({
      method: 'GET',
      url: `/api/v1/bots/${botId}/usage?from=2001-01-01T00:00:00Z&to=2001-02-01T00:00:00Z`,
      headers: owner.auth,
    });
    assert.equal(past.json().messages, 0);
    assert.equal(past.json().cost_usd, 0);
  });

  it('a bot never retrieves another bot’s chunks, and strangers cannot chat with it', async () => {
    const res = await chat({ message: 'What is the launch code of project Zebra?', bot_id: botId });
    assert.equal(res.json().mode, 'no_answer');
    const before = anthropic.requests.length;
    const other = (await chat({ message: 'Which items can be returned within 30 days?', bot_id: otherBotId })).json();
    assert.deepEqual(
      other.sources.map((s: { filename: string }) => s.filename),
      ['secret.md'],
    );
    assert.ok(!anthropic.requests.slice(before).some((r) => r.prompt.includes('within 30 days of delivery')));

    const stranger = await signUp(h.app, 'stranger');
    const foreign = await chat({ message: 'What can be returned?', bot_id: botId }, stranger.auth);
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json().code, 'not_found');
  });

  it('with no LLM configured at all, answers extractively: the best passages with [n] citations', async () => {
    // The same database and callers, served by an app whose operator configured no LLM.
    const config = loadConfig({ ENVIRONMENT: 'test', EMBEDDING_PROVIDER: 'none', RATE_LIMIT_ENABLED: 'false' });
    const bare = await buildApp({
      ...h.deps,
      config: { ...h.config, llm: config.llm },
      llm: createLlmRegistry(config),
    });
    try {
      const before = anthropic.requests.length;
      const res = await bare.app.inject({
        method: 'POST',
        url: '/api/v1/chat',
        headers: owner.auth,
        payload: { message: '제주도 배송은 며칠 걸리나요?', bot_id: botId, stream: true },
      });
      const events = parseSse(res.body);
      assert.deepEqual(
        events.map((e) => e.event),
        ['sources', 'delta', 'done'],
      );
      const done = events[2]!.data as { mode: string; cost_usd: number; usage: unknown };
      assert.equal(done.mode, 'extractive');
      assert.equal(done.cost_usd, 0);
      const text = (events[1]!.data as { text: string }).text;
      assert.match(text, /not a written answer/);
      assert.match(
        text,
        /\[1\] 주문하신 상품은 평일 기준 2일 안에 배송됩니다\. 제주도는 하루가 더 걸립니다\. \(shipping\.md\)/,
      );
      const sources = (events[0]!.data as { sources: { filename: string }[] }).sources;
      assert.equal(sources[0]?.filename, 'shipping.md');
      assert.equal(anthropic.requests.length, before);
    } finally {
      await bare.app.close();
    }
  });

  it('hands the turn to the bot’s workflow when it has one (the seam, with a trivial executor)', async () => {
    const seen: WorkflowTurn[] = [];
    // A trivial executor: the bot named "Flow" has a workflow that echoes the message with one source.
    const flowBots = new Set<string>();
    const echo: WorkflowTurnRunner = {
      hasWorkflow: (bot) => flowBots.has(bot.id),
      async *run(turn) {
        seen.push(turn);
        if (turn.message === 'fail') {
          yield { type: 'error', code: 'node_failed', message: 'the http node timed out' };
          return;
        }
        yield {
          type: 'sources',
          sources: [{ document_id: botId, chunk_id: '7', filename: 'flow.md', content: 'c', score: 1 }],
        };
        yield { type: 'delta', text: 'echo: ' };
        yield { type: 'delta', text: turn.message };
        yield {
          type: 'done',
          usage: { input_tokens: 3, output_tokens: 2 },
          cost_usd: 0.5,
          provider: 'openai',
          model: 'm',
        };
      },
      forgetSession: async () => {},
    };
    const chatService = createChatService({
      db: h.t.db,
      access: h.services.access,
      retrieval: h.services.retrieval,
      llm: h.deps.llm,
      workflows: echo,
    });
    const flowBot = (
      await h.app.inject({ method: 'POST', url: '/api/v1/bots', headers: owner.auth, payload: { name: 'Flow' } })
    ).json().id;
    flowBots.add(flowBot);
    const ctx = { actor: { kind: 'user' as const, userId: owner.userId }, requestId: 'test', log: h.app.log };
    const collect = async (input: ChatInput) => {
      const turn = await chatService.start(ctx, input, new AbortController().signal);
      const events: ChatEvent[] = [];
      for await (const e of turn.events) events.push(e);
      return events;
    };

    const before = anthropic.requests.length;
    const first = await collect({ message: 'hello flow', bot_id: flowBot });
    assert.deepEqual(
      first.map((e) => e.type),
      ['sources', 'delta', 'delta', 'done'],
    );
    const done = first.at(-1) as Extract<ChatEvent, { type: 'done' }>;
    assert.equal(done.mode, 'workflow');
    assert.deepEqual(done.usage, { input_tokens: 3, output_tokens: 2 });
    const second = await collect({ message: 'again', bot_id: flowBot, session_id: done.session_id });
    assert.equal(second.at(-1)?.type, 'done');
    assert.deepEqual(seen[1]?.history, [
      { role: 'user', content: 'hello flow' },
      { role: 'assistant', content: 'echo: hello flow' },
    ]);
    assert.equal(seen[1]?.sessionId, done.session_id);
    assert.equal(anthropic.requests.length, before, 'a workflow turn does not run the RAG pipeline');
    const stored = await storedMessage(done.message_id);
    assert.equal(stored?.mode, 'workflow');
    assert.equal(stored?.content, 'echo: hello flow');
    assert.equal(Number(stored?.cost_usd), 0.5);

    const failed = await collect({ message: 'fail', bot_id: flowBot });
    const error = failed.at(-1) as Extract<ChatEvent, { type: 'error' }>;
    assert.equal(error.code, 'workflow_failed');
    assert.match(error.detail, /the http node timed out/);

    // Bots without a workflow still get the RAG pipeline from the same service.
    const rag = await collect({ message: 'How long do I have to return an item?', bot_id: botId });
    assert.equal((rag.at(-1) as Extract<ChatEvent, { type: 'done' }>).mode, 'llm');
    assert.equal(anthropic.requests.length, before + 1);
  });
});
