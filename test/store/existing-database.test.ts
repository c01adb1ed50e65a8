// A database written before the store's migrations became `.sql` files (fixtures dumped from
// that code, with a row in every table) opens with today's store: nothing is migrated again,
// every row reads back, writes work; and a new database gets exactly the schema that code made.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import type { Test } from 'tap';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { freshSchema } from '../helpers/postgres.ts';

/** The fixtures' encryption key and a time just after they were written. */
const KEY = 'd'.repeat(64);
const T1 = Date.UTC(2026, 9, 1, 8, 0, 1);
const deps = { clock: () => T1 + 1000, lockout: lockoutRules };
const fixture = (name: string) => readFile(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

const OLD_MIGRATIONS = [
  'methods, pending enrollments, revocations, change counter, sign-in log',
  'lockout counters, block list with history',
  'fraud report links, browsers seen per user',
  'federated users, used OpenID Connect states',
  'OATH hardware tokens: manufacturer and model',
  'app passwords, token import reports',
].map((name, i) => ({ version: i + 1, name, applied_at: T1 - 1000 }));

/** Every kind of row the fixtures hold reads back through the store, and the store still writes. */
async function readsAndWrites(t: Test, store: Store): Promise<void> {
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
  t.equal(await store.changeSeq(), 3);

  t.equal((await store.addMethod({ user: 'alice', kind: 'totp', label: 'second', secret: Buffer.alloc(20, 1), period: 30, digits: 6, algorithm: 'sha1', active: true }, 5)).ok, true);
  t.equal((await store.regulateAttempt('erin', 'password', { denials: 5, counterResetMs: 3_600_000, autoUnblockMs: 60_000 })).allowed, true);
  t.equal(await store.unblock({ user: 'dave', reason: 'done', actor: 'root' }), true);
  t.equal(await store.rekey(), 0, 'every secret already sealed with the key');
}

t.test('sqlite: a file written by the earlier store opens, reads and writes, and is not migrated again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-old-db-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'gateway.db');
  const db = new Database(path);
  db.exec(await fixture('v6-sqlite.sql'));
  db.close();

  const store = await openStore({ sqlite: { path }, encryption_key: KEY, previous_encryption_keys: [] }, deps);
  t.teardown(() => store.close());
  await readsAndWrites(t, store);
  const check = new Database(path, { readonly: true });
  t.teardown(() => check.close());
  t.same(check.prepare('SELECT * FROM schema_migrations ORDER BY version').all(), OLD_MIGRATIONS);
});

/** The schema as SQLite keeps it, whitespace aside (comments inside CREATE TABLE included). */
function sqliteSchema(path: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name <> 'sqlite_sequence' ORDER BY name").all() as { sql: string | null }[];
    return rows.map((r) => ({ ...r, sql: r.sql?.replace(/\s+/g, ' ') ?? null }));
  } finally {
    db.close();
  }
}

t.test('sqlite: a new file gets exactly the schema the earlier store made', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-old-db-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const old = new Database(join(dir, 'old.db'));
  old.exec(await fixture('v6-sqlite.sql'));
  old.close();
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
  const indexes = await schema.query<{ indexname: string; indexdef: string }>('SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname', [schema.name]);
  return { columns, constraints, indexes: indexes.map((i) => ({ ...i, indexdef: i.indexdef.replaceAll(`${schema.name}.`, '') })) };
}

async function oldPostgresSchema(t: Test) {
  const schema = await freshSchema();
  t.teardown(() => schema.drop());
  await schema.query(await fixture('v6-postgres.sql'));
  return schema;
}

t.test('postgres: a schema written by the earlier store opens, reads and writes, and is not migrated again', async (t) => {
  const schema = await oldPostgresSchema(t);
  const store = await openStore({ postgres: { url: schema.url }, encryption_key: KEY, previous_encryption_keys: [] }, deps);
  t.teardown(() => store.close());
  await readsAndWrites(t, store);
  t.same(await schema.query('SELECT * FROM schema_migrations ORDER BY version'), OLD_MIGRATIONS.map((m) => ({ ...m, applied_at: String(m.applied_at) })));
});

t.test('postgres: a new schema is exactly the schema the earlier store made', async (t) => {
  const old = await oldPostgresSchema(t);
  const fresh = await freshSchema();
  t.teardown(() => fresh.drop());
  await (await openStore({ postgres: { url: fresh.url }, encryption_key: KEY, previous_encryption_keys: [] }, deps)).close();
  const [a, b] = [await postgresSchema(fresh), await postgresSchema(old)];
  t.same(a, b);
});
