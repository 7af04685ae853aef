import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { ReadinessCheck } from './health/routes.ts';

export type RedisClient = Redis;

/**
 * The shared Redis client (rate limits, login lockouts, sessions, revocation cache).
 *
 * It fails fast instead of queueing: with the offline queue off and one retry per command, a
 * command sent while Redis is unreachable is rejected at once (ioredis would otherwise hold it
 * until Redis comes back, and every request with it), so each caller applies its own
 * Redis-down policy. Reconnection keeps going in the background with capped backoff.
 * TLS always verifies the server certificate; a private CA is added with REDIS_TLS_CA_FILE,
 * never by turning verification off.
 */
export function createRedis(config: NonNullable<Config['redis']>, log: Logger): RedisClient {
  const url = new URL(config.url);
  const client = new Redis(config.url, {
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    ...(config.tls
      ? {
          tls: {
            // SNI takes host names only; an IP address is still checked against the certificate.
            ...(isIP(url.hostname) === 0 ? { servername: url.hostname } : {}),
            ...(config.tlsCaFile ? { ca: readFileSync(config.tlsCaFile) } : {}),
          },
        }
      : {}),
  });
  let lastLogged = 0;
  client.on('error', (err: Error) => {
    // Reconnect attempts fail every few hundred ms while Redis is down: log at most every 10 s.
    if (Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    log.error({ err, redis: `${url.hostname}:${url.port || 6379}` }, 'Redis unavailable');
  });
  client.on('ready', () => log.info('Redis connected'));
  return client;
}

/** Resolves once the client is connected (or rejects after `timeoutMs`). */
export function redisConnected(client: RedisClient, timeoutMs = 5_000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis not connected within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

/** Closes the connection politely, or drops it when Redis is not answering. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'ready') {
    await client.quit().catch(() => client.disconnect());
  } else {
    client.disconnect();
  }
}

/** /ready: a configured Redis is critical (limits and lockouts fail closed without it). */
export function redisReadiness(client: RedisClient): ReadinessCheck {
  return {
    name: 'redis',
    critical: true,
    async check() {
      const pong = await client.ping();
      if (pong !== 'PONG') throw new Error(`unexpected answer ${pong}`);
      return client.options.tls ? 'connected (TLS)' : 'connected';
    },
  };
}
