/**
 * @module store/sqlite/dialect
 * The SQLite backend of the store (better-sqlite3): one file shared by every process on the
 * machine. WAL lets readers run while one writer commits; `busy_timeout` makes a second
 * process wait for the write lock instead of failing. Every transaction is `BEGIN IMMEDIATE`
 * (the write lock first), so what it reads cannot change before it commits, in this process
 * or another; row and advisory locks are then unnecessary and empty here.
 *
 * better-sqlite3 is synchronous, but a transaction body awaits between statements, so this
 * process's other calls on the same file wait while one is open: on the same connection they
 * would run inside it (and be rolled back with it); on another connection in this process
 * they would wait for the write lock synchronously, blocking the very event loop that has to
 * finish the transaction holding it.
 */

import { mkdirSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { errors } from '../../errors/errors.ts';
import { isRollback, type Conn, type Db, type Dialect, type Rollback } from '../sql/db.ts';

/** How long a process waits for another one's write lock before the store reports unavailable. */
const BUSY_TIMEOUT_MS = 5000;

const dialect: Dialect = {
  name: 'sqlite',
  forUpdate: '',
  skipLocked: '',
  json: '?',
  lock: async () => {},
  isUniqueViolation: (err) => (err as { cause?: { code?: unknown } }).cause?.code === 'SQLITE_CONSTRAINT_UNIQUE',
  migrationsTable:
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
  // BEGIN IMMEDIATE already made two processes starting together take turns.
  beginMigration: async () => {},
};

/** better-sqlite3 binds neither booleans nor undefined. */
const bind = (params: readonly unknown[]): unknown[] => params.map((p) => (p === true ? 1 : p === false ? 0 : p === undefined ? null : p));

/** SQLite failures (busy past the timeout, I/O, a refused constraint) become a 503 so callers fail closed. */
function unavailable(what: string, err: unknown): unknown {
  return err instanceof Database.SqliteError ? errors.storeUnavailable(`sqlite ${what}: ${err.code} ${err.message}`, err) : err;
}

/** Per file, this process's open transaction, the end of the last one queued, and its connections. */
interface Gate {
  open: boolean;
  last: Promise<unknown>;
  connections: number;
}
const gates = new Map<string | symbol, Gate>();

/** Opens (creating it and its directory if needed) the SQLite file at `path`. */
export function openSqlite(path: string): Db {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('foreign_keys = ON');
  const statements = new Map<string, Database.Statement>();

  function run<R>(sql: string, params: readonly unknown[] = []): { rows: R[]; rowCount: number } {
    try {
      let stmt = statements.get(sql);
      if (stmt === undefined) statements.set(sql, (stmt = db.prepare(sql)));
      if (stmt.reader) {
        const rows = stmt.all(...bind(params)) as R[];
        return { rows, rowCount: rows.length };
      }
      return { rows: [], rowCount: stmt.run(...bind(params)).changes };
    } catch (err) {
      throw unavailable(sql.trim().split(/\s+/, 3).join(' '), err);
    }
  }

  const file = db.memory ? Symbol(path) : realpathSync(path);
  const gate = gates.get(file) ?? { open: false, last: Promise.resolve(), connections: 0 };
  gates.set(file, gate);
  gate.connections++;
  const inTx: Conn = { query: async (sql, params) => run(sql, params) };

  async function attempt<T>(what: string, fn: (c: Conn) => Promise<T | Rollback<T>>): Promise<T> {
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw unavailable(what, err);
    }
    gate.open = true;
    try {
      const result = await fn(inTx);
      db.exec(isRollback(result) ? 'ROLLBACK' : 'COMMIT');
      return isRollback(result) ? result.value : result;
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw unavailable(what, err);
    } finally {
      gate.open = false;
    }
  }

  return {
    dialect,
    async query(sql, params) {
      while (gate.open) await gate.last;
      return run(sql, params);
    },
    tx(what, fn) {
      const result = gate.last.then(() => attempt(what, fn));
      gate.last = result.catch(() => {});
      return result;
    },
    async exec(_c, sql) {
      db.exec(sql);
    },
    async health() {
      try {
        return db.prepare('SELECT 1 AS ok').get() !== undefined;
      } catch {
        return false;
      }
    },
    async close() {
      await gate.last;
      if (!db.open) return;
      db.close();
      if (--gate.connections === 0) gates.delete(file);
    },
  };
}
