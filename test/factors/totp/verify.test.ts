// TOTP against the real SQLite store: replay protection through claimStep, parallel use, several methods, enrollment.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { confirmTotpEnrollment, generateTotp, startTotpEnrollment, timeStep, verifyTotpForUser } from '../../../src/factors/totp/index.ts';
import { openStore } from '../../../src/store/index.ts';
import { lockoutRules } from '../../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../../src/regulation/source-throttle.ts';
import type { Store } from '../../../src/store/index.ts';
import { fakeClock } from '../../store/conformance.ts';

const cfg = { skewSteps: 1 };
const context = { clientIp: '198.51.100.4', userAgent: 'test', rule: 'apps' };

async function setup(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-totp-'));
  const clock = fakeClock(1_700_000_010_000);
  const store: Store = await openStore(
    { sqlite: { path: join(dir, 'g.db') }, previous_encryption_keys: [] },
    { clock: clock.clock, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, clock };
}

const appSecret = Buffer.alloc(20, 0x42);
const code = (secret: Buffer, now: number, period: 30 | 60 = 30, digits: 6 | 8 = 6) => generateTotp({ secret, now, period, digits });

async function addApp(
  store: Store,
  user: string,
  secret = appSecret,
  extra: Partial<{ period: 30 | 60; digits: 6 | 8; active: boolean; kind: 'totp' | 'oath_token' }> = {},
) {
  const r = await store.addMethod(
    { user, kind: 'totp', label: 'phone', secret, period: 30, digits: 6, algorithm: 'sha1', active: true, ...extra },
    5,
  );
  if (!r.ok) throw new Error('add failed');
  return r.method;
}

t.test('a code used twice is refused the second time', async (t) => {
  const { store, clock } = await setup(t);
  const m = await addApp(store, 'alice');
  const c = code(appSecret, clock.now);
  const first = await verifyTotpForUser(store, 'Alice', c, clock.now, cfg);
  t.match(first, { ok: true, step: timeStep(clock.now, 30), method: { id: m.id } });
  t.same(await verifyTotpForUser(store, 'alice', c, clock.now, cfg), { ok: false, reason: 'replayed' });
  t.match((await store.listMethods('alice'))[0], { lastStep: timeStep(clock.now, 30), lastUsedAt: clock.now });
});

t.test('two verifications of the same code in parallel: exactly one wins', async (t) => {
  const { store, clock } = await setup(t);
  await addApp(store, 'alice');
  const c = code(appSecret, clock.now);
  const results = await Promise.all([1, 2, 3, 4].map(() => verifyTotpForUser(store, 'alice', c, clock.now, cfg)));
  t.equal(results.filter((r) => r.ok).length, 1);
  t.same(
    results.filter((r) => !r.ok),
    [1, 2, 3].map(() => ({ ok: false, reason: 'replayed' })),
  );
});

t.test('a code from an earlier step after a later one succeeded is refused', async (t) => {
  const { store, clock } = await setup(t);
  await addApp(store, 'alice');
  const earlier = code(appSecret, clock.now - 30_000);
  t.equal((await verifyTotpForUser(store, 'alice', code(appSecret, clock.now), clock.now, cfg)).ok, true);
  t.same(await verifyTotpForUser(store, 'alice', earlier, clock.now, cfg), { ok: false, reason: 'replayed' });
  clock.advance(30_000);
  t.equal((await verifyTotpForUser(store, 'alice', code(appSecret, clock.now), clock.now, cfg)).ok, true, 'the next step works');
});

t.test('skew: one step back accepted, two back and one ahead refused', async (t) => {
  const { store, clock } = await setup(t);
  await addApp(store, 'alice');
  t.same(await verifyTotpForUser(store, 'alice', code(appSecret, clock.now - 60_000), clock.now, cfg), { ok: false, reason: 'wrong' });
  t.same(await verifyTotpForUser(store, 'alice', code(appSecret, clock.now + 30_000), clock.now, cfg), { ok: false, reason: 'wrong' });
  t.equal((await verifyTotpForUser(store, 'alice', code(appSecret, clock.now - 30_000), clock.now, cfg)).ok, true);
});

t.test('every active method is tried: a second app, an 8-digit 60 s hardware token with a 10-byte secret', async (t) => {
  const { store, clock } = await setup(t);
  await addApp(store, 'alice');
  const second = await addApp(store, 'alice', Buffer.alloc(20, 0x07));
  const tokenSecret = Buffer.from('3132333435363738393a', 'hex');
  const token = await addApp(store, 'alice', tokenSecret, { kind: 'oath_token', period: 60, digits: 8 });
  const inactive = await addApp(store, 'alice', Buffer.alloc(20, 0x09), { kind: 'oath_token', active: false });
  t.match(await verifyTotpForUser(store, 'alice', code(Buffer.alloc(20, 0x07), clock.now), clock.now, cfg), {
    ok: true,
    method: { id: second.id },
  });
  t.match(await verifyTotpForUser(store, 'alice', code(tokenSecret, clock.now, 60, 8), clock.now, cfg), {
    ok: true,
    method: { id: token.id },
    step: timeStep(clock.now, 60),
  });
  t.same(
    await verifyTotpForUser(store, 'alice', code(Buffer.alloc(20, 0x09), clock.now), clock.now, cfg),
    { ok: false, reason: 'wrong' },
    `inactive ${inactive.id} is not usable`,
  );
});

t.test('reasons: no method, malformed, wrong', async (t) => {
  const { store, clock } = await setup(t);
  t.same(await verifyTotpForUser(store, 'alice', '123456', clock.now, cfg), { ok: false, reason: 'no_method' });
  await addApp(store, 'alice');
  for (const bad of ['', '12345', '12345678', 'abcdef', '12 34 5x']) {
    t.same(await verifyTotpForUser(store, 'alice', bad, clock.now, cfg), { ok: false, reason: 'malformed' }, JSON.stringify(bad));
  }
  const right = code(appSecret, clock.now);
  const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
  t.same(await verifyTotpForUser(store, 'alice', wrong, clock.now, cfg), { ok: false, reason: 'wrong' });
  t.same(await verifyTotpForUser(store, 'bob', right, clock.now, cfg), { ok: false, reason: 'no_method' }, "another user's code");
});

t.test('enrollment: the same secret on reload, wrong code refused, right code stores the method, every attempt logged', async (t) => {
  const { store, clock } = await setup(t);
  const start = () => startTotpEnrollment(store, { user: 'Alice', account: 'alice', issuer: 'ACME', period: 30, ttlMs: 600_000 });
  const view = await start();
  t.match(view.uri, /^otpauth:\/\/totp\/ACME:alice\?secret=[A-Z2-7]{32}&issuer=ACME$/);
  t.match(view.manualKey, /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
  t.equal((await start()).pending.id, view.pending.id, 'reloading the page keeps the secret');

  const enroll = (c: string, pendingId = view.pending.id, maxPerUser = 5) =>
    confirmTotpEnrollment(
      { pending: store, audit: store },
      { user: 'alice', pendingId, code: c, label: 'My phone', now: clock.now, skewSteps: 1, maxPerUser, context },
    );
  const right = code(view.pending.secret, clock.now);
  t.same(await enroll('000'), { ok: false, reason: 'malformed' });
  t.same(await enroll(right === '111111' ? '222222' : '111111'), { ok: false, reason: 'wrong' });
  t.same(await enroll(right, 'other-id'), { ok: false, reason: 'expired' });
  t.same(await enroll(right, view.pending.id, 0), { ok: false, reason: 'limit_reached' });
  const done = await enroll(right);
  if (!done.ok) throw new Error(`enroll failed: ${done.reason}`);
  t.match(done.method, { user: 'alice', kind: 'totp', label: 'My phone', active: true, lastStep: timeStep(clock.now, 30) });
  t.same(
    await verifyTotpForUser(store, 'alice', right, clock.now, cfg),
    { ok: false, reason: 'replayed' },
    'the confirmation code does not sign in again',
  );
  t.same(await enroll(right), { ok: false, reason: 'expired' }, 'a pending enrollment is used once');

  const log = await store.query({ user: 'alice', limit: 10 });
  t.same(
    log.map((e) => [e.kind, e.outcome]),
    [
      ['enrollment', 'denied'],
      ['enrollment', 'success'],
      ['enrollment', 'denied'],
      ['enrollment', 'denied'],
      ['enrollment', 'denied'],
      ['enrollment', 'denied'],
    ],
  );
  t.match(log[1], { detail: new RegExp(`totp method ${done.method.id} enrolled`), clientIp: '198.51.100.4', rule: 'apps' });

  clock.advance(30_000);
  t.equal(
    (await verifyTotpForUser(store, 'alice', code(view.pending.secret, clock.now), clock.now, cfg)).ok,
    true,
    'the next code signs in',
  );
});

t.test('enrollment: an expired pending secret cannot be confirmed', async (t) => {
  const { store, clock } = await setup(t);
  const view = await startTotpEnrollment(store, { user: 'alice', account: 'alice', issuer: 'ACME', period: 30, ttlMs: 60_000 });
  clock.advance(60_000);
  const r = await confirmTotpEnrollment(
    { pending: store, audit: store },
    {
      user: 'alice',
      pendingId: view.pending.id,
      code: code(view.pending.secret, clock.now),
      label: 'p',
      now: clock.now,
      skewSteps: 1,
      maxPerUser: 5,
      context,
    },
  );
  t.same(r, { ok: false, reason: 'expired' });
  t.not(
    (await startTotpEnrollment(store, { user: 'alice', account: 'alice', issuer: 'ACME', period: 30, ttlMs: 60_000 })).pending.id,
    view.pending.id,
    'a new secret after expiry',
  );
});
