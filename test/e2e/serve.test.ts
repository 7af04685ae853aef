import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, runCli, waitFor } from '../helpers/process.ts';

describe('the service process', () => {
  it('starts on the embedded database, answers /health and /ready, and drains on SIGTERM', {
    timeout: 300_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'snapagent-serve-'));
    const port = await freePort();
    const started = Date.now();
    const cli = runCli(['serve'], { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    try {
      const health = await (await waitFor(`http://127.0.0.1:${port}/health`, 60_000)).json();
      const healthMs = Date.now() - started;
      assert.deepEqual(health, { status: 'healthy', app_name: 'RAG Platform Backend', version: '1.0.0' });
      const ready = (await (await waitFor(`http://127.0.0.1:${port}/ready`, 240_000)).json()) as {
        status: string;
        checks: { database: { detail: string } };
      };
      assert.equal(ready.status, 'ready');
      assert.equal(ready.checks.database.detail, 'pglite');

      // A request in flight when SIGTERM arrives still gets its answer.
      const inFlight = fetch(`http://127.0.0.1:${port}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'drain@example.com', password: 'long enough password' }),
      });
      await new Promise((r) => setTimeout(r, 20));
      cli.child.kill('SIGTERM');
      const res = await inFlight;
      assert.equal(res.status, 201);
      const code = await cli.exited;
      assert.equal(code, 0, cli.output());
      const logs = cli
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'));
      assert.ok(logs.length > 0 && logs.every((l) => JSON.parse(l).level !== undefined), 'logs are JSON lines');
      assert.ok(
        logs.some((l) => JSON.parse(l).request_id),
        'log lines carry the request id',
      );
      process.stdout.write(`# /health answered ${healthMs} ms after spawn\n`);
    } finally {
      cli.child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start with a bad variable and names it', async () => {
    const cli = runCli(['serve'], { PORT: 'not-a-port', ENVIRONMENT: 'production' });
    assert.equal(await cli.exited, 78);
    assert.match(cli.output(), /PORT/);
  });

  it('refuses the default JWT secret in production', async () => {
    const cli = runCli(['migrate'], { ENVIRONMENT: 'production' });
    assert.equal(await cli.exited, 78);
    assert.match(cli.output(), /JWT_SECRET_KEY/);
  });
});
