/**
 * @module test/store/conformance
 * The behaviour every store backend must have, as one suite that takes a backend harness.
 * `sqlite.test.ts` runs it against SQLite; the PostgreSQL backend will run the same suite.
 */

import t from 'tap';
import type { Test } from 'tap';
import type { DecisionTrace, IndexedSession, ProviderTokens, Store } from '../../src/store/types.ts';

export interface FakeClock {
  now: number;
  clock: () => number;
  advance(ms: number): void;
}

export function fakeClock(start = Date.UTC(2026, 10, 1, 9, 0, 0)): FakeClock {
  const c: FakeClock = {
    now: start,
    clock: () => c.now,
    advance: (ms) => {
      c.now += ms;
    },
  };
  return c;
}

/** One isolated database; `open` may be called several times (reopen, a second process). */
export interface StoreHarness {
  clock: FakeClock;
  open(keys?: { encryptionKey: string; previousKeys?: string[] }): Promise<Store>;
  cleanup(): Promise<void>;
}

const KEY_A = 'a'.repeat(64);
const KEY_B = Buffer.alloc(32, 0xbb).toString('base64');

const totp = (user: string, label = 'phone', secret = Buffer.from('12345678901234567890')) =>
  ({ user, kind: 'totp', label, secret, period: 30, digits: 6, algorithm: 'sha1', active: true }) as const;

