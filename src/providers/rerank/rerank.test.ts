import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FakeRerankServer, startFakeRerank } from '../../../test/fakes/rerank.ts';
import { createReranker, RerankError, resolveRerankEndpoint } from './index.ts';

const DOCS = [
  'The quagga was a subspecies of plains zebra.',
  'Refunds reach your card within five business days of the return.',
  '환불은 반품 후 영업일 기준 5일 안에 처리됩니다.',
];

describe('rerank endpoint inference', () => {
  it('picks the wire format and path from RERANK_URL', () => {
    const cases: Array<[string, string, string, string | undefined]> = [
      ['https://api.cohere.com', 'https://api.cohere.com/v2/rerank', 'cohere', 'rerank-v3.5'],
      ['https://api.cohere.com/v1/rerank', 'https://api.cohere.com/v1/rerank', 'cohere', 'rerank-v3.5'],
      ['https://api.voyageai.com', 'https://api.voyageai.com/v1/rerank', 'cohere', 'rerank-2'],
      ['https://api.voyageai.com/v1', 'https://api.voyageai.com/v1/rerank', 'cohere', 'rerank-2'],
      ['http://litellm:4000/v1/', 'http://litellm:4000/v1/rerank', 'cohere', undefined],
      ['http://tei:8080', 'http://tei:8080/rerank', 'tei', undefined],
      ['http://gpu-box/reranker/rerank', 'http://gpu-box/reranker/rerank', 'tei', undefined],
    ];
    for (const [input, url, format, model] of cases) {
      const endpoint = resolveRerankEndpoint(input);
      assert.equal(endpoint.url.toString(), url, input);
      assert.equal(endpoint.format, format, input);
      assert.equal(endpoint.defaultModel, model, input);
    }
  });

  it('is off without RERANK_URL', () => {
    assert.equal(createReranker({ rerank: undefined }), undefined);
  });
});

describe('rerank clients against a loopback rerank API', () => {
  let cohere: FakeRerankServer;
  let voyage: FakeRerankServer;
  let tei: FakeRerankServer;
  before(async () => {
    [cohere, voyage, tei] = await Promise.all([
      startFakeRerank({ apiKey: 'co-key' }),
      startFakeRerank({ apiKey: 'vo-key', voyage: true }),
      startFakeRerank(),
    ]);
  });
  after(() => Promise.all([cohere.close(), voyage.close(), tei.close()]));

  it('Cohere format: sends model, query and documents with the bearer key; reads results', async () => {
    const reranker = createReranker({
      rerank: { url: `${cohere.url}/v2/rerank`, apiKey: 'co-key', model: 'rerank-v3.5' },
    });
    const ranked = await reranker!.rerank('how long do refunds take to reach my card', DOCS);
    assert.deepEqual(
      ranked.map((r) => r.index),
      [1, 0, 2],
    );
    assert.ok(ranked[0]!.score > ranked[1]!.score);
    const sent = cohere.requests.at(-1)!;
    assert.equal(sent.headers.authorization, 'Bearer co-key');
    assert.deepEqual(sent.body, {
      model: 'rerank-v3.5',
      query: 'how long do refunds take to reach my card',
      documents: DOCS,
    });
  });

  it("Voyage's `data` answer and TEI's list answer give the same order", async () => {
    const viaVoyage = createReranker({ rerank: { url: `${voyage.url}/v1`, apiKey: 'vo-key', model: 'rerank-2' } });
    const viaTei = createReranker({ rerank: { url: tei.url, apiKey: undefined, model: undefined } });
    const query = '환불은 며칠 안에 처리되나요';
    const a = await viaVoyage!.rerank(query, DOCS);
    const b = await viaTei!.rerank(query, DOCS);
    assert.equal(a[0]!.index, 2);
    assert.deepEqual(a, b);
    assert.deepEqual(Object.keys(tei.requests.at(-1)!.body).sort(), ['query', 'texts', 'truncate']);
    assert.equal(tei.requests.at(-1)!.headers.authorization, undefined);
  });

  it('says whether a failure is worth retrying, and times out', async () => {
    const wrongKey = createReranker({ rerank: { url: `${cohere.url}/v1/rerank`, apiKey: 'nope', model: 'm' } });
    await assert.rejects(wrongKey!.rerank('q', DOCS), (e: unknown) => {
      assert.ok(e instanceof RerankError);
      assert.equal(e.status, 401);
      assert.equal(e.retryable, false);
      assert.doesNotMatch(e.message, /nope/);
      return true;
    });
    tei.failNext(503);
    const reranker = createReranker(
      { rerank: { url: tei.url, apiKey: undefined, model: undefined } },
      { timeoutMs: 200 },
    );
    await assert.rejects(reranker!.rerank('q', DOCS), (e: unknown) => e instanceof RerankError && e.retryable);
    tei.setLatency(1_000);
    const t0 = Date.now();
    await assert.rejects(reranker!.rerank('q', DOCS), /no answer within 200 ms/);
    assert.ok(Date.now() - t0 < 900);
    tei.setLatency(0);
  });

  it('rejects answers that do not match the documents sent', async () => {
    const server = await startFakeRerank({ score: () => Number.NaN });
    try {
      const reranker = createReranker({ rerank: { url: server.url, apiKey: undefined, model: undefined } });
      await assert.rejects(reranker!.rerank('q', ['a', 'b']), /invalid score/);
    } finally {
      await server.close();
    }
  });
});
