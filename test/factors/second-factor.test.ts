// The one regulated second-factor check (issue 10, item 8): against the real SQLite store with a
// frozen clock and a recording lockout listener, no server. Every path (code page, method change,
// admin verify, access pass, recovery code) goes through this function; the portal tests show
// the paths use it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { checkSecondFactor, type SecondFactorAccept } from '../../src/factors/second-factor.ts';
import { fallbackHash, newAccessPass, newRecoveryCodes, normalizeTyped, typedKind } from '../../src/factors/fallback/index.ts';
import { generateTotp } from '../../src/factors/totp/index.ts';
import { openStore } from '../../src/store/index.ts';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';
import type { Store } from '../../src/store/index.ts';
import { fakeClock } from '../store/conformance.ts';

const context = { clientIp: '198.51.100.4', userAgent: 'test', rule: null };
const policy = { denials: 3, counterResetMs: 600_000, autoUnblockMs: 900_000 };
const secret = Buffer.alloc(20, 0x42);
const CODE_PAGE: SecondFactorAccept = { codes: true, recoveryCode: true, accessPass: false };
const FIRST_ENROLLMENT: SecondFactorAccept = { codes: false, recoveryCode: false, accessPass: true };
const METHOD_CHANGE: SecondFactorAccept = { codes: true, recoveryCode: false, accessPass: false };

