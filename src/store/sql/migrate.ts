/**
 * @module store/sql/migrate
 * The one migration runner. The schema of each database is a folder of numbered SQL files,
 * `store-migrations/<sqlite|postgres>/NNNN-<what>.sql` at the package root (next to `views/`,
 * so it is found alike from `src/` and from a compiled `dist/`); the first line of a file is
 * `-- <name>`, recorded with its number in `schema_migrations`. Both folders have the same
 * numbers with the same meaning. Files are append-only: never edit a shipped one, add the next.
 *
 * Each migration runs once, in its own transaction (SQLite: immediate; PostgreSQL: under an
 * advisory lock), so gateways starting together against a new database migrate it once: the
 * second one waits, then finds the first one's row and skips.
 */

import { readdirSync, readFileSync } from 'node:fs';
import type { Db, Dialect } from './db.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const ROOT = new URL('../../../store-migrations/', import.meta.url);
const FILE = /^(\d{4})-[a-z0-9-]+\.sql$/;

/** The migrations of one database, in version order; throws on a misnamed file or a number used twice. */
export function loadMigrations(dialect: Dialect['name'], root: URL = ROOT): Migration[] {
  const dir = new URL(`${dialect}/`, root);
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((f): Migration => {
      const version = FILE.exec(f)?.[1];
      if (version === undefined) throw new Error(`store: migration file ${dialect}/${f} is not named NNNN-<what>.sql`);
      const sql = readFileSync(new URL(f, dir), 'utf8');
      return { version: Number(version), name: /^-- (.+)/.exec(sql)?.[1] ?? f, sql };
    })
    .sort((a, b) => a.version - b.version);
  const twice = migrations.find((m, i) => migrations[i - 1]?.version === m.version);
  if (twice !== undefined) throw new Error(`store: two ${dialect} migrations are numbered ${twice.version}`);
  return migrations;
}

/** Applies every migration newer than the database's version; refuses a database from a newer gateway. */
export async function migrate(db: Db, now: number): Promise<void> {
  const migrations = loadMigrations(db.dialect.name);
  for (const m of migrations) {
    await db.tx(`migration ${m.version}`, async (c) => {
      await db.dialect.beginMigration(c);
      await db.exec(c, db.dialect.migrationsTable);
      if ((await c.query('SELECT 1 FROM schema_migrations WHERE version = ?', [m.version])).rows.length > 0) return;
      await db.exec(c, m.sql);
      await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, now]);
    });
  }
  const v = (await db.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (v > latest)
    throw new Error(`store: the database has schema version ${v}, newer than this gateway knows (${latest}); upgrade the gateway`);
}
