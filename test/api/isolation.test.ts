import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeCorpus } from '../../src/modules/retrieval/eval/corpus.ts';
import { buildTestApp, type Session, signUp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';
import { multipart } from '../helpers/multipart.ts';

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
  'put /api/v1/bots/{id}/workflow': {
    document: {
      nodes: [
        { id: 'start', type: 'start', data: {} },
        { id: 'end', type: 'end', data: { answer: 'pwned' } },
      ],
      edges: [{ source: 'start', target: 'end' }],
    },
  },
  'post /api/v1/bots/{id}/workflow/publish': {},
  'post /api/v1/bots/{id}/workflow/run': { message: 'What is the vault code?' },
  'post /api/v1/chat': { message: 'What is the vault code?' },
  'post /api/v1/search': { query: 'vault code' },
  'post /api/v1/chat/messages/{id}/feedback': { rating: 'down', comment: 'planted' },
};

/** What the victim's knowledge base holds; no foreign answer may contain it. */
const VICTIM_SECRET = 'The vault code is 4242';

const MISSING = '00000000-0000-4000-8000-000000000000';

describe(`isolation matrix (${testDriver})`, () => {
  let h: TestApp;
  let victim: Session;
  let intruder: Session;
  let victimBot: { id: string; name: string };
  let victimKeyId: string;
  let intruderKey: string;
  let intruderTeamKey: string;
  let victimSessionId: string;
  let victimMessageId: string;

  before(async () => {
    // Rate limits are tested elsewhere; here every request must reach the access check.
    h = await buildTestApp({ RATE_LIMIT_ENABLED: 'false' });
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
    // The victim's knowledge and a conversation with an answer (extractive: no LLM configured).
    await writeCorpus(h.t.db, victimBot.id, [{ filename: 'vault.md', content: VICTIM_SECRET }]);
    const answer = (
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/chat',
        headers: victim.auth,
        payload: { message: 'What is the vault code?', bot_id: victimBot.id },
      })
    ).json();
    assert.match(answer.response, /4242/);
    victimSessionId = answer.session_id;
    victimMessageId = answer.message_id;
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
    const workflow = await h.app.inject({
      method: 'GET',
      url: `/api/v1/bots/${victimBot.id}/workflow`,
      headers: victim.auth,
    });
    assert.deepEqual([workflow.json().draft, workflow.json().published], [null, null], 'no workflow was planted');
  });

  /** Everything of the victim's bot that a foreign call could create, change or delete. */
  const victimState = async () =>
    h.t.db.query(
      `SELECT (SELECT count(*)::int FROM documents WHERE bot_id = $1) AS documents,
              (SELECT count(*)::int FROM chunks WHERE bot_id = $1) AS chunks,
              (SELECT count(*)::int FROM chat_sessions WHERE bot_id = $1) AS sessions,
              (SELECT json_agg(json_build_object('id', id, 'content', content) ORDER BY seq) FROM chat_messages
                WHERE bot_id = $1) AS messages,
              (SELECT count(*)::int FROM message_feedback WHERE bot_id = $1) AS feedback`,
      [victimBot.id],
    );

  const foreignCallers = () => ({
    'foreign user': intruder.auth,
    'foreign bot key': { authorization: `Bearer ${intruderKey}` },
    'foreign team key': { authorization: `Bearer ${intruderTeamKey}` },
  });

  /** Sends the same request for the victim's id and a missing one; both answers must match. */
  async function assertIndistinguishable(
    label: string,
    send: (id: string) => Promise<{ statusCode: number; body: string; json(): { code?: string } }>,
    realId: string,
  ) {
    const real = await send(realId);
    const missing = await send(MISSING);
    assert.ok(real.statusCode >= 400, `${label} succeeded with ${real.statusCode}: ${real.body}`);
    assert.notEqual(real.statusCode, 429, `${label} was rate limited`);
    assert.equal(real.statusCode, missing.statusCode, `${label}: ${real.statusCode} vs missing ${missing.statusCode}`);
    assert.equal(real.json().code, missing.json().code, `${label}: codes differ`);
    for (const leak of ['Secret bot', '4242', 'vault.md', realId]) {
      assert.ok(!real.body.includes(leak), `${label} leaked ${leak}`);
    }
  }

  it('routes taking a bot_id in the body or query tell a foreign caller nothing and change nothing', async () => {
    type Operation = {
      parameters?: { in: string; name: string }[];
      requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
    };
    const spec = h.app.swagger() as { paths: Record<string, Partial<Record<Method, Operation>>> };
    const byBotId: { key: string; path: string; method: Method; where: 'query' | 'body' }[] = [];
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops) as [Method, Operation][]) {
        if (op.parameters?.some((p) => p.in === 'query' && p.name === 'bot_id')) {
          byBotId.push({ key: `${method} ${path}`, path, method, where: 'query' });
        } else if (op.requestBody?.content?.['application/json']?.schema?.properties?.bot_id) {
          byBotId.push({ key: `${method} ${path}`, path, method, where: 'body' });
        }
      }
    }
    const keys = byBotId.map((r) => r.key);
    for (const expected of [
      'post /api/v1/search',
      'post /api/v1/chat',
      'get /api/v1/chat/sessions',
      'get /api/v1/documents',
      'post /api/v1/documents/upload',
      'get /api/v1/documents/events',
    ]) {
      assert.ok(keys.includes(expected), `${expected} not found among bot_id routes: ${keys.join(', ')}`);
    }

    const stateBefore = await victimState();
    const upload = await multipart([{ filename: 'planted.txt', content: 'planted by an intruder' }]);
    for (const route of byBotId) {
      for (const [who, headers] of Object.entries(foreignCallers())) {
        const send = (botId: string) => {
          const method = route.method.toUpperCase() as 'GET';
          if (route.key === 'post /api/v1/documents/upload') {
            return h.app.inject({
              method,
              url: `${route.path}?bot_id=${botId}`,
              headers: { ...headers, ...upload.headers },
              payload: upload.payload,
            });
          }
          if (route.where === 'query') return h.app.inject({ method, url: `${route.path}?bot_id=${botId}`, headers });
          return h.app.inject({ method, url: route.path, headers, payload: { ...BODIES[route.key], bot_id: botId } });
        };
        await assertIndistinguishable(`${who} ${route.key}`, send, victimBot.id);
      }
    }
    assert.deepEqual(await victimState(), stateBefore);
  });

  it('session and message ids of another team answer like missing ones, and change nothing', async () => {
    const spec = h.app.swagger() as { paths: Record<string, Partial<Record<Method, unknown>>> };
    const scoped = Object.entries(spec.paths).filter(([path]) => /\/chat\/(sessions|messages)\/\{id\}/.test(path));
    assert.ok(scoped.length >= 2, `expected the session and message routes, found ${scoped.length}`);
    const stateBefore = await victimState();
    let checked = 0;
    for (const [path, ops] of scoped) {
      const realId = path.includes('/sessions/') ? victimSessionId : victimMessageId;
      for (const method of Object.keys(ops) as Method[]) {
        const key = `${method} ${path}`;
        for (const [who, headers] of Object.entries(foreignCallers())) {
          const send = (id: string) =>
            h.app.inject({
              method: method.toUpperCase() as 'GET',
              url: path.replace('{id}', id),
              headers,
              ...(BODIES[key] ? { payload: BODIES[key] } : {}),
            });
          await assertIndistinguishable(`${who} ${key}`, send, realId);
          checked++;
        }
      }
    }
    assert.ok(checked >= 6);
    // Continuing the victim's session from a foreign bot is as unknown as a missing session.
    const intruderBots = (await h.app.inject({ method: 'GET', url: '/api/v1/bots', headers: intruder.auth })).json()
      .bots;
    await assertIndistinguishable(
      'foreign user chat with a foreign session_id',
      (id) =>
        h.app.inject({
          method: 'POST',
          url: '/api/v1/chat',
          headers: intruder.auth,
          payload: { message: 'What is the vault code?', bot_id: intruderBots[0].id, session_id: id },
        }),
      victimSessionId,
    );
    assert.deepEqual(await victimState(), stateBefore);
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
