import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type Session, signUp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';

/**
 * The isolation matrix: every route that names a bot or a team (found from the OpenAPI document,
 * so a new route cannot slip past) is called by a foreign user and by a foreign API key with the
 * victim's ids. Each answer must be indistinguishable from the answer for an id that does not
 * exist, and nothing of the victim's may change.
 */
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A valid request body per route, so requests get past validation to the access check. */
const BODIES: Record<string, Record<string, unknown>> = {
  'patch /api/v1/bots/{id}': { name: 'pwned' },
  'post /api/v1/bots/{id}/api-keys': { name: 'stolen' },
  'post /api/v1/teams/{id}/api-keys': { name: 'stolen' },
  'post /api/v1/teams/{id}/members': { email: 'intruder@example.com', role: 'owner' },
  'patch /api/v1/teams/{id}/members/{userId}': { role: 'member' },
  'post /api/v1/bots': { name: 'planted' },
};

const MISSING = '00000000-0000-4000-8000-000000000000';

describe(`isolation matrix (${testDriver})`, () => {
  let h: TestApp;
  let victim: Session;
  let intruder: Session;
  let victimBot: { id: string; name: string };
  let victimKeyId: string;
  let intruderKey: string;
  let intruderTeamKey: string;

  before(async () => {
    h = await buildTestApp();
    victim = await signUp(h.app, 'victim');
    intruder = await signUp(h.app, 'intruder');
    victimBot = (
      await h.app.inject({ method: 'POST', url: '/api/v1/bots', headers: victim.auth, payload: { name: 'Secret bot' } })
    ).json();
    victimKeyId = (
      await h.app.inject({
        method: 'POST',
        url: `/api/v1/bots/${victimBot.id}/api-keys`,
        headers: victim.auth,
        payload: {},
      })
    ).json().id;
    const intruderBot = (
      await h.app.inject({ method: 'POST', url: '/api/v1/bots', headers: intruder.auth, payload: { name: 'Mine' } })
    ).json();
    intruderKey = (
      await h.app.inject({
        method: 'POST',
        url: `/api/v1/bots/${intruderBot.id}/api-keys`,
        headers: intruder.auth,
        payload: {},
      })
    ).json().key;
    intruderTeamKey = (
      await h.app.inject({
        method: 'POST',
        url: `/api/v1/teams/${intruder.teamId}/api-keys`,
        headers: intruder.auth,
        payload: {},
      })
    ).json().key;
  });
  after(() => h.close());

  it('no bot- or team-scoped route tells a foreign caller anything', async () => {
    const spec = h.app.swagger() as { paths: Record<string, Partial<Record<Method, unknown>>> };
    const scoped = Object.entries(spec.paths).filter(([path]) => /\/(bots|teams)\/\{id\}/.test(path));
    assert.ok(scoped.length >= 8, `expected the bot and team routes, found ${scoped.length}`);

    const callers = {
      'foreign user': intruder.auth,
      'foreign bot key': { authorization: `Bearer ${intruderKey}` },
      'foreign team key': { authorization: `Bearer ${intruderTeamKey}` },
    };
    let checked = 0;
    for (const [path, ops] of scoped) {
      for (const method of Object.keys(ops) as Method[]) {
        const key = `${method} ${path}`;
        const isTeam = path.startsWith('/api/v1/teams/');
        const fill = (id: string) =>
          path.replace('{id}', id).replace('{userId}', victim.userId).replace('{keyId}', victimKeyId);
        for (const [who, headers] of Object.entries(callers)) {
          const send = (url: string) =>
            h.app.inject({
              method: method.toUpperCase() as 'GET',
              url,
              headers,
              ...(BODIES[key] ? { payload: BODIES[key] } : {}),
            });
          const real = await send(fill(isTeam ? victim.teamId : victimBot.id));
          const missing = await send(fill(MISSING));
          assert.ok(real.statusCode >= 400, `${who} ${key} succeeded with ${real.statusCode}: ${real.body}`);
          assert.equal(
            real.statusCode,
            missing.statusCode,
            `${who} ${key}: ${real.statusCode} vs missing ${missing.statusCode}`,
          );
          assert.equal(real.json().code, missing.json().code, `${who} ${key}: codes differ`);
          assert.ok(!real.body.includes('Secret bot'), `${who} ${key} leaked the bot's name`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 24);

    // Nothing of the victim's changed.
    const bot = await h.app.inject({ method: 'GET', url: `/api/v1/bots/${victimBot.id}`, headers: victim.auth });
    assert.equal(bot.json().name, 'Secret bot');
    const keys = await h.app.inject({
      method: 'GET',
      url: `/api/v1/bots/${victimBot.id}/api-keys`,
      headers: victim.auth,
    });
    assert.deepEqual(
      keys.json().api_keys.map((k: { id: string; revoked_at: string | null }) => [k.id, k.revoked_at]),
      [[victimKeyId, null]],
    );
    const members = await h.app.inject({
      method: 'GET',
      url: `/api/v1/teams/${victim.teamId}/members`,
      headers: victim.auth,
    });
    assert.equal(members.json().members.length, 1);
  });

  it('lists never include foreign bots or teams, and a foreign team_id cannot be written to', async () => {
    for (const headers of [intruder.auth, { authorization: `Bearer ${intruderKey}` }]) {
      const bots = (await h.app.inject({ method: 'GET', url: '/api/v1/bots', headers })).json().bots;
      assert.ok(bots.every((b: { id: string }) => b.id !== victimBot.id));
      const foreign = await h.app.inject({ method: 'GET', url: `/api/v1/bots?team_id=${victim.teamId}`, headers });
      assert.equal(foreign.statusCode, 404);
    }
    const teams = (await h.app.inject({ method: 'GET', url: '/api/v1/teams', headers: intruder.auth })).json().teams;
    assert.ok(teams.every((t: { id: string }) => t.id !== victim.teamId));
    const planted = await h.app.inject({
      method: 'POST',
      url: '/api/v1/bots',
      headers: intruder.auth,
      payload: { ...BODIES['post /api/v1/bots'], team_id: victim.teamId },
    });
    assert.equal(planted.statusCode, 404);
  });
});
