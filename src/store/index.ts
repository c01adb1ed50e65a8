/**
 * @module store
 * Opens the configured store backend with its secret box. This is the only place that picks
 * a backend; everything else depends on the narrow interfaces in `./types.ts`.
 */

import type { StoreConfig } from '../config/types.ts';
import { createSecretBox, loadEncryptionKey } from './secret-box.ts';
import type { Db } from './sql/db.ts';
import { migrate } from './sql/migrate.ts';
import { sqlStore } from './sql/store.ts';
import type { Store, StoreDeps } from './types.ts';

export type * from './types.ts';

/**
 * Opens the store named by `config`: SQLite at `store.sqlite.path` (parent directory created,
 * key file created on first start when no key is configured), or the PostgreSQL database at
 * `store.postgres.url` (`store.encryption_key` required), and migrates its schema (once
 * however many gateways start together). Throws with a plain message when the key is
 * malformed or missing or the schema is newer than this gateway, and a 503-class error when
 * the database cannot be reached.
 *
 * @example
 * const store = await openStore(config.store, { clock: Date.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules });
 * const ok = await store.health();
 */
export async function openStore(config: StoreConfig, deps: StoreDeps): Promise<Store> {
  const keys = await loadEncryptionKey(config);
  const box = createSecretBox(keys.current, keys.previous);
  let db: Db;
  // Only the configured database's driver is loaded (pg alone takes a quarter second to import).
  if (config.sqlite !== undefined) db = (await import('./sqlite/dialect.ts')).openSqlite(config.sqlite.path);
  else if (config.postgres !== undefined) db = (await import('./postgres/dialect.ts')).openPostgres({ url: config.postgres.url });
  else throw new Error('store: configure store.sqlite or store.postgres');
  try {
    await migrate(db, deps.clock());
  } catch (err) {
    await db.close();
    throw err;
  }
  return sqlStore(db, box, deps);
}
