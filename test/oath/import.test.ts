// Token CSV import and activation against a real SQLite store with a frozen clock: a file
// mixing good rows with every kind of bad row, the error CSV line by line, a re-import that
// changes nothing, and activation with a wrong, a right and a replayed code.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { openStore } from '../../src/store/index.ts';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';
import type { Store } from '../../src/store/types.ts';
import type { UserLookup } from '../../src/factors/password/index.ts';
import type { UserRecord } from '../../src/factors/password/users-file.ts';
import { activateToken, importTokens, parseCsv, writeCsv } from '../../src/factors/oath/index.ts';
import { base32Encode, generateTotp } from '../../src/factors/totp/totp.ts';
import { verifyTotpForUser } from '../../src/factors/totp/verify.ts';

const USERS: UserRecord[] = [
  { name: 'alice', email: 'alice@contoso.com', groups: [], disabled: false },
  { name: 'Bob', email: 'bob@contoso.com', groups: [], disabled: false },
  { name: 'carol', groups: [], disabled: false },
];
const users: UserLookup = { get: (n) => USERS.find((u) => u.name.toLowerCase() === n.toLowerCase()), list: () => USERS };

const S10 = Buffer.from('0123456789'); // a 10-byte secret, as many hardware tokens ship
const S20 = Buffer.from('abcdefghijklmnopqrst');
const b32 = base32Encode;

