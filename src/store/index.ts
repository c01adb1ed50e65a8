/**
 * @module store
 * Opens the configured store backend with its secret box. This is the only place that picks
 * a backend; everything else depends on the narrow interfaces in `./types.ts`.
 */

import type { StoreConfig } from '../config/types.ts';
import { createSecretBox, loadEncryptionKey } from './secret-box.ts';
import { openPostgresStore } from './postgres/pg-store.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';
import type { Store, StoreDeps } from './types.ts';

export type * from './types.ts';
export { userKey } from './types.ts';

/**
 * Opens the store named by `config`: SQLite at `store.sqlite.path` (parent directory created,
 * schema migrated, key file created on first start when no key is configured), or the
 * PostgreSQL database at `store.postgres.url` (schema migrated once however many gateways
 * start together; `store.encryption_key` required). Throws with a plain message when the key
 * is malformed or missing, and a 503-class error when the database cannot be reached.
 *
 * @example
 * const store = await openStore(config.store, { clock: Date.now });
 * const ok = await store.health();
 */
export async function openStore(config: StoreConfig, deps: StoreDeps): Promise<Store> {
  const keys = await loadEncryptionKey(config);
  const box = createSecretBox(keys.current, keys.previous);
  if (config.sqlite !== undefined) return openSqliteStore(config.sqlite.path, box, deps);
  if (config.postgres !== undefined) return openPostgresStore({ url: config.postgres.url }, box, deps);
  throw new Error('store: configure store.sqlite or store.postgres');
}
