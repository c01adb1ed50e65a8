/**
 * @module store/postgres/dialect
 * The PostgreSQL backend of the store: one database shared by every gateway process, on one
 * machine (`server.workers`) or many, one `pg` Pool per process. Every driver failure becomes
 * the store's 503 so the gateway fails closed; transactions are READ COMMITTED with a bounded
 * retry on serialization failures and deadlocks; locks are `FOR UPDATE` row locks and
 * transaction-scoped advisory locks named by text (see `store/sql/db` for which one where).
 *
 * `bigint` columns (epoch milliseconds, counters, time steps, ids) come back as JavaScript
 * numbers: every value the store keeps is far below 2^53, and the conversion is configured
 * on this pool only, not globally in `pg.types`.
 */

import pg from 'pg';
import type { PoolClient } from 'pg';
import { errors } from '../../errors/errors.ts';
import { isRollback, type Conn, type Db, type Dialect, type Rollback } from '../sql/db.ts';

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

const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** SQLSTATEs worth running the whole transaction again for: serialization_failure, deadlock_detected. */
const RETRYABLE = new Set(['40001', '40P01']);
const UNIQUE_VIOLATION = '23505';
const MAX_ATTEMPTS = 3;
const HEALTH_TIMEOUT_MS = 2000;

const causeCode = (err: unknown): unknown => (err as { cause?: { code?: unknown } }).cause?.code;

const dialect: Dialect = {
  name: 'postgres',
  forUpdate: ' FOR UPDATE',
  skipLocked: ' FOR UPDATE SKIP LOCKED',
  json: '?::jsonb',
  // A name → a 64-bit key, per schema so separate schemas never contend; released at commit or rollback.
  lock: async (c, name) => {
    await c.query("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':' || ?, 0))", [name]);
  },
  isUniqueViolation: (err) => causeCode(err) === UNIQUE_VIOLATION,
  migrationsTable:
    'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
  async beginMigration(c) {
    // Waiting for another gateway's migration, and the DDL itself, may take longer than the
    // statement timeout meant for requests; the lock makes gateways starting together migrate once.
    await c.query('SET LOCAL statement_timeout = 0');
    await dialect.lock(c, 'mfa-gateway schema migration');
  },
};

/** `?` → `$1, $2, ...` outside string literals, once per statement text. */
const numbered = new Map<string, string>();
export function numberPlaceholders(sql: string): string {
  let out = numbered.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/'[^']*'|\?/g, (m) => (m === '?' ? `$${++n}` : m));
    numbered.set(sql, out);
  }
  return out;
}

/** Every failure of the driver (refused connection, server gone, timeout, SQL error) is a 503. */
function unavailable(what: string, err: unknown): Error {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? `${e.code} ` : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return errors.storeUnavailable(`postgres ${what}: ${code}${message}`, err);
}

export function openPostgres(options: PgOptions, onIdleError: (err: Error) => void = () => {}): Db {
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

  // Statements without parameters go as they are (several at once in a migration).
  async function run<R>(q: Pick<pg.Pool, 'query'>, what: string, sql: string, params: readonly unknown[] = []) {
    try {
      const r = params.length === 0 ? await q.query(sql) : await q.query(numberPlaceholders(sql), params as unknown[]);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    } catch (err) {
      throw unavailable(what, err);
    }
  }

  async function attempt<T>(what: string, fn: (c: Conn) => Promise<T | Rollback<T>>): Promise<T> {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw unavailable(what, err);
    }
    const c: Conn = { query: <R>(sql: string, params?: readonly unknown[]) => run<R>(client, what, sql, params) };
    let broken: unknown;
    try {
      await c.query('BEGIN');
      const result = await fn(c);
      await c.query(isRollback(result) ? 'ROLLBACK' : 'COMMIT');
      return isRollback(result) ? result.value : result;
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
    dialect,
    query: <R>(sql: string, params?: readonly unknown[]) => run<R>(pool, sql.trim().split(/\s+/, 3).join(' '), sql, params),
    async tx(what, fn) {
      for (let i = 1; ; i++) {
        try {
          return await attempt(what, fn);
        } catch (err) {
          const code = causeCode(err);
          if (i >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE.has(code)) throw err;
        }
      }
    },
    exec: async (c, sql) => {
      await c.query(sql);
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
