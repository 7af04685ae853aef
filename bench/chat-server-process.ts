/**
 * The chat benchmark's servers under test, each in a process of its own as in production (a
 * server does not share its event loop with its clients or with the model it calls):
 *
 * - `relay`: the baseline, a bare Fastify route that streams the fake model through the same
 *   provider client (the registry's Anthropic model with its retries and timeouts) as SSE deltas
 *   and a final event;
 * - `app`: the real app (PGlite in memory, or the PostgreSQL database it is given) with one user,
 *   one small bot and its knowledge base.
 *
 * Forked by `startChatServer`; answers `{url, token?, botId?}` over IPC and closes on `close`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDeps } from '../src/infrastructure.ts';
import { writeCorpus } from '../src/modules/retrieval/eval/corpus.ts';
import type { Db } from '../src/platform/db/db.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { openPglite } from '../src/platform/db/pglite.ts';
import { openPostgres } from '../src/platform/db/postgres.ts';
import { createLlmRegistry } from '../src/providers/llm/registry.ts';

export interface ChatServerOptions {
  target: 'relay' | 'app';
  /** The fake Anthropic API both servers call. */
  anthropicUrl: string;
  apiKey: string;
  /** The app's database (a throwaway PostgreSQL database); PGlite in memory when absent. */
  databaseUrl?: string | undefined;
  /** The bot's knowledge base. */
  corpus: string[];
}

export interface ChatServer {
  url: string;
  /** The app's bearer token and bot; absent for the relay. */
  token?: string;
  botId?: string;
  /** CPU time the server process has used so far, in ms (user + system). */
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

type Ready = { url: string; token?: string; botId?: string };

/** Forks this file as one server under test and waits until it listens. */
export async function startChatServer(options: ChatServerOptions): Promise<ChatServer> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the ${options.target} server exited with ${code} before listening`);
    }),
  ])) as [Ready];
  return {
    ...ready,
    async cpuMs() {
      const answer = once(child, 'message') as Promise<[{ cpuMs: number }]>;
      child.send('cpu');
      return (await answer)[0].cpuMs;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.send('close');
      await exited;
    },
  };
}

function environment(options: ChatServerOptions) {
  return {
    ENVIRONMENT: 'test' as const,
    LOG_LEVEL: 'silent' as const,
    ANTHROPIC_API_KEY: options.apiKey,
    ANTHROPIC_BASE_URL: options.anthropicUrl,
    EMBEDDING_PROVIDER: 'none' as const,
    RATE_LIMIT_ENABLED: 'false' as const,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
  };
}

/** A started server: what the parent is told, and how to stop it. */
interface Started {
  ready: Ready;
  close(): Promise<void>;
}

async function serveRelay(options: ChatServerOptions): Promise<Started> {
  const model = createLlmRegistry(loadConfig(environment(options))).resolve();
  if (!model) throw new Error('the relay needs the fake Anthropic API configured');
  const app = Fastify({ logger: false });
  app.post('/relay', async (req, reply) => {
    const { message } = req.body as { message: string };
    const controller = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    try {
      for await (const event of model.stream({
        system: 'You answer questions.',
        messages: [{ role: 'user', content: message }],
        signal: controller.signal,
      })) {
        if (event.type === 'text') res.write(`event: delta\ndata: ${JSON.stringify({ text: event.text })}\n\n`);
        else res.write(`event: done\ndata: ${JSON.stringify({ usage: event.usage })}\n\n`);
      }
    } catch (error) {
      res.write(`event: error\ndata: ${JSON.stringify({ detail: String(error) })}\n\n`);
    }
    res.end();
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    ready: { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/relay` },
    close: () => app.close(),
  };
}

async function serveApp(options: ChatServerOptions): Promise<Started> {
  const db = options.databaseUrl
    ? await openPostgres({ url: options.databaseUrl, ssl: 'disable', poolSize: 10 })
    : await openPglite(undefined);
  await migrate(db);
  const built = await buildApp(createDeps(loadConfig(environment(options)), db, pino({ level: 'silent' })));
  const app = built.app as unknown as FastifyInstance;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const { token, botId } = await seedBot(base, db, options.corpus);
  return {
    ready: { url: `${base}/api/v1/chat`, token, botId },
    async close() {
      await app.close();
      await db.close();
    },
  };
}

/** A user, a bot and a small knowledge base, through the app's own API where it matters. */
async function seedBot(base: string, db: Db, corpus: string[]): Promise<{ token: string; botId: string }> {
  const call = async (path: string, body: unknown, token?: string) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const user = await call('/api/v1/auth/register', {
    email: `bench-${randomBytes(4).toString('hex')}@example.com`,
    password: 'a long bench password',
  });
  const token = user.access_token as string;
  const bot = await call('/api/v1/bots', { name: 'Bench bot' }, token);
  const botId = bot.id as string;
  await writeCorpus(
    db,
    botId,
    corpus.map((content, i) => ({ filename: `doc${i}.md`, content })),
  );
  return { token, botId };
}

async function serve(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as ChatServerOptions;
  const started = options.target === 'relay' ? await serveRelay(options) : await serveApp(options);
  process.on('message', async (message) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send?.({ cpuMs: (user + system) / 1000 });
      return;
    }
    if (message !== 'close') return;
    await started.close();
    process.exit(0);
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => process.exit(0));
  process.send?.(started.ready);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await serve();
