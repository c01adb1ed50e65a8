// The hand-written unseal and seal (issue 16, item 5) against iron-session's own: every cookie
// iron-session seals opens to the same data, and every altered, foreign, expired or malformed
// value that iron-session refuses is refused here too. One value iron-session opens is refused
// here on purpose: a digest with base64 padding, which its lenient decoder reads and its seals
// never carry. And every cookie sealed here opens with iron-session to the same data.
import t from 'tap';
import { sealData, unsealData } from 'iron-session';
import { seal, unseal } from '../../src/session/unseal.ts';

const current = 'c'.repeat(40);
const previous = 'p'.repeat(40);
const passwords = { 1: previous, 2: current };
const data = { v: 1, sid: 'sid-1', user: 'jürgen', level: 2, amr: ['pwd', 'totp'], ic: false, iat: 1, auth: 2, seen: 3 };

/** iron-session's answer: the data, or undefined where it gives {} (its "not a seal"). */
async function oracle(value: string): Promise<unknown> {
  const out = await unsealData<Record<string, unknown>>(value, { password: passwords, ttl: 3600 });
  return Object.keys(out).length === 0 ? undefined : out;
}

t.test('a cookie sealed by iron-session opens to the same data, with the current or a previous secret', async (t) => {
  const sealed = await sealData(data, { password: passwords, ttl: 3600 });
  t.match(sealed, /^Fe26\.2\*2\*/, 'sealed with the newest secret');
  t.same(unseal(sealed, passwords, Date.now()), data);
  const old = await sealData(data, { password: { 1: previous }, ttl: 3600 });
  t.same(unseal(old, passwords, Date.now()), data, 'a secret moved to previous_secrets still opens');
  t.same(unseal(sealed.replace(/~2$/, ''), passwords, Date.now()), data, 'without the version suffix too');
});

t.test('whatever iron-session refuses is refused, and nothing it opens is refused', async (t) => {
  const sealed = await sealData(data, { password: passwords, ttl: 3600 });
  const body = sealed.replace(/~2$/, '');
  const parts = body.split('*');
  const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const variants: Array<[string, string]> = [
    ['empty', ''],
    ['not a seal', 'hello'],
    ['seven parts', parts.slice(0, 7).join('*')],
    ['nine parts', `${body}*x`],
    ['another prefix', ['Fe26.1', ...parts.slice(1)].join('*')],
    ['unknown password id', ['Fe26.2', '9', ...parts.slice(2)].join('*')],
    ['password id __proto__', ['Fe26.2', '__proto__', ...parts.slice(2)].join('*')],
    ['password id constructor', ['Fe26.2', 'constructor', ...parts.slice(2)].join('*')],
    ['no password id', ['Fe26.2', '', ...parts.slice(2)].join('*')],
    ['expired', [...parts.slice(0, 5), String(Date.now() - 120_000), ...parts.slice(6)].join('*')],
    ['expiration not a number', [...parts.slice(0, 5), '12x', ...parts.slice(6)].join('*')],
    ['no expiration', [...parts.slice(0, 5), '', ...parts.slice(6)].join('*')],
    ['empty encryption salt', [...parts.slice(0, 2), '', ...parts.slice(3)].join('*')],
    ['empty mac salt', [...parts.slice(0, 6), '', parts[7]!].join('*')],
    ['mac cut short', body.slice(0, -1)],
    ['data cut short', [...parts.slice(0, 4), parts[4]!.slice(0, -4), ...parts.slice(5)].join('*')],
    ['signed by a foreign secret', ''],
  ];
  for (let i = 0; i < parts.length; i++) {
    const at = i === 0 ? 1 : 0;
    if (parts[i]!.length > 0) variants.push([`part ${i + 1} altered`, parts.map((p, k) => (k === i ? flip(p, at) : p)).join('*')]);
  }
  for (let i = 0; i < body.length; i += 37) variants.push([`character ${i} altered`, flip(body, i)]);
  const foreign = await sealData(data, { password: { 2: 'f'.repeat(40) }, ttl: 3600 });
  variants[variants.findIndex(([name]) => name === 'signed by a foreign secret')]![1] = foreign;

  for (const [name, value] of variants) {
    const expected = await oracle(value);
    t.same(unseal(value, passwords, Date.now()), expected, `${name}: ${expected === undefined ? 'refused' : 'opened'} by both`);
  }
});

