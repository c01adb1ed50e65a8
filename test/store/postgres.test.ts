// Runs the store conformance suite against PostgreSQL (a fresh schema per test), plus what only a
// shared database has: several gateway processes (each its own pool) on one schema, migration by
// many at once, and a database that goes away.
import { createServer } from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { openStore } from '../../src/store/index.ts';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';
import { loadMigrations } from '../../src/store/sql/migrate.ts';
import type { Store } from '../../src/store/types.ts';
import { GatewayError } from '../../src/errors/errors.ts';
import { fakeClock, storeConformance } from './conformance.ts';
import type { StoreHarness } from './conformance.ts';
import { freshSchema, relay, TEST_POSTGRES_URL, withSearchPath } from '../helpers/postgres.ts';
import type { TestSchema } from '../helpers/postgres.ts';

const KEY = 'c'.repeat(64);

async function postgresHarness(): Promise<StoreHarness & { schema: TestSchema; openUrl(url: string): Promise<Store> }> {
  const schema = await freshSchema();
  const clock = fakeClock();
  const openUrl = (url: string, keys = { encryptionKey: KEY, previousKeys: [] as string[] }) =>
    openStore(
      { postgres: { url }, encryption_key: keys.encryptionKey, previous_encryption_keys: keys.previousKeys },
      { clock: clock.clock, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
    );
  return {
    schema,
    clock,
    open: (keys) => openUrl(schema.url, { encryptionKey: keys?.encryptionKey ?? KEY, previousKeys: keys?.previousKeys ?? [] }),
    openUrl: (url) => openUrl(url),
    cleanup: () => schema.drop(),
  };
}

storeConformance('postgres', postgresHarness);

/** Two stores on one schema, as two gateway processes with their own pools would have. */
async function twoGateways(t: Test) {
  const h = await postgresHarness();
  const a = await h.open();
  const b = await h.open();
  t.teardown(async () => {
    await a.close();
    await b.close();
    await h.cleanup();
  });
  return { h, a, b };
}

const totp = (user: string) =>
  ({ user, kind: 'totp', label: 'phone', secret: Buffer.alloc(20, 7), period: 30, digits: 6, algorithm: 'sha1', active: true }) as const;

t.test('postgres: parallel claims of one step across two processes, exactly one wins each time', async (t) => {
  const { a, b } = await twoGateways(t);
  const added = await a.addMethod(totp('alice'), 5);
  if (!added.ok) throw new Error('add failed');
  for (let step = 1000; step < 1020; step++) {
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).claimStep(added.method.id, step)));
    t.equal(claims.filter(Boolean).length, 1, `step ${step}: one winner of eight`);
  }
  t.equal(await b.claimStep(added.method.id, 1019), false, 'the last step cannot be replayed elsewhere');
  t.equal((await b.listMethods('alice'))[0]?.lastStep, 1019);
});

t.test("postgres: a revocation through one process is seen through the other's change feed", async (t) => {
  const { h, a, b } = await twoGateways(t);
  const seq = await b.changeSeq();
  const at = await a.revokeSessions('Alice');
  t.equal(await b.changeSeq(), seq + 1, 'the counter moved for the other process');
  t.same(await b.revocationsSince(seq), {
    seq: seq + 1,
    entries: [{ user: 'alice', sessionsRevokedAt: at, devicesRevokedAt: null, blockedUntil: null }],
  });
  h.clock.advance(1000);
  const blocked = await b.block({ user: 'bob', durationMs: 60_000, reason: 'test', actor: 'root' });
  t.same(
    (await a.revocationsSince(seq + 1)).entries,
    [{ user: 'bob', sessionsRevokedAt: null, devicesRevokedAt: null, blockedUntil: blocked.until }],
    'and the other way round',
  );
});

t.test('postgres: a poller misses no change while two processes revoke concurrently', async (t) => {
  const { h, a, b } = await twoGateways(t);
  let n = h.clock.now;
  h.clock.clock = () => ++n;
  const users = ['u0', 'u1', 'u2', 'u3', 'u4'];
  const seen = new Map<string, number>();
  let seq = 0;
  let writing = true;
  let wentBack = false;
  const poller = (async () => {
    for (;;) {
      const done = !writing;
      if ((await b.changeSeq()) !== seq) {
        const changes = await b.revocationsSince(seq);
        if (changes.seq < seq) wentBack = true;
        for (const e of changes.entries) if (e.sessionsRevokedAt !== null) seen.set(e.user, e.sessionsRevokedAt);
        seq = changes.seq;
      }
      if (done) return;
    }
  })();
  await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 === 0 ? a : b).revokeSessions(users[i % users.length]!)));
  writing = false;
  await poller;
  for (const user of users) t.equal(seen.get(user), await a.sessionsRevokedAt(user), `${user}: the poller holds the latest revocation`);
  t.equal(seq, await a.changeSeq());
  t.equal(wentBack, false, 'the counter never went back');
});

