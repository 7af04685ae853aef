import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { type AnthropicRequestBody, type FakeLlmServer, startFakeAnthropic } from '../../../test/fakes/anthropic.ts';
import {
  type FakeOpenAIEmbeddings,
  fakeEmbedding,
  startFakeOpenAIEmbeddings,
} from '../../../test/fakes/openai-embeddings.ts';
import { openTestDb, type TestDatabase, testDriver } from '../../../test/helpers/db.ts';
import { ConfigError, loadConfig } from '../../config.ts';
import { createEmbeddingRegistry } from '../../providers/embedding/registry.ts';
import { createLlmRegistry } from '../../providers/llm/registry.ts';
import type { BotSettings } from '../bots/settings.ts';
import { createCorpusBot, writeCorpus } from '../retrieval/eval/corpus.ts';
import { createRetrievalService } from '../retrieval/service.ts';
import { createAccess } from '../teams/access.ts';
import { createEngineDeps, type EngineInfrastructure, workflowLimits } from './engine-deps.ts';
import { createLlmMeter } from './llm-meter.ts';
import { WorkflowNodeError } from './node-definition.ts';

const DIMS = 32;
const DOCS = [
  {
    filename: 'refunds.md',
    content: 'Refunds are paid back within 30 days.',
    metadata: { category: 'billing' },
    fileType: 'markdown',
  },
  {
    filename: 'install.md',
    content: 'Install the agent, then restart it.',
    metadata: { category: 'technical' },
    fileType: 'markdown',
  },
  {
    filename: 'upgrade.md',
    content: 'Upgrade Node before you install the agent.',
    metadata: { category: 'technical' },
    fileType: 'markdown',
  },
];