t.test('a digest with base64 padding is refused (iron-session reads it; no seal carries it)', async (t) => {
  const sealed = (await sealData(data, { password: passwords, ttl: 3600 })).replace(/~2$/, '');
  t.same(await oracle(`${sealed}=`), data, 'iron-session opens it');
  t.equal(unseal(`${sealed}=`, passwords, Date.now()), undefined);
});

t.test('a seal is refused a minute after its expiration, by the given time', async (t) => {
  const sealed = await sealData(data, { password: passwords, ttl: 60 });
  const expiration = Number(sealed.split('*')[5]);
  t.same(unseal(sealed, passwords, expiration + 59_000), data, 'within the minute of skew');
  t.equal(unseal(sealed, passwords, expiration + 60_000), undefined, 'after it');
});

t.test('a cookie sealed here opens with iron-session to the same data, in its format, with the newest secret', async (t) => {
  const now = Date.now();
  const sealed = seal(data, passwords, 3600, now);
  t.same(await oracle(sealed), data, 'iron-session opens it');
  t.same(unseal(sealed, passwords, now), data, 'and so does unseal');
  t.same(await oracle(seal(data, { 1: previous }, 3600, now)), data, 'sealed with a secret now in previous_secrets: still opens');
  const [prefix, id, encryptionSalt, iv, encrypted, expiration, macSalt, mac] = sealed.replace(/~2$/, '').split('*');
  t.ok(sealed.endsWith('~2'), "iron-session's version suffix");
  t.equal(prefix, 'Fe26.2');
  t.equal(id, '2', 'the newest password id');
  t.match(encryptionSalt, /^[0-9a-f]{64}$/, '256-bit salts as hex');
  t.match(macSalt, /^[0-9a-f]{64}$/);
  t.not(encryptionSalt, macSalt);
  t.match(iv, /^[A-Za-z0-9_-]{22}$/, 'a 128-bit IV, base64url');
  t.match(encrypted, /^[A-Za-z0-9_-]+$/);
  t.match(mac, /^[A-Za-z0-9_-]{43}$/);
  t.equal(expiration, String(now + 3_600_000), 'expires ttl after now');
  const ironSealed = await sealData(data, { password: passwords, ttl: 3600 });
  t.equal(sealed.length, ironSealed.length, "as long as iron-session's seal of the same data");
});

t.test('two seals of the same data differ; each opens', async (t) => {
  const now = Date.now();
  const seals = Array.from({ length: 20 }, () => seal(data, passwords, 3600, now));
  t.equal(new Set(seals).size, seals.length, 'fresh salts and IV every time');
  for (const s of seals) t.same(await oracle(s), data);
});

t.test('a seal made here expires as iron-session reads it; ttl 0 never expires; data of every JSON shape', async (t) => {
  const now = Date.now();
  const old = seal(data, passwords, 60, now - 121_000);
  t.equal(await oracle(old), undefined, 'iron-session refuses the expired seal');
  t.equal(unseal(old, passwords, now), undefined, 'and so does unseal');
  const forever = seal(data, passwords, 0, now);
  t.equal(forever.split('*')[5], '', 'no expiration');
  t.same(await oracle(forever), data);
  for (const value of [{ s: 'ä€😀"\\\n' }, { n: 0, f: -1.5, b: null, a: [[], {}] }, { long: 'x'.repeat(5000) }]) {
    t.same(await oracle(seal(value, passwords, 3600, now)), value, JSON.stringify(value).slice(0, 40));
  }
});

t.test('a secret iron-session would refuse is refused: too short, or none', async (t) => {
  t.throws(() => seal(data, { 1: 'short' }, 3600, Date.now()), /32 characters/);
  await t.rejects(sealData(data, { password: { 1: 'short' }, ttl: 3600 }), 'iron-session refuses it too');
  t.throws(() => seal(data, {}, 3600, Date.now()), /32 characters/);
});
