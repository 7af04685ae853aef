import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { describeEmbedding } from '../../providers/embedding/index.ts';
import type { Db } from '../db/db.ts';
import type { App } from '../http/types.ts';
import { VERSION } from '../version.ts';

/** A readiness probe: a name and a check that resolves when the part works. */
export interface ReadinessCheck {
  name: string;
  /** When false, a failure is reported but does not make the service unready. */
  critical: boolean;
  check(): Promise<string | undefined>;
}

export function dbReadiness(db: Db & { ready?: () => boolean }): ReadinessCheck {
  return {
    name: 'database',
    critical: true,
    async check() {
      if (db.ready && !db.ready()) throw new Error('starting');
      await db.query('SELECT 1');
      return db.driver;
    },
  };
}

/** Queue, embeddings and LLM: reported plainly; only the queue can make the service unready. */
export function providerReadiness(deps: Deps): ReadinessCheck[] {
  return [
    {
      name: 'jobs',
      critical: true,
      async check() {
        deps.queue();
        return 'pg-boss';
      },
    },
    {
      name: 'embeddings',
      critical: false,
      async check() {
        const status = await describeEmbedding(deps.config);
        if (!status.usable) throw new Error(status.detail);
        return status.enabled ? `${status.modelKey}: ${status.detail}` : status.detail;
      },
    },
    {
      name: 'llm',
      critical: false,
      async check() {
        const providers = deps.llm.available();
        return providers.length
          ? `providers: ${providers.join(', ')}`
          : 'no LLM configured: chat answers extractively (best passages with citations)';
      },
    },
  ];
}

export function healthRoutes(app: App, deps: { checks: ReadinessCheck[] }): void {
  // Liveness, byte-for-byte the original's shape: answers as soon as the process listens.
  app.get('/health', {
    schema: {
      tags: ['health'],
      response: { 200: z.object({ status: z.literal('healthy'), app_name: z.string(), version: z.string() }) },
    },
    handler: async () => ({ status: 'healthy' as const, app_name: 'RAG Platform Backend', version: VERSION }),
  });

  app.get('/ready', {
    schema: { tags: ['health'] },
    handler: async (_req, reply) => {
      const results = await Promise.all(
        deps.checks.map(async (c) => {
          try {
            const detail = await withTimeout(c.check(), 3000);
            return { name: c.name, critical: c.critical, ok: true, detail };
          } catch (err) {
            return { name: c.name, critical: c.critical, ok: false, detail: (err as Error).message };
          }
        }),
      );
      const failing = results.filter((r) => !r.ok && r.critical).map((r) => r.name);
      const checks = Object.fromEntries(
        results.map((r) => [r.name, { status: r.ok ? 'ok' : 'fail', ...(r.detail ? { detail: r.detail } : {}) }]),
      );
      return reply
        .status(failing.length ? 503 : 200)
        .send({ status: failing.length ? 'unavailable' : 'ready', ...(failing.length ? { failing } : {}), checks });
    },
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