/** The product side of the engine's dependencies: bot-scoped retrieval, the bot's models, the operator's limits. */
describe(`workflow engine deps over the product (${testDriver})`, () => {
  let t: TestDatabase;
  let embeddingsApi: FakeOpenAIEmbeddings;
  let anthropic: FakeLlmServer<AnthropicRequestBody>;
  let infra: EngineInfrastructure;
  let botId: string;
  let otherBotId: string;
  const bot = (settings: BotSettings = {}) => ({ id: botId, settings });

  before(async () => {
    [t, embeddingsApi, anthropic] = await Promise.all([
      openTestDb(),
      startFakeOpenAIEmbeddings(),
      startFakeAnthropic({ apiKey: 'test-key', usage: { inputTokens: 1000, outputTokens: 100 } }),
    ]);
    botId = await createCorpusBot(t.db, 'a');
    otherBotId = await createCorpusBot(t.db, 'b');
    const embedded = (docs: typeof DOCS) => docs.map((d) => ({ ...d, embedding: fakeEmbedding(d.content, DIMS) }));
    await writeCorpus(t.db, botId, embedded(DOCS));
    await writeCorpus(t.db, otherBotId, embedded([{ ...DOCS[0]!, filename: 'secret.md' }]));
    const config = loadConfig({
      ENVIRONMENT: 'test',
      OPENAI_API_KEY: embeddingsApi.apiKey,
      OPENAI_BASE_URL: embeddingsApi.url,
      EMBEDDING_MODEL: 'fake-embed',
      EMBEDDING_DIMENSIONS: String(DIMS),
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: anthropic.url,
      LLM_PROVIDER: 'anthropic',
    });
    const log = pino({ level: 'silent' });
    infra = {
      retrieval: createRetrievalService({
        db: t.db,
        access: createAccess(t.db),
        embeddings: createEmbeddingRegistry(config),
        log,
      }),
      llm: createLlmRegistry(config, { retry: { maxAttempts: 1 } }),
      limits: workflowLimits(config.workflow),
      log,
    };
  });
  after(async () => {
    await Promise.all([t.close(), embeddingsApi.close(), anthropic.close()]);
  });

  it("searches only the run's bot, narrowed by the node's filters", async () => {
    const deps = createEngineDeps(infra, bot());
    const all = await deps.retrieve(botId, 'refunds', { topK: 10, mode: 'fulltext' });
    assert.deepEqual(
      all.map((c) => c.filename),
      ['refunds.md'],
    );
    const technical = await deps.retrieve(botId, 'install the agent', {
      topK: 10,
      mode: 'fulltext',
      filters: { metadata: { category: 'technical' } },
    });
    assert.deepEqual(technical.map((c) => c.filename).sort(), ['install.md', 'upgrade.md']);
    const none = await deps.retrieve(botId, 'install the agent', {
      topK: 10,
      mode: 'fulltext',
      filters: { metadata: { category: 'billing' } },
    });
    assert.deepEqual(none, []);
    await assert.rejects(deps.retrieve(otherBotId, 'refunds', { topK: 5, mode: 'fulltext' }), (err: unknown) => {
      return err instanceof WorkflowNodeError && err.code === 'retrieval_failed';
    });
  });

  it("applies the bot's own retrieval filters, which the node's only narrow", async () => {
    const technicalOnly = createEngineDeps(
      infra,
      bot({ retrieval: { filters: { metadata: { category: 'technical' } } } }),
    );
    assert.deepEqual(await technicalOnly.retrieve(botId, 'refunds', { topK: 10, mode: 'fulltext' }), []);
    const narrowed = await technicalOnly.retrieve(botId, 'install the agent', {
      topK: 10,
      mode: 'fulltext',
      filters: { file_types: ['MD'] },
    });
    assert.deepEqual(narrowed.map((c) => c.filename).sort(), ['install.md', 'upgrade.md']);
  });

  it("embeds the query with the bot's model for vector and hybrid search", async () => {
    embeddingsApi.resetStats();
    const deps = createEngineDeps(infra, bot());
    const vector = await deps.retrieve(botId, 'Refunds are paid back within 30 days.', { topK: 1, mode: 'vector' });
    assert.equal(vector[0]?.filename, 'refunds.md');
    assert.ok((vector[0]?.score ?? 0) > 0.99, 'the identical text is the nearest vector');
    const hybrid = await deps.retrieve(botId, 'upgrade node', { topK: 3, mode: 'hybrid' });
    assert.equal(hybrid[0]?.filename, 'upgrade.md');
    assert.equal(embeddingsApi.stats.inputs, 2, 'one query embedding per vector or hybrid search');
  });

  it('without an embedding model, hybrid searches full-text and vector fails with a clear code', async () => {
    const deps = createEngineDeps(infra, bot({ embedding: { provider: 'none' } }));
    const hybrid = await deps.retrieve(botId, 'refunds', { topK: 3, mode: 'hybrid' });
    assert.deepEqual(
      hybrid.map((c) => c.filename),
      ['refunds.md'],
    );
    await assert.rejects(
      deps.retrieve(botId, 'refunds', { topK: 3, mode: 'vector' }),
      (err: unknown) => err instanceof WorkflowNodeError && err.code === 'embedding_unavailable',
    );
  });

  it("uses the node's model, else the bot's; an unusable choice fails the node as llm_unavailable", () => {
    const deps = createEngineDeps(infra, bot({ llm: { model: 'claude-bot-choice' } }));
    assert.equal(deps.llm.resolve({})?.modelId, 'claude-bot-choice');
    assert.equal(deps.llm.resolve({ model: 'claude-node-choice' })?.modelId, 'claude-node-choice');
    assert.throws(
      () => deps.llm.resolve({ provider: 'openai-compatible' }),
      (err: unknown) => err instanceof WorkflowNodeError && err.code === 'llm_unavailable',
    );
  });

  it('meters every model call: tokens priced per call, unknown prices make the cost unknown', async () => {
    const meter = createLlmMeter();
    const priced = createEngineDeps(infra, bot(), meter).llm.resolve({});
    assert.ok(priced);
    for (let i = 0; i < 2; i++) {
      for await (const _ of priced.stream({ system: 's', messages: [{ role: 'user', content: 'hi' }] })) {
        // drained
      }
    }
    const summary = meter.summary();
    assert.equal(summary.calls, 2);
    assert.equal(summary.provider, 'anthropic');
    assert.equal(summary.costUsd, (2 * (1000 * 3 + 100 * 15)) / 1e6);

    const unpriced = createEngineDeps(infra, bot(), meter).llm.resolve({ model: 'claude-unlisted' });
    for await (const _ of unpriced!.stream({ system: 's', messages: [{ role: 'user', content: 'hi' }] })) {
      // drained
    }
    assert.equal(meter.summary().costUsd, null);
  });

  it('takes its limits from the WORKFLOW_* settings and refuses malformed networks', () => {
    const limits = workflowLimits(
      loadConfig({
        WORKFLOW_MAX_RUN_MS: '5000',
        WORKFLOW_MAX_STEPS: '17',
        WORKFLOW_ALLOW_PRIVATE_NETWORK: 'true',
        WORKFLOW_ALLOWED_PRIVATE_NETWORKS: '10.20.0.0/16, fd00:1::/64,192.168.1.7',
        WORKFLOW_HTTP_TIMEOUT_MS: '2500',
        WORKFLOW_HTTP_MAX_RESPONSE_BYTES: '65536',
      }).workflow,
    );
    assert.deepEqual(limits, {
      maxRunMs: 5000,
      maxSteps: 17,
      allowPrivateNetwork: true,
      allowedPrivateNetworks: ['10.20.0.0/16', 'fd00:1::/64', '192.168.1.7'],
      httpTimeoutMs: 2500,
      httpMaxResponseBytes: 65536,
    });
    const defaults = loadConfig({}).workflow;
    assert.equal(defaults.allowPrivateNetwork, false);
    assert.deepEqual(defaults.allowedPrivateNetworks, []);
    assert.equal(defaults.maxRunMs, 120_000);
    assert.equal(defaults.traceMaxBytes, 256 * 1024);
    for (const bad of ['10.0.0.0/33', 'intranet', '10.0.0.0/8/1', 'fd00::/129']) {
      assert.throws(
        () => loadConfig({ WORKFLOW_ALLOWED_PRIVATE_NETWORKS: bad }),
        (err: unknown) => err instanceof ConfigError && /WORKFLOW_ALLOWED_PRIVATE_NETWORKS/.test(err.message),
        bad,
      );
    }
    assert.throws(
      () => loadConfig({ WORKFLOW_MAX_STEPS: '0', WORKFLOW_MAX_RUN_MS: 'soon' }),
      (err: unknown) => {
        return err instanceof ConfigError && err.issues.length === 2;
      },
    );
  });
});
