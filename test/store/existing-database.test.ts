// A database written before the store's migrations became `.sql` files opens with today's store:
// fixtures dumped from that code at schema version 6 (a row in every table) and at version 9
// (main's code: the v6 fixture migrated by it, plus a row in each table of 7, 8 and 9). Nothing
// is migrated again (version 9: the numbers and names match main's), the version 6 database is
// taken to 9, every row reads back, writes work; and a new database gets exactly the schema
// main's code made at version 9.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import type { Test } from 'tap';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';
import { openStore } from '../../src/store/index.ts';
import { loadMigrations } from '../../src/store/sql/migrate.ts';
import type { Store } from '../../src/store/types.ts';
import { freshSchema } from '../helpers/postgres.ts';

/** The fixtures' encryption key and a time just after they were written. */
const KEY = 'd'.repeat(64);
const T1 = Date.UTC(2026, 9, 1, 8, 0, 1);
const deps = { clock: () => T1 + 1000, lockout: lockoutRules, sourceThrottle: sourceThrottleRules };
const fixture = (name: string) => readFile(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

/** `schema_migrations` as the earlier code wrote it, all at T1 - 1000; a version 6 database gets 7 to 9 from this store when it opens. */
const MIGRATIONS = [
  'methods, pending enrollments, revocations, change counter, sign-in log',
  'lockout counters, block list with history',
  'fraud report links, browsers seen per user',
  'federated users, used OpenID Connect states',
  'OATH hardware tokens: manufacturer and model',
  'app passwords, token import reports',
  'temporary access passes, recovery codes',
  'failed first-factor attempts per source address',
  'sessions ended one by one (sign-out)',
].map((name, i) => ({ version: i + 1, name, applied_at: T1 - 1000 }));
/** Migrations added since version 9 (the same numbers and names in both dialects): applied when the old database opens. */
const LATER = loadMigrations('sqlite')
  .filter((m) => m.version > 9)
  .map((m) => ({ version: m.version, name: m.name, applied_at: deps.clock() }));
const FIXTURES = [
  { version: 6, migrations: [...MIGRATIONS.map((m) => (m.version > 6 ? { ...m, applied_at: deps.clock() } : m)), ...LATER] },
  { version: 9, migrations: [...MIGRATIONS, ...LATER] },
];

/** Every kind of row the fixtures hold reads back through the store, and the store still writes. */
async function readsAndWrites(t: Test, store: Store, version: number): Promise<void> {
  const [method] = await store.listMethods('Alice');
  t.equal(method?.lastStep, 100, 'method with its last step');
  t.same(await store.secretOf(method!.id), Buffer.from('12345678901234567890'), 'its secret opens');
  t.match(await store.tokenBySerial('SN-1'), { user: 'bob', active: false, period: 60, manufacturer: 'Acme', model: 'T1' });
  t.same((await store.getPending('carol'))?.secret, Buffer.from('pendingsecret-0123'), 'pending enrollment');
  t.equal(await store.sessionsRevokedAt('alice'), T1);
  t.match(await store.blockOf('dave'), { reason: 'fixture', actor: 'root' });
  t.same((await store.lockoutCounter('erin', 'password')).denials, [T1]);
  t.match(await store.query({ limit: 10 }), [{ user: 'Alice', rule: 'r1', detail: 'ok' }]);
  t.match(await store.getFraudReport('fr-1'), { user: 'alice', consumedAt: null });
  t.match(await store.listFederatedUsers(), [{ name: 'Fed.User', groups: ['g1', 'g2'] }]);
  t.equal(await store.consumeOidcState('s'.repeat(64), T1 + 60_000, T1 + 1000), false, 'a used state stays used');
  t.match(await store.listAppPasswords('alice'), [{ name: 'mail' }]);
  t.equal(await store.importReport('rep-1', 'root', T1 + 1000), 'upn,error\n');
  t.equal(await store.changeSeq(), version === 9 ? 4 : 3);
  if (version === 9) {
    t.match(await store.accessPassOf('frank'), { user: 'frank', createdAt: T1, uses: 2, usesLeft: 2, actor: 'root' }, 'access pass');
    t.same(await store.recoveryCodeSummary('grace'), { total: 2, unused: 1, createdAt: T1 }, 'recovery codes');
    t.equal(await store.useRecoveryCode('grace', '1'.repeat(64), T1 + 1000), false, 'a used recovery code stays used');
    t.same(await store.sourceFailures('198.51.100.7'), [T1], 'source failures');
    t.match(await store.revokedSessionsSince(0), { seq: 4, entries: [{ sid: 'sid-1', user: 'alice', revokedAt: T1 }] }, 'ended session');
  }

  t.equal(
    (
      await store.addMethod(
        {
          user: 'alice',
          kind: 'totp',
          label: 'second',
          secret: Buffer.alloc(20, 1),
          period: 30,
          digits: 6,
          algorithm: 'sha1',
          active: true,
        },
        5,
      )
    ).ok,
    true,
  );
  t.equal(
    (await store.regulateAttempt('erin', 'password', { denials: 5, counterResetMs: 3_600_000, autoUnblockMs: 60_000 })).allowed,
    true,
  );
  t.equal(await store.unblock({ user: 'dave', reason: 'done', actor: 'root' }), true);
  t.equal(await store.rekey(), 0, 'every secret already sealed with the key');
  t.equal(await store.useAccessPass('frank', 'a'.repeat(64), T1 + 1000), version === 9, 'an access pass is spent');
  await store.replaceRecoveryCodes('grace', ['3'.repeat(64)], T1 + 1000);
  t.equal(await store.useRecoveryCode('grace', '3'.repeat(64), T1 + 1000), true, 'a new recovery code is used');
  t.equal((await store.throttleSource('198.51.100.7', { failures: 5, windowMs: 60_000 })).allowed, true, 'a source attempt is counted');
  await store.revokeSession({ sid: 'sid-2', user: 'alice', expiresAt: T1 + 60_000 });
  t.match((await store.revokedSessionsSince(0)).entries.at(-1), { sid: 'sid-2' }, 'a session is ended');
}

for (const { version, migrations } of FIXTURES) {
  t.test(
    `sqlite: a file written by the earlier store at version ${version} opens, reads and writes, and is migrated to the latest version once`,
    async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'mfa-old-db-'));
      t.teardown(() => rm(dir, { recursive: true, force: true }));
      const path = join(dir, 'gateway.db');
      const db = new Database(path);
      db.exec(await fixture(`v${version}-sqlite.sql`));
      db.close();

      const store = await openStore({ sqlite: { path }, encryption_key: KEY, previous_encryption_keys: [] }, deps);
      t.teardown(() => store.close());
      await readsAndWrites(t, store, version);
      const check = new Database(path, { readonly: true });
      t.teardown(() => check.close());
      t.same(check.prepare('SELECT * FROM schema_migrations ORDER BY version').all(), migrations);
    },
  );
}

