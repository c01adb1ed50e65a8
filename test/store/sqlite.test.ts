// Runs the store conformance suite against SQLite, plus what only SQLite has: the file, WAL, the schema table.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { openStore } from '../../src/store/index.ts';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';
import { loadMigrations } from '../../src/store/sql/migrate.ts';
import { fakeClock, storeConformance } from './conformance.ts';
import type { StoreHarness } from './conformance.ts';

async function sqliteHarness(): Promise<StoreHarness & { path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-store-'));
  const path = join(dir, 'nested', 'gateway.db');
  const clock = fakeClock();
  return {
    path,
    clock,
    open: (keys) =>
      openStore(
        {
          sqlite: { path },
          previous_encryption_keys: keys?.previousKeys ?? [],
          ...(keys === undefined ? {} : { encryption_key: keys.encryptionKey }),
        },
        { clock: clock.clock, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
      ),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

storeConformance('sqlite', sqliteHarness);

t.test('sqlite: file in a created directory, WAL, one row per migration', async (t) => {
  const h = await sqliteHarness();
  t.teardown(h.cleanup);
  await (await h.open()).close();
  const store = await h.open();
  await store.close();
  const db = new Database(h.path, { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
  t.same(
    rows.map((r) => r.version),
    loadMigrations('sqlite').map((m) => m.version),
    'each migration recorded once across two opens',
  );
});

t.test('sqlite: a database from a newer gateway is refused', async (t) => {
  const h = await sqliteHarness();
  t.teardown(h.cleanup);
  await (await h.open()).close();
  const db = new Database(h.path);
  db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)").run();
  db.close();
  await t.rejects(h.open(), /schema version 999, newer than this gateway knows/);
});

t.test('sqlite: secrets are not on disk in plain text', async (t) => {
  const h = await sqliteHarness();
  t.teardown(h.cleanup);
  const store = await h.open();
  const secret = Buffer.from('PLAINTEXT-SECRET-1234');
  await store.addMethod({ user: 'alice', kind: 'totp', label: 'p', secret, period: 30, digits: 6, algorithm: 'sha1', active: true }, 5);
  await store.close();
  for (const suffix of ['', '-wal']) {
    const bytes = await readFile(h.path + suffix).catch(() => Buffer.alloc(0));
    t.equal(bytes.indexOf(secret), -1, `not in ${suffix || 'the database file'}`);
  }
});

t.test("sqlite: a federated session's provider tokens are not on disk in plain text", async (t) => {
  const h = await sqliteHarness();
  t.teardown(h.cleanup);
  const store = await h.open();
  const refresh = 'PLAINTEXT-REFRESH-TOKEN-5678';
  const access = 'PLAINTEXT-ACCESS-TOKEN-9012';
  const now = h.clock.now;
  await store.indexSession(
    {
      sid: 'f1',
      user: 'alice',
      createdAt: now,
      lastSeen: now,
      expiresAt: now + 3_600_000,
      createdIp: '10.0.0.1',
      createdUserAgent: 'ua',
      lastIp: '10.0.0.1',
      lastUserAgent: 'ua',
      amr: ['pwd'],
      skip: null,
      federated: true,
      providerSid: 'op-1',
      providerSub: 'sub-1',
    },
    { tokens: { refreshToken: refresh, accessToken: access, accessExpiresAt: now + 60_000 }, dueAt: now },
  );
  t.equal((await store.claimRevalidations(now, now + 1, 1))[0]?.tokens.refreshToken, refresh, 'the store opens it');
  await store.close();
  for (const suffix of ['', '-wal']) {
    const bytes = await readFile(h.path + suffix).catch(() => Buffer.alloc(0));
    t.equal(bytes.indexOf(refresh), -1, `the refresh token is not in ${suffix || 'the database file'}`);
    t.equal(bytes.indexOf(access), -1, `the access token is not in ${suffix || 'the database file'}`);
  }
});

t.test('sqlite: a call made while a transaction is open waits for it, and is not rolled back with it', async (t) => {
  const h = await sqliteHarness();
  t.teardown(h.cleanup);
  const store = await h.open();
  t.teardown(() => store.close());
  const added = await store.addMethod(
    { user: 'alice', kind: 'totp', label: 'p', secret: Buffer.alloc(20, 1), period: 30, digits: 6, algorithm: 'sha1', active: true },
    5,
  );
  if (!added.ok) throw new Error('setup failed');
  // Unblocking a user who is not blocked bumps the change counter, then rolls back. The claim
  // starts a few microtasks later each round, so one round lands while that transaction is open.
  for (let ticks = 0; ticks < 8; ticks++) {
    const unblocking = store.unblock({ user: 'nobody', reason: 'r', actor: 'a' });
    for (let i = 0; i < ticks; i++) await Promise.resolve();
    const claimed = store.claimStep(added.method.id, 10 + ticks);
    t.same(await Promise.all([unblocking, claimed]), [false, true]);
    t.equal((await store.listMethods('alice'))[0]?.lastStep, 10 + ticks, `after ${ticks} microtasks: the claim stays`);
  }
});
