// Issue 10, items 1 and 2: a user without a method is led into enrollment under the default
// `mfa.first_enrollment` and the sample config, on a trusted network and outside; a temporary
// access pass opens first enrollment from outside and nothing else; recovery codes sign in
// once; reset-mfa revokes both. Real gateway, real SQLite, frozen clock.
import { readFileSync } from 'node:fs';
import t from 'tap';
import YAML from 'yaml';
import { Browser, enrollmentSecret, field, pathOf, signInPassword, startTestGateway, startUpstream, totpCode } from '../helpers/gateway.ts';
import { issueAccessPass } from '../../src/factors/fallback/index.ts';
import { resetMfa } from '../../src/factors/methods/reset.ts';

const TRUSTED = '127.0.0.3';
const OUTSIDE = '127.0.0.1';
const sample = YAML.parse(readFileSync('config/gateway.yaml', 'utf8')) as { mfa: { first_enrollment?: string } };
const context = { clientIp: 'local', userAgent: 'test', rule: null };

const CONFIGS: [string, Record<string, unknown>][] = [
  ['default config', { first_enrollment: undefined }],
  ['sample config', { first_enrollment: sample.mfa.first_enrollment }],
];

for (const [configName, mfa] of CONFIGS) {
  for (const [where, addr] of [
    ['trusted network', TRUSTED],
    ['outside', OUTSIDE],
  ] as const) {
    t.test(`methodless user, ${configName}, ${where}: led into enrollment, never into the app with the password alone`, async (t) => {
      const up = await startUpstream(t);
      const gw = await startTestGateway(t, up, { mfa });
      const bob = new Browser(gw.port, {}, addr);
      const signed = await signInPassword(bob, 'bob', undefined, 'http://gateway.test/app');
      t.equal(signed.status, 303);
      t.equal(
        pathOf(signed.headers.location),
        `/.gateway/enroll?rd=${encodeURIComponent('http://gateway.test/app')}`,
        'straight into enrollment, before the return URL',
      );
      const app = await bob.get('/app');
      t.equal(app.status, 302, 'the app is not reached with the password alone');
      t.equal(up.requests.length, 0);
      const enroll = await bob.get('/.gateway/enroll');
      const allowed = where === 'trusted network' || (sample.mfa.first_enrollment === 'anywhere' && configName === 'sample config');
      if (!allowed) {
        t.equal(enroll.status, 403, 'refused outside trusted networks');
        t.match(enroll.body, /name="pass"/, 'the refusal offers the access-pass field');
        return;
      }
      t.equal(enroll.status, 200);
      const secret = enrollmentSecret(enroll.body);
      const done = await bob.post('/.gateway/enroll', { code: totpCode(secret, gw.clock.now), csrf: field(enroll.body, 'csrf') });
      t.equal(done.status, 303);
      t.equal((await bob.get('/app')).status, 200, 'in after the confirming code');
    });
  }
}

t.test('account page of a methodless user on a trusted network: "add a method" is first enrollment, no code asked', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { mfa: { first_enrollment: undefined } });
  const bob = new Browser(gw.port, {}, TRUSTED);
  await signInPassword(bob, 'bob');
  const account = await bob.get('/.gateway/account');
  t.equal(account.status, 200);
  t.match(account.body, /href="\/\.gateway\/enroll\?rd=/);
  const add = await bob.get('/.gateway/account/methods/add');
  t.equal(add.status, 302);
  t.match(pathOf(add.headers.location), /^\/\.gateway\/enroll/);
});

t.test('mfa.methods [oath_token] only: no QR code, the page says to ask for a token', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { mfa: { methods: ['oath_token'], first_enrollment: undefined } });
  const bob = new Browser(gw.port, {}, TRUSTED);
  await signInPassword(bob, 'bob');
  const page = await bob.get('/.gateway/enroll');
  t.equal(page.status, 200);
  t.notMatch(page.body, /class="qr"|class="secret"/, 'no QR code, no secret');
  t.match(page.body, /hardware token/i);
});

