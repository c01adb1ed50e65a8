/**
 * @module store/sql/source-throttle
 * Failed first-factor attempts per source address (`regulation/source-throttle`, passed in
 * as `deps.sourceThrottle`). An attempt is decided and counted in one transaction that holds
 * the source's row, created empty first when there is none (SQLite: the file's write lock),
 * so parallel attempts from one source on any number of gateways are counted one after the
 * other and never more are allowed than the failures left in the sliding window.
 */

import type { SourceThrottleStore, SourceVerdict, StoreDeps } from '../types.ts';
import { fromJson, purge, type Conn, type Db } from './db.ts';

export function sourceThrottleQueries(db: Db, deps: StoreDeps): SourceThrottleStore {
  const rules = deps.sourceThrottle;
  const read = async (c: Conn, source: string, lock: string): Promise<number[] | undefined> => {
    const row = (await c.query<{ failures: unknown }>(`SELECT failures FROM source_failures WHERE source = ?${lock}`, [source])).rows[0];
    return row === undefined ? undefined : (fromJson(row.failures) as number[]);
  };
  const write = (c: Conn, source: string, failures: readonly number[], expiresAt?: number) =>
    expiresAt === undefined
      ? c.query(`UPDATE source_failures SET failures = ${db.dialect.json} WHERE source = ?`, [JSON.stringify(failures), source])
      : c.query(`UPDATE source_failures SET failures = ${db.dialect.json}, expires_at = ? WHERE source = ?`, [
          JSON.stringify(failures),
          expiresAt,
          source,
        ]);

  return {
    async throttleSource(source, policy) {
      // Sources that stopped failing would otherwise pile up (a spray from many addresses).
      await purge(db, 'source_failures', 'source', 'expires_at <= ?', deps.clock());
      return db.tx<SourceVerdict>('throttleSource', async (c) => {
        const now = deps.clock();
        // The empty row gives the row lock something to hold; an allowed attempt overwrites it.
        await c.query("INSERT INTO source_failures (source, failures, expires_at) VALUES (?, '[]', ?) ON CONFLICT DO NOTHING", [
          source,
          now,
        ]);
        const verdict = rules.throttle((await read(c, source, db.dialect.forUpdate)) ?? [], policy, now);
        if (verdict.allowed) await write(c, source, verdict.next, rules.expiresAt(verdict.next, policy));
        return verdict;
      });
    },
    async forgiveSourceFailure(source, at) {
      await db.tx('forgiveSourceFailure', async (c) => {
        const before = await read(c, source, db.dialect.forUpdate);
        if (before?.includes(at)) await write(c, source, rules.forgive(before, at));
      });
    },
    async sourceFailures(source) {
      return (await read(db, source, '')) ?? [];
    },
  };
}
