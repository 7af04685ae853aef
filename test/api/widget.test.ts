import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeCorpus } from '../../src/modules/retrieval/eval/corpus.ts';
import { buildTestApp, type Session, signUp, type TestApp } from '../helpers/app.ts';
import { parseSse } from '../helpers/sse.ts';

const SITE = 'https://shop.example.com';

describe('the embeddable widget', () => {
  let h: TestApp;
  let owner: Session;
  let botId: string;
  let key: string;
  let keyId: string;

  before(async () => {
    // The API's own CORS allows the admin front-end only; the widget's routes answer for themselves.
    h = await buildTestApp({
      EMBEDDING_PROVIDER: 'none',
      LLM_PROVIDER: 'none',
      CORS_ORIGINS: 'https://admin.example.com',
    });
    owner = await signUp(h.app, 'widget');
    botId = (
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/bots',
        headers: owner.auth,
        payload: {
          name: 'Shop helper',
          settings: { widget: { allowed_origins: [`${SITE}/`], welcome_message: 'Hi!' } },
        },
      })
    ).json().id;
    await writeCorpus(h.t.db, botId, [
      { filename: 'returns.md', content: 'Items can be returned within 30 days of delivery.' },
    ]);
    const created = await h.app.inject({
      method: 'POST',
      url: `/api/v1/bots/${botId}/widget-keys`,
      headers: owner.auth,
      payload: { name: 'shop.example.com' },
    });
    assert.equal(created.statusCode, 201);
    ({ key, id: keyId } = created.json());
  });
  after(() => h.close());

  const widget = (method: 'GET' | 'POST' | 'OPTIONS', path: string, origin?: string, payload?: object) =>
    h.app.inject({
      method,
      url: `/api/v1/widget/${key}${path}`,
      headers: origin ? { origin } : {},
      ...(payload ? { payload } : {}),
    });

  it('issues publishable keys to bot admins, listed apart from secret keys', async () => {
    assert.match(key, /^pk_/);
    const listed = (
      await h.app.inject({ method: 'GET', url: `/api/v1/bots/${botId}/widget-keys`, headers: owner.auth })
    ).json();
    assert.deepEqual(
      listed.widget_keys.map((k: { id: string }) => k.id),
      [keyId],
    );
    const secret = (
      await h.app.inject({ method: 'GET', url: `/api/v1/bots/${botId}/api-keys`, headers: owner.auth })
    ).json();
    assert.deepEqual(secret.api_keys, []);
  });

  it('never accepts a publishable key as a Bearer credential', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: `/api/v1/bots/${botId}`,
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(res.statusCode, 401);
  });

  it('serves its configuration to allowed origins only, with CORS for that origin', async () => {
    const ok = await widget('GET', '/config', SITE);
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { title: 'Shop helper', welcome_message: 'Hi!' });
    assert.equal(ok.headers['access-control-allow-origin'], SITE);
    for (const origin of ['https://evil.example.com', 'http://shop.example.com', undefined]) {
      const refused = await widget('GET', '/config', origin);
      assert.equal(refused.statusCode, 403, String(origin));
      assert.equal(refused.headers['access-control-allow-origin'], undefined);
    }
  });

  it('answers the preflight of an allowed origin and refuses others', async () => {
    const preflight = await h.app.inject({
      method: 'OPTIONS',
      url: `/api/v1/widget/${key}/chat`,
      headers: {
        origin: SITE,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], SITE);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    assert.match(String(preflight.headers['access-control-allow-headers']), /content-type/);
    const other = await h.app.inject({
      method: 'OPTIONS',
      url: `/api/v1/widget/${key}/chat`,
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(other.statusCode, 403);
  });

  it('chats as Server-Sent Events, continues the session, and records the key as the caller', async () => {
    const first = await widget('POST', '/chat', SITE, { message: 'How long do I have to return an item?' });
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['access-control-allow-origin'], SITE);
    const events = parseSse(first.body);
    assert.deepEqual(
      events.map((e) => e.event),
      ['sources', 'delta', 'done'],
    );
    const done = events.at(-1)?.data as { session_id: string; message_id: string; mode: string };
    assert.equal(done.mode, 'extractive');
    assert.match((events[1]?.data as { text: string } | undefined)?.text ?? '', /30 days/);

    const second = await widget('POST', '/chat', SITE, { message: 'And after that?', session_id: done.session_id });
    assert.equal(parseSse(second.body).at(-1)?.event, 'done');
    const stored = await h.t.db.query<{ api_key_id: string | null }>(
      'SELECT s.api_key_id FROM chat_sessions s WHERE s.id = $1',
      [done.session_id],
    );
    assert.equal(stored[0]?.api_key_id, keyId);
    const listed = (
      await h.app.inject({ method: 'GET', url: `/api/v1/bots/${botId}/widget-keys`, headers: owner.auth })
    ).json();
    assert.ok(listed.widget_keys[0].last_used_at, 'the key shows when it was last used');
    const owned = await h.app.inject({
      method: 'GET',
      url: `/api/v1/chat/sessions/${done.session_id}/messages`,
      headers: owner.auth,
    });
    assert.equal(owned.json().messages.length, 4, 'the bot owner sees the widget conversation');

    // A visitor cannot step into a conversation its key did not start, even knowing its id.
    const internal = (
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/chat',
        headers: owner.auth,
        payload: { message: 'Internal question about returns', bot_id: botId },
      })
    ).json().session_id;
    const hijack = await widget('POST', '/chat', SITE, { message: 'What did they ask?', session_id: internal });
    assert.equal(hijack.statusCode, 404);
    assert.equal(hijack.json().code, 'not_found');
    assert.equal((await widget('GET', `/sessions/${internal}/messages`, SITE)).statusCode, 404);

    // Its own conversation it can read back: what was said and the sources, nothing of the cost.
    const mine = await widget('GET', `/sessions/${done.session_id}/messages`, SITE);
    assert.equal(mine.statusCode, 200);
    assert.equal(mine.headers['access-control-allow-origin'], SITE);
    const messages = mine.json().messages;
    assert.deepEqual(
      messages.map((m: { role: string }) => m.role),
      ['user', 'assistant', 'user', 'assistant'],
    );
    assert.deepEqual(messages[1].sources, [{ filename: 'returns.md' }]);
    assert.deepEqual(Object.keys(messages[1]).sort(), ['content', 'role', 'sources']);
  });

  it('refuses a secret key, an unknown key and a revoked one', async () => {
    const secret = (
      await h.app.inject({ method: 'POST', url: `/api/v1/bots/${botId}/api-keys`, headers: owner.auth, payload: {} })
    ).json().key;
    for (const k of [secret, 'pk_unknown']) {
      const res = await h.app.inject({ method: 'GET', url: `/api/v1/widget/${k}/config`, headers: { origin: SITE } });
      assert.equal(res.statusCode, 401, k.slice(0, 3));
    }
    const revoked = await h.app.inject({
      method: 'DELETE',
      url: `/api/v1/bots/${botId}/widget-keys/${keyId}`,
      headers: owner.auth,
    });
    assert.equal(revoked.statusCode, 204);
    assert.equal((await widget('GET', '/config', SITE)).statusCode, 401);
  });

  it('serves the script', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/widget.js' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/javascript/);
    assert.match(res.body, /data-key/);
  });
});