export function storeConformance(backend: string, makeHarness: () => Promise<StoreHarness>): void {
  const withStore = (name: string, fn: (t: Test, h: StoreHarness, store: Store) => Promise<void>) =>
    t.test(`${backend}: ${name}`, async (t) => {
      const h = await makeHarness();
      const store = await h.open({ encryptionKey: KEY_A });
      t.teardown(async () => {
        await store.close();
        await h.cleanup();
      });
      await fn(t, h, store);
    });

  withStore('health answers and close ends it', async (t, _h, store) => {
    t.equal(await store.health(), true);
    await store.close();
    t.equal(await store.health(), false);
  });

  withStore('migrations are idempotent and data survives reopening', async (t, h, store) => {
    const added = await store.addMethod(totp('alice'), 5);
    t.equal(added.ok, true);
    await store.record({
      kind: 'password',
      user: 'alice',
      clientIp: '10.0.0.1',
      userAgent: 'ua',
      rule: 'r1',
      outcome: 'success',
      detail: 'ok',
    });
    await store.revokeSessions('alice');
    const seq = await store.changeSeq();
    await store.close();
    for (let i = 0; i < 2; i++) {
      const again = await h.open({ encryptionKey: KEY_A });
      t.equal((await again.listMethods('alice')).length, 1, `methods after reopen ${i + 1}`);
      t.same(await again.secretOf(added.ok ? added.method.id : ''), Buffer.from('12345678901234567890'));
      t.equal((await again.query({ limit: 10 })).length, 1, 'audit after reopen');
      t.equal(await again.sessionsRevokedAt('alice'), h.clock.now);
      t.equal(await again.changeSeq(), seq);
      await again.close();
    }
  });

  withStore('methods: add, list, rename, remove, count, per-user and case-insensitive', async (t, h, store) => {
    const a = await store.addMethod(totp('Alice', 'phone'), 5);
    h.clock.advance(1000);
    const b = await store.addMethod({ ...totp('alice', 'token'), kind: 'oath_token', period: 60, digits: 8, active: false }, 5);
    await store.addMethod(totp('bob'), 5);
    if (!a.ok || !b.ok) throw new Error('add failed');
    t.match(a.method, {
      user: 'alice',
      kind: 'totp',
      label: 'phone',
      active: true,
      period: 30,
      digits: 6,
      algorithm: 'sha1',
      lastStep: null,
      lastUsedAt: null,
    });
    const list = await store.listMethods('ALICE');
    t.same(
      list.map((m) => m.label),
      ['phone', 'token'],
      'oldest first',
    );
    t.match(list[1], { kind: 'oath_token', active: false, period: 60, digits: 8, createdAt: h.clock.now });
    t.equal(await store.countMethods('alice'), 2);
    t.equal(await store.renameMethod('bob', a.method.id, 'stolen'), false, 'another user cannot rename');
    t.equal(await store.renameMethod('alice', a.method.id, 'work phone'), true);
    t.equal(await store.removeMethod('bob', a.method.id), false, 'another user cannot remove');
    t.equal(await store.removeMethod('alice', b.method.id), true);
    t.same(
      (await store.listMethods('alice')).map((m) => m.label),
      ['work phone'],
    );
    t.equal(await store.secretOf('no-such-id'), null);
    t.equal(await store.countMethods('bob'), 1);
  });

  withStore('methods: the per-user limit holds', async (t, _h, store) => {
    for (let i = 0; i < 3; i++) t.equal((await store.addMethod(totp('alice', `m${i}`), 3)).ok, true);
    t.same(await store.addMethod(totp('alice', 'm3'), 3), { ok: false, reason: 'limit_reached' });
    t.equal(await store.countMethods('alice'), 3);
  });

  withStore('claimStep: only steps after the last accepted one, exactly one winner', async (t, h, store) => {
    const r = await store.addMethod(totp('alice'), 5);
    if (!r.ok) throw new Error('add failed');
    const id = r.method.id;
    t.equal(await store.claimStep(id, 100), true, 'first use');
    t.equal(await store.claimStep(id, 100), false, 'same step again');
    t.equal(await store.claimStep(id, 99), false, 'an earlier step after a later one');
    const [m] = await store.listMethods('alice');
    t.match(m, { lastStep: 100, lastUsedAt: h.clock.now });
    const parallel = await Promise.all([store.claimStep(id, 101), store.claimStep(id, 101), store.claimStep(id, 101)]);
    t.equal(parallel.filter(Boolean).length, 1, 'one of three parallel claims wins');
    const other = await h.open({ encryptionKey: KEY_A });
    t.teardown(() => other.close());
    const across = await Promise.all([store.claimStep(id, 102), other.claimStep(id, 102)]);
    t.equal(across.filter(Boolean).length, 1, 'one of two connections wins');
    t.equal(await store.claimStep('no-such-id', 1), false);
    const inactive = await store.addMethod({ ...totp('alice', 'token'), kind: 'oath_token', active: false }, 5);
    if (!inactive.ok) throw new Error('add failed');
    t.equal(await store.claimStep(inactive.method.id, 5), false, 'an inactive method cannot be used');
  });

  withStore('pending enrollment: create, replace, expire, complete with the step claimed', async (t, h, store) => {
    const input = { user: 'Alice', secret: Buffer.alloc(20, 1), period: 30, digits: 6, algorithm: 'sha1', ttlMs: 600_000 } as const;
    const p1 = await store.createPending(input);
    t.match(p1, { user: 'alice', period: 30, digits: 6, createdAt: h.clock.now, expiresAt: h.clock.now + 600_000 });
    t.same((await store.getPending('ALICE'))?.secret, Buffer.alloc(20, 1));
    const p2 = await store.createPending({ ...input, secret: Buffer.alloc(20, 2) });
    t.equal((await store.getPending('alice'))?.id, p2.id, 'the newer one replaces the older');
    t.same(await store.completeEnrollment({ user: 'alice', pendingId: p1.id, label: 'x', step: 1, maxPerUser: 5 }), {
      ok: false,
      reason: 'expired',
    });

    h.clock.advance(600_000);
    t.equal(await store.getPending('alice'), null, 'expired');
    t.same(await store.completeEnrollment({ user: 'alice', pendingId: p2.id, label: 'x', step: 1, maxPerUser: 5 }), {
      ok: false,
      reason: 'expired',
    });

    const p3 = await store.createPending({ ...input, secret: Buffer.alloc(20, 3) });
    t.same(
      await store.completeEnrollment({ user: 'bob', pendingId: p3.id, label: 'x', step: 1, maxPerUser: 5 }),
      { ok: false, reason: 'expired' },
      "not another user's",
    );
    t.same(await store.completeEnrollment({ user: 'alice', pendingId: p3.id, label: 'x', step: 1, maxPerUser: 0 }), {
      ok: false,
      reason: 'limit_reached',
    });
    t.not(await store.getPending('alice'), null, 'a refused completion keeps the pending enrollment');
    const done = await store.completeEnrollment({ user: 'alice', pendingId: p3.id, label: 'phone', step: 777, maxPerUser: 5 });
    if (!done.ok) throw new Error('complete failed');
    t.match(done.method, { user: 'alice', kind: 'totp', label: 'phone', active: true, lastStep: 777, lastUsedAt: h.clock.now });
    t.equal((await store.listMethods('alice'))[0]!.lastUsedAt, h.clock.now, 'the confirming code is its last use');
    t.same(await store.secretOf(done.method.id), Buffer.alloc(20, 3));
    t.equal(await store.getPending('alice'), null, 'consumed');
    t.equal(await store.claimStep(done.method.id, 777), false, 'the confirmation code cannot be replayed');
    await store.createPending(input);
    await store.cancelPending('alice');
    t.equal(await store.getPending('alice'), null, 'cancelled');
  });

  withStore('revocations are recorded per user and bump the change counter', async (t, h, store) => {
    t.equal(await store.sessionsRevokedAt('alice'), null);
    t.equal(await store.devicesRevokedAt('alice'), null);
    const seq0 = await store.changeSeq();
    const at = await store.revokeSessions('Alice');
    t.equal(at, h.clock.now);
    t.equal(await store.sessionsRevokedAt('alice'), at);
    t.equal(await store.devicesRevokedAt('alice'), null, 'devices untouched');
    t.equal(await store.changeSeq(), seq0 + 1);
    h.clock.advance(5000);
    await store.revokeDevices('alice');
    t.equal(await store.devicesRevokedAt('alice'), h.clock.now);
    t.equal(await store.sessionsRevokedAt('alice'), at, 'sessions untouched');
    h.clock.advance(5000);
    await store.revokeSessions('alice');
    t.equal(await store.sessionsRevokedAt('alice'), h.clock.now, 'a later revocation moves the time');
    t.equal(await store.changeSeq(), seq0 + 3);
    t.equal(await store.sessionsRevokedAt('bob'), null);
    const other = await h.open({ encryptionKey: KEY_A });
    t.teardown(() => other.close());
    await other.revokeDevices('bob');
    t.equal(await store.changeSeq(), seq0 + 4, 'a change by another process is visible');
  });

  withStore('revocationsSince: the records changed after a counter value', async (t, h, store) => {
    t.same(await store.revocationsSince(0), { seq: await store.changeSeq(), entries: [] });
    const aliceAt = await store.revokeSessions('Alice');
    h.clock.advance(1000);
    const bobAt = await store.revokeDevices('bob');
    const all = await store.revocationsSince(0);
    t.same(all, {
      seq: await store.changeSeq(),
      entries: [
        { user: 'alice', sessionsRevokedAt: aliceAt, devicesRevokedAt: null, blockedUntil: null },
        { user: 'bob', sessionsRevokedAt: null, devicesRevokedAt: bobAt, blockedUntil: null },
      ],
    });
    t.same(await store.revocationsSince(all.seq), { seq: all.seq, entries: [] }, 'nothing new');
    h.clock.advance(1000);
    const aliceDevicesAt = await store.revokeDevices('alice');
    t.same(
      await store.revocationsSince(all.seq),
      {
        seq: all.seq + 1,
        entries: [{ user: 'alice', sessionsRevokedAt: aliceAt, devicesRevokedAt: aliceDevicesAt, blockedUntil: null }],
      },
      'only what changed, with the whole record',
    );
  });

  withStore('ended sessions: recorded by id, carried by the change counter, pruned after their expiry', async (t, h, store) => {
    const seq0 = await store.changeSeq();
    t.same(await store.revokedSessionsSince(0), { seq: seq0, entries: [] });
    const revokedAt = h.clock.now;
    await store.revokeSession({ sid: 'sid-a', user: 'Alice', expiresAt: revokedAt + 60_000 });
    t.equal(await store.changeSeq(), seq0 + 1, 'the change counter moves');
    t.same(await store.revokedSessionsSince(0), {
      seq: seq0 + 1,
      entries: [{ sid: 'sid-a', user: 'alice', revokedAt, expiresAt: revokedAt + 60_000 }],
    });
    h.clock.advance(1000);
    await store.revokeSession({ sid: 'sid-a', user: 'alice', expiresAt: revokedAt + 999_999 });
    const other = await h.open({ encryptionKey: KEY_A });
    t.teardown(() => other.close());
    await other.revokeSession({ sid: 'sid-b', user: 'bob', expiresAt: h.clock.now + 10_000 });
    const seq = await store.changeSeq();
    t.same(
      await store.revokedSessionsSince(seq0 + 1),
      {
        seq,
        entries: [{ sid: 'sid-b', user: 'bob', revokedAt: h.clock.now, expiresAt: h.clock.now + 10_000 }],
      },
      'only what changed since, also from another process; a second revocation of one id keeps the first record',
    );
    t.same(
      (await store.revokedSessionsSince(0)).entries.map((e) => [e.sid, e.expiresAt]),
      [
        ['sid-a', revokedAt + 60_000],
        ['sid-b', h.clock.now + 10_000],
      ],
    );
    h.clock.advance(10_000);
    t.same(
      (await store.revokedSessionsSince(0)).entries.map((e) => e.sid),
      ['sid-a'],
      'an expired record is not loaded',
    );
    t.equal(await store.pruneRevokedSessions(h.clock.now), 1, 'and is pruned');
    t.equal(await store.pruneRevokedSessions(h.clock.now), 0);
    t.same(await store.revocationsSince(0), { seq: await store.changeSeq(), entries: [] }, 'no per-user record is touched');
  });

  withStore('audit: record and query by user, time and limit, newest first', async (t, h, store) => {
    const base = { clientIp: '192.0.2.7', userAgent: 'Firefox', rule: 'intranet', detail: '' } as const;
    await store.record({ ...base, kind: 'password', user: 'Alice', outcome: 'success', detail: 'ok' });
    h.clock.advance(1000);
    const t1 = h.clock.now;
    await store.record({ ...base, kind: 'second_factor', user: 'alice', outcome: 'denied', detail: 'wrong' });
    await store.record({ ...base, kind: 'password', user: 'mallory', outcome: 'denied', detail: 'unknown_user', rule: null });
    h.clock.advance(1000);
    await store.record({ ...base, kind: 'enrollment', user: 'ALICE', outcome: 'success', detail: 'enrolled' });

    const all = await store.query({ limit: 100 });
    t.same(
      all.map((e) => e.detail),
      ['enrolled', 'unknown_user', 'wrong', 'ok'],
    );
    t.match(all[3], {
      kind: 'password',
      user: 'Alice',
      clientIp: '192.0.2.7',
      userAgent: 'Firefox',
      rule: 'intranet',
      outcome: 'success',
      at: t1 - 1000,
    });
    t.equal(all[1]?.rule, null);
    t.same(
      (await store.query({ user: 'alice', limit: 100 })).map((e) => e.user),
      ['ALICE', 'alice', 'Alice'],
      'case-insensitive, typed spelling kept',
    );
    t.same(
      (await store.query({ user: 'alice', since: t1, limit: 100 })).map((e) => e.detail),
      ['enrolled', 'wrong'],
    );
    t.same(
      (await store.query({ limit: 1 })).map((e) => e.detail),
      ['enrolled'],
    );
    t.same(await store.query({ user: 'nobody', limit: 10 }), []);
  });

  withStore('audit: recordAll writes several entries in order, stamped now; query and auditPage filter by kind', async (t, h, store) => {
    const base = { clientIp: '192.0.2.7', userAgent: '', rule: 'lock-docs' } as const;
    await store.record({ ...base, kind: 'password', user: 'alice', outcome: 'success', detail: 'ok', rule: null });
    h.clock.advance(1000);
    await store.recordAll([]);
    await store.recordAll([
      { ...base, kind: 'report_only', user: 'alice', outcome: 'would_deny', detail: 'first' },
      { ...base, kind: 'report_only', user: '', outcome: 'would_require_sign_in', detail: 'second' },
      ...Array.from({ length: 250 }, (_, i) => ({
        ...base,
        kind: 'report_only' as const,
        user: 'bob',
        outcome: 'would_deny' as const,
        detail: `n${i}`,
      })),
    ]);
    const reported = await store.query({ kind: 'report_only', limit: 1000 });
    t.equal(reported.length, 252, 'more than one batch');
    t.same(
      reported.slice(-2).map((e) => e.detail),
      ['second', 'first'],
      'newest (highest id) first: the order given',
    );
    t.match(reported.at(-1), { kind: 'report_only', user: 'alice', rule: 'lock-docs', outcome: 'would_deny', at: h.clock.now });
    t.equal(reported.at(-2)?.user, '', 'a caller who had not signed in');
    t.same(
      (await store.query({ kind: 'password', limit: 10 })).map((e) => e.detail),
      ['ok'],
    );
    t.same(
      (await store.query({ user: 'alice', kind: 'report_only', limit: 10 })).map((e) => e.detail),
      ['first'],
    );
    t.same(
      (await store.auditPage({ kind: 'report_only', outcome: 'would_require_sign_in', limit: 10 })).map((e) => e.detail),
      ['second'],
    );
    t.equal((await store.auditPage({ kind: 'password', limit: 10 })).length, 1);
  });

  withStore('audit: pruneAudit deletes entries older than the cutoff only', async (t, h, store) => {
    const entry = (detail: string) =>
      ({ kind: 'password', user: 'alice', clientIp: '192.0.2.1', userAgent: 'ua', rule: null, outcome: 'success', detail }) as const;
    await store.record(entry('old'));
    h.clock.advance(60_000);
    const cutoff = h.clock.now;
    await store.record(entry('at cutoff'));
    h.clock.advance(60_000);
    await store.record(entry('new'));
    t.equal(await store.pruneAudit(cutoff), 1);
    t.same(
      (await store.query({ limit: 10 })).map((e) => e.detail),
      ['new', 'at cutoff'],
    );
    t.equal(await store.pruneAudit(cutoff), 0, 'idempotent');
  });

  withStore('fraud reports: created, read, consumed exactly once, not after expiry', async (t, h, store) => {
    const now = h.clock.now;
    const report = { id: 'r-1', user: 'Alice', createdAt: now, expiresAt: now + 60_000, clientIp: '198.51.100.9', userAgent: 'curl/8' };
    await store.createFraudReport(report);
    await store.createFraudReport({ ...report, id: 'r-2' });
    t.same(await store.getFraudReport('r-1'), { ...report, user: 'alice', consumedAt: null });
    t.equal(await store.getFraudReport('nope'), null);
    const results = await Promise.all([store.consumeFraudReport('r-1', now + 1), store.consumeFraudReport('r-1', now + 1)]);
    t.same(results.sort(), [false, true], 'one winner');
    t.equal((await store.getFraudReport('r-1'))?.consumedAt, now + 1);
    t.equal(await store.consumeFraudReport('r-2', now + 60_000), false, 'expired');
    t.equal(await store.consumeFraudReport('nope', now), false);
    await store.pruneFraud(now + 60_000, 0);
    t.equal(await store.getFraudReport('r-2'), null, 'expired reports are pruned');
  });

  withStore('known browsers: new once per user, case-insensitive, pruned by last use', async (t, h, store) => {
    t.equal(await store.seeBrowser('alice', 'b1', h.clock.now), true);
    t.equal(await store.seeBrowser('ALICE', 'b1', h.clock.now), false);
    t.equal(await store.seeBrowser('bob', 'b1', h.clock.now), true, 'per user');
    t.equal(await store.seeBrowser('alice', 'b2', h.clock.now + 10), true);
    await store.seeBrowser('alice', 'b1', h.clock.now + 20);
    await store.pruneFraud(h.clock.now, h.clock.now + 15);
    t.equal(await store.seeBrowser('alice', 'b1', h.clock.now + 30), false, 'seen at +20: kept');
    t.equal(await store.seeBrowser('alice', 'b2', h.clock.now + 30), true, 'last seen at +10: forgotten');
  });

  const policy = { denials: 3, counterResetMs: 10 * 60_000, autoUnblockMs: 15 * 60_000 };

  withStore('lockout: attempts are counted before evaluation, the last one locks, success clears', async (t, h, store) => {
    t.same(await store.lockoutCounter('alice', 'second_factor'), { denials: [], lockedUntil: null }, 'empty at first');
    const first = await store.regulateAttempt('Alice', 'second_factor', policy);
    t.same(first, { allowed: true, next: { denials: [h.clock.now], lockedUntil: null } });
    t.same(await store.lockoutCounter('alice', 'password'), { denials: [], lockedUntil: null }, 'the password counter is separate');
    h.clock.advance(1000);
    await store.regulateAttempt('alice', 'second_factor', policy);
    h.clock.advance(1000);
    const last = await store.regulateAttempt('alice', 'second_factor', policy);
    t.match(
      last,
      { allowed: true, next: { lockedUntil: h.clock.now + policy.autoUnblockMs } },
      'the last attempt is allowed and sets the lock',
    );
    t.same(await store.regulateAttempt('alice', 'second_factor', policy), { allowed: false, until: h.clock.now + policy.autoUnblockMs });
    t.same(
      (await store.lockoutCounter('ALICE', 'second_factor')).lockedUntil,
      h.clock.now + policy.autoUnblockMs,
      'stored, case-insensitive',
    );
    await store.clearLockout('alice', 'second_factor');
    t.same(await store.lockoutCounter('alice', 'second_factor'), { denials: [], lockedUntil: null }, 'cleared');
    t.equal((await store.regulateAttempt('alice', 'second_factor', policy)).allowed, true);
  });

  withStore('lockout: of many parallel attempts with one left, across connections, exactly one is allowed', async (t, h, store) => {
    await store.regulateAttempt('mallory', 'password', policy);
    await store.regulateAttempt('mallory', 'password', policy);
    const other = await h.open({ encryptionKey: KEY_A });
    t.teardown(() => other.close());
    const verdicts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : other).regulateAttempt('mallory', 'password', policy)),
    );
    t.equal(verdicts.filter((v) => v.allowed).length, 1);
  });

  withStore('lockout: counters survive reopening; expired ones are purged', async (t, h, store) => {
    await store.regulateAttempt('ghost', 'password', policy);
    await store.close();
    const again = await h.open({ encryptionKey: KEY_A });
    t.teardown(() => again.close());
    t.equal((await again.lockoutCounter('ghost', 'password')).denials.length, 1, 'kept across a restart');
    h.clock.advance(policy.autoUnblockMs);
    await again.regulateAttempt('someone-else', 'password', policy);
    t.same(
      await again.lockoutCounter('ghost', 'password'),
      { denials: [], lockedUntil: null },
      'a counter that no longer matters is deleted',
    );
  });

  const spray = { failures: 3, windowMs: 10 * 60_000 };

  withStore('source throttle: failures counted before evaluation, the window slides, a right password is forgiven', async (t, h, store) => {
    t.same(await store.sourceFailures('192.0.2.7'), [], 'empty at first');
    const t0 = h.clock.now;
    const first = await store.throttleSource('192.0.2.7', spray);
    t.same(first, { allowed: true, next: [t0] }, 'counted before the password is checked');
    h.clock.advance(1000);
    await store.forgiveSourceFailure('192.0.2.7', t0);
    t.same(await store.sourceFailures('192.0.2.7'), [], 'a right password takes its reservation back');
    for (let i = 0; i < 3; i++) {
      h.clock.advance(60_000);
      t.equal((await store.throttleSource('192.0.2.7', spray)).allowed, true, `failure ${i + 1} allowed`);
    }
    const firstFailure = t0 + 1000 + 60_000;
    t.same(
      await store.throttleSource('192.0.2.7', spray),
      { allowed: false, retryAt: firstFailure + spray.windowMs },
      'the fourth is refused until the oldest leaves',
    );
    t.equal((await store.throttleSource('2001:db8::/64', spray)).allowed, true, 'another source is not touched');
    t.equal((await store.sourceFailures('192.0.2.7')).length, 3, 'a refused attempt adds nothing');
    h.clock.now = firstFailure + spray.windowMs - 1;
    t.equal((await store.throttleSource('192.0.2.7', spray)).allowed, false, 'still refused 1 ms before');
    h.clock.now = firstFailure + spray.windowMs;
    t.equal((await store.throttleSource('192.0.2.7', spray)).allowed, true, 'the window slid: one more attempt');
    t.equal((await store.throttleSource('192.0.2.7', spray)).allowed, false, 'and only one');
  });

  withStore('source throttle: of many parallel attempts with one left, across connections, exactly one is allowed', async (t, h, store) => {
    await store.throttleSource('198.51.100.1', spray);
    await store.throttleSource('198.51.100.1', spray);
    const other = await h.open({ encryptionKey: KEY_A });
    t.teardown(() => other.close());
    const verdicts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : other).throttleSource('198.51.100.1', spray)),
    );
    t.equal(verdicts.filter((v) => v.allowed).length, 1);
  });

  withStore('source throttle: failures survive reopening; expired ones are purged', async (t, h, store) => {
    await store.throttleSource('203.0.113.9', spray);
    await store.close();
    const again = await h.open({ encryptionKey: KEY_A });
    t.teardown(() => again.close());
    t.equal((await again.sourceFailures('203.0.113.9')).length, 1, 'kept across a restart');
    h.clock.advance(spray.windowMs);
    await again.throttleSource('203.0.113.10', spray);
    t.same(await again.sourceFailures('203.0.113.9'), [], 'a source whose failures left the window is deleted');
  });

  withStore('blocks: block, renew, unblock, expiry, history, and the change feed', async (t, h, store) => {
    t.equal(await store.blockOf('alice'), null);
    const seq0 = await store.changeSeq();
    const b = await store.block({ user: 'Alice', durationMs: 86_400_000, reason: 'phone stolen', actor: 'root' });
    t.same(b, { user: 'alice', blockedAt: h.clock.now, until: h.clock.now + 86_400_000, reason: 'phone stolen', actor: 'root' });
    t.same(await store.blockOf('ALICE'), b);
    t.equal(await store.changeSeq(), seq0 + 1, 'a block bumps the change counter');
    const feed = await store.revocationsSince(seq0);
    t.same(feed.entries, [{ user: 'alice', sessionsRevokedAt: null, devicesRevokedAt: null, blockedUntil: b.until }]);
    const other = await h.open({ encryptionKey: KEY_A });
    t.teardown(() => other.close());
    t.same(await other.blockOf('alice'), b, 'visible to another connection');

    h.clock.advance(1000);
    t.equal(await store.unblock({ user: 'alice', reason: 'found it', actor: 'ops' }), true);
    t.equal(await store.blockOf('alice'), null);
    t.equal(await store.unblock({ user: 'alice', reason: 'again', actor: 'ops' }), false, 'nothing to unblock');
    t.same((await store.revocationsSince(feed.seq)).entries, [
      { user: 'alice', sessionsRevokedAt: null, devicesRevokedAt: null, blockedUntil: null },
    ]);

    await store.block({ user: 'alice', durationMs: 60_000, reason: 'short', actor: 'root' });
    h.clock.advance(59_999);
    t.not(await store.blockOf('alice'), null, 'still blocked a moment before the end');
    h.clock.advance(1);
    t.equal(await store.blockOf('alice'), null, 'expired by the clock');
    t.equal(await store.unblock({ user: 'alice', reason: 'late', actor: 'ops' }), false, 'an expired block needs no unblock');

    const history = await store.blockHistory('ALICE');
    t.same(
      history.map((e) => [e.action, e.reason, e.actor]),
      [
        ['block', 'short', 'root'],
        ['unblock', 'found it', 'ops'],
        ['block', 'phone stolen', 'root'],
      ],
      'newest first, with reasons and actors',
    );
    t.equal(history[1]?.until, null);
    t.same(await store.blockHistory('bob'), []);
  });

  withStore('key rotation: previous keys open, rekey rewrites, then the old key can go', async (t, h, store) => {
    const r = await store.addMethod(totp('alice', 'phone', Buffer.alloc(20, 9)), 5);
    if (!r.ok) throw new Error('add failed');
    await store.createPending({ user: 'bob', secret: Buffer.alloc(20, 8), period: 30, digits: 6, algorithm: 'sha1', ttlMs: 60_000 });
    await store.close();

    const onlyNew = await h.open({ encryptionKey: KEY_B });
    await t.rejects(onlyNew.secretOf(r.method.id), /neither the current key nor a previous key/, 'an unknown key is an error, not garbage');
    await onlyNew.close();

    const rotated = await h.open({ encryptionKey: KEY_B, previousKeys: [KEY_A] });
    t.same(await rotated.secretOf(r.method.id), Buffer.alloc(20, 9), 'old secrets open with the previous key');
    t.equal(await rotated.rekey(), 2, 'one method and one pending enrollment rewritten');
    t.equal(await rotated.rekey(), 0, 'nothing left to rewrite');
    await rotated.close();

    const after = await h.open({ encryptionKey: KEY_B });
    t.same(await after.secretOf(r.method.id), Buffer.alloc(20, 9), 'opens without the old key');
    t.same((await after.getPending('bob'))?.secret, Buffer.alloc(20, 8));
    await after.close();
  });

  withStore('app passwords: limit, hints, revocation kept, change feed, last used', async (t, h, store) => {
    const seq0 = await store.changeSeq();
    t.equal(await store.hasCreatedAppPassword('alice'), false);
    const a = await store.addAppPassword({ user: 'Alice', name: 'Mail', hint: 'abcd', hash: '$argon2id$a' }, 2);
    const b = await store.addAppPassword({ user: 'alice', name: 'Calendar', hint: 'efgh', hash: '$argon2id$b' }, 2);
    if (!a.ok || !b.ok) throw new Error('add failed');
    t.same(await store.addAppPassword({ user: 'alice', name: 'Third', hint: 'ijkl', hash: 'x' }, 2), {
      ok: false,
      reason: 'limit_reached',
    });
    t.match(a.appPassword, { user: 'alice', name: 'Mail', createdAt: h.clock.now, lastUsedAt: null });
    t.notOk('hash' in a.appPassword, 'the listing never carries the hash');
    t.same(
      (await store.listAppPasswords('ALICE')).map((p) => p.name),
      ['Mail', 'Calendar'],
    );
    t.same(
      (await store.appPasswordCandidates('alice', 'abcd')).map((p) => p.hash),
      ['$argon2id$a'],
    );
    t.same(await store.appPasswordCandidates('bob', 'abcd'), [], 'per user');
    const feed = await store.appPasswordChangesSince(seq0);
    t.same(feed.users, ['alice']);
    t.equal(feed.seq, await store.changeSeq(), 'every change bumps the shared counter');

    h.clock.advance(5000);
    await store.touchAppPassword(a.appPassword.id, h.clock.now);
    await store.touchAppPassword(a.appPassword.id, h.clock.now - 1000);
    t.equal((await store.listAppPasswords('alice'))[0]!.lastUsedAt, h.clock.now, 'last used only moves forward');

    t.equal(await store.revokeAppPassword('bob', a.appPassword.id), false, 'another user cannot revoke');
    t.equal(await store.revokeAppPassword('alice', a.appPassword.id), true);
    t.equal(await store.revokeAppPassword('alice', a.appPassword.id), false, 'only once');
    t.same(await store.appPasswordCandidates('alice', 'abcd'), [], 'a revoked one is no candidate');
    t.same((await store.appPasswordChangesSince(feed.seq)).users, ['alice'], 'revocation is in the feed');
    t.equal(
      (await store.addAppPassword({ user: 'alice', name: 'Third', hint: 'ijkl', hash: 'x' }, 2)).ok,
      true,
      'revoked ones do not count to the limit',
    );
    t.equal(await store.revokeAllAppPasswords('alice'), 2);
    t.same(await store.listAppPasswords('alice'), []);
    t.equal(await store.hasCreatedAppPassword('ALICE'), true, 'the store remembers the user once had one');
    t.equal(await store.hasCreatedAppPassword('bob'), false);
  });

  withStore('admin reads: log pages with filters, last sign-in, import reports', async (t, h, store) => {
    const base = { clientIp: '10.0.0.1', userAgent: 'ua', rule: null } as const;
    for (let i = 0; i < 5; i++) {
      await store.record({
        ...base,
        kind: 'password',
        user: i % 2 === 0 ? 'alice' : 'Bob',
        outcome: i === 3 ? 'denied' : 'success',
        detail: `e${i}`,
      });
      h.clock.advance(1000);
    }
    const all = await store.auditPage({ limit: 10 });
    t.same(
      all.map((e) => e.detail),
      ['e4', 'e3', 'e2', 'e1', 'e0'],
      'newest first',
    );
    const first = await store.auditPage({ limit: 2 });
    const next = await store.auditPage({ limit: 2, beforeId: first.at(-1)!.id });
    t.same(
      [...first, ...next].map((e) => e.detail),
      ['e4', 'e3', 'e2', 'e1'],
      'pages continue without gaps',
    );
    t.same(
      (await store.auditPage({ user: 'bob', limit: 10 })).map((e) => e.detail),
      ['e3', 'e1'],
    );
    t.same(
      (await store.auditPage({ outcome: 'denied', limit: 10 })).map((e) => e.detail),
      ['e3'],
    );
    t.same(
      (await store.auditPage({ since: h.clock.now - 2000, limit: 10 })).map((e) => e.detail),
      ['e4', 'e3'],
    );
    t.equal(await store.lastSignIn('bob'), h.clock.now - 4000, 'a denied attempt is no sign-in');
    t.equal(await store.lastSignIn('carol'), null);

    await store.saveImportReport({ id: 'r1', actor: 'Alice', csv: 'line,upn\n', createdAt: h.clock.now, expiresAt: h.clock.now + 1000 });
    t.equal(await store.importReport('r1', 'alice', h.clock.now), 'line,upn\n');
    t.equal(await store.importReport('r1', 'bob', h.clock.now), null, 'only for the admin who ran it');
    t.equal(await store.importReport('r1', 'alice', h.clock.now + 1000), null, 'expired');
  });

  withStore('OATH tokens: import in order, unchanged on re-import, serial unique, limit, activation, reset', async (t, _h, store) => {
    const tok = (user: string, serial: string, secret = Buffer.from('0123456789')) =>
      ({ user, serial, secret, period: 60, manufacturer: 'Contoso', model: 'Key', label: `Contoso Key ${serial}` }) as const;
    await store.addMethod(totp('carol'), 5);
    t.same(await store.importTokens([tok('Alice', 'S1'), tok('bob', 'S2'), tok('carol', 'S3'), tok('carol', 'S4')], 2), [
      'imported',
      'imported',
      'imported',
      'limit_reached',
    ]);
    t.same(
      await store.importTokens([tok('alice', 'S1'), tok('bob', 'S1'), tok('alice', 'S2'), tok('bob', 'S2', Buffer.from('9876543210'))], 5),
      ['unchanged', 'serial_taken', 'serial_taken', 'serial_taken'],
    );
    const s1 = await store.tokenBySerial('S1');
    t.match(s1, {
      user: 'alice',
      kind: 'oath_token',
      serial: 'S1',
      manufacturer: 'Contoso',
      model: 'Key',
      period: 60,
      digits: 6,
      algorithm: 'sha1',
      active: false,
      lastStep: null,
    });
    t.equal(await store.tokenBySerial('nope'), null);
    t.same(
      (await store.listTokens()).map((k) => k.serial),
      ['S1', 'S2', 'S3'],
    );
    t.equal(await store.claimStep(s1!.id, 5), false, 'an inactive token claims no step');
    t.equal(await store.activateToken(s1!.id, 7), true);
    t.equal(await store.activateToken(s1!.id, 8), false, 'only once');
    t.equal(await store.claimStep(s1!.id, 7), false, 'the activation step is used');
    t.equal(await store.claimStep(s1!.id, 8), true);
    await store.createPending({
      user: 'carol',
      secret: Buffer.from('12345678901234567890'),
      period: 30,
      digits: 6,
      algorithm: 'sha1',
      ttlMs: 60_000,
    });
    const removed = await store.removeAllMethods('CAROL');
    t.same(removed.map((m) => m.kind).sort(), ['oath_token', 'totp']);
    t.equal(await store.countMethods('carol'), 0);
    t.equal(await store.getPending('carol'), null, 'the pending enrollment is gone too');
    t.same(await store.removeAllMethods('carol'), []);
    t.equal(await store.countMethods('alice'), 1, 'other users keep theirs');
  });
  withStore(
    'access passes: one per user, replaced on issue, spent atomically, expired and used up refused, revoked',
    async (t, h, store) => {
      const now = h.clock.now;
      const issued = await store.issueAccessPass({ user: 'Alice', hash: 'h1', expiresAt: now + 60_000, uses: 2, actor: 'root' });
      t.same(issued, { user: 'alice', createdAt: now, expiresAt: now + 60_000, uses: 2, usesLeft: 2, actor: 'root' });
      t.equal(await store.useAccessPass('alice', 'wrong', now), false, 'a wrong hash spends nothing');
      t.equal(await store.useAccessPass('bob', 'h1', now), false, 'another user cannot spend it');
      t.equal(await store.useAccessPass('ALICE', 'h1', now), true);
      t.equal((await store.accessPassOf('alice'))!.usesLeft, 1);
      t.equal(await store.useAccessPass('alice', 'h1', now + 60_000), false, 'expired at expiresAt');
      t.equal(await store.useAccessPass('alice', 'h1', now + 1000), true);
      t.equal(await store.useAccessPass('alice', 'h1', now + 1000), false, 'used up');
      t.match(await store.accessPassOf('alice'), { usesLeft: 0, uses: 2 });

      h.clock.advance(5000);
      await store.issueAccessPass({ user: 'alice', hash: 'h2', expiresAt: h.clock.now + 60_000, uses: 3, actor: 'admin' });
      t.equal(await store.useAccessPass('alice', 'h1', h.clock.now), false, 'the replaced pass is void');
      t.match(await store.accessPassOf('alice'), { uses: 3, usesLeft: 3, actor: 'admin', createdAt: h.clock.now });

      await store.issueAccessPass({ user: 'alice', hash: 'h3', expiresAt: h.clock.now + 60_000, uses: 1, actor: 'root' });
      const spends = await Promise.all(Array.from({ length: 10 }, () => store.useAccessPass('alice', 'h3', h.clock.now)));
      t.equal(spends.filter(Boolean).length, 1, 'of parallel spends of the last use exactly one wins');

      t.equal(await store.revokeAccessPass('ALICE'), true);
      t.equal(await store.accessPassOf('alice'), null);
      t.equal(await store.revokeAccessPass('alice'), false, 'nothing left to revoke');
    },
  );

  withStore('recovery codes: a set replaces the last, each used once, parallel use exactly one wins, removed', async (t, h, store) => {
    const now = h.clock.now;
    t.same(await store.recoveryCodeSummary('alice'), { total: 0, unused: 0, createdAt: null });
    await store.replaceRecoveryCodes('Alice', ['a1', 'a2', 'a3'], now);
    await store.replaceRecoveryCodes('bob', ['a1'], now);
    t.same(await store.recoveryCodeSummary('alice'), { total: 3, unused: 3, createdAt: now });
    t.equal(await store.useRecoveryCode('alice', 'a1', now + 1), true);
    t.equal(await store.useRecoveryCode('ALICE', 'a1', now + 2), false, 'used once, then refused');
    t.equal(await store.useRecoveryCode('alice', 'nope', now), false);
    t.same(await store.recoveryCodeSummary('alice'), { total: 3, unused: 2, createdAt: now });
    t.equal(await store.useRecoveryCode('bob', 'a1', now), true, 'codes are per user');

    const wins = await Promise.all(Array.from({ length: 10 }, () => store.useRecoveryCode('alice', 'a2', now)));
    t.equal(wins.filter(Boolean).length, 1, 'of parallel uses of one code exactly one wins');

    h.clock.advance(1000);
    await store.replaceRecoveryCodes('alice', ['b1', 'b2'], h.clock.now);
    t.equal(await store.useRecoveryCode('alice', 'a3', h.clock.now), false, 'a new set voids the old one');
    t.same(await store.recoveryCodeSummary('alice'), { total: 2, unused: 2, createdAt: h.clock.now });
    t.equal(await store.removeRecoveryCodes('alice'), 2);
    t.equal(await store.useRecoveryCode('alice', 'b1', h.clock.now), false, 'removed codes are refused');
    t.same(await store.recoveryCodeSummary('bob'), { total: 1, unused: 0, createdAt: now }, 'other users keep theirs');
  });

  withStore('report-only hits: counts add up per minute and keys, sum over minutes, filter by rule, prune by age', async (t, h, store) => {
    const m0 = h.clock.now - (h.clock.now % 60_000);
    const hit = (minute: number, user: string, count: number, rule = 'new-admin-rule') =>
      ({ minute, rule, outcome: 'would_deny', user, address: '198.51.100.7', path: '/admin/x', count }) as const;
    await store.addReportOnlyHits([hit(m0, 'alice', 2), hit(m0, '', 1)]);
    await store.addReportOnlyHits([hit(m0, 'alice', 3), hit(m0 + 60_000, 'alice', 4), hit(m0, 'bob', 1, 'other')]);
    t.same(await store.reportOnlyHits({ since: m0, rule: 'new-admin-rule' }), [
      { rule: 'new-admin-rule', outcome: 'would_deny', user: '', address: '198.51.100.7', path: '/admin/x', count: 1 },
      { rule: 'new-admin-rule', outcome: 'would_deny', user: 'alice', address: '198.51.100.7', path: '/admin/x', count: 9 },
    ]);
    t.equal((await store.reportOnlyHits({ since: m0 })).length, 3, 'every rule without --rule');
    t.equal((await store.reportOnlyHits({ since: m0 + 60_000 }))[0]?.count, 4, 'since cuts by minute');
    t.equal(await store.pruneReportOnly(m0 + 60_000), 3, 'the first minute pruned');
    t.equal((await store.reportOnlyHits({ since: 0 })).length, 1);
  });

  const credential = (user: string, credentialId: string, label = 'key') => ({
    user,
    credentialId,
    label,
    publicKey: 'pQECAyYgASFY',
    signCount: 5,
    transports: ['usb'],
    aaguid: '00000000-0000-0000-0000-000000000000',
    backupEligible: false,
    backedUp: false,
    discoverable: true,
  });

  withStore('webauthn credentials: added, listed per user, found by credential id, renamed, removed', async (t, h, store) => {
    const added = await store.addCredential(credential('Alice', 'cred-a'), 5);
    t.equal(added.ok, true);
    if (!added.ok) return;
    t.match(added.credential, {
      user: 'alice',
      credentialId: 'cred-a',
      signCount: 5,
      transports: ['usb'],
      discoverable: true,
      lastUsedAt: null,
    });
    t.equal(added.credential.createdAt, h.clock.now);
    t.same(
      await store.addCredential(credential('bob', 'cred-a'), 5),
      { ok: false, reason: 'credential_taken' },
      'one credential id, one owner',
    );
    t.same(
      (await store.listCredentials('ALICE')).map((c) => c.credentialId),
      ['cred-a'],
    );
    t.same(await store.listCredentials('bob'), []);
    t.equal((await store.credentialById('cred-a'))?.id, added.credential.id);
    t.equal(await store.credentialById('nope'), null);
    t.equal(await store.renameCredential('bob', added.credential.id, 'x'), false, 'not the owner');
    t.equal(await store.renameCredential('alice', added.credential.id, 'desk key'), true);
    t.equal((await store.listCredentials('alice'))[0]!.label, 'desk key');
    t.equal(await store.removeCredential('bob', added.credential.id), false, 'not the owner');
    t.equal(await store.removeCredential('alice', added.credential.id), true);
    t.same(await store.listCredentials('alice'), []);
  });

  withStore('webauthn credentials count toward the method limit, with code methods', async (t, _h, store) => {
    t.equal((await store.addMethod(totp('alice'), 3)).ok, true);
    t.equal((await store.addCredential(credential('alice', 'c1'), 3)).ok, true);
    t.equal(await store.countMethods('alice'), 2);
    t.equal((await store.addCredential(credential('alice', 'c2'), 3)).ok, true);
    t.same(await store.addCredential(credential('alice', 'c3'), 3), { ok: false, reason: 'limit_reached' });
    t.same(await store.addMethod(totp('alice', 'm2'), 3), { ok: false, reason: 'limit_reached' }, 'a code method is refused too');
    const parallel = await Promise.all([1, 2, 3].map((i) => store.addCredential(credential('bob', `p${i}`), 2)));
    t.equal(parallel.filter((r) => r.ok).length, 2, 'parallel adds stop at the limit');
  });

  withStore('webauthn sign counter: only forward, once; zero stays usable for counterless authenticators', async (t, h, store) => {
    const r = await store.addCredential(credential('alice', 'c1'), 5);
    if (!r.ok) throw new Error('not added');
    const id = r.credential.id;
    t.equal(await store.claimSignCount(id, 5, false, h.clock.now), false, 'the same counter again (a clone) is refused');
    t.equal(await store.claimSignCount(id, 4, false, h.clock.now), false, 'a counter that goes back is refused');
    const both = await Promise.all([
      store.claimSignCount(id, 6, true, h.clock.now + 1),
      store.claimSignCount(id, 6, true, h.clock.now + 1),
    ]);
    t.same(both.sort(), [false, true], 'of two parallel uses of one counter, one wins');
    t.match(await store.credentialById('c1'), { signCount: 6, backedUp: true, lastUsedAt: h.clock.now + 1 });
    t.equal(await store.claimSignCount(id, 0, false, h.clock.now), false, 'a counter that drops to zero is refused');
    const z = await store.addCredential({ ...credential('alice', 'c0'), signCount: 0 }, 5);
    if (!z.ok) throw new Error('not added');
    t.equal(await store.claimSignCount(z.credential.id, 0, false, h.clock.now), true, 'a counterless authenticator stays at zero');
    t.equal(await store.claimSignCount(z.credential.id, 0, false, h.clock.now), true);
  });

  withStore('webauthn: removing all credentials of a user (MFA reset) leaves others', async (t, _h, store) => {
    await store.addCredential(credential('alice', 'a1', 'one'), 5);
    await store.addCredential(credential('alice', 'a2', 'two'), 5);
    await store.addCredential(credential('bob', 'b1'), 5);
    t.same((await store.removeAllCredentials('ALICE')).map((c) => c.label).sort(), ['one', 'two']);
    t.same(await store.listCredentials('alice'), []);
    t.equal((await store.listCredentials('bob')).length, 1);
  });

  withStore('webauthn challenges: used once, for their purpose, before they expire', async (t, h, store) => {
    const now = h.clock.now;
    await store.saveChallenge({ challenge: 'ch1', purpose: 'authenticate', user: 'Alice', expiresAt: now + 60_000 });
    await store.saveChallenge({ challenge: 'ch2', purpose: 'passwordless', user: '', expiresAt: now + 60_000 });
    await store.saveChallenge({ challenge: 'ch3', purpose: 'register', user: 'alice', expiresAt: now + 1000 });
    t.equal(await store.takeChallenge('ch1', 'register', now), null, 'another purpose does not take it');
    t.same(await store.takeChallenge('ch1', 'authenticate', now), { user: 'alice' });
    t.equal(await store.takeChallenge('ch1', 'authenticate', now), null, 'a second use is refused');
    t.same(await store.takeChallenge('ch2', 'passwordless', now), { user: '' });
    t.equal(await store.takeChallenge('ch3', 'register', now + 1000), null, 'an expired challenge is refused');
    await store.saveChallenge({ challenge: 'ch4', purpose: 'register', user: 'alice', expiresAt: now + 60_000 });
    const both = await Promise.all([store.takeChallenge('ch4', 'register', now), store.takeChallenge('ch4', 'register', now)]);
    t.equal(both.filter((x) => x !== null).length, 1, 'of two parallel uses, one wins');
  });

  withStore('decision traces: found by request id with every field, first write wins, pruned by age', async (t, h, store) => {
    const now = h.clock.now;
    const trace = (requestId: string, at: number, extra: Partial<DecisionTrace> = {}): DecisionTrace => ({
      requestId,
      at,
      method: 'GET',
      host: 'app.example.com',
      path: '/finance/report',
      clientIp: '198.51.100.7',
      clientFrom: 'proxy_header',
      trustedNetwork: true,
      rule: 'finance',
      session: 'second_factor',
      user: 'alice',
      missing: 'member of group finance',
      outcome: 'forbidden',
      ...extra,
    });
    const old = trace('0a1b2c3d4e5f', now - 10_000, {
      rule: null,
      session: 'none',
      user: null,
      trustedNetwork: false,
      clientFrom: 'socket',
    });
    await store.addDecisionTraces([old, trace('ffeeddccbbaa', now)]);
    await store.addDecisionTraces([trace('ffeeddccbbaa', now, { outcome: 'sign_in' })]);
    t.same(await store.decisionTrace('ffeeddccbbaa'), trace('ffeeddccbbaa', now), 'every field back; a repeated id keeps the first');
    t.same(await store.decisionTrace('0a1b2c3d4e5f'), old, 'nulls and false come back as such');
    t.equal(await store.decisionTrace('000000000000'), null, 'an unknown id is null');
    t.equal(await store.pruneDecisionTraces(now - 1), 1, 'the older trace pruned');
    t.equal(await store.decisionTrace('0a1b2c3d4e5f'), null);
    t.ok(await store.decisionTrace('ffeeddccbbaa'), 'the newer one kept');
  });

  // Issue 12's session index: both backends record, list, touch, end and match sessions alike.
  const indexed = (h: StoreHarness, sid: string, user: string, extra: Partial<IndexedSession> = {}): IndexedSession => ({
    sid,
    user,
    createdAt: h.clock.now,
    lastSeen: h.clock.now,
    expiresAt: h.clock.now + 3_600_000,
    createdIp: '10.0.0.1',
    createdUserAgent: 'Firefox/128.0',
    lastIp: '10.0.0.1',
    lastUserAgent: 'Firefox/128.0',
    amr: ['pwd'],
    skip: null,
    federated: false,
    providerSid: null,
    providerSub: null,
    ...extra,
  });

  withStore(
    'session index: recorded and listed oldest first per user, a level change keeps the start, touched forward only',
    async (t, h, store) => {
      const a1 = indexed(h, 'sid-a1', 'Alice');
      await store.indexSession(a1);
      h.clock.advance(1000);
      const a2 = indexed(h, 'sid-a2', 'alice', { createdIp: '2001:db8::1', lastIp: '2001:db8::1', skip: 'trusted_network' });
      await store.indexSession(a2);
      await store.indexSession(indexed(h, 'sid-b1', 'bob'));
      t.same(await store.listSessions('ALICE'), [a1, a2], 'every field back, oldest first, any spelling of the name');
      t.same(
        (await store.listSessions('bob')).map((s) => s.sid),
        ['sid-b1'],
      );
      t.same(await store.listSessions('carol'), []);

      h.clock.advance(1000);
      const raised = indexed(h, 'sid-a1', 'Alice', {
        createdIp: '192.0.2.9',
        createdUserAgent: 'other',
        lastIp: '10.0.0.2',
        lastUserAgent: 'Firefox/129.0',
        amr: ['pwd', 'otp', 'mfa'],
        skip: 'remembered',
        expiresAt: a1.expiresAt + 5,
      });
      await store.indexSession(raised);
      t.same(
        (await store.listSessions('alice'))[0],
        { ...raised, createdAt: a1.createdAt, createdIp: a1.createdIp, createdUserAgent: a1.createdUserAgent },
        'a change of level moves the rest and keeps when and where the session started',
      );
      await store.indexSession(indexed(h, 'sid-a1', 'bob', { amr: ['kba'] }));
      t.same((await store.listSessions('alice'))[0]!.amr, ['pwd', 'otp', 'mfa'], "another user's record never replaces a session");
      t.same(
        (await store.listSessions('bob')).map((s) => s.sid),
        ['sid-b1'],
        'nor is listed under that user',
      );

      h.clock.advance(1000);
      await store.touchSession('sid-a2', { at: h.clock.now, ip: '10.9.9.9', userAgent: 'Chrome/126.0' });
      const touched = (await store.listSessions('alice'))[1]!;
      t.same([touched.lastSeen, touched.lastIp, touched.lastUserAgent], [h.clock.now, '10.9.9.9', 'Chrome/126.0']);
      t.same([touched.createdIp, touched.createdAt], ['2001:db8::1', a2.createdAt], 'the start stays');
      await store.touchSession('sid-a2', { at: h.clock.now - 500, ip: '10.1.1.1', userAgent: 'old' });
      t.equal((await store.listSessions('alice'))[1]!.lastIp, '10.9.9.9', 'a late, older touch does not move it back');
      await store.touchSession('sid-missing', { at: h.clock.now, ip: '10.1.1.1', userAgent: 'x' });
      t.same((await store.listSessions('alice')).length, 2, 'a missing record stays missing');

      h.clock.now = raised.expiresAt;
      t.same(
        (await store.listSessions('alice')).map((s) => s.sid),
        ['sid-a2'],
        'a session past its absolute timeout is not listed',
      );
    },
  );

  withStore('session index: ending one, then the others, revokes each id through the change feed, once', async (t, h, store) => {
    const expiry: Record<string, number> = {};
    for (const sid of ['s1', 's2', 's3']) {
      const s = indexed(h, sid, 'alice');
      expiry[sid] = s.expiresAt;
      await store.indexSession(s);
      h.clock.advance(10);
    }
    await store.indexSession(indexed(h, 'b1', 'bob'));
    const seq0 = await store.changeSeq();
    t.equal(await store.endSession('Alice', 's2'), true, 'one ended');
    t.equal(await store.changeSeq(), seq0 + 1, 'the change counter moves');
    t.same(
      (await store.revokedSessionsSince(seq0)).entries.map((e) => [e.sid, e.user, e.expiresAt]),
      [['s2', 'alice', expiry.s2]],
      'its id is revoked until its absolute timeout',
    );
    t.same(
      (await store.listSessions('alice')).map((s) => s.sid),
      ['s1', 's3'],
    );
    t.equal(await store.endSession('alice', 's2'), false, 'a second end finds nothing');
    t.equal(await store.endSession('bob', 's1'), false, "another user's session is not ended under this name");
    t.equal(await store.endSession('alice', 'b1'), false);
    t.same(
      (await store.listSessions('bob')).map((s) => s.sid),
      ['b1'],
    );

    // "End all others", as the registry does it: every listed session but this one.
    const other = await h.open({ encryptionKey: KEY_A });
    t.teardown(() => other.close());
    const results = await Promise.all(
      (await store.listSessions('alice'))
        .filter((s) => s.sid !== 's3')
        .flatMap((s) => [store.endSession('alice', s.sid), other.endSession('alice', s.sid)]),
    );
    t.same(results.filter(Boolean).length, 1, 'of two processes ending the same session, exactly one does');
    t.same(
      (await store.listSessions('alice')).map((s) => s.sid),
      ['s3'],
      'this session is left',
    );
    t.same((await other.revokedSessionsSince(0)).entries.map((e) => e.sid).sort(), ['s1', 's2'], 'both ended ids reach every process');
  });

  withStore('session index: provider sessions by sid and/or sub, kept across a level change; only federated ones', async (t, h, store) => {
    const fed = (sid: string, user: string, providerSid: string | null, providerSub: string) =>
      indexed(h, sid, user, { federated: true, amr: ['mfa'], providerSid, providerSub });
    await store.indexSession(fed('f1', 'alice', 'op-1', 'sub-alice'));
    await store.indexSession(fed('f2', 'alice', 'op-2', 'sub-alice'));
    await store.indexSession(fed('f3', 'bob', 'op-1', 'sub-bob'));
    await store.indexSession(indexed(h, 'local', 'alice', { providerSid: 'op-1', providerSub: 'sub-alice' }));
    const sids = async (match: { sid?: string; sub?: string }) => (await store.providerSessions(match)).map((s) => s.sid).sort();
    t.same(await sids({ sub: 'sub-alice' }), ['f1', 'f2'], 'by subject; a local session never matches');
    t.same(await sids({ sid: 'op-1' }), ['f1', 'f3'], 'by provider session');
    t.same(await sids({ sid: 'op-1', sub: 'sub-alice' }), ['f1'], 'with both, both must match');
    t.same(await sids({ sid: 'op-2', sub: 'sub-bob' }), []);
    t.same(await sids({}), [], 'with neither, nothing');

    h.clock.advance(1000);
    await store.indexSession(indexed(h, 'f1', 'alice', { federated: true, amr: ['mfa', 'otp'] }));
    t.same(await sids({ sid: 'op-1', sub: 'sub-alice' }), ['f1'], "a level change without the provider's ids keeps them");
    t.same((await store.listSessions('alice')).find((s) => s.sid === 'f1')!.amr, ['mfa', 'otp']);
    h.clock.now += 3_600_000;
    t.same(await sids({ sub: 'sub-alice' }), [], 'an expired session is not matched');
  });

  withStore('session index: logout token ids spent once, across processes; expired records pruned', async (t, h, store) => {
    const other = await h.open({ encryptionKey: KEY_A });
    t.teardown(() => other.close());
    const exp = h.clock.now + 120_000;
    t.equal(await store.useLogoutToken('jti-1', exp), true, 'first use');
    t.equal(await store.useLogoutToken('jti-1', exp), false, 'a replay is refused');
    t.equal(await other.useLogoutToken('jti-1', exp), false, 'also by another process');
    const raced = await Promise.all([store.useLogoutToken('jti-2', exp), other.useLogoutToken('jti-2', exp)]);
    t.same(raced.filter(Boolean).length, 1, 'of two processes given the same token at once, exactly one uses it');

    await store.indexSession(indexed(h, 'short', 'alice', { expiresAt: h.clock.now + 60_000 }));
    await store.indexSession(indexed(h, 'long', 'alice', { expiresAt: h.clock.now + 600_000 }));
    await store.useLogoutToken('jti-3', h.clock.now + 600_000);
    t.equal(await store.pruneSessionIndex(h.clock.now), 0, 'nothing expired yet');
    h.clock.advance(120_000);
    t.equal(await store.pruneSessionIndex(h.clock.now), 3, 'the expired session and the two expired token ids');
    t.equal(await store.pruneSessionIndex(h.clock.now), 0);
    t.equal(await store.useLogoutToken('jti-3', h.clock.now + 600_000), false, 'an unexpired token id is kept');
    h.clock.advance(600_000);
    t.same(await store.listSessions('alice'), []);
    t.equal(await store.pruneSessionIndex(h.clock.now), 2, 'the rest once expired');
  });

  // Issue 12's revalidation (federation.oidc.revalidate_every): tokens kept sealed in the session's row,
  // a due session claimed by exactly one process, the claim finished only by its holder.
  const tokens = (n: number): ProviderTokens => ({ refreshToken: `rt-${n}`, accessToken: `at-${n}`, accessExpiresAt: 1_000 + n });
  const federated = (h: StoreHarness, sid: string, user = 'alice') =>
    indexed(h, sid, user, { federated: true, amr: ['pwd'], providerSid: `op-${sid}`, providerSub: `sub-${user}` });

  withStore(
    'revalidation: tokens kept with the session, claimed when due by exactly one process, finished by the claim',
    async (t, h, store) => {
      const start = h.clock.now;
      await store.indexSession(federated(h, 'f1'), { tokens: tokens(1), dueAt: start + 900_000 });
      await store.indexSession(federated(h, 'f2', 'bob'), {
        tokens: { refreshToken: null, accessToken: 'at-only', accessExpiresAt: null },
        dueAt: start + 1_800_000,
      });
      await store.indexSession(indexed(h, 'local', 'alice'));
      await store.indexSession(federated(h, 'unrevalidated'));
      t.same(await store.claimRevalidations(start + 899_999, start + 1_200_000, 10), [], 'nothing is due before its time');

      h.clock.now = start + 900_000;
      const lease = h.clock.now + 300_000;
      const claimed = await store.claimRevalidations(h.clock.now, lease, 10);
      t.same(
        claimed,
        [{ sid: 'f1', user: 'alice', providerSub: 'sub-alice', tokens: tokens(1), revalidatedAt: start, claim: lease }],
        'the due session, with its tokens opened, the sign-in as its last confirmation, and the claim',
      );
      t.same(await store.claimRevalidations(h.clock.now, lease + 1, 10), [], 'a claimed session is not claimed again during its lease');

      t.equal(
        await store.finishRevalidation('f1', lease + 1, { dueAt: h.clock.now + 60_000 }),
        false,
        'a claim that is not held finishes nothing',
      );
      t.equal(
        await store.finishRevalidation('f1', lease, { dueAt: h.clock.now + 60_000 }),
        true,
        'an unconfirmed pass moves the due time only',
      );
      t.same(await store.claimRevalidations(h.clock.now + 59_999, lease, 10), []);
      h.clock.now += 60_000;
      const again = await store.claimRevalidations(h.clock.now, h.clock.now + 300_000, 10);
      t.same(
        again.map((d) => [d.sid, d.tokens, d.revalidatedAt]),
        [['f1', tokens(1), start]],
        'retried with the same tokens and last confirmation',
      );
      t.equal(
        await store.finishRevalidation('f1', again[0]!.claim, {
          dueAt: h.clock.now + 900_000,
          confirmed: { at: h.clock.now, tokens: tokens(2) },
        }),
        true,
      );
      h.clock.advance(900_000);
      const soonest = await store.claimRevalidations(h.clock.now, h.clock.now + 300_000, 1);
      t.same(
        soonest.map((d) => d.sid),
        ['f2'],
        'a limited claim takes the soonest due',
      );
      const later = [...soonest, ...(await store.claimRevalidations(h.clock.now, h.clock.now + 300_000, 10))].sort((a, b) =>
        a.sid.localeCompare(b.sid),
      );
      t.same(
        later.map((d) => [d.sid, d.tokens, d.revalidatedAt]),
        [
          ['f1', tokens(2), h.clock.now - 900_000],
          ['f2', { refreshToken: null, accessToken: 'at-only', accessExpiresAt: null }, start],
        ],
        'a confirmed pass kept the new tokens and time; only revalidated sessions',
      );

      // A change of level records the session again without tokens: it keeps what it had.
      await store.indexSession(federated(h, 'f2', 'bob'));
      t.equal(await store.finishRevalidation('f2', later[1]!.claim, { dueAt: h.clock.now }), true, 'and keeps its claim');
      t.same((await store.claimRevalidations(h.clock.now, h.clock.now + 1, 10))[0]?.tokens.accessToken, 'at-only');

      // Two processes claiming the same due sessions at once: each session goes to exactly one.
      const other = await h.open({ encryptionKey: KEY_A });
      t.teardown(() => other.close());
      for (let i = 0; i < 6; i++) await store.indexSession(federated(h, `p${i}`), { tokens: tokens(10 + i), dueAt: h.clock.now });
      const [a, b] = await Promise.all([
        store.claimRevalidations(h.clock.now, h.clock.now + 300_000, 4),
        other.claimRevalidations(h.clock.now, h.clock.now + 300_000, 4),
      ]);
      const sids = [...a, ...b].map((d) => d.sid);
      t.equal(new Set(sids).size, sids.length, 'no session is claimed by both');
      const rest = await other.claimRevalidations(h.clock.now, h.clock.now + 300_000, 10);
      t.same(
        [...sids, ...rest.map((d) => d.sid)].filter((x) => x.startsWith('p')).sort(),
        ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'],
        'and none is lost',
      );

      // An ended session takes its tokens with it; its claim finishes nothing.
      t.equal(await store.endSession('alice', 'f1'), true);
      t.equal(await store.finishRevalidation('f1', later[0]!.claim, { dueAt: h.clock.now }), false);
      h.clock.advance(3_600_000);
      t.same(await store.claimRevalidations(h.clock.now, h.clock.now + 1, 100), [], 'ended and expired sessions are never due');
    },
  );

  withStore('revalidation: tokens are sealed with the store key and rewritten by rekey', async (t, h, store) => {
    await store.indexSession(federated(h, 'f1'), { tokens: tokens(1), dueAt: h.clock.now });
    await store.close();
    const rotated = await h.open({ encryptionKey: KEY_B, previousKeys: [KEY_A] });
    t.equal(await rotated.rekey(), 2, 'the refresh and the access token');
    t.equal(await rotated.rekey(), 0);
    await rotated.close();
    const after = await h.open({ encryptionKey: KEY_B });
    t.teardown(() => after.close());
    t.same((await after.claimRevalidations(h.clock.now, h.clock.now + 1, 10))[0]?.tokens, tokens(1), 'open with the new key alone');
    const lost = await h.open({ encryptionKey: KEY_A });
    t.teardown(() => lost.close());
    await after.finishRevalidation('f1', h.clock.now + 1, { dueAt: h.clock.now });
    t.same(
      (await lost.claimRevalidations(h.clock.now, h.clock.now + 2, 10))[0]?.tokens,
      { refreshToken: null, accessToken: null, accessExpiresAt: 1_001 },
      'a token whose key is gone reads as none',
    );
  });
}