t.test('temporary access pass: valid, wrong, used up, replaced, revoked by reset-mfa, only for a first method', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { mfa: { first_enrollment: undefined } });
  const issue = (uses = 1) =>
    issueAccessPass({ store: gw.store, clock: () => gw.clock.now }, 'bob', { validMs: 8 * 3_600_000, uses, actor: 'root', context });
  const usePass = async (b: Browser, pass: string) => {
    const refused = await b.get('/.gateway/enroll');
    return b.post('/.gateway/enroll/access-pass', { pass, csrf: field(refused.body, 'csrf') });
  };
  const bob = new Browser(gw.port, {}, OUTSIDE);
  await signInPassword(bob, 'bob');
  t.equal((await usePass(bob, 'zzzz-zzzz-zzzz-zzzz')).status, 401, 'wrong pass');
  const replaced = await issue();
  const { pass } = await issue(1);
  t.equal((await usePass(bob, replaced.pass)).status, 401, 'a replaced pass is void');
  const ok = await usePass(bob, pass);
  t.equal(ok.status, 303);
  t.equal((await bob.get('/app')).status, 302, 'a pass alone never opens the app');
  const enroll = await bob.get('/.gateway/enroll');
  t.equal(enroll.status, 200, 'the pass opens first enrollment from outside');
  const secret = enrollmentSecret(enroll.body);
  t.equal((await bob.post('/.gateway/enroll', { code: totpCode(secret, gw.clock.now), csrf: field(enroll.body, 'csrf') })).status, 303);
  t.equal((await bob.get('/app')).status, 200);

  const again = new Browser(gw.port, {}, OUTSIDE);
  await signInPassword(again, 'bob');
  const codePage = await again.get('/.gateway/second-factor');
  const typed = await again.post('/.gateway/second-factor', { code: (await issue(3)).pass, csrf: field(codePage.body, 'csrf') });
  t.equal(typed.status, 401, 'a pass cannot be typed on the code page of a user with a method');
  t.equal((await gw.store.accessPassOf('bob'))!.usesLeft, 3, 'and spends nothing');

  await resetMfa({ store: gw.store, clock: () => gw.clock.now }, 'bob', 'root');
  t.equal(await gw.store.accessPassOf('bob'), null, 'reset-mfa revokes the pass');
  const log = await gw.store.query({ user: 'bob', limit: 50 });
  t.ok(
    log.some((e) => /temporary access pass accepted for first enrollment/.test(e.detail)),
    'logged',
  );
});

t.test('recovery codes: created after enrolling, used once then refused, regenerate voids, reset-mfa voids', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { mfa: { first_enrollment: undefined } });
  const bob = new Browser(gw.port, {}, TRUSTED);
  await signInPassword(bob, 'bob');
  const enroll = await bob.get('/.gateway/enroll');
  await bob.post('/.gateway/enroll', { code: totpCode(enrollmentSecret(enroll.body), gw.clock.now), csrf: field(enroll.body, 'csrf') });
  const page = await bob.get('/.gateway/account/recovery-codes');
  t.equal(page.status, 200);
  const created = await bob.post('/.gateway/account/recovery-codes', { csrf: field(page.body, 'csrf') });
  const codes = [...created.body.matchAll(/<li><code>([0-9a-z-]{14})<\/code><\/li>/g)].map((m) => m[1]!);
  t.equal(codes.length, 10);

  const signInWith = async (code: string) => {
    const b = new Browser(gw.port, {}, OUTSIDE);
    await signInPassword(b, 'bob');
    const form = await b.get('/.gateway/second-factor');
    return b.post('/.gateway/second-factor', { code, csrf: field(form.body, 'csrf') });
  };
  const first = await signInWith(codes[0]!);
  t.equal(first.status, 303);
  t.equal(pathOf(first.headers.location), '/.gateway/account/methods/add?after=recovery', 'then asked to set up a new method');
  t.equal((await signInWith(codes[0]!)).status, 401, 'used once, then refused');

  const fresh = await bob.post('/.gateway/account/recovery-codes', { csrf: field(page.body, 'csrf') });
  t.equal(fresh.status, 200);
  t.equal((await signInWith(codes[1]!)).status, 401, 'a new set voids the old one');
  const newCodes = [...fresh.body.matchAll(/<li><code>([0-9a-z-]{14})<\/code><\/li>/g)].map((m) => m[1]!);
  await resetMfa({ store: gw.store, clock: () => gw.clock.now }, 'bob', 'root');
  t.same(await gw.store.recoveryCodeSummary('bob'), { total: 0, unused: 0, createdAt: null }, 'reset-mfa voids them');
  t.ok(newCodes.length === 10);
});
