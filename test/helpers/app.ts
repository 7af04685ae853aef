import pino from 'pino';
import { type BuiltApp, buildApp } from '../../src/app.ts';
import { type Config, type Environment, loadConfig } from '../../src/config.ts';
import type { Deps } from '../../src/deps.ts';
import { openTestDb, type TestDatabase } from './db.ts';

export interface TestApp extends BuiltApp {
  t: TestDatabase;
  config: Config;
  deps: Deps;
  close(): Promise<void>;
}

/** The real app over a fresh test database, driven with `app.inject`. */
export async function buildTestApp(env: Environment = {}, extra: Partial<Deps> = {}): Promise<TestApp> {
  const t = await openTestDb();
  const config = loadConfig({ ENVIRONMENT: 'test', LOG_LEVEL: 'silent', ...env });
  const deps: Deps = { config, db: t.db, log: pino({ level: 'silent' }), ...extra };
  const built = await buildApp(deps);
  await built.app.ready();
  return {
    ...built,
    t,
    config,
    deps,
    async close() {
      await built.app.close();
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
