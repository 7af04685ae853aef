import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { insertTeamAndBot, openTestDb, type TestDatabase, testDriver } from '../../../test/helpers/db.ts';
import type { Ctx } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { createAccess } from '../teams/access.ts';
import { createRunRecorder } from './run-recorder.ts';
import { basicRagWorkflow } from './samples.ts';
import { createWorkflowsService, type WorkflowsService } from './service.ts';
import { createScriptedLlm } from './testing.ts';

/**
 * The service on a real database: what two editors (or two publishers) at the same moment get,
 * and what is recorded when the reader of a run goes away.
 */
describe(`workflows service (${testDriver})`, () => {
  let t: TestDatabase;
  let service: WorkflowsService;
  let ctx: Ctx;
  let botId: string;
  const llm = createScriptedLlm((req) => (req.messages.at(-1)?.content === 'hang' ? { text: '', hang: true } : 'Hi.'));

  before(async () => {
    t = await openTestDb();
    const [user] = await t.db.query<{ id: string }>("INSERT INTO users (email) VALUES ('a@example.com') RETURNING id");
    const team = await insertTeamAndBot(t.db);
    botId = team.botId;
    await t.db.query("INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'member')", [
      team.teamId,
      user?.id,
    ]);
    const log = pino({ level: 'silent' });
    ctx = { actor: { kind: 'user', userId: user?.id as string }, requestId: 'test', log: log as FastifyBaseLogger };
    const recorder = createRunRecorder({
      db: t.db,
      infra: {
        retrieval: { retrieve: async () => ({ hits: [], mode: 'fulltext', reranked: false }) },
        llm: { resolve: () => llm },
        limits: {},
        log,
      },
      traceMaxBytes: 64 * 1024,
      log,
    });
    service = createWorkflowsService({ db: t.db, access: createAccess(t.db), recorder });
  });
  after(() => t.close());

  const isCode = (code: string) => (err: unknown) => err instanceof AppError && err.code === code;

  it('of two editors saving over the same revision, exactly one wins; the other gets 409', async () => {
    const first = await service.saveDraft(ctx, botId, { document: basicRagWorkflow, revision: 0 });
    assert.equal(first.revision, 1);
    const results = await Promise.allSettled(
      [1, 2].map(() => service.saveDraft(ctx, botId, { document: basicRagWorkflow, revision: 1 })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const rejected = results.find((r) => r.status === 'rejected');
    assert.ok(rejected && isCode('conflict')(rejected.reason));
    assert.equal((await service.get(ctx, botId)).draft?.revision, 2);
  });

  it('publishers at the same moment get distinct version numbers', async () => {
    const published = await Promise.all([1, 2, 3].map(() => service.publish(ctx, botId, {})));
    assert.deepEqual(published.map((v) => v.version).sort(), [1, 2, 3]);
    const state = await service.get(ctx, botId);
    assert.ok([1, 2, 3].includes(state.published?.version as number));
    assert.equal((await service.listVersions(ctx, botId, { limit: 10, offset: 0 })).length, 3);
  });

  it('a run whose reader goes away is cancelled, its model call aborted, and recorded as failed', async () => {
    const controller = new AbortController();
    const run = await service.testRun(ctx, botId, { message: 'hang' }, controller.signal);
    for await (const event of run.events) {
      if (event.type === 'node_started' && event.node_id === 'llm_1') break;
    }
    const result = await run.result;
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'cancelled');
    assert.equal(llm.signals.at(-1)?.aborted, true);
    const row = await service.getRun(ctx, botId, run.runId);
    assert.equal(row.status, 'failed');
    assert.equal(row.error_code, 'cancelled');
    assert.ok(row.finished_at);
  });

  it('a run aborted by its caller is recorded as aborted', async () => {
    const controller = new AbortController();
    const run = await service.testRun(ctx, botId, { message: 'hang' }, controller.signal);
    setTimeout(() => controller.abort(new Error('client disconnected')), 50);
    const codes: string[] = [];
    for await (const event of run.events) if (event.type === 'error') codes.push(event.code);
    assert.deepEqual(codes, ['aborted']);
    assert.equal((await service.getRun(ctx, botId, run.runId)).error_code, 'aborted');
  });
});
