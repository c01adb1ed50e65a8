/**
 * @module store
 * Opens the configured store backend with its secret box. This is the only place that picks
 * a backend; everything else depends on the narrow interfaces in `./types.ts`.
 */

import type { StoreConfig } from '../config/types.ts';
import { createSecretBox, loadEncryptionKey } from './secret-box.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';
import type { Store, StoreDeps } from './types.ts';

export type * from './types.ts';
export { userKey } from './types.ts';

/**
 * Opens the store named by `config`: SQLite at `store.sqlite.path` (parent directory created,
 * schema migrated, key file created on first start when no key is configured).
 * Throws with a plain message when the key is malformed or the backend cannot be opened.
 *
 * @example
 * const store = await openStore(config.store, { clock: Date.now });
 * const ok = await store.health();
 */
export async function openStore(config: StoreConfig, deps: StoreDeps): Promise<Store> {
  const keys = await loadEncryptionKey(config);
  const box = createSecretBox(keys.current, keys.previous);
  if (config.sqlite !== undefined) return openSqliteStore(config.sqlite.path, box, deps);
  throw new Error('store: the PostgreSQL backend is not available in this version; configure store.sqlite');
}
