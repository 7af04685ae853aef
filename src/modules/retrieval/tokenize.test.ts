import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { termFrequencies, tokenize } from './tokenize.ts';

describe('tokenize', () => {
  it('lowercases, drops English stopwords and Porter-stems words', () => {
    assert.deepEqual(tokenize('The Running dogs are running quickly'), ['run', 'dog', 'run', 'quickli']);
    assert.deepEqual(tokenize('Relational databases'), ['relat', 'databas']);
  });

  it('keeps numbers and letter+digit words unstemmed', () => {
    assert.deepEqual(tokenize('COVID-19 cases rose 35% in 2024; IL6 levels'), [
      'covid',
      '19',
      'case',
      'rose',
      '35',
      '2024',
      'il6',
      'level',
    ]);
  });

  it('cuts Hangul runs into overlapping bigrams, so particles leave the stem pieces intact', () => {
    assert.deepEqual(tokenize('임종석이'), ['임종', '종석', '석이']);
    assert.deepEqual(tokenize('임종석은'), ['임종', '종석', '석은']);
    // A question and its passage share the pieces of the name whatever particle follows it.
    const question = new Set(tokenize('임종석이 주도한 시위는?'));
    for (const t of ['임종', '종석']) assert.ok(question.has(t));
  });

  it('keeps a one-character Hangul run whole', () => {
    assert.deepEqual(tokenize('책 한 권'), ['책', '한', '권']);
  });

  it('splits mixed Latin/Hangul/number text by script', () => {
    assert.deepEqual(tokenize('B2B e커머스 2024년 매출'), ['b2b', 'e', '커머', '머스', '2024', '년', '매출']);
  });

  it('bigrams Han and Kana runs', () => {
    assert.deepEqual(tokenize('東京タワー'), ['東京', '京タ', 'タワ', 'ワー']);
    assert.deepEqual(tokenize('大韓民國'), ['大韓', '韓民', '民國']);
  });

  it('normalises compatibility forms (PDF ligatures, full-width letters)', () => {
    assert.deepEqual(tokenize('ﬁnal ＡＢＣ'), ['final', 'abc']);
  });

  it('returns nothing for punctuation or stopwords only', () => {
    assert.deepEqual(tokenize(' ... !? the and of '), []);
  });

  it('counts term frequencies and the length BM25 normalises by', () => {
    const tf = termFrequencies('Cats chase cats. 고양이 고양이');
    assert.equal(tf.terms.get('cat'), 2);
    assert.equal(tf.terms.get('chase'), 1);
    assert.equal(tf.terms.get('고양'), 2);
    assert.equal(tf.terms.get('양이'), 2);
    assert.equal(tf.length, 7);
    assert.equal(
      [...tf.terms.values()].reduce((a, b) => a + b, 0),
      tf.length,
    );
  });

  it('tokenizes a long text quickly', () => {
    const text =
      'Retrieval augmented generation grounds answers in documents. 검색 증강 생성은 문서에 근거한 답을 만든다. '.repeat(
        2_000,
      );
    const started = performance.now();
    const { length } = termFrequencies(text);
    const ms = performance.now() - started;
    assert.ok(length > 30_000);
    assert.ok(ms < 1_000, `took ${ms} ms for ${text.length} characters`);
  });
});
