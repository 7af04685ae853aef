import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { openTestDb, type TestDatabase } from '../../../test/helpers/db.ts';
import { loadConfig } from '../../config.ts';
import { dailyPrune, PRUNE_QUEUE } from '../../worker.ts';
import { pruneHistory } from './prune.ts';

describe('pruneHistory', () => {
  let t: TestDatabase;
  const user = randomUUID();
  const bot = randomUUID();
  const [oldRun, oldRunning, newRun] = [randomUUID(), randomUUID(), randomUUID()];
  const [deadFamily, liveFamily] = [randomUUID(), randomUUID()];
  const [deadSession, liveSession] = [randomUUID(), randomUUID()];

  before(async () => {
    t = await openTestDb();
    const team = randomUUID();
    await t.db.exec(`
      INSERT INTO users (id, email) VALUES ('${user}', 'prune@example.com');
      INSERT INTO teams (id, name) VALUES ('${team}', 'T');
      INSERT INTO bots (id, team_id, name) VALUES ('${bot}', '${team}', 'B');
      INSERT INTO audit_log (event, at) VALUES ('old', now() - interval '400 days'), ('new', now());
      INSERT INTO workflow_runs (id, bot_id, source, message, status, started_at, finished_at) VALUES
        ('${oldRun}', '${bot}', 'draft', 'm', 'succeeded', now() - interval '100 days', now() - interval '100 days'),
        ('${newRun}', '${bot}', 'draft', 'm', 'failed', now() - interval '1 day', now() - interval '1 day');
      INSERT INTO workflow_runs (id, bot_id, source, message, started_at) VALUES
        ('${oldRunning}', '${bot}', 'draft', 'm', now() - interval '100 days');
      INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) VALUES
        ('${user}', '${deadFamily}', 'h1', now() - interval '9 days'),
        ('${user}', '${deadFamily}', 'h2', now() - interval '2 days'),
        ('${user}', '${liveFamily}', 'h3', now() - interval '2 days'),
        ('${user}', '${liveFamily}', 'h4', now() + interval '5 days');
      INSERT INTO user_sessions (id, user_id, method, expires_at) VALUES
        ('${deadSession}', '${user}', 'password', now() - interval '2 days'),
        ('${liveSession}', '${user}', 'password', now() + interval '5 days');
      INSERT INTO oauth_states (state_hash, provider, nonce, code_verifier, browser_hash, expires_at) VALUES
        ('gone', 'google', 'n', 'v', 'b', now() - interval '1 minute'),
        ('fresh', 'google', 'n', 'v', 'b', now() + interval '10 minutes');
    `);
  });
  after(() => t.close());

  const ids = async (sql: string) => (await t.db.query<{ id: string }>(sql)).map((r) => String(r.id)).sort();

  it('keeps everything whose retention is 0 (forever)', async () => {
    const result = await pruneHistory(t.db, { auditLogDays: 0, workflowRunDays: 0 });
    assert.equal(result.auditLog, 0);
    assert.equal(result.workflowRuns, 0);
    assert.equal((await ids('SELECT event AS id FROM audit_log')).length, 2);
    // Expired sign-ins go whatever the retention: they are not history anyone reads.
    assert.deepEqual(result, { auditLog: 0, workflowRuns: 0, refreshTokens: 2, expired: 2 });
  });

  it('deletes what is older than its retention and nothing else', async () => {
    await t.db.query(
      `INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
      VALUES ($1, $2, 'h5', now() - interval '3 days')`,
      [user, deadFamily],
    );
    const result = await pruneHistory(t.db, { auditLogDays: 365, workflowRunDays: 90 });
    assert.deepEqual(result, { auditLog: 1, workflowRuns: 1, refreshTokens: 1, expired: 0 });
    assert.deepEqual(await ids('SELECT event AS id FROM audit_log'), ['new']);
    assert.deepEqual(
      await ids('SELECT id FROM workflow_runs'),
      [newRun, oldRunning].sort(),
      'a run still marked running is left to be closed as interrupted first',
    );
    assert.deepEqual(await ids('SELECT token_hash AS id FROM refresh_tokens'), ['h3', 'h4']);
    assert.deepEqual(await ids('SELECT id FROM user_sessions'), [liveSession]);
    assert.deepEqual(await ids('SELECT state_hash AS id FROM oauth_states'), ['fresh']);
    assert.deepEqual(await pruneHistory(t.db, { auditLogDays: 365, workflowRunDays: 90 }), {
      auditLog: 0,
      workflowRuns: 0,
      refreshTokens: 0,
      expired: 0,
    });
  });
});

describe('the daily prune job', () => {
  it('closes runs a stopped server left running, in every bot, so they age out like the rest', async () => {
    const t = await openTestDb();
    try {
      const team = randomUUID();
      const bots = [randomUUID(), randomUUID()];
      await t.db.exec(`
        INSERT INTO teams (id, name) VALUES ('${team}', 'T');
        INSERT INTO bots (id, team_id, name) VALUES ('${bots[0]}', '${team}', 'A'), ('${bots[1]}', '${team}', 'B');
        INSERT INTO workflow_runs (id, bot_id, source, message, started_at) VALUES
          (gen_random_uuid(), '${bots[0]}', 'draft', 'm', now() - interval '100 days'),
          (gen_random_uuid(), '${bots[1]}', 'draft', 'm', now() - interval '2 hours'),
          (gen_random_uuid(), '${bots[1]}', 'draft', 'm', now());
      `);
      const config = loadConfig({});
      assert.deepEqual((await dailyPrune({ db: t.db, config })).interruptedRuns, 2, 'the run started now stays');
      const left = await t.db.query<{ status: string; error_code: string | null }>(
        'SELECT status, error_code FROM workflow_runs ORDER BY started_at',
      );
      assert.deepEqual(
        left.map((r) => [r.status, r.error_code]),
        [
          ['failed', 'interrupted'],
          ['running', null],
        ],
        'the 100-day-old run was closed, then pruned the same day',
      );
    } finally {
      await t.close();
    }
  });

  it('is scheduled by every worker (once per day, UTC)', async () => {
    const h = await buildTestApp({}, { worker: true });
    try {
      const rows = await h.t.db.query<{ name: string; cron: string }>('SELECT name, cron FROM pgboss.schedule');
      assert.deepEqual(
        rows.filter((r) => r.name === PRUNE_QUEUE).map((r) => r.cron),
        ['23 3 * * *'],
      );
    } finally {
      await h.close();
    }
  });
});
