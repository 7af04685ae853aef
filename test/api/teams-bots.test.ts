import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type Session, signUp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';

describe(`teams, bots and API keys (${testDriver})`, () => {
  let h: TestApp;
  let owner: Session;
  let other: Session;
  before(async () => {
    h = await buildTestApp();
    owner = await signUp(h.app, 'owner');
    other = await signUp(h.app, 'other');
  });
  after(() => h.close());

  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    who: { authorization: string },
    payload?: object,
  ) => h.app.inject({ method, url, headers: who, ...(payload ? { payload } : {}) });

  it('creates a bot in the personal team by default, lists, updates and deletes it', async () => {
    const created = await call('POST', '/api/v1/bots', owner.auth, {
      name: 'Support',
      description: 'Answers support questions',
      settings: { retrieval: { top_k: 5 }, unknown_key: true },
    });
    assert.equal(created.statusCode, 201);
    const bot = created.json();
    assert.equal(bot.team_id, owner.teamId);
    assert.deepEqual(bot.settings, { retrieval: { top_k: 5 } }, 'unknown settings keys are stripped');

    const list = await call('GET', '/api/v1/bots', owner.auth);
    assert.deepEqual(
      list.json().bots.map((b: { id: string }) => b.id),
      [bot.id],
    );

    const patched = await call('PATCH', `/api/v1/bots/${bot.id}`, owner.auth, {
      name: 'Support v2',
      settings: { retrieval: { mode: 'fulltext' } },
    });
    assert.equal(patched.statusCode, 200);
    assert.equal(patched.json().name, 'Support v2');
    assert.deepEqual(patched.json().settings.retrieval, { top_k: 5, mode: 'fulltext' }, 'settings merge per section');

    const bad = await call('PATCH', `/api/v1/bots/${bot.id}`, owner.auth, {
      settings: { llm: { model: 'http://evil.example/v1' } },
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().errors[0].field, /settings\.llm\.model/);

    assert.equal((await call('DELETE', `/api/v1/bots/${bot.id}`, owner.auth)).statusCode, 204);
    assert.equal((await call('GET', `/api/v1/bots/${bot.id}`, owner.auth)).statusCode, 404);
  });

  it('teams: create, list, add members with roles, enforce roles', async () => {
    const team = (await call('POST', '/api/v1/teams', owner.auth, { name: 'Acme' })).json();
    assert.equal(team.role, 'owner');
    const teams = (await call('GET', '/api/v1/teams', owner.auth)).json().teams;
    assert.equal(teams.length, 2);

    const me = (await call('GET', '/api/v1/auth/me', other.auth)).json();
    const added = await call('POST', `/api/v1/teams/${team.id}/members`, owner.auth, {
      email: me.email,
      role: 'member',
    });
    assert.equal(added.statusCode, 201);
    assert.equal(added.json().role, 'member');

    // A member can see the team and create bots in it, but cannot manage members or delete bots.
    assert.equal((await call('GET', `/api/v1/teams/${team.id}/members`, other.auth)).json().members.length, 2);
    const bot = (await call('POST', '/api/v1/bots', other.auth, { name: 'Shared', team_id: team.id })).json();
    assert.equal(bot.team_id, team.id);
    const promote = await call('PATCH', `/api/v1/teams/${team.id}/members/${other.userId}`, other.auth, {
      role: 'admin',
    });
    assert.equal(promote.statusCode, 403);
    assert.equal((await call('DELETE', `/api/v1/bots/${bot.id}`, other.auth)).statusCode, 403);
    const promoted = await call('PATCH', `/api/v1/teams/${team.id}/members/${other.userId}`, owner.auth, {
      role: 'admin',
    });
    assert.equal(promoted.statusCode, 200);

    // The last owner cannot leave.
    const leave = await call('DELETE', `/api/v1/teams/${team.id}/members/${owner.userId}`, owner.auth);
    assert.equal(leave.statusCode, 409);
    // Members can leave.
    assert.equal(
      (await call('DELETE', `/api/v1/teams/${team.id}/members/${other.userId}`, other.auth)).statusCode,
      204,
    );
    assert.equal((await call('GET', `/api/v1/bots/${bot.id}`, other.auth)).statusCode, 404);

    // Who may act in the team is on the audit trail: the change, who made it, whom it concerned.
    const audit = await h.t.db.query<{ event: string; actor_user_id: string; details: Record<string, unknown> }>(
      `SELECT event, actor_user_id, details FROM audit_log WHERE team_id = $1 AND event LIKE 'team.%' ORDER BY id`,
      [team.id],
    );
    assert.deepEqual(
      audit.map((a) => [a.event, a.actor_user_id, a.details.member_user_id, a.details.role ?? a.details.previous_role]),
      [
        ['team.member_added', owner.userId, other.userId, 'member'],
        ['team.role_changed', owner.userId, other.userId, 'admin'],
        ['team.member_removed', other.userId, other.userId, 'admin'],
      ],
    );
  });

  it('API keys: shown once, stored hashed, listed by prefix, usable as bearer, revocable', async () => {
    const bot = (await call('POST', '/api/v1/bots', owner.auth, { name: 'Keyed' })).json();
    const created = await call('POST', `/api/v1/bots/${bot.id}/api-keys`, owner.auth, { name: 'ci' });
    assert.equal(created.statusCode, 201);
    const { id, key, prefix } = created.json();
    assert.ok(key.startsWith(prefix));

    const stored = await h.t.db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [id]);
    assert.notEqual(stored[0]?.key_hash, key);
    assert.ok(!JSON.stringify(stored).includes(key));

    const listed = (await call('GET', `/api/v1/bots/${bot.id}/api-keys`, owner.auth)).json().api_keys;
    assert.equal(listed.length, 1);
    assert.equal(listed[0].prefix, prefix);
    assert.equal(listed[0].key, undefined);

    const asKey = { authorization: `Bearer ${key}` };
    assert.equal((await call('GET', `/api/v1/bots/${bot.id}`, asKey)).statusCode, 200);
    assert.deepEqual(
      (await call('GET', '/api/v1/bots', asKey)).json().bots.map((b: { id: string }) => b.id),
      [bot.id],
    );
    // Using a key stamps it, at most once a minute (no write per request).
    const lastUsed = async () =>
      (await h.t.db.query<{ t: string | null }>('SELECT last_used_at::text AS t FROM api_keys WHERE id = $1', [id]))[0]
        ?.t;
    const firstUse = await lastUsed();
    assert.ok(firstUse, 'the first use is stamped');
    await call('GET', `/api/v1/bots/${bot.id}`, asKey);
    assert.equal(await lastUsed(), firstUse, 'a use within the minute writes nothing');
    await h.t.db.query(`UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = $1`, [id]);
    const aged = await lastUsed();
    await call('GET', `/api/v1/bots/${bot.id}`, asKey);
    assert.notEqual(await lastUsed(), aged, 'a use after a minute is stamped again');
    // A bot key cannot manage keys or touch the team.
    assert.equal((await call('POST', `/api/v1/bots/${bot.id}/api-keys`, asKey)).statusCode, 403);
    assert.equal((await call('GET', `/api/v1/teams/${owner.teamId}/members`, asKey)).statusCode, 404);

    assert.equal((await call('DELETE', `/api/v1/bots/${bot.id}/api-keys/not-an-id`, owner.auth)).statusCode, 404);
    assert.equal((await call('DELETE', `/api/v1/bots/${bot.id}/api-keys/${id}`, owner.auth)).statusCode, 204);
    const revoked = await call('GET', `/api/v1/bots/${bot.id}`, asKey);
    assert.equal(revoked.statusCode, 401);

    const teamKey = (await call('POST', `/api/v1/teams/${owner.teamId}/api-keys`, owner.auth, {})).json().key;
    assert.equal((await call('GET', `/api/v1/bots/${bot.id}`, { authorization: `Bearer ${teamKey}` })).statusCode, 200);
  });
});
