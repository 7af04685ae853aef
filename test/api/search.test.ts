import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SourceDto } from '../../src/modules/retrieval/service.ts';
import { type FakeOpenAIEmbeddings, startFakeOpenAIEmbeddings } from '../fakes/openai-embeddings.ts';
import { type FakeRerankServer, startFakeRerank } from '../fakes/rerank.ts';
import { buildTestApp, type Session, signUp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';
import { eventually, multipart } from '../helpers/multipart.ts';

const POLICY = `# Returns policy

Items can be returned within 30 days of delivery. The refund reaches your card in 5 business days.

## Exceptions

Opened software and gift cards cannot be returned.

# 배송 안내

주문하신 상품은 평일 기준 2일 안에 배송됩니다. 제주도는 하루가 더 걸립니다.
`;
const NOTES = 'Support hours are 9 to 5 on weekdays. Call us any time for urgent issues.';
const SECRET = 'Project Zebra refund codes: the refund reaches the card of a zebra in 1 day. 제주도 배송 비밀.';

type Result = SourceDto;

describe(`search (${testDriver})`, () => {
  let embeddings: FakeOpenAIEmbeddings;
  let rerank: FakeRerankServer;
  let h: TestApp;
  let owner: Session;
  let botA: string;
  let botB: string;
  let docsA: Record<string, string>;

  before(async () => {
    embeddings = await startFakeOpenAIEmbeddings({ dimensions: 64 });
    rerank = await startFakeRerank({ apiKey: 'rr-key' });
    h = await buildTestApp(
      {
        EMBEDDING_PROVIDER: 'openai',
        OPENAI_API_KEY: embeddings.apiKey,
        OPENAI_BASE_URL: embeddings.url,
        EMBEDDING_DIMENSIONS: '64',
        LLM_PROVIDER: 'none',
        RERANK_URL: `${rerank.url}/v2/rerank`,
        RERANK_API_KEY: 'rr-key',
        RERANK_MODEL: 'rerank-v3.5',
        RATE_LIMIT_ENABLED: 'false',
      },
      { worker: true },
    );
    owner = await signUp(h.app, 'search');
    const create = (name: string) =>
      h.app
        .inject({ method: 'POST', url: '/api/v1/bots', headers: owner.auth, payload: { name } })
        .then((r) => r.json().id as string);
    [botA, botB] = [await create('A'), await create('B')];
    const upload = async (botId: string, files: { filename: string; content: string }[]) => {
      const body = await multipart(files);
      const res = await h.app.inject({
        method: 'POST',
        url: `/api/v1/documents/upload?bot_id=${botId}`,
        headers: { ...owner.auth, ...body.headers },
        payload: body.payload,
      });
      assert.equal(res.statusCode, 202, res.body);
      const ids: string[] = res.json().documents.map((d: { document_id: string }) => d.document_id);
      for (const id of ids) {
        await eventually(
          async () => {
            const doc = (
              await h.app.inject({ method: 'GET', url: `/api/v1/documents/${id}`, headers: owner.auth })
            ).json();
            if (doc.status === 'failed') throw new Error(doc.error);
            return doc.status === 'ready' ? doc : undefined;
          },
          240_000,
          `document ${id} ready`,
        );
      }
      return Object.fromEntries(files.map((f, i) => [f.filename, ids[i] as string]));
    };
    docsA = await upload(botA, [
      { filename: 'policy.md', content: POLICY },
      { filename: 'notes.txt', content: NOTES },
    ]);
    // Bot B holds the same policy and a secret of its own: any leak between bots would show.
    await upload(botB, [
      { filename: 'policy-copy.md', content: POLICY },
      { filename: 'secret.txt', content: SECRET },
    ]);
  });
  after(async () => {
    await h.close();
    await Promise.all([embeddings.close(), rerank.close()]);
  });

  const search = (payload: Record<string, unknown>, headers: Record<string, string> = owner.auth) =>
    h.app.inject({ method: 'POST', url: '/api/v1/search', headers, payload });
  const results = async (payload: Record<string, unknown>) => {
    const res = await search(payload);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { results: Result[]; mode: string; reranked: boolean };
  };

  it('finds English and Korean passages through full-text, hybrid and vector search', async () => {
    const questions: Array<[string, RegExp, string]> = [
      ['How many days until the refund reaches my card?', /refund reaches your card/, 'Returns policy'],
      ['제주도 배송은 며칠 걸려요?', /제주도는 하루가 더 걸립니다/, '배송 안내'],
    ];
    for (const mode of ['fulltext', 'hybrid', 'vector'] as const) {
      for (const [query, passage, section] of questions) {
        const answer = await results({ bot_id: botA, query, mode, top_k: 3 });
        assert.equal(answer.mode, mode);
        const top = answer.results[0];
        assert.match(top?.content ?? '', passage, `${mode}: ${query}`);
        assert.equal(top?.section, section);
        assert.equal(top?.filename, 'policy.md');
        assert.equal(top?.document_id, docsA['policy.md']);
        assert.match(top?.chunk_id ?? '', /^\d+$/);
        assert.ok(answer.results.length <= 3);
      }
    }
    // The query was embedded by the bot's model, through the embedding API.
    assert.ok(embeddings.stats.inputsSeen.includes('제주도 배송은 며칠 걸려요?'));
  });

  it('a bot never retrieves another bot’s chunks', async () => {
    const chunksOf = async (botId: string) =>
      new Set(
        (await h.t.db.query<{ id: string }>('SELECT id::text AS id FROM chunks WHERE bot_id = $1', [botId])).map(
          (r) => r.id,
        ),
      );
    const [ownA, ownB] = [await chunksOf(botA), await chunksOf(botB)];
    for (const mode of ['fulltext', 'hybrid', 'vector']) {
      for (const query of ['zebra refund codes card', '제주도 배송 비밀', 'refund reaches your card']) {
        const a = await results({ bot_id: botA, query, mode, top_k: 20 });
        assert.ok(
          a.results.every((r) => ownA.has(r.chunk_id)),
          `${mode} ${query}: bot A got a foreign chunk`,
        );
        assert.ok(!a.results.some((r) => r.content.includes('Zebra')));
        const b = await results({ bot_id: botB, query, mode, top_k: 20 });
        assert.ok(
          b.results.every((r) => ownB.has(r.chunk_id)),
          `${mode} ${query}: bot B got a foreign chunk`,
        );
      }
    }
  });

  it('takes top_k, filters and thresholds from the request, the bot’s settings as defaults', async () => {
    const onlyTxt = await results({
      bot_id: botA,
      query: 'support refund',
      mode: 'fulltext',
      filters: { file_types: ['txt'] },
    });
    assert.deepEqual(
      onlyTxt.results.map((r) => r.filename),
      ['notes.txt'],
    );
    const byDoc = await results({
      bot_id: botA,
      query: 'support refund weekdays',
      filters: { document_ids: [docsA['policy.md']] },
    });
    assert.ok(byDoc.results.length > 0 && byDoc.results.every((r) => r.filename === 'policy.md'));
    const nothing = await results({ bot_id: botA, query: 'refund', mode: 'fulltext', score_threshold: 999 });
    assert.deepEqual(nothing.results, []);

    // Bot settings: full-text, top 1, only markdown — a request can narrow them but never widen.
    const patch = await h.app.inject({
      method: 'PATCH',
      url: `/api/v1/bots/${botA}`,
      headers: owner.auth,
      payload: { settings: { retrieval: { mode: 'fulltext', top_k: 1, filters: { file_types: ['markdown'] } } } },
    });
    assert.equal(patch.statusCode, 200, patch.body);
    try {
      const defaults = await results({ bot_id: botA, query: 'support hours refund card' });
      assert.equal(defaults.mode, 'fulltext');
      assert.equal(defaults.results.length, 1);
      assert.equal(defaults.results[0]?.filename, 'policy.md');
      const widened = await results({ bot_id: botA, query: 'support hours', filters: { file_types: ['txt'] } });
      assert.deepEqual(widened.results, []);
    } finally {
      // A PATCH merges sections and cannot unset them: put the bot back as it was.
      await h.t.db.query(`UPDATE bots SET settings = settings - 'retrieval' WHERE id = $1`, [botA]);
    }
  });

  it('reranks through the configured rerank API, and keeps the search order when it fails', async () => {
    const before = rerank.requests.length;
    const query = 'opened software gift cards returned';
    const answer = await results({ bot_id: botA, query, mode: 'hybrid', top_k: 2, rerank: true });
    assert.equal(answer.reranked, true);
    assert.match(answer.results[0]?.content ?? '', /Opened software and gift cards/);
    const sent = rerank.requests.at(-1)!;
    assert.equal(rerank.requests.length, before + 1);
    assert.equal(sent.query, query);
    assert.equal(sent.body.model, 'rerank-v3.5');
    assert.ok(sent.documents.length >= answer.results.length);
    assert.ok(answer.results[0]!.score <= 1 && answer.results[0]!.score > 0);

    rerank.failNext(503);
    const degraded = await results({ bot_id: botA, query, mode: 'hybrid', top_k: 2, rerank: true });
    assert.equal(degraded.reranked, false);
    assert.equal(degraded.results.length, 2);

    const plain = await results({ bot_id: botA, query, mode: 'hybrid', top_k: 2 });
    assert.equal(plain.reranked, false);
  });

  it('without an embedding model: hybrid runs as full-text, vector is refused with a clear problem', async () => {
    const bot = (
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/bots',
        headers: owner.auth,
        payload: { name: 'No vectors', settings: { embedding: { provider: 'none' } } },
      })
    ).json().id;
    assert.equal((await results({ bot_id: bot, query: 'refund' })).mode, 'fulltext');
    const vector = await search({ bot_id: bot, query: 'refund', mode: 'vector' });
    assert.equal(vector.statusCode, 503);
    assert.equal(vector.json().code, 'provider_unavailable');
    assert.match(vector.json().detail, /embedding provider/);

    // The embedding API failing: hybrid still answers from its lexical half.
    embeddings.failNext({ status: 400, count: 1 });
    const degraded = await results({ bot_id: botA, query: 'refund reaches your card', mode: 'hybrid' });
    assert.equal(degraded.mode, 'fulltext');
    assert.match(degraded.results[0]?.content ?? '', /refund reaches your card/);
  });

  it('checks the caller first: strangers and other bots’ keys get 404, bad input 400', async () => {
    const stranger = await signUp(h.app, 'stranger');
    const foreign = await search({ bot_id: botA, query: 'refund' }, stranger.auth);
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json().code, 'not_found');
    const keyB = (
      await h.app.inject({ method: 'POST', url: `/api/v1/bots/${botB}/api-keys`, headers: owner.auth, payload: {} })
    ).json().key;
    const viaKey = await search({ bot_id: botA, query: 'refund' }, { authorization: `Bearer ${keyB}` });
    assert.equal(viaKey.statusCode, 404);
    const ownKey = await search({ bot_id: botB, query: 'refund' }, { authorization: `Bearer ${keyB}` });
    assert.equal(ownKey.statusCode, 200);
    assert.equal((await search({ bot_id: botA, query: '' })).statusCode, 400);
    assert.equal((await search({ bot_id: botA, query: 'x', top_k: 0 })).statusCode, 400);
    assert.equal((await search({ bot_id: botA, query: 'x', mode: 'fuzzy' })).statusCode, 400);
    assert.equal((await search({ bot_id: 'nope', query: 'x' })).statusCode, 400);
  });
});