async function setup(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-2f-'));
  const clock = fakeClock(1_700_000_010_000);
  const store: Store = await openStore(
    { sqlite: { path: join(dir, 'g.db') }, previous_encryption_keys: [] },
    { clock: clock.clock, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const locks: { user: string; until: number; clientIp: string }[] = [];
  const deps = {
    store,
    policy,
    skewSteps: 1,
    clock: clock.clock,
    onLockout: (user: string, until: number, d: { clientIp: string }) => locks.push({ user, until, clientIp: d.clientIp }),
  };
  const check = (code: string, accept: SecondFactorAccept, user = 'alice') =>
    checkSecondFactor(deps, { user, code, accept, purpose: 'test', context });
  return { store, clock, locks, check };
}

async function withApp(store: Store, user = 'alice') {
  const r = await store.addMethod(
    { user, kind: 'totp', label: 'phone', secret, period: 30, digits: 6, algorithm: 'sha1', active: true },
    5,
  );
  if (!r.ok) throw new Error('add failed');
  return r.method;
}

t.test('typed values are told apart by shape, with look-alikes mapped', async (t) => {
  const cases: [string, string][] = [
    ['123456', 'code'],
    ['12345678', 'code'],
    ['123 456', 'code'],
    ['1234567', 'malformed'],
    ['', 'malformed'],
    ['abcd-efgh-jkmn', 'recovery_code'],
    ['ABCD EFGH JKMN', 'recovery_code'],
    ['abcd-efgh-jkmn-pqrs', 'access_pass'],
    ['abcd-efgh-jkm!', 'malformed'],
    ['abcd-efgh-jkmn-p', 'malformed'],
    ['123456789012', 'recovery_code'],
  ];
  for (const [typed, kind] of cases) t.equal(typedKind(typed), kind, JSON.stringify(typed));
  t.equal(normalizeTyped('IlO0-ab'), '1100ab');
  const { pass, hash } = newAccessPass('Alice');
  t.match(pass, /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);
  t.equal(fallbackHash('access_pass', 'alice', pass.toUpperCase().replace(/-/g, ' ')), hash, 'hash ignores case, spaces and dashes');
  t.not(fallbackHash('recovery_code', 'alice', pass), hash, 'bound to the kind');
  t.not(fallbackHash('access_pass', 'bob', pass), hash, 'bound to the user');
  const set = newRecoveryCodes('alice');
  t.equal(new Set(set.codes).size, 10);
  t.ok(set.codes.every((c) => typedKind(c) === 'recovery_code'));
});

t.test('each kind is accepted only where the caller allows it, and a refused kind counts as a denial', async (t) => {
  const { store, clock, check } = await setup(t);
  await withApp(store);
  const tap = newAccessPass('alice');
  await store.issueAccessPass({ user: 'alice', hash: tap.hash, expiresAt: clock.now + 3_600_000, uses: 5, actor: 'root' });
  const rc = newRecoveryCodes('alice');
  await store.replaceRecoveryCodes('alice', rc.hashes, clock.now);
  const rows: [string, () => string, SecondFactorAccept, boolean][] = [
    ['an access pass on the code page of a user with a method', () => tap.pass, CODE_PAGE, false],
    ['an access pass where a method change asks for a code', () => tap.pass, METHOD_CHANGE, false],
    ['a recovery code where a method change asks for a code', () => rc.codes[0]!, METHOD_CHANGE, false],
    ['a TOTP code on the access-pass form', () => generateTotp({ secret, now: clock.now, period: 30, digits: 6 }), FIRST_ENROLLMENT, false],
    ['a recovery code on the access-pass form', () => rc.codes[1]!, FIRST_ENROLLMENT, false],
  ];
  for (const [name, value, accept, ok] of rows) {
    const r = await check(value(), accept);
    t.equal(r.ok, ok, name);
    if (!r.ok) t.equal(r.reason, 'wrong', `${name}: a wrong code`);
    await store.clearLockout('alice', 'second_factor');
  }
  t.equal((await store.accessPassOf('alice'))!.usesLeft, 5, 'no use of the pass was spent');
  t.equal((await store.recoveryCodeSummary('alice')).unused, 10, 'no recovery code was spent');
  const counted = await store.regulateAttempt('alice', 'second_factor', policy);
  t.ok(counted.allowed);
});

t.test('recovery codes: accepted once with amr rc, then refused', async (t) => {
  const { store, clock, check } = await setup(t);
  await withApp(store);
  const rc = newRecoveryCodes('alice');
  await store.replaceRecoveryCodes('alice', rc.hashes, clock.now);
  t.match(await check(rc.codes[3]!.toUpperCase(), CODE_PAGE), { ok: true, via: 'recovery_code', amr: 'rc' });
  t.match(await check(rc.codes[3]!, CODE_PAGE), { ok: false, reason: 'wrong' }, 'used once, then refused');
  const log = await store.query({ user: 'alice', limit: 5 });
  t.match(
    log.map((e) => e.detail),
    ['test: wrong or already used recovery code', 'test: recovery code accepted (now used)'],
  );
});

t.test('access passes: valid, wrong, expired, used up, replaced, revoked', async (t) => {
  const { store, clock, check } = await setup(t);
  const issue = async (uses: number, validMs = 3_600_000) => {
    const p = newAccessPass('alice');
    await store.issueAccessPass({ user: 'alice', hash: p.hash, expiresAt: clock.now + validMs, uses, actor: 'root' });
    return p.pass;
  };
  const reset = () => store.clearLockout('alice', 'second_factor');
  t.match(await check(newAccessPass('alice').pass, FIRST_ENROLLMENT), { ok: false, reason: 'wrong' }, 'none issued');
  const pass = await issue(1);
  t.match(await check(newAccessPass('alice').pass, FIRST_ENROLLMENT), { ok: false, reason: 'wrong' }, 'wrong pass');
  t.match(await check(pass, FIRST_ENROLLMENT), { ok: true, via: 'access_pass', amr: 'tap' });
  t.match(await check(pass, FIRST_ENROLLMENT), { ok: false, reason: 'used_up' });
  await reset();
  const old = await issue(2);
  const fresh = await issue(2);
  t.match(await check(old, FIRST_ENROLLMENT), { ok: false, reason: 'wrong' }, 'replaced');
  clock.advance(3_600_000);
  t.match(await check(fresh, FIRST_ENROLLMENT), { ok: false, reason: 'expired' });
  await reset();
  const revoked = await issue(2);
  await store.revokeAccessPass('alice');
  t.match(await check(revoked, FIRST_ENROLLMENT), { ok: false, reason: 'wrong' }, 'revoked');
});

t.test('lockout: every kind counts on one counter, the locking denial notifies once, then all are refused unevaluated', async (t) => {
  for (const [name, accept, wrong] of [
    ['code page', CODE_PAGE, '000000'],
    ['method change', METHOD_CHANGE, '000000'],
    ['recovery code', CODE_PAGE, 'zzzz-zzzz-zzzz'],
    ['access pass', FIRST_ENROLLMENT, 'zzzz-zzzz-zzzz-zzzz'],
  ] as const) {
    await t.test(name, async (t) => {
      const { store, clock, locks, check } = await setup(t);
      await withApp(store);
      const tap = newAccessPass('alice');
      await store.issueAccessPass({ user: 'alice', hash: tap.hash, expiresAt: clock.now + 3_600_000, uses: 5, actor: 'root' });
      t.match(await check(wrong, accept), { ok: false, lockedUntil: null });
      t.match(await check(wrong, accept), { ok: false, lockedUntil: null });
      t.match(await check(wrong, accept), { ok: false, lockedUntil: clock.now + 900_000 });
      t.same(locks, [{ user: 'alice', until: clock.now + 900_000, clientIp: '198.51.100.4' }], 'notified once, by the locking denial');
      const right = () => (accept.accessPass ? tap.pass : generateTotp({ secret, now: clock.now, period: 30, digits: 6 }));
      t.match(
        await check(right(), accept),
        { ok: false, reason: 'locked', until: clock.now + 900_000 },
        'the right value is refused while locked',
      );
      t.equal(locks.length, 1, 'no second notification');
      const log = await store.query({ user: 'alice', limit: 1 });
      t.match(log[0], { kind: 'second_factor', outcome: 'denied', detail: /^test: locked out until / });
      if (accept.accessPass) t.equal((await store.accessPassOf('alice'))!.usesLeft, 5, 'a locked account spends no use');
      clock.advance(900_000);
      t.match(await check(right(), accept), { ok: true }, 'after the lock lifts');
      t.same((await store.lockoutCounter('alice', 'second_factor')).denials, [], 'a success clears the counter');
    });
  }
});

t.test('a blocked user is refused before anything is counted or evaluated', async (t) => {
  const { store, clock, check } = await setup(t);
  await withApp(store);
  await store.block({ user: 'alice', durationMs: 86_400_000, reason: 'test', actor: 'root' });
  t.match(await check(generateTotp({ secret, now: clock.now, period: 30, digits: 6 }), CODE_PAGE), { ok: false, reason: 'blocked' });
  t.same((await store.lockoutCounter('alice', 'second_factor')).denials, []);
});
