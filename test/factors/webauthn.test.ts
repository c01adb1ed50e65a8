// Security keys and passkeys (issue 14): registration and assertions against the real SQLite
// store with a frozen clock, through the one regulated second-factor check. The software
// authenticator builds what a browser cannot be made to send (another RP id or origin, a
// reused or foreign challenge, tampered bytes, a counter going backwards, a chosen AAGUID, the
// backup-eligible flag); every refusal is table-driven and named after what it guards.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { checkPasskeySignIn, checkSecondFactor } from '../../src/factors/second-factor.ts';
import {
  authenticationOptions,
  finishRegistration,
  registrationOptions,
  type CeremonyDeps,
  type WebAuthnSettings,
} from '../../src/factors/webauthn/ceremony.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';
import { fakeClock } from '../store/conformance.ts';
import { SoftAuthenticator, type Overrides } from '../helpers/soft-authenticator.ts';

const RP = 'gateway.example.com';
const ORIGIN = `https://${RP}`;
const YUBIKEY = 'cb69481e-8ff7-4039-93ec-0a2729a154a8';
const OTHER_MODEL = '01020304-0506-0708-0102-030405060708';
const context = { clientIp: '198.51.100.4', userAgent: 'test', rule: null };
const lockout = { denials: 3, counterResetMs: 600_000, autoUnblockMs: 900_000 };
const ACCEPT = { codes: true, recoveryCode: true, accessPass: false, webauthn: true };

const baseSettings: WebAuthnSettings = {
  rpId: RP,
  rpName: 'Example',
  origins: [ORIGIN],
  userVerification: 'preferred',
  attestation: 'none',
  allowedAaguids: new Set(),
  allowSynced: true,
  timeoutMs: 120_000,
};

