/**
 * @module store/postgres/db
 * The connection layer of the PostgreSQL store: one `pg` Pool per gateway process, every
 * driver failure turned into the store's 503 so the gateway fails closed, transactions with
 * a bounded retry on serialization failures and deadlocks, and transaction-scoped advisory
 * locks named by text.
 *
 * `bigint` columns (epoch milliseconds, counters, time steps, ids) come back as JavaScript
 * numbers: every value the store keeps is far below 2^53, and the conversion is configured
 * on this pool only, not globally in `pg.types`.
 */

import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { errors } from '../../errors/errors.ts';

/** Connection settings in code; the config file only names the URL. */
export interface PgOptions {
  url: string;
  /** Connections per process (pg Pool `max`); default 10. */
  poolSize?: number;
  /** How long to wait for a new connection before the store reports unavailable; default 5000. */
  connectTimeoutMs?: number;
  /** Server-side `statement_timeout`; default 10000, so a stuck query ends in a 503, not a hang. */
  statementTimeoutMs?: number;
}

/** Anything that runs a query: the pool (autocommit) or a client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }>;
}

export interface Db extends Queryable {
  /**
   * Runs `fn` in one READ COMMITTED transaction on one connection. `fn` returns
   * `{ commit: false, value }` to roll back and still answer `value` (a refused limit).
   * A transaction that fails with a serialization failure or a detected deadlock is run
   * again, up to three times; any other failure rolls back and rejects.
   */
  tx<T>(what: string, fn: (c: Queryable) => Promise<T | Rollback<T>>): Promise<T>;
  health(): Promise<boolean>;
  close(): Promise<void>;
}

/** Returned from a transaction body to roll back while still answering `value`. */
export interface Rollback<T> {
  rollback: true;
  value: T;
}

export const rollback = <T>(value: T): Rollback<T> => ({ rollback: true, value });

const isRollback = <T>(v: T | Rollback<T>): v is Rollback<T> =>
  typeof v === 'object' && v !== null && (v as { rollback?: unknown }).rollback === true && 'value' in v;

const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** SQLSTATEs worth running the whole transaction again for: serialization_failure, deadlock_detected. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 3;
const HEALTH_TIMEOUT_MS = 2000;

/** Every failure of the driver (refused connection, server gone, timeout, SQL error) is a 503. */
function unavailable(what: string, err: unknown): Error {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? `${e.code} ` : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return errors.storeUnavailable(`postgres ${what}: ${code}${message}`, err);
}

/** A name → a 64-bit advisory lock key, per schema so separate schemas never contend. */
export const ADVISORY_KEY_SQL = "hashtextextended(current_schema() || ':' || $1, 0)";

/** Takes a transaction-scoped advisory lock named `name` (released at commit or rollback). */
export async function advisoryLock(c: Queryable, name: string): Promise<void> {
  await c.query(`SELECT pg_advisory_xact_lock(${ADVISORY_KEY_SQL})`, [name]);
}

export function openDb(options: PgOptions, onIdleError: (err: Error) => void): Db {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    keepAlive: true,
    types,
  });
  // An idle connection the server drops (restart, failover) emits here; without a listener
  // it would crash the process. The next query gets a fresh connection or a 503.
  pool.on('error', onIdleError);

  const run = async <R extends QueryResultRow>(q: Pick<pg.Pool, 'query'>, what: string, sql: string, params?: readonly unknown[]) => {
    try {
      const r = await q.query<R>(sql, params as unknown[]);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    } catch (err) {
      throw unavailable(what, err);
    }
  };

  async function attempt<T>(what: string, fn: (c: Queryable) => Promise<T | Rollback<T>>): Promise<T> {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw unavailable(what, err);
    }
    const c: Queryable = { query: (sql, params) => run(client, what, sql, params) };
    let broken: unknown;
    try {
      await c.query('BEGIN');
      const result = await fn(c);
      if (isRollback(result)) {
        await c.query('ROLLBACK');
        return result.value;
      }
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = e;
      });
      throw err;
    } finally {
      // A connection whose rollback failed is in an unknown state: discard it.
      client.release(broken === undefined ? undefined : (broken as Error));
    }
  }

  return {
    query: (sql, params) => run(pool, sql.trim().split(/\s+/, 3).join(' '), sql, params),
    async tx(what, fn) {
      for (let i = 1; ; i++) {
        try {
          return await attempt(what, fn);
        } catch (err) {
          const code = (err as { cause?: { code?: unknown } }).cause?.code;
          if (i >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE.has(code)) throw err;
        }
      }
    },
    // Bounded, so a health check against an unreachable host answers before a load balancer gives up.
    async health() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), HEALTH_TIMEOUT_MS);
      });
      const probe = pool.query<{ ok: number }>('SELECT 1 AS ok').then(
        (r) => r.rows[0]?.ok === 1,
        () => false,
      );
      try {
        return await Promise.race([probe, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (!pool.ended) await pool.end();
    },
  };
}

/**
 * Deletes the rows matching `condition` (with `$1` = `value`) without waiting for, or
 * deadlocking with, rows another transaction holds: pruning runs in every gateway, and a
 * row locked elsewhere is left for the next round. `key` names the primary key column(s),
 * e.g. `id` or `user_key, factor`. Returns how many rows this call deleted.
 */
export async function purge(c: Queryable, table: string, key: string, condition: string, value: number): Promise<number> {
  const r = await c.query(`DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${condition} FOR UPDATE SKIP LOCKED)`, [value]);
  return r.rowCount;
}
