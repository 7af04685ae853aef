import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { freePort } from '../../test/helpers/process.ts';
import { closeRedis, createRedis, redisConnected, redisReadiness } from './redis.ts';

/**
 * The Redis client against a TLS redis-server of our own (a private CA made with openssl): the
 * certificate is verified — without the CA the connection is refused, with REDIS_TLS_CA_FILE it
 * works — and commands fail fast instead of queueing while Redis is unreachable.
 */
function logSink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

describe('Redis client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snapagent-redis-tls-'));
  let port: number;
  let server: ChildProcess;

  before(async () => {
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore', timeout: 20_000 });
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=snapagent-test-ca',
    );
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    );
    writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    ssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '1',
      '-extfile',
      'san.cnf',
    );
    port = await freePort();
    server = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--tls-cert-file',
        join(dir, 'server.crt'),
        '--tls-key-file',
        join(dir, 'server.key'),
        '--tls-ca-cert-file',
        join(dir, 'ca.crt'),
        '--tls-auth-clients',
        'no',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      server.stdout?.on('data', (d) => {
        out += d;
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  });
  after(() => {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a server certificate it cannot verify', async () => {
    const { log, lines } = logSink();
    const client = createRedis(
      { url: `rediss://127.0.0.1:${port}`, tls: true, tlsCaFile: undefined, keyPrefix: 'x:' },
      log,
    );
    try {
      await assert.rejects(redisConnected(client, 1_500));
      assert.match(lines.join(''), /certificate/i);
      await assert.rejects(redisReadiness(client).check());
    } finally {
      await closeRedis(client);
    }
  });

  it('connects over TLS with the private CA from REDIS_TLS_CA_FILE', async () => {
    const client = createRedis(
      { url: `rediss://127.0.0.1:${port}`, tls: true, tlsCaFile: join(dir, 'ca.crt'), keyPrefix: 'x:' },
      pino({ level: 'silent' }),
    );
    try {
      await redisConnected(client, 5_000);
      assert.equal(await redisReadiness(client).check(), 'connected (TLS)');
    } finally {
      await closeRedis(client);
    }
  });

  it('fails commands at once while Redis is unreachable, instead of queueing them', async () => {
    const client = createRedis(
      { url: `redis://127.0.0.1:${await freePort()}`, tls: false, tlsCaFile: undefined, keyPrefix: 'x:' },
      pino({ level: 'silent' }),
    );
    try {
      const started = Date.now();
      await assert.rejects(client.get('anything'));
      await assert.rejects(redisReadiness(client).check());
      // ioredis' defaults would hold the command through 20 reconnection attempts (~10 s).
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    } finally {
      await closeRedis(client);
    }
  });
});
