// The one regulated password check, without a server: a real SQLite store, a frozen clock,
// and an injected verifier that counts argon2 calls. A throttled source costs no hashing;
// unknown, disabled and locked names cost exactly one, like a wrong password.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { openStore } from '../../../src/store/index.ts';
import { lockoutRules } from '../../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../../src/regulation/source-throttle.ts';
import { parseAddress } from '../../../src/client-ip/cidr.ts';
import { checkHash, createRegulatedPasswordCheck, type PasswordAttempt } from '../../../src/factors/password/index.ts';
import type { UserRecord } from '../../../src/factors/password/index.ts';

const DUMMY = 'dummy-hash';
const USERS: Record<string, UserRecord> = {
  bob: { name: 'bob', groups: [], disabled: false } as unknown as UserRecord,
  eve: { name: 'eve', groups: [], disabled: true } as unknown as UserRecord,
};

const credentialsOf = (name: string) => ({
  user: USERS[name.toLowerCase()],
  hash: USERS[name.toLowerCase()] ? `hash:${name.toLowerCase()}` : DUMMY,
});

async function setup(t: Test, failures = 3) {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-regulated-'));
  const clock = { now: Date.UTC(2026, 10, 23, 9) };
  const store = await openStore(
    { sqlite: { path: join(dir, 'gw.db') }, previous_encryption_keys: [], encryption_key: 'a'.repeat(64) },
    { clock: () => clock.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const hashed: string[] = [];
  const lockouts: string[] = [];
  const check = createRegulatedPasswordCheck({
    store,
    users: {
      verify: (name, password, verifier) => checkHash({ credentialsOf }, name, password, verifier),
      passwordStamp: (name) => credentialsOf(name).hash,
      lookup: async (name) => USERS[name.toLowerCase()],
    },
    lockout: () => ({ denials: 3, counterResetMs: 600_000, autoUnblockMs: 900_000 }),
    throttle: () => ({ policy: { failures, windowMs: 600_000 }, ipv4Prefix: 32, ipv6Prefix: 64 }),
    verifier: async (phc, password, source) => {
      hashed.push(`${phc} from ${source}`);
      return phc === `hash:${password}`;
    },
    onLockout: (user) => lockouts.push(user),
  });
  const attempt = (name: string, password: string, ip = '192.0.2.1'): PasswordAttempt => ({
    name,
    password,
    kind: 'password',
    clientIp: ip,
    clientAddr: parseAddress(ip)!,
    userAgent: 'test',
    rule: null,
  });
  return { store, clock, check, attempt, hashed, lockouts };
}

t.test('exactly one argon2 check per attempt, whatever the name', async (t) => {
  const { check, attempt, hashed } = await setup(t, 100);
  const cases = [
    ['right password', 'bob', 'bob', true],
    ['wrong password', 'bob', 'nope', false],
    ['unknown user (dummy hash, same cost)', 'mallory', 'x', false],
    ['disabled user', 'eve', 'eve', false],
    ['name in another case', 'BOB', 'bob', true],
  ] as const;
  for (const [name, user, password, ok] of cases) {
    hashed.length = 0;
    const r = await check(attempt(user, password));
    t.equal(r.ok, ok, name);
    t.equal(hashed.length, 1, `${name}: one hash`);
  }
  t.match(hashed[0], / from 192\.0\.2\.1$/, 'the hash queue is told the source');
});

t.test('a throttled source is refused before any argon2 work and before the user counter', async (t) => {
  const { store, check, attempt, hashed } = await setup(t);
  for (let i = 0; i < 3; i++) await check(attempt(`user${i}`, 'x'));
  hashed.length = 0;
  const r = await check(attempt('bob', 'bob'));
  t.match(r, { ok: false, reason: 'throttled', source: '192.0.2.1' });
  t.equal(hashed.length, 0, 'no argon2 call');
  t.same((await store.lockoutCounter('bob', 'password')).denials, [], 'bob is not charged for it');
  t.equal((await check(attempt('bob', 'bob', '192.0.2.2'))).ok, true, 'bob from another address');
});

t.test('IPv6: the whole /64 is one source', async (t) => {
  const { check, attempt, hashed } = await setup(t);
  for (let i = 1; i <= 3; i++) await check(attempt(`user${i}`, 'x', `2001:db8:5:6::${i}`));
  hashed.length = 0;
  t.match(await check(attempt('user9', 'x', '2001:db8:5:6:ffff::1')), { reason: 'throttled', source: '2001:db8:5:6::/64' });
  t.equal(hashed.length, 0);
});

t.test('lockout counted before the check; parallel guesses cannot outrun it; one notice', async (t) => {
  const { check, attempt, hashed, lockouts } = await setup(t, 1000);
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => check(attempt('bob', `guess${i}`, `198.51.100.${i}`))));
  t.equal(results.filter((r) => r.ok).length, 0);
  t.equal(hashed.length, 10, 'every attempt hashed, locked or not (timing)');
  t.same(lockouts, ['bob'], 'the denial that locked told the listener, once');
  t.match(
    await check(attempt('bob', 'bob', '198.51.100.50')),
    { ok: false, reason: 'locked', source: '198.51.100.50' },
    'the right password of a locked account answers locked, like a wrong one (issue 17)',
  );
});

t.test('a right password forgives its source reservation; a blocked user is refused after it', async (t) => {
  const { store, check, attempt, clock } = await setup(t);
  for (let i = 0; i < 5; i++) t.equal((await check(attempt('bob', 'bob'))).ok, true, `success ${i + 1} does not count against the source`);
  t.same(await store.sourceFailures('192.0.2.1'), []);
  await store.block({ user: 'bob', durationMs: 3_600_000, reason: 'test', actor: 'root' });
  t.match(await check(attempt('bob', 'bob')), { ok: false, reason: 'blocked', until: clock.now + 3_600_000 });
  t.match((await store.query({ user: 'bob', limit: 1 }))[0], { outcome: 'denied', detail: /^blocked until / });
});

t.test('alternatives (app passwords) are tried first, in the same queue', async (t) => {
  const { check, attempt, hashed } = await setup(t);
  const r = await check({
    ...attempt('bob', 'app-secret'),
    alternative: async (verify) => ((await verify('hash:app-secret', 'app-secret')) ? { id: 'a1', label: 'mail' } : null),
  });
  t.match(r, { ok: true, via: { kind: 'alternative', id: 'a1', label: 'mail' } });
  t.same(hashed, ['hash:app-secret from 192.0.2.1'], 'no account-password hash after a matching app password');
  const unknown = await check({
    ...attempt('nobody', 'app-secret'),
    alternative: async (verify) => ((await verify('hash:app-secret', 'app-secret')) ? { id: 'a1', label: 'mail' } : null),
  });
  t.match(unknown, { ok: false, reason: 'failed' }, 'an alternative never vouches for an unknown user');
});
