import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeCorpus } from '../../src/modules/retrieval/eval/corpus.ts';
import { buildTestApp, type Session, signUp, type TestApp } from '../helpers/app.ts';
import { eventually, multipart } from '../helpers/multipart.ts';

/** The value of one series in Prometheus text (labels in any order), 0 when absent. */
function series(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const pairs = new Map([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => pairs.get(k) === v)) return Number(match[3]);
  }
  return 0;
}

describe('GET /metrics', () => {
  let h: TestApp;
  let owner: Session;
  let botId: string;
  const TOKEN = 'metrics-scrape-token-0123456789';
  const scrape = async () => {
    const res = await h.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.statusCode, 200);
    return res.body;
  };

  before(async () => {
    h = await buildTestApp(
      { METRICS_TOKEN: TOKEN, EMBEDDING_PROVIDER: 'none', LLM_PROVIDER: 'none' },
      { worker: true },
    );
    owner = await signUp(h.app, 'metrics');
    botId = (
      await h.app.inject({ method: 'POST', url: '/api/v1/bots', headers: owner.auth, payload: { name: 'Measured' } })
    ).json().id;
  });
  after(() => h.close());

  it('needs the configured token', async () => {
    assert.equal((await h.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
    const wrong = await h.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.headers['content-type'], 'application/problem+json; charset=utf-8');
  });

  it('times requests by route template, never by raw URL or tenant id', async () => {
    const before = series(await scrape(), 'snapagent_http_request_duration_seconds_count', {
      route: '/api/v1/bots/:id',
      method: 'GET',
      status: '200',
    });
    await h.app.inject({ method: 'GET', url: `/api/v1/bots/${botId}`, headers: owner.auth });
    const text = await scrape();
    const labels = { route: '/api/v1/bots/:id', method: 'GET', status: '200' };
    assert.equal(series(text, 'snapagent_http_request_duration_seconds_count', labels), before + 1);
    assert.ok(!text.includes(botId), 'no bot id in any series');
    assert.match(text, /^snapagent_process_cpu_user_seconds_total /m, 'process metrics too');
    assert.match(text, /^snapagent_nodejs_eventloop_lag_p99_seconds /m);
  });

  it('counts ingested documents and their chunks, and chat turns by mode', async () => {
    const text0 = await scrape();
    const body = await multipart([{ filename: 'hours.txt', content: 'Support answers on weekdays from 9 to 5.' }]);
    const upload = await h.app.inject({
      method: 'POST',
      url: `/api/v1/documents/upload?bot_id=${botId}`,
      headers: { ...owner.auth, ...body.headers },
      payload: body.payload,
    });
    assert.equal(upload.statusCode, 202);
    const text1 = await eventually(async () => {
      const text = await scrape();
      const ready = series(text, 'snapagent_documents_ingested_total', { outcome: 'ready' });
      return ready > series(text0, 'snapagent_documents_ingested_total', { outcome: 'ready' }) ? text : undefined;
    });
    assert.equal(series(text1, 'snapagent_chunks_stored_total') - series(text0, 'snapagent_chunks_stored_total'), 1);

    await writeCorpus(h.t.db, botId, [{ filename: 'faq.md', content: 'Refunds reach your card in five days.' }]);
    const chat = await h.app.inject({
      method: 'POST',
      url: '/api/v1/chat',
      headers: owner.auth,
      payload: { message: 'When does the refund reach my card?', bot_id: botId },
    });
    assert.equal(chat.json().mode, 'extractive');
    const labels = { mode: 'extractive', outcome: 'ok' };
    assert.equal(
      series(await scrape(), 'snapagent_chat_turns_total', labels) -
        series(text1, 'snapagent_chat_turns_total', labels),
      1,
    );
  });
});
