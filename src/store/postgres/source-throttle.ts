/**
 * @module store/postgres/source-throttle
 * The PostgreSQL side of the per-source throttle (`regulation/source-throttle`): an attempt
 * is decided and counted in one transaction holding the source's row lock (an empty row is
 * created first when there is none), so parallel attempts from one source on any number of
 * gateways are counted one after the other. Spread into the store by `openPostgresStore`.
 */
import type { SourceThrottleStore, SourceVerdict, StoreDeps } from '../types.ts';
import { failuresExpireAt, forgive, throttle } from '../../regulation/source-throttle.ts';
import { purge } from './db.ts';
import type { Db } from './db.ts';

export function pgSourceThrottleStore(db: Db, deps: StoreDeps): SourceThrottleStore {
  return {
    async throttleSource(source, policy) {
      // Sources that stopped failing would otherwise pile up (a spray from many addresses).
      await purge(db, 'source_failures', 'source', 'expires_at <= $1', deps.clock());
      return db.tx<SourceVerdict>('throttleSource', async (c) => {
        const now = deps.clock();
        await c.query("INSERT INTO source_failures (source, failures, expires_at) VALUES ($1, '[]', $2) ON CONFLICT DO NOTHING", [source, now]);
        const { rows } = await c.query<{ failures: number[] }>('SELECT failures FROM source_failures WHERE source = $1 FOR UPDATE', [source]);
        const verdict = throttle(rows[0]?.failures ?? [], policy, now);
        if (verdict.allowed) {
          await c.query('UPDATE source_failures SET failures = $2::jsonb, expires_at = $3 WHERE source = $1', [
            source,
            JSON.stringify(verdict.next),
            failuresExpireAt(verdict.next, policy),
          ]);
        }
        return verdict;
      });
    },
    async forgiveSourceFailure(source, at) {
      await db.tx('forgiveSourceFailure', async (c) => {
        const { rows } = await c.query<{ failures: number[] }>('SELECT failures FROM source_failures WHERE source = $1 FOR UPDATE', [source]);
        const before = rows[0]?.failures;
        if (before === undefined || !before.includes(at)) return;
        await c.query('UPDATE source_failures SET failures = $2::jsonb WHERE source = $1', [source, JSON.stringify(forgive(before, at))]);
      });
    },
    async sourceFailures(source) {
      const { rows } = await db.query<{ failures: number[] }>('SELECT failures FROM source_failures WHERE source = $1', [source]);
      return rows[0]?.failures ?? [];
    },
  };
}
