import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { writeCorpus } from '../../src/modules/retrieval/eval/corpus.ts';
import { buildTestApp, type Session, signUp, type TestApp } from '../helpers/app.ts';

/**
 * The widget in a real browser: a page on one origin loads /widget.js from the server on another,
 * asks a question, reads the streamed answer and its sources, and keeps the conversation across
 * a reload; a page from an origin the bot does not allow gets no chat. Debian's Chromium, headless
 * (CI installs it; elsewhere the test is skipped when it is missing).
 */
const CHROMIUM = '/usr/bin/chromium';
// CI installs it (.ci/run), so there a missing browser fails the test instead of skipping it.
const skip = existsSync(CHROMIUM) || process.env.CI ? false : `${CHROMIUM} is not installed (apt-get install chromium)`;

/** A site that embeds the widget: one page with the script tag. */
async function startSite(scriptUrl: string, key: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>Shop</title></head>
      <body><h1>Shop</h1><script src="${scriptUrl}" data-key="${key}" async></script></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('the widget in a browser', { skip }, () => {
  let h: TestApp;
  let owner: Session;
  let browser: Browser;
  let allowed: { server: Server; origin: string };
  let foreign: { server: Server; origin: string };
  let botId: string;

  before(async () => {
    h = await buildTestApp({ EMBEDDING_PROVIDER: 'none', LLM_PROVIDER: 'none' });
    const api = await h.app.listen({ port: 0, host: '127.0.0.1' });
    owner = await signUp(h.app, 'browser');
    botId = (
      await h.app.inject({ method: 'POST', url: '/api/v1/bots', headers: owner.auth, payload: { name: 'Shop helper' } })
    ).json().id;
    await writeCorpus(h.t.db, botId, [
      { filename: 'returns.md', content: 'Items can be returned within 30 days of delivery.' },
    ]);
    const key = (
      await h.app.inject({ method: 'POST', url: `/api/v1/bots/${botId}/widget-keys`, headers: owner.auth, payload: {} })
    ).json().key;
    allowed = await startSite(`${api}/widget.js`, key);
    foreign = await startSite(`${api}/widget.js`, key);
    const patched = await h.app.inject({
      method: 'PATCH',
      url: `/api/v1/bots/${botId}`,
      headers: owner.auth,
      payload: {
        settings: { widget: { allowed_origins: [allowed.origin], welcome_message: 'Ask me about returns.' } },
      },
    });
    assert.equal(patched.statusCode, 200);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  after(async () => {
    await browser?.close();
    allowed?.server.close();
    foreign?.server.close();
    await h?.close();
  });

  it('streams an answer with its sources and shows and continues the conversation after a reload', async () => {
    const page = await browser.newPage();
    await page.goto(allowed.origin);
    await page.click('[data-snapagent-widget] .bubble');
    await page.locator('[data-snapagent-widget] header').filter({ hasText: 'Shop helper' }).waitFor();
    await page.locator('.log li.bot').filter({ hasText: 'Ask me about returns.' }).waitFor();

    await page.fill('[data-snapagent-widget] input', 'How long do I have to return an item?');
    await page.click('[data-snapagent-widget] form button');
    const answer = page.locator('.log li.bot').filter({ hasText: '30 days' });
    await answer.waitFor();
    await answer.locator('.sources li').filter({ hasText: 'returns.md' }).waitFor();

    await page.reload();
    await page.click('[data-snapagent-widget] .bubble');
    // The conversation comes back with the page: the question, and the answer with its sources.
    await page.locator('.log li.user').filter({ hasText: 'How long do I have to return an item?' }).waitFor();
    await page.locator('.log li.bot').filter({ hasText: '30 days' }).locator('.sources li').waitFor();
    await page.fill('[data-snapagent-widget] input', 'Can I return it after a month?');
    await page.click('[data-snapagent-widget] form button');
    await page.locator('.log li.bot .sources').nth(1).waitFor();

    const sessions = async () =>
      (await h.app.inject({ method: 'GET', url: `/api/v1/chat/sessions?bot_id=${botId}`, headers: owner.auth })).json()
        .sessions;
    const continued = await sessions();
    assert.equal(continued.length, 1, 'the second question continued the first session');
    assert.equal(continued[0].message_count, 4);

    // "New chat" clears the panel and the next question opens a session of its own.
    await page.click('[data-snapagent-widget] header .new');
    assert.equal(await page.locator('.log li.user').count(), 0);
    await page.fill('[data-snapagent-widget] input', 'How long do I have to return an item?');
    await page.click('[data-snapagent-widget] form button');
    await page.locator('.log li.bot .sources').waitFor();
    assert.equal((await sessions()).length, 2);
    await page.close();
  });

  it('gives a page from another origin no chat', async () => {
    const page = await browser.newPage();
    await page.goto(foreign.origin);
    await page.click('[data-snapagent-widget] .bubble');
    await page.locator('.log li.error').filter({ hasText: 'not available' }).waitFor();
    await page.close();
  });
});
