import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { insertTeamAndBot, openTestDb, type TestDatabase, testDriver } from '../../../test/helpers/db.ts';
import * as repo from './repo.ts';

describe(`chat repo: a session and its history in one read (${testDriver})`, () => {
  let t: TestDatabase;
  let botId: string;
  before(async () => {
    t = await openTestDb();
    ({ botId } = await insertTeamAndBot(t.db));
  });
  after(() => t.close());

  const turn = (sessionId: string, n: number, errorCode: string | null = null) =>
    repo.insertTurn(t.db, {
      sessionId,
      botId,
      userId: null,
      apiKeyId: null,
      title: 'history',
      question: { id: randomUUID(), content: `question ${n}`, askedAt: new Date() },
      answer: {
        id: randomUUID(),
        content: `answer ${n}`,
        sources: [],
        mode: 'llm',
        searchQuery: null,
        provider: null,
        model: null,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: null,
        latencyMs: 0,
        errorCode,
        error: errorCode ? 'it failed' : null,
      },
    });

  it('returns the last messages oldest first, with their error codes', async () => {
    const sessionId = randomUUID();
    for (let n = 1; n <= 12; n++) await turn(sessionId, n, n === 12 ? 'provider_error' : null);
    const session = await repo.findSessionWithHistory(t.db, sessionId, 5);
    assert.equal(session?.id, sessionId);
    assert.equal(session?.bot_id, botId);
    assert.deepEqual(session?.history, [
      { role: 'assistant', content: 'answer 10', error_code: null },
      { role: 'user', content: 'question 11', error_code: null },
      { role: 'assistant', content: 'answer 11', error_code: null },
      { role: 'user', content: 'question 12', error_code: null },
      { role: 'assistant', content: 'answer 12', error_code: 'provider_error' },
    ]);
  });

  it('a session without messages has an empty history; a missing one is undefined', async () => {
    const sessionId = randomUUID();
    await t.db.query(`INSERT INTO chat_sessions (id, bot_id) VALUES ($1, $2)`, [sessionId, botId]);
    assert.deepEqual((await repo.findSessionWithHistory(t.db, sessionId, 5))?.history, []);
    assert.equal(await repo.findSessionWithHistory(t.db, randomUUID(), 5), undefined);
  });
});
