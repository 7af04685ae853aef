import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseEnv } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('defaults to the embedded database on port 8001', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8001);
    assert.deepEqual(c.database, { driver: 'pglite', dataDir: './data' });
    assert.equal(c.redis, undefined);
    assert.equal(c.llm.provider, 'none');
    assert.equal(c.embedding.provider, 'none');
    assert.equal(c.runWorkerInServer, true);
  });

  it('reads .env.example, copied as it is, as the defaults it documents', () => {
    const example = parseEnv(readFileSync(new URL('../.env.example', import.meta.url), 'utf8'));
    assert.ok(Object.keys(example).length > 20, 'the example lists the variables');
    assert.deepEqual(loadConfig(example), loadConfig({}));
  });

  it('takes a variable set to nothing as unset', () => {
    const c = loadConfig({ PORT: '', RUN_WORKER_IN_SERVER: ' ', EMBEDDING_DIMENSIONS: '', LLM_PROVIDER: '' });
    assert.equal(c.port, 8001);
    assert.equal(c.runWorkerInServer, true);
    assert.equal(c.llm.provider, 'none');
  });

  it("keeps the original deployment's variable names working", () => {
    const c = loadConfig({
      DATABASE_HOST: 'db.internal',
      DATABASE_PORT: '5433',
      DATABASE_NAME: 'rag',
      DATABASE_USER: 'app',
      DATABASE_PASSWORD: 'p@ss word',
      REDIS_HOST: 'cache.internal',
      REDIS_PORT: '6380',
      REDIS_PASSWORD: 'secret',
      REDIS_TLS: 'true',
      ANTHROPIC_API_KEY: 'sk-ant',
    });
    assert.deepEqual(c.database, {
      driver: 'postgres',
      url: 'postgres://app:p%40ss%20word@db.internal:5433/rag',
      ssl: 'disable',
      poolSize: 10,
    });
    assert.equal(c.redis?.url, 'rediss://:secret@cache.internal:6380');
    assert.equal(c.llm.provider, 'anthropic');
    assert.equal(c.llm.anthropic.model, 'claude-sonnet-4-5-20250929');
    assert.equal(c.runWorkerInServer, false);
  });

  it('prefers URL forms', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://x@h/db', DATABASE_HOST: 'ignored', REDIS_URL: 'redis://r:6379' });
    assert.equal(c.database.driver === 'postgres' && c.database.url, 'postgres://x@h/db');
    assert.equal(c.redis?.url, 'redis://r:6379');
  });

  it('reports every bad variable by name, at once', () => {
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', EMBEDDING_PROVIDER: 'magic' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const named = err.issues.map((i) => i.split(':')[0]).sort();
      assert.deepEqual(named, ['DATABASE_URL', 'EMBEDDING_PROVIDER', 'LOG_LEVEL', 'PORT']);
    }
  });

  it('refuses a default or weak JWT secret in production', () => {
    assert.throws(() => loadConfig({ ENVIRONMENT: 'production' }), /JWT_SECRET_KEY: the development default/);
    assert.throws(() => loadConfig({ ENVIRONMENT: 'production', JWT_SECRET_KEY: 'short' }), /at least 32/);
    const ok = loadConfig({ ENVIRONMENT: 'production', JWT_SECRET_KEY: 'x'.repeat(40) });
    assert.equal(ok.environment, 'production');
  });
});
