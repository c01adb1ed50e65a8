// Runs the store conformance suite against PostgreSQL (a fresh schema per test), plus what only a
// shared database has: several gateway processes (each its own pool) on one schema, migration by
// many at once, and a database that goes away.
import { createServer, connect, type Server, type Socket } from 'node:net';
import t from 'tap';
import { openStore } from '../../src/store/index.ts';
import { migrations } from '../../src/store/postgres/migrations.ts';
import type { Store } from '../../src/store/types.ts';
import { GatewayError } from '../../src/server/errors.ts';
import { fakeClock, storeConformance } from './conformance.ts';
import type { StoreHarness } from './conformance.ts';
import { freshSchema, TEST_POSTGRES_URL, withSearchPath } from '../helpers/postgres.ts';
import type { TestSchema } from '../helpers/postgres.ts';

const KEY = 'c'.repeat(64);

async function postgresHarness(): Promise<StoreHarness & { schema: TestSchema; openUrl(url: string): Promise<Store> }> {
  const schema = await freshSchema();
  const clock = fakeClock();
  const openUrl = (url: string, keys = { encryptionKey: KEY, previousKeys: [] as string[] }) =>
    openStore({ postgres: { url }, encryption_key: keys.encryptionKey, previous_encryption_keys: keys.previousKeys }, { clock: clock.clock });
  return {
    schema,
    clock,
    open: (keys) => openUrl(schema.url, { encryptionKey: keys?.encryptionKey ?? KEY, previousKeys: keys?.previousKeys ?? [] }),
    openUrl: (url) => openUrl(url),
    cleanup: () => schema.drop(),
  };
}

storeConformance('postgres', postgresHarness);
