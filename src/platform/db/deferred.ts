import type { Db } from './db.ts';

/**
 * A `Db` usable before the database is open: every call waits for it. Lets the HTTP server
 * answer `/health` at once while an embedded database initialises (first start takes seconds).
 */
export function deferredDb(opening: Promise<Db>, driver: Db['driver']): Db & { ready(): boolean } {
  let open: Db | undefined;
  opening.then(
    (db) => {
      open = db;
    },
    () => {},
  );
  const db = () => opening;
  return {
    driver,
    get native() {
      return open?.native;
    },
    ready: () => open !== undefined,
    query: async (sql, params) => (await db()).query(sql, params),
    exec: async (sql) => (await db()).exec(sql),
    transaction: async (fn) => (await db()).transaction(fn),
    close: async () => (await db()).close(),
  };
}