t.test('postgres: limits and single-use records hold across two processes', async (t) => {
  const { h, a, b } = await twoGateways(t);
  const adds = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).addMethod(totp('carol'), 5)));
  t.equal(adds.filter((r) => r.ok).length, 5, 'five of twelve parallel additions fit under the limit of five');
  t.equal(await a.countMethods('carol'), 5);

  const pending = await a.createPending({
    user: 'dave',
    secret: Buffer.alloc(20, 3),
    period: 30,
    digits: 6,
    algorithm: 'sha1',
    ttlMs: 60_000,
  });
  const completions = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      (i % 2 === 0 ? a : b).completeEnrollment({ user: 'dave', pendingId: pending.id, label: 'phone', step: 1, maxPerUser: 5 }),
    ),
  );
  t.equal(completions.filter((r) => r.ok).length, 1, 'a pending enrollment completes once');
  t.equal(await b.countMethods('dave'), 1);

  const now = h.clock.now;
  await a.createFraudReport({ id: 'r-x', user: 'dave', createdAt: now, expiresAt: now + 60_000, clientIp: '192.0.2.1', userAgent: 'ua' });
  const consumed = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).consumeFraudReport('r-x', now + 1)));
  t.equal(consumed.filter(Boolean).length, 1, 'a fraud link works once');
  const states = await Promise.all(
    Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).consumeOidcState('state-hash', now + 60_000, now)),
  );
  t.equal(states.filter(Boolean).length, 1, 'an OpenID Connect state is used once');

  const policy = { denials: 5, counterResetMs: 600_000, autoUnblockMs: 900_000 };
  const verdicts = await Promise.all(
    Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).regulateAttempt('mallory', 'password', policy)),
  );
  t.equal(verdicts.filter((v) => v.allowed).length, 5, 'fifty parallel attempts, five allowed');
});

t.test('postgres: two processes importing the same serial for different users', async (t) => {
  const { a, b } = await twoGateways(t);
  const token = (user: string) =>
    ({ user, serial: 'SN-1', secret: Buffer.alloc(20, 5), period: 30, manufacturer: 'Acme', model: 'T1', label: 'Acme T1 SN-1' }) as const;
  const [ra, rb] = await Promise.all([a.importTokens([token('erin')], 5), b.importTokens([token('frank')], 5)]);
  t.same([ra, rb].flat().sort(), ['imported', 'serial_taken'], 'one gets it, the other is told, neither fails');
  t.equal((await a.listTokens()).length, 1);
});

t.test('postgres: several processes starting at once migrate a new database once', async (t) => {
  const h = await postgresHarness();
  t.teardown(h.cleanup);
  const stores = await Promise.all(Array.from({ length: 4 }, () => h.open()));
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  const rows = await h.schema.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  t.same(
    rows.map((r) => r.version),
    loadMigrations('postgres')
      .map((m) => m.version)
      .sort((x, y) => x - y),
    'one row per migration',
  );
  for (const s of stores) t.equal(await s.health(), true);
  t.equal(await stores[3]!.changeSeq(), 0);
});

t.test('postgres: a database from a newer gateway is refused', async (t) => {
  const h = await postgresHarness();
  t.teardown(h.cleanup);
  await (await h.open()).close();
  await h.schema.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
  await t.rejects(h.open(), /schema version 999, newer than this gateway knows/);
});

t.test('postgres: secrets are sealed in the database', async (t) => {
  const h = await postgresHarness();
  t.teardown(h.cleanup);
  const store = await h.open();
  t.teardown(() => store.close());
  const secret = Buffer.from('PLAINTEXT-SECRET-1234');
  await store.addMethod({ ...totp('alice'), secret }, 5);
  await store.createPending({ user: 'bob', secret, period: 30, digits: 6, algorithm: 'sha1', ttlMs: 60_000 });
  const sealed = await h.schema.query<{ s: string }>(
    'SELECT secret_sealed AS s FROM methods UNION ALL SELECT secret_sealed FROM pending_enrollments',
  );
  t.equal(sealed.length, 2);
  for (const { s } of sealed) {
    t.match(s, /^v1\./);
    t.notOk(s.includes(secret.toString('base64')) || s.includes(secret.toString()), 'not in plain text');
  }
});

t.test('postgres: the key is required', async (t) => {
  await t.rejects(
    openStore(
      { postgres: { url: TEST_POSTGRES_URL }, previous_encryption_keys: [] },
      { clock: Date.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
    ),
    /store.encryption_key: required with PostgreSQL/,
  );
});

const unavailable = (err: unknown) => err instanceof GatewayError && err.status === 503 && err.code === 'GW_STORE_UNAVAILABLE';

t.test('postgres: a database that goes away makes health false and every call a 503', async (t) => {
  const h = await postgresHarness();
  t.teardown(h.cleanup);
  const r = await relay(t, h.schema.url);
  const store = await h.openUrl(r.url);
  t.teardown(() => store.close());
  t.equal(await store.health(), true, 'up through the relay');
  await store.addMethod(totp('alice'), 5);
  await r.cut();
  t.equal(await store.health(), false, 'down');
  for (const call of [
    () => store.changeSeq(),
    () => store.claimStep('m', 1),
    () => store.regulateAttempt('alice', 'password', { denials: 3, counterResetMs: 1, autoUnblockMs: 1 }),
    () => store.addMethod(totp('alice'), 5),
  ]) {
    const err = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(unavailable(err), `${String(call).slice(6, 40)}: GW_STORE_UNAVAILABLE, 503`);
  }
});

t.test('postgres: a server that is not listening refuses the start with a 503-class error', async (t) => {
  const closed = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const url = withSearchPath(`postgres://postgres@127.0.0.1:${closed}/test`, 'public');
  const err = await openStore(
    { postgres: { url }, encryption_key: KEY, previous_encryption_keys: [] },
    { clock: Date.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(unavailable(err), 'GW_STORE_UNAVAILABLE, 503');
  t.match(String((err as Error).message), /ECONNREFUSED/);
});