async function setup(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-oath-'));
  const clock = { now: Date.parse('2026-11-23T09:00:00Z') };
  const store: Store = await openStore(
    { sqlite: { path: join(dir, 'g.db') }, previous_encryption_keys: [], encryption_key: 'a'.repeat(64) },
    { clock: () => clock.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, clock, deps: { store, users, maxMethodsPerUser: 3, clock: () => clock.now } };
}

// carol already has two methods: the third row for her fits, the fourth does not (limit 3).
const FILE = [
  'UPN, Serial Number ,Secret Key,Time Interval,Manufacturer,Model', // line 1: names trimmed, any case
  `alice@contoso.com,TK-0001,${b32(S20)},30,Contoso,HardwareKey`, // 2 good, by e-mail
  `bob,TK-0002,${b32(S10)
    .toLowerCase()
    .replace(/(.{4})/g, '$1 ')}=,60,Contoso,HardwareKey`, // 3 good: 10 bytes, lower case, spaces, padding, 60 s
  `nobody,TK-0003,${b32(S20)},30,Contoso,HardwareKey`, // 4 unknown user
  `alice,TK-0004,${b32(S20).slice(0, 15)}1,30,Contoso,HardwareKey`, // 5 bad Base32
  `alice,TK-0005,${'A'.repeat(136)},30,Contoso,HardwareKey`, // 6 too long
  `alice,TK-0006,${b32(Buffer.from('short'))},30,Contoso,HardwareKey`, // 7 too short
  `alice,TK-0007,${b32(S20)},45,Contoso,HardwareKey`, // 8 unsupported interval
  `bob,TK-0001,${b32(S20)},30,Contoso,HardwareKey`, // 9 duplicate serial in the file
  `alice,TK-0008,,30,Contoso,HardwareKey`, // 10 missing field
  `alice,TK-0009,${b32(S20)},30,Contoso`, // 11 wrong column count
  '', // 12 blank line, skipped
  `"carol","TK-0010","${b32(S20)}","30","Contoso, Inc.","Key ""Pro"""`, // 13 good, quoted fields
  `carol,TK-0011,${b32(S20)},30,Contoso,HardwareKey`, // 14 user at the method limit
  `alice,TK-OLD,${b32(S20)},30,Contoso,HardwareKey`, // 15 serial already assigned to bob
  `=cmd(),TK-0012,${b32(S20)},30,Contoso,HardwareKey`, // 16 unknown user, formula-looking
].join('\r\n');

t.test('a file mixing good rows and every kind of bad row', async (t) => {
  const { store, deps } = await setup(t);
  const seeded = (label: string) =>
    ({ user: 'carol', kind: 'totp', label, secret: S20, period: 30, digits: 6, algorithm: 'sha1', active: true }) as const;
  await store.addMethod(seeded('phone'), 5);
  await store.addMethod(seeded('tablet'), 5);
  t.same(
    await store.importTokens(
      [{ user: 'bob', serial: 'TK-OLD', secret: S10, period: 30, manufacturer: 'Old', model: 'One', label: 'Old One TK-OLD' }],
      5,
    ),
    ['imported'],
  );

  const r = await importTokens(deps, FILE);
  t.equal(r.imported, 3);
  t.equal(r.unchanged, 0);
  t.same(
    r.errors.map((e) => [e.line, e.upn, e.serial]),
    [
      [4, 'nobody', 'TK-0003'],
      [5, 'alice', 'TK-0004'],
      [6, 'alice', 'TK-0005'],
      [7, 'alice', 'TK-0006'],
      [8, 'alice', 'TK-0007'],
      [9, 'bob', 'TK-0001'],
      [10, 'alice', 'TK-0008'],
      [11, 'alice', 'TK-0009'],
      [14, 'carol', 'TK-0011'],
      [15, 'alice', 'TK-OLD'],
      [16, '=cmd()', 'TK-0012'],
    ],
  );
  const lines = r.errorCsv.split('\r\n');
  t.same(lines, [
    'line,upn,serial number,error',
    '4,nobody,TK-0003,unknown user: no user with this name or e-mail address',
    '5,alice,TK-0004,"secret key is not Base32: ""1"" at position 16 (allowed: A-Z and 2-7)"',
    '6,alice,TK-0005,"secret key too long: 136 characters, at most 128"',
    '7,alice,TK-0006,"secret key too short: 5 bytes, at least 10 (16 Base32 characters)"',
    '8,alice,TK-0007,"unsupported time interval ""45"": 30 or 60 seconds"',
    '9,bob,TK-0001,duplicate serial number: already on line 2 of this file',
    '10,alice,TK-0008,missing secret key',
    '11,alice,TK-0009,"wrong number of columns: expected 6, found 5"',
    '14,carol,TK-0011,user already has the maximum of 3 methods',
    '15,alice,TK-OLD,duplicate serial number: already assigned to another user or with another secret',
    "16,'=cmd(),TK-0012,unknown user: no user with this name or e-mail address",
    '',
  ]);
  const parsed = parseCsv(r.errorCsv);
  t.ok(parsed.ok && parsed.records.every((rec) => rec.fields.length === 4), 'the error CSV parses back with four columns per row');

  const tokens = await store.listTokens();
  t.same(
    tokens.map((k) => [k.user, k.serial, k.label, k.period, k.active, k.manufacturer, k.model]),
    [
      ['alice', 'TK-0001', 'Contoso HardwareKey TK-0001', 30, false, 'Contoso', 'HardwareKey'],
      ['bob', 'TK-0002', 'Contoso HardwareKey TK-0002', 60, false, 'Contoso', 'HardwareKey'],
      ['bob', 'TK-OLD', 'Old One TK-OLD', 30, false, 'Old', 'One'],
      ['carol', 'TK-0010', 'Contoso, Inc. Key "Pro" TK-0010', 30, false, 'Contoso, Inc.', 'Key "Pro"'],
    ],
  );
  t.same(await store.secretOf(tokens[1]!.id), S10, 'the 10-byte secret is stored as decoded');
  const log = await store.query({ limit: 50 });
  t.equal(log.filter((e) => e.kind === 'enrollment' && /imported, inactive/.test(e.detail)).length, 3, 'each import is in the sign-in log');

  t.test('re-importing the same file changes nothing', async (t) => {
    const before = await store.listTokens();
    const again = await importTokens(deps, FILE);
    t.equal(again.imported, 0);
    t.equal(again.unchanged, 3);
    t.same(
      again.errors.map((e) => e.line),
      [4, 5, 6, 7, 8, 9, 10, 11, 14, 15, 16],
    );
    t.same(await store.listTokens(), before);
  });
});

t.test('a wrong or missing header is one error and imports nothing', async (t) => {
  const { store, deps } = await setup(t);
  for (const text of [
    '',
    `upn,serial,secret key,time interval,manufacturer,model\nalice,X1,${b32(S20)},30,a,b`,
    `alice,X1,${b32(S20)},30,a,b`,
  ]) {
    const r = await importTokens(deps, text);
    t.equal(r.imported, 0);
    t.equal(r.errors.length, 1);
    t.equal(r.errors[0]!.line, 1);
    t.match(r.errors[0]!.error, /^the first line must be the header "upn,serial number,secret key,time interval,manufacturer,model"/);
  }
  const broken = await importTokens(deps, `upn,serial number,secret key,time interval,manufacturer,model\nalice,"X1,${b32(S20)},30,a,b\n`);
  t.match(broken.errors, [{ line: 2, error: /never closed/ }]);
  t.same(await store.listTokens(), []);
});

t.test('activation: wrong code, right code, replayed code', async (t) => {
  const { store, clock, deps } = await setup(t);
  await importTokens(deps, `upn,serial number,secret key,time interval,manufacturer,model\nbob,TK-60,${b32(S10)},60,Contoso,Key60\n`);
  const act = { store, clock: () => clock.now };
  const code = generateTotp({ secret: S10, now: clock.now, period: 60, digits: 6 });
  t.same(
    await verifyTotpForUser(store, 'bob', code, clock.now, { skewSteps: 1 }),
    { ok: false, reason: 'no_method' },
    'an inactive token cannot sign in',
  );
  t.same(await activateToken(act, 'bob', 'TK-60', code === '000000' ? '111111' : '000000'), { ok: false, reason: 'wrong' });
  t.same(await activateToken(act, 'bob', 'TK-60', '12ab'), { ok: false, reason: 'malformed' });
  t.same(await activateToken(act, 'alice', 'TK-60', code), { ok: false, reason: 'unknown_token' }, "another user's token");
  t.same(await activateToken(act, 'BOB', 'TK-60', code), { ok: true });
  t.same(await activateToken(act, 'bob', 'TK-60', code), { ok: false, reason: 'already_active' });
  t.same(
    await verifyTotpForUser(store, 'bob', code, clock.now, { skewSteps: 1 }),
    { ok: false, reason: 'replayed' },
    'the activation code cannot sign in',
  );
  clock.now += 60_000;
  const next = generateTotp({ secret: S10, now: clock.now, period: 60, digits: 6 });
  const ok = await verifyTotpForUser(store, 'bob', next, clock.now, { skewSteps: 1 });
  t.ok(ok.ok, 'the next code signs in');
  const log = await store.query({ user: 'bob', limit: 20 });
  t.match(
    log.map((e) => `${e.outcome} ${e.detail}`),
    [/^denied .*already active/, /^success oath token TK-60 activated/],
  );
  t.ok(log.some((e) => e.outcome === 'denied' && /wrong code/.test(e.detail)));
});

t.test('the CSV writer quotes what needs quoting and defuses formulas', async (t) => {
  t.equal(writeCsv([['a', 'b,c', 'd"e', '+1', 'x\ny']]), 'a,"b,c","d""e",\'+1,"x\ny"\r\n');
  const p = parseCsv('a,"multi\nline",c\r\nd,e,f\n');
  t.same(p, {
    ok: true,
    records: [
      { line: 1, fields: ['a', 'multi\nline', 'c'] },
      { line: 3, fields: ['d', 'e', 'f'] },
    ],
  });
});
