import pino from 'pino';
import { type BuiltApp, buildApp } from '../../src/app.ts';
import { type Config, type Environment, loadConfig } from '../../src/config.ts';
import type { Deps } from '../../src/deps.ts';
import { createDeps } from '../../src/infrastructure.ts';
import { closeRedis } from '../../src/platform/redis.ts';
import { startJobs } from '../../src/worker.ts';
import { openTestDb, type TestDatabase } from './db.ts';

export interface TestApp extends BuiltApp {
  t: TestDatabase;
  config: Config;
  deps: Deps;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Start the job queue (uploads need it). */
  queue?: boolean;
  /** Also run the ingestion worker in this process. */
  worker?: boolean;
  /** Replace parts of the infrastructure (fake registries, ...). */
  deps?: Partial<Deps>;
}

/** The real app over a fresh test database, driven with `app.inject`. */
export async function buildTestApp(env: Environment = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const t = await openTestDb();
  const config = loadConfig({
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'silent',
    JOB_LEASE_SECONDS: '10',
    ...(t.url ? { DATABASE_URL: t.url } : {}),
    ...env,
  });
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const base = createDeps(config, t.db, log);
  const deps = { ...base, ...options.deps };
  const jobs = options.queue || options.worker ? await startJobs(deps, Boolean(options.worker)) : undefined;
  const built = await buildApp(deps);
  await built.app.ready();
  return {
    ...built,
    t,
    config,
    deps,
    async close() {
      await built.app.close();
      await jobs?.stop();
      if (deps.redis) await closeRedis(deps.redis);
      await t.close();
    },
  };
}

export interface Session {
  token: string;
  refresh: string;
  userId: string;
  teamId: string;
  auth: { authorization: string };
}

let counter = 0;

/** Registers a fresh user; returns its tokens and personal team. */
export async function signUp(app: BuiltApp['app'], name = 'user'): Promise<Session> {
  counter += 1;
  const email = `${name}-${counter}-${Date.now()}@example.com`;
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email, password: 'correct horse battery', name },
  });
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  const me = await app.inject({
    method: 'GET',
    url: '/api/v1/auth/me',
    headers: { authorization: `Bearer ${body.access_token}` },
  });
  return {
    token: body.access_token,
    refresh: body.refresh_token,
    userId: body.user.id,
    teamId: me.json().teams[0].id,
    auth: { authorization: `Bearer ${body.access_token}` },
  };
}
