/**
 * @module store/sqlite/source-throttle
 * The SQLite side of the per-source throttle (`regulation/source-throttle`): an attempt is
 * decided and counted in one `BEGIN IMMEDIATE` transaction, so parallel attempts from one
 * source, in this process or another one on the same file, are counted one after the other.
 * Spread into the store by `openSqliteStore`.
 */
import type Database from 'better-sqlite3';
import type { SourceThrottlePolicy, SourceThrottleStore, SourceVerdict, StoreDeps } from '../types.ts';
import { failuresExpireAt, forgive, throttle } from '../../regulation/source-throttle.ts';

/** Runs a statement and turns SQLite failures into the store's 503 (see `guard` in sqlite-store). */
type Guard = <T>(what: string, fn: () => T) => Promise<T>;

export function sqliteSourceThrottleStore(db: Database.Database, deps: StoreDeps, guard: Guard): SourceThrottleStore {
  const q = {
    get: db.prepare<[string], { failures: string }>('SELECT failures FROM source_failures WHERE source = ?'),
    save: db.prepare(
      `INSERT INTO source_failures (source, failures, expires_at) VALUES (@source, @failures, @expires_at)
       ON CONFLICT (source) DO UPDATE SET failures = excluded.failures, expires_at = excluded.expires_at`,
    ),
    setFailures: db.prepare('UPDATE source_failures SET failures = ? WHERE source = ?'),
    // Sources that stopped failing would otherwise pile up (a spray from many addresses).
    purge: db.prepare('DELETE FROM source_failures WHERE expires_at <= ?'),
  };
  const read = (source: string): number[] => {
    const row = q.get.get(source);
    return row === undefined ? [] : (JSON.parse(row.failures) as number[]);
  };

  const throttleTx = db.transaction((source: string, policy: SourceThrottlePolicy): SourceVerdict => {
    const now = deps.clock();
    q.purge.run(now);
    const verdict = throttle(read(source), policy, now);
    if (verdict.allowed) q.save.run({ source, failures: JSON.stringify(verdict.next), expires_at: failuresExpireAt(verdict.next, policy) });
    return verdict;
  });
  const forgiveTx = db.transaction((source: string, at: number) => {
    const before = read(source);
    if (before.includes(at)) q.setFailures.run(JSON.stringify(forgive(before, at)), source);
  });

  return {
    throttleSource: (source, policy) => guard('throttleSource', () => throttleTx.immediate(source, policy)),
    forgiveSourceFailure: (source, at) => guard('forgiveSourceFailure', () => forgiveTx.immediate(source, at)),
    sourceFailures: (source) => guard('sourceFailures', () => read(source)),
  };
}
