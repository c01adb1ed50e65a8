/**
 * @module store/sql/db
 * The contract between the store's queries (written once, in `store/sql/<domain>.ts`) and a
 * database backend (`store/sqlite/dialect.ts`, `store/postgres/dialect.ts`). Queries are
 * plain SQL with `?` placeholders that both SQLite and PostgreSQL accept; a backend holds
 * only what truly differs: placeholder numbering, booleans as 0/1, row and advisory locks,
 * transactions and their retry rules, and driver failures turned into the store's 503.
 *
 * How invariants hold across processes, chosen per operation:
 * - one conditional statement where a row decides alone (`claimStep`, token activation,
 *   fraud links, OpenID Connect states): a second writer waits for the first one's row lock
 *   (PostgreSQL) or the file's write lock (SQLite), then finds nothing to do;
 * - {@link Db.tx} where more than one statement decides. In SQLite a transaction takes the
 *   file's write lock first (`BEGIN IMMEDIATE`), which serializes everything; in PostgreSQL
 *   (READ COMMITTED) the transaction also takes a lock: the advisory lock of the user
 *   ({@link Dialect.lock} with {@link userLock}) where a per-user count decides (no row exists
 *   to lock before a user's first method), the counter row (`FOR UPDATE`) for lockout, and the
 *   `change_seq` row ({@link bumpSeq}) for everything other gateways must notice, taken first
 *   so changes commit in counter order and a reader never sees counter N without change N-1.
 *
 * Lock order, where a transaction takes more than one: pending enrollment row, then user
 * advisory lock(s) in sorted order; `change_seq`, then `user_state` rows. Nothing takes them
 * the other way round, so these transactions cannot deadlock each other (a deadlock or
 * serialization failure would still be retried by PostgreSQL's `tx`).
 */

/** Runs one statement written with `?` placeholders: the rows it returns (`RETURNING` included) and how many it changed. */
export interface Conn {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }>;
}

/** What the SQL of the two databases does differently, as fragments and one lock. */
export interface Dialect {
  name: 'sqlite' | 'postgres';
  /** Appended to a SELECT whose rows the transaction must hold until commit; empty where the transaction holds the write lock. */
  forUpdate: string;
  /** Like `forUpdate`, skipping rows another transaction holds (pruning). */
  skipLocked: string;
  /** The placeholder of a JSON value passed as text (PostgreSQL stores `jsonb`). */
  json: string;
  /** A transaction-scoped lock named by text, across processes; SQLite's write lock already is one. */
  lock(c: Conn, name: string): Promise<void>;
  /** The failure of an INSERT that a unique index refused. */
  isUniqueViolation(err: unknown): boolean;
  /** `CREATE TABLE IF NOT EXISTS schema_migrations ...` in this database's types. */
  migrationsTable: string;
  /** Runs first in each migration's transaction (PostgreSQL: no statement timeout, the migration lock). */
  beginMigration(c: Conn): Promise<void>;
}

export interface Db extends Conn {
  dialect: Dialect;
  /**
   * Runs `fn` in one transaction on one connection; return {@link rollback}`(value)` to roll
   * back and still answer `value` (a refused limit). Any failure rolls back and rejects.
   */
  tx<T>(what: string, fn: (c: Conn) => Promise<T | Rollback<T>>): Promise<T>;
  /** Runs several statements without parameters (a migration). */
  exec(c: Conn, sql: string): Promise<void>;
  health(): Promise<boolean>;
  close(): Promise<void>;
}

/** Returned from a transaction body to roll back while still answering `value`. */
export interface Rollback<T> {
  rollback: true;
  value: T;
}

export const rollback = <T>(value: T): Rollback<T> => ({ rollback: true, value });

export const isRollback = <T>(v: T | Rollback<T>): v is Rollback<T> =>
  typeof v === 'object' && v !== null && (v as { rollback?: unknown }).rollback === true && 'value' in v;

/** The lock that serializes per-user counting (method limit) across processes. */
export const userLock = (key: string): string => `user:${key}`;

/**
 * Bumps the change counter and returns the new value. Its row lock, held until commit, orders
 * every change other gateways must notice: take it first in a transaction.
 */
export async function bumpSeq(c: Conn): Promise<number> {
  const { rows } = await c.query<{ seq: number }>('UPDATE change_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq');
  return rows[0]!.seq;
}

/**
 * Deletes the rows matching `condition` (one `?` = `value`) without waiting for, or
 * deadlocking with, rows another transaction holds: pruning runs in every gateway, and a row
 * locked elsewhere is left for the next round. `key` names the primary key column(s).
 * Returns how many rows this call deleted.
 */
export async function purge(db: Db, table: string, key: string, condition: string, value: number): Promise<number> {
  const sql = `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${condition}${db.dialect.skipLocked})`;
  return (await db.query(sql, [value])).rowCount;
}

/** `WHERE a = ? AND b = ? ...` from the conditions that apply (one placeholder each), their values appended to `params`. */
export function where(conditions: ReadonlyArray<[string, unknown] | false>, params: unknown[]): string {
  const apply = conditions.filter((c) => c !== false);
  for (const [, value] of apply) params.push(value);
  return apply.length === 0 ? '' : `WHERE ${apply.map(([sql]) => sql).join(' AND ')}`;
}

/** A JSON column as read: PostgreSQL's `jsonb` arrives parsed, SQLite's text does not. */
export const fromJson = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);
