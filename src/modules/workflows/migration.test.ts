import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDatabase, testDriver } from '../../../test/helpers/db.ts';
import { collectRun, runWorkflow } from './executor.ts';
import { basicRagWorkflow } from './samples.ts';
import { compileWorkflow, createScriptedLlm, testDeps } from './testing.ts';

/** The tables of migrations/0006_workflows.sql hold what the engine produces, on both drivers. */
describe(`workflow tables (${testDriver})`, () => {
  let t: TestDatabase;
  let botA: string;
  let botB: string;
  before(async () => {
    t = await openTestDb();
    const [team] = await t.db.query<{ id: string }>("INSERT INTO teams (name) VALUES ('t') RETURNING id");
    const bots = await t.db.query<{ id: string }>(
      "INSERT INTO bots (team_id, name) VALUES ($1, 'a'), ($1, 'b') RETURNING id",
      [team?.id],
    );
    botA = bots[0]?.id as string;
    botB = bots[1]?.id as string;
  });
  after(() => t.close());

  it('keeps a draft, numbered versions, and the version that serves chat', async () => {
    const doc = JSON.stringify(basicRagWorkflow);
    await t.db.query('INSERT INTO workflow_drafts (bot_id, document, valid) VALUES ($1, $2, true)', [botA, doc]);
    await t.db.query(
      'INSERT INTO workflow_versions (bot_id, version, document, draft_revision) VALUES ($1, 1, $2, 1), ($1, 2, $2, 1)',
      [botA, doc],
    );
    await t.db.query('INSERT INTO workflow_versions (bot_id, version, document) VALUES ($1, 1, $2)', [botB, doc]);
    await t.db.query('INSERT INTO workflow_publications (bot_id, version) VALUES ($1, 2)', [botA]);
    const [published] = await t.db.query<{ document: unknown }>(
      'SELECT v.document FROM workflow_publications p JOIN workflow_versions v USING (bot_id, version) WHERE p.bot_id = $1',
      [botA],
    );
    assert.deepEqual(published?.document, basicRagWorkflow);
    await assert.rejects(
      t.db.query('INSERT INTO workflow_versions (bot_id, version, document) VALUES ($1, 2, $2)', [botA, doc]),
      'version numbers are unique per bot',
    );
    await assert.rejects(
      t.db.query('INSERT INTO workflow_publications (bot_id, version) VALUES ($1, 2)', [botB]),
      'a bot cannot serve a version it does not have',
    );
  });

  it('stores a run with its trace', async () => {
    const llm = createScriptedLlm(() => 'Answer.');
    const runId = crypto.randomUUID();
    await t.db.query(
      "INSERT INTO workflow_runs (id, bot_id, source, version, message) VALUES ($1, $2, 'published', 2, 'hi')",
      [runId, botA],
    );
    const { result } = await collectRun(
      runWorkflow(compileWorkflow(basicRagWorkflow), { botId: botA, message: 'hi', runId }, testDeps({ llm })),
    );
    await t.db.query(
      `UPDATE workflow_runs SET status = $2, answer = $3, steps = $4, input_tokens = $5, output_tokens = $6,
         duration_ms = $7, trace = $8, finished_at = now() WHERE id = $1`,
      [
        runId,
        result.status,
        result.answer,
        result.trace.steps,
        result.usage.input_tokens,
        result.usage.output_tokens,
        result.trace.duration_ms,
        JSON.stringify(result.trace),
      ],
    );
    const [row] = await t.db.query<{ status: string; trace: { run_id: string; nodes: unknown[] } }>(
      'SELECT status, trace FROM workflow_runs WHERE bot_id = $1 AND id = $2',
      [botA, runId],
    );
    assert.equal(row?.status, 'succeeded');
    assert.equal(row?.trace.run_id, runId);
    assert.equal(row?.trace.nodes.length, 4);
    await assert.rejects(
      t.db.query(
        "INSERT INTO workflow_runs (id, bot_id, source, message, status) VALUES ($1, $2, 'draft', 'x', 'failed')",
        [crypto.randomUUID(), botA],
      ),
      'a finished run has a finish time',
    );
  });

  it('goes away with its bot', async () => {
    await t.db.query('DELETE FROM bots WHERE id = $1', [botA]);
    for (const table of ['workflow_drafts', 'workflow_versions', 'workflow_publications', 'workflow_runs']) {
      const [row] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE bot_id = $1`, [
        botA,
      ]);
      assert.equal(row?.n, 0, table);
    }
  });
});