async function setup(t: Test, settings: Partial<WebAuthnSettings> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-webauthn-'));
  const clock = fakeClock(1_700_000_010_000);
  const store: Store = await openStore(
    { sqlite: { path: join(dir, 'g.db') }, previous_encryption_keys: [] },
    { clock: clock.clock, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const webauthn: CeremonyDeps = { store, settings: { ...baseSettings, ...settings }, clock: clock.clock };
  const locks: string[] = [];
  const deps = { store, policy: lockout, skewSteps: 1, clock: clock.clock, webauthn, onLockout: (u: string) => locks.push(u) };
  /** Registers `key` for `user` the way the account page does. */
  const register = async (key: SoftAuthenticator, user = 'alice', o: Overrides = {}) => {
    const options = await registrationOptions(webauthn, user);
    return finishRegistration(webauthn, { user, response: key.register(options.challenge, o) as never, label: 'key', maxPerUser: 5 });
  };
  const challenge = async (user: string | null = 'alice') => (await authenticationOptions(webauthn, user)).challenge;
  const use = (assertion: unknown, user = 'alice') =>
    checkSecondFactor(deps, { user, code: '', assertion, accept: ACCEPT, purpose: '', context });
  return { store, clock, webauthn, deps, locks, register, challenge, use };
}

const key = (o: Partial<ConstructorParameters<typeof SoftAuthenticator>[0]> = {}) =>
  new SoftAuthenticator({ rpId: RP, origin: ORIGIN, ...o });

t.test('a registered security key signs in as a second factor, and the log says which', async (t) => {
  const s = await setup(t);
  const k = key({ aaguid: YUBIKEY });
  const reg = await s.register(k);
  t.equal(reg.ok, true, 'registered');
  if (!reg.ok) return;
  t.match(reg.credential, { user: 'alice', aaguid: YUBIKEY, backupEligible: false, discoverable: true, signCount: 0 });
  const r = await s.use(k.assert(await s.challenge()));
  t.match(r, { ok: true, via: 'webauthn', amr: 'hwk', credential: { label: 'key', signCount: 1 } });
  t.match((await s.store.query({ user: 'alice', limit: 5 }))[0], {
    outcome: 'success',
    detail: 'security key accepted ("key", user verified)',
  });
  t.equal((await s.store.listCredentials('alice'))[0]!.lastUsedAt, s.clock.now, 'last used is recorded');
});

// What a reviewer tries against registration: each must be refused and store nothing.
const registrationRefusals: {
  name: string;
  settings?: Partial<WebAuthnSettings>;
  key?: Parameters<typeof key>[0];
  o?: Overrides;
  reason: string;
}[] = [
  { name: 'a credential made for another RP id', o: { rpId: 'evil.example.net' }, reason: 'invalid' },
  { name: 'a response from another origin (phishing site)', o: { origin: 'https://gateway.example.com.evil.net' }, reason: 'invalid' },
  {
    name: 'a response to a challenge the gateway never issued',
    o: { challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    reason: 'challenge',
  },
  { name: 'an assertion sent as a registration (wrong type)', o: { type: 'webauthn.get' }, reason: 'invalid' },
  {
    name: 'an AAGUID not on the allow list',
    settings: { allowedAaguids: new Set([YUBIKEY]) },
    key: { aaguid: OTHER_MODEL },
    reason: 'aaguid',
  },
  {
    name: 'a backup-eligible (synced) passkey when synced passkeys are refused',
    settings: { allowSynced: false },
    key: { backupEligible: true },
    reason: 'synced',
  },
  {
    name: 'no user verification when it is required',
    settings: { userVerification: 'required' },
    key: { userVerified: false },
    reason: 'invalid',
  },
];
for (const c of registrationRefusals) {
  t.test(`registration refuses ${c.name}`, async (t) => {
    const s = await setup(t, c.settings);
    const r = await s.register(key(c.key), 'alice', c.o);
    t.match(r, { ok: false, reason: c.reason });
    t.same(await s.store.listCredentials('alice'), [], 'nothing stored');
  });
}

t.test('registration refuses a challenge issued to another user, a used one and an expired one', async (t) => {
  const s = await setup(t);
  const bobs = await registrationOptions(s.webauthn, 'bob');
  t.match(
    await finishRegistration(s.webauthn, { user: 'alice', response: key().register(bobs.challenge) as never, label: 'k', maxPerUser: 5 }),
    {
      ok: false,
      reason: 'challenge',
    },
  );
  const opts = await registrationOptions(s.webauthn, 'alice');
  const k = key();
  t.equal(
    (await finishRegistration(s.webauthn, { user: 'alice', response: k.register(opts.challenge) as never, label: 'k', maxPerUser: 5 })).ok,
    true,
  );
  t.match(
    await finishRegistration(s.webauthn, { user: 'alice', response: key().register(opts.challenge) as never, label: 'k', maxPerUser: 5 }),
    {
      ok: false,
      reason: 'challenge',
    },
    'a challenge registers once',
  );
  const late = await registrationOptions(s.webauthn, 'alice');
  s.clock.advance(120_000);
  t.match(
    await finishRegistration(s.webauthn, { user: 'alice', response: key().register(late.challenge) as never, label: 'k', maxPerUser: 5 }),
    {
      ok: false,
      reason: 'challenge',
    },
    'expired',
  );
});

t.test('registration counts toward max_methods_per_user', async (t) => {
  const s = await setup(t);
  await s.store.addMethod(
    { user: 'alice', kind: 'totp', label: 'phone', secret: Buffer.alloc(20, 1), period: 30, digits: 6, algorithm: 'sha1', active: true },
    2,
  );
  const opts = await registrationOptions(s.webauthn, 'alice');
  t.equal(
    (await finishRegistration(s.webauthn, { user: 'alice', response: key().register(opts.challenge) as never, label: 'a', maxPerUser: 2 }))
      .ok,
    true,
  );
  const again = await registrationOptions(s.webauthn, 'alice');
  t.match(
    await finishRegistration(s.webauthn, { user: 'alice', response: key().register(again.challenge) as never, label: 'b', maxPerUser: 2 }),
    {
      ok: false,
      reason: 'limit_reached',
    },
  );
});

// What a reviewer tries against an assertion: each is a denial that counts and is logged.
const assertionRefusals: {
  name: string;
  settings?: Partial<WebAuthnSettings>;
  key?: Parameters<typeof key>[0];
  o?: Overrides;
  log: RegExp;
}[] = [
  { name: 'an assertion for another RP id', o: { rpId: 'evil.example.net' }, log: /RP ID/i },
  { name: 'an assertion from another origin', o: { origin: 'https://evil.example.net' }, log: /origin/i },
  { name: 'an assertion to a challenge never issued', o: { challenge: 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' }, log: /challenge/ },
  { name: 'tampered client data', o: { tamperClientData: true }, log: /signature|verify/i },
  { name: 'a tampered signature', o: { tamperSignature: true }, log: /signature|verify/i },
  { name: 'a sign count that goes backwards', o: { signCount: 3 }, log: /counter/ },
  { name: 'a registration sent as an assertion (wrong type)', o: { type: 'webauthn.create' }, log: /type/i },
  {
    name: 'no user verification when it is required',
    settings: { userVerification: 'required' },
    o: { userVerified: false },
    log: /verif/i,
  },
];
for (const c of assertionRefusals) {
  t.test(`an assertion is refused: ${c.name}`, async (t) => {
    const s = await setup(t);
    const k = key(c.key);
    t.equal((await s.register(k)).ok, true);
    // Good uses first, the counter jumping to 5: a counter of 3 is then backwards.
    t.equal((await s.use(k.assert(await s.challenge()))).ok, true);
    t.equal((await s.use(k.assert(await s.challenge()))).ok, true);
    k.signCount = 4;
    t.equal((await s.use(k.assert(await s.challenge()))).ok, true, 'the counter stands at 5');
    if (c.settings) Object.assign(s.webauthn.settings, c.settings);
    const r = await s.use(k.assert(await s.challenge(), c.o));
    t.match(r, { ok: false });
    const entry = (await s.store.query({ user: 'alice', limit: 5 }))[0]!;
    t.equal(entry.outcome, 'denied');
    t.match(entry.detail, c.log);
    t.equal((await s.store.lockoutCounter('alice', 'second_factor')).denials.length, 1, 'the denial counts toward the lockout');
  });
}

t.test('a replayed assertion is refused, and two parallel uses of one assertion: one wins', async (t) => {
  const s = await setup(t);
  const k = key();
  await s.register(k);
  const a = k.assert(await s.challenge());
  t.equal((await s.use(a)).ok, true);
  t.match(await s.use(a), { ok: false, reason: 'replayed' }, 'the challenge was used');
  const b = k.assert(await s.challenge());
  const both = await Promise.all([s.use(b), s.use(b)]);
  t.equal(both.filter((r) => r.ok).length, 1);
});

t.test('a cloned authenticator: the same counter from two copies is refused the second time', async (t) => {
  const s = await setup(t);
  const k = key({ signCount: 10 });
  await s.register(k);
  const c1 = await s.challenge();
  const c2 = await s.challenge();
  t.equal((await s.use(k.assert(c1, { signCount: 11 }))).ok, true);
  const clone = await s.use(k.assert(c2, { signCount: 11 }));
  t.match(clone, { ok: false });
  t.match((await s.store.query({ user: 'alice', limit: 5 }))[0]!.detail, /counter/);
});

t.test("another user's key and a challenge issued to another user are refused", async (t) => {
  const s = await setup(t);
  const bobs = key();
  await s.register(bobs, 'bob');
  t.match(await s.use(bobs.assert(await s.challenge('alice')), 'alice'), { ok: false });
  t.match((await s.store.query({ user: 'alice', limit: 5 }))[0]!.detail, /unknown|another user/);
  const alices = key();
  await s.register(alices, 'alice');
  t.match(await s.use(alices.assert(await s.challenge('bob')), 'alice'), { ok: false, reason: 'replayed' });
});

t.test('policy tightened after registration: the allow list and synced passkeys apply at every use', async (t) => {
  const s = await setup(t);
  const synced = key({ backupEligible: true, aaguid: OTHER_MODEL });
  await s.register(synced);
  t.equal((await s.use(synced.assert(await s.challenge()))).ok, true);
  s.webauthn.settings.allowSynced = false;
  t.match(await s.use(synced.assert(await s.challenge())), { ok: false });
  t.match((await s.store.query({ user: 'alice', limit: 5 }))[0]!.detail, /synced/);
  s.webauthn.settings.allowSynced = true;
  s.webauthn.settings.allowedAaguids = new Set([YUBIKEY]);
  t.match(await s.use(synced.assert(await s.challenge())), { ok: false });
  t.match((await s.store.query({ user: 'alice', limit: 5 }))[0]!.detail, /allowed_aaguids/);
});

t.test('assertions go through the same regulation: blocked users, lockout and its notice', async (t) => {
  const s = await setup(t);
  const k = key();
  await s.register(k);
  for (let i = 0; i < 3; i++) await s.use(k.assert(await s.challenge(), { tamperSignature: true }));
  t.same(s.locks, ['alice'], 'the third denial locks and notifies once');
  t.match(await s.use(k.assert(await s.challenge())), { ok: false, reason: 'locked' }, 'a good key is refused while locked');
  s.clock.advance(900_000);
  t.equal((await s.use(k.assert(await s.challenge()))).ok, true);
  await s.store.block({ user: 'alice', durationMs: 60_000, reason: 'test', actor: 'admin' });
  t.match(await s.use(k.assert(await s.challenge())), { ok: false, reason: 'blocked' });
});

t.test('a key is not accepted where the caller does not accept one', async (t) => {
  const s = await setup(t);
  const k = key();
  await s.register(k);
  const r = await checkSecondFactor(s.deps, {
    user: 'alice',
    code: '',
    assertion: k.assert(await s.challenge()),
    accept: { codes: true, recoveryCode: false, accessPass: false },
    purpose: '',
    context,
  });
  t.match(r, { ok: false, reason: 'wrong' });
});

t.test('passkey sign-in: a discoverable credential with user verification, regulated as its owner', async (t) => {
  const s = await setup(t);
  const k = key();
  await s.register(k);
  const ok = await checkPasskeySignIn(s.deps, { assertion: k.assert(await s.challenge(null)), context });
  t.match(ok, { ok: true, user: 'alice', amr: ['hwk', 'mfa'] });
  t.match(
    await checkPasskeySignIn(s.deps, { assertion: k.assert(await s.challenge(null), { userVerified: false }), context }),
    {
      ok: false,
      reason: 'refused',
      user: 'alice',
    },
    'user verification is required',
  );
  t.match(
    await checkPasskeySignIn(s.deps, { assertion: k.assert(await s.challenge('alice')), context }),
    { ok: false },
    'a second-factor challenge does not sign in',
  );
  t.match(
    await checkPasskeySignIn(s.deps, { assertion: key().assert(await s.challenge(null)), context }),
    { ok: false, user: null },
    'unknown credential',
  );
  await s.store.block({ user: 'alice', durationMs: 60_000, reason: 'test', actor: 'admin' });
  t.match(await checkPasskeySignIn(s.deps, { assertion: k.assert(await s.challenge(null)), context }), { ok: false, reason: 'blocked' });
});