/** The schema as SQLite keeps it, whitespace aside (comments inside CREATE TABLE included). */
function sqliteSchema(path: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name <> 'sqlite_sequence' ORDER BY name").all() as {
      sql: string | null;
    }[];
    return rows.map((r) => ({ ...r, sql: r.sql?.replace(/\s+/g, ' ') ?? null }));
  } finally {
    db.close();
  }
}

t.test('sqlite: a new file gets exactly the schema of a version 9 file that this store migrated', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-old-db-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const old = new Database(join(dir, 'old.db'));
  old.exec(await fixture('v9-sqlite.sql'));
  old.close();
  await (await openStore({ sqlite: { path: join(dir, 'old.db') }, encryption_key: KEY, previous_encryption_keys: [] }, deps)).close();
  await (await openStore({ sqlite: { path: join(dir, 'new.db') }, encryption_key: KEY, previous_encryption_keys: [] }, deps)).close();
  t.same(sqliteSchema(join(dir, 'new.db')), sqliteSchema(join(dir, 'old.db')));
});

/** Columns, constraints and indexes of a schema as PostgreSQL reports them. */
async function postgresSchema(schema: Awaited<ReturnType<typeof freshSchema>>): Promise<unknown> {
  const columns = await schema.query(
    `SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default, collation_name, is_identity, identity_generation
     FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
    [schema.name],
  );
  const constraints = await schema.query(
    `SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) AS def FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
     WHERE c.relnamespace = $1::regnamespace ORDER BY c.relname, k.conname`,
    [schema.name],
  );
  const indexes = await schema.query<{ indexname: string; indexdef: string }>(
    'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname',
    [schema.name],
  );
  return {
    columns,
    constraints,
    indexes: indexes.map((i) => ({ ...i, indexdef: i.indexdef.replaceAll(`${schema.name}.`, '') })),
  };
}

async function oldPostgresSchema(t: Test, version: number) {
  const schema = await freshSchema();
  t.teardown(() => schema.drop());
  await schema.query(await fixture(`v${version}-postgres.sql`));
  return schema;
}

for (const { version, migrations } of FIXTURES) {
  t.test(
    `postgres: a schema written by the earlier store at version ${version} opens, reads and writes, and is migrated to the latest version once`,
    async (t) => {
      const schema = await oldPostgresSchema(t, version);
      const store = await openStore({ postgres: { url: schema.url }, encryption_key: KEY, previous_encryption_keys: [] }, deps);
      t.teardown(() => store.close());
      await readsAndWrites(t, store, version);
      t.same(
        await schema.query('SELECT * FROM schema_migrations ORDER BY version'),
        migrations.map((m) => ({ ...m, applied_at: String(m.applied_at) })),
      );
    },
  );
}

t.test('postgres: a new schema is exactly the schema of a version 9 schema that this store migrated', async (t) => {
  const old = await oldPostgresSchema(t, 9);
  await (await openStore({ postgres: { url: old.url }, encryption_key: KEY, previous_encryption_keys: [] }, deps)).close();
  const fresh = await freshSchema();
  t.teardown(() => fresh.drop());
  await (await openStore({ postgres: { url: fresh.url }, encryption_key: KEY, previous_encryption_keys: [] }, deps)).close();
  const [a, b] = [await postgresSchema(fresh), await postgresSchema(old)];
  t.same(a, b);
});
