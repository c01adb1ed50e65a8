// Several methods per user through a real gateway (real SQLite, frozen clock): a TOTP app and
// a 60-second hardware token with a 10-byte secret both sign in; the account page adds a
// second authenticator (after a fresh code), renames and removes methods, warns before the
// last one goes, and logs every change.
import t from 'tap';
import { importTokens, activateToken } from '../../src/factors/oath/index.ts';
import { generateTotp, base32Encode } from '../../src/factors/totp/totp.ts';
import { FRESH_SECOND_FACTOR_MS } from '../../src/portal/methods.ts';
import type { UserLookup } from '../../src/factors/password/index.ts';
import {
  Browser,
  enrollmentSecret,
  field,
  pathOf,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  totpCode,
  type TestGateway,
} from '../helpers/gateway.ts';

const users: UserLookup = {
  get: (n) => (['alice', 'bob'].includes(n.toLowerCase()) ? { name: n.toLowerCase(), groups: [], disabled: false } : undefined),
  list: () => [],
};
const TOKEN_SECRET = Buffer.from('0123456789'); // 10 bytes

async function codeSignIn(gw: TestGateway, user: string, code: string): Promise<{ status: number; browser: Browser }> {
  const b = new Browser(gw.port);
  await signInPassword(b, user);
  const page = await b.get('/.gateway/second-factor');
  const r = await b.post('/.gateway/second-factor', { code, csrf: field(page.body, 'csrf') });
  return { status: r.status, browser: b };
}

t.test('a TOTP app and a 60-second token with a 10-byte secret both sign in', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const secret = await signInWithEnrollment(new Browser(gw.port), gw, 'alice');
  const csv = `upn,serial number,secret key,time interval,manufacturer,model\nalice,TK-60,${base32Encode(TOKEN_SECRET)},60,Contoso,Key60\n`;
  const imported = await importTokens({ store: gw.store, users, maxMethodsPerUser: 5, clock: () => gw.clock.now }, csv);
  t.equal(imported.imported, 1);
  const tokenCode = (now: number) => generateTotp({ secret: TOKEN_SECRET, now, period: 60, digits: 6 });

  gw.clock.now += 60_000;
  t.equal((await codeSignIn(gw, 'alice', tokenCode(gw.clock.now))).status, 401, 'an inactive token does not sign in');
  t.same(await activateToken({ store: gw.store, clock: () => gw.clock.now }, 'alice', 'TK-60', tokenCode(gw.clock.now)), { ok: true });

  gw.clock.now += 60_000;
  const viaToken = await codeSignIn(gw, 'alice', tokenCode(gw.clock.now));
  t.equal(viaToken.status, 303, 'the 60 s token signs in');
  t.equal((await viaToken.browser.get('/app')).status, 200);
  gw.clock.now += 30_000;
  const viaApp = await codeSignIn(gw, 'alice', totpCode(secret, gw.clock.now));
  t.equal(viaApp.status, 303, 'the app still signs in');
  const log = await gw.store.query({ user: 'alice', limit: 5 });
  t.match(log.find((e) => e.kind === 'second_factor' && e.outcome === 'success')?.detail, /totp code accepted/);
  t.ok(
    log.some((e) => /oath_token code accepted \(Contoso Key60 TK-60\)/.test(e.detail)) ||
      (await gw.store.query({ user: 'alice', limit: 20 })).some((e) => /oath_token code accepted/.test(e.detail)),
  );
});

t.test('account page: add a second app with a fresh code, rename, remove, last-method warning', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const alice = new Browser(gw.port);
  const first = await signInWithEnrollment(alice, gw, 'alice');

  let account = await alice.get('/.gateway/account');
  t.equal(account.status, 200);
  t.match(account.body, /Authenticator app/);
  t.match(account.body, /href="\/.gateway\/account\/methods\/add"/);

  // Just signed in with a code: fresh, so the QR code comes at once.
  gw.clock.now += 1000; // methods list by creation time
  const add = await alice.get('/.gateway/account/methods/add');
  t.equal(add.status, 200);
  t.match(add.body, /<div class="qr" role="img" aria-label="[^"]+"><svg aria-hidden="true"/);
  t.equal(field(add.body, 'name'), 'Authenticator app 2');
  const second = enrollmentSecret(add.body);
  t.not(second, first);
  const wrong = await alice.post('/.gateway/account/methods/add', {
    name: 'Shared mailbox',
    code: '000000',
    csrf: field(add.body, 'csrf'),
  });
  t.equal(wrong.status, 400);
  t.equal(enrollmentSecret(wrong.body), second, 'a wrong code keeps the same QR code');
  const added = await alice.post('/.gateway/account/methods/add', {
    name: '  Shared   mailbox ',
    code: totpCode(second, gw.clock.now),
    csrf: field(add.body, 'csrf'),
  });
  t.equal(added.status, 303);
  t.equal(pathOf(added.headers.location), '/.gateway/account?done=added');
  account = await alice.get('/.gateway/account?done=added');
  t.match(account.body, /Your new sign-in method is ready to use/);
  t.match(account.body, /Shared mailbox/);
  const methods = await gw.store.listMethods('alice');
  t.same(
    methods.map((m) => m.label),
    ['Authenticator app', 'Shared mailbox'],
  );

  // Either app's code signs in.
  gw.clock.now += 30_000;
  t.equal((await codeSignIn(gw, 'alice', totpCode(first, gw.clock.now))).status, 303, 'first app');
  gw.clock.now += 30_000;
  t.equal((await codeSignIn(gw, 'alice', totpCode(second, gw.clock.now))).status, 303, 'second app');

  // Rename needs no fresh code; a bad name changes nothing.
  const renamed = await alice.post('/.gateway/account/methods/rename', {
    id: methods[0]!.id,
    name: 'Anna’s phone',
    csrf: field(account.body, 'csrf'),
  });
  t.equal(pathOf(renamed.headers.location), '/.gateway/account?done=renamed');
  const refused = await alice.post('/.gateway/account/methods/rename', {
    id: methods[0]!.id,
    name: ' ',
    csrf: field(account.body, 'csrf'),
  });
  t.equal(pathOf(refused.headers.location), `/.gateway/account?rename-error=${methods[0]!.id}`, 'back to the field, in error');
  t.same(
    (await gw.store.listMethods('alice')).map((m) => m.label),
    ['Anna’s phone', 'Shared mailbox'],
  );
  t.equal(
    (await alice.post('/.gateway/account/methods/rename', { id: methods[0]!.id, name: 'x', csrf: 'forged' })).status,
    403,
    'CSRF checked',
  );

  // Later: the second factor is no longer fresh, so removing asks for a current code first.
  gw.clock.now += FRESH_SECOND_FACTOR_MS + 60_000;
  let remove = await alice.get(`/.gateway/account/methods/remove?id=${methods[1]!.id}`);
  t.equal(remove.status, 200);
  t.match(remove.body, /Confirm it’s you/);
  t.equal(field(remove.body, 'next'), `remove:${methods[1]!.id}`);
  const bad = await alice.post('/.gateway/account/methods/verify', {
    code: '000000',
    next: field(remove.body, 'next'),
    csrf: field(remove.body, 'csrf'),
  });
  t.equal(bad.status, 401);
  const verified = await alice.post('/.gateway/account/methods/verify', {
    code: totpCode(first, gw.clock.now),
    next: field(remove.body, 'next'),
    csrf: field(remove.body, 'csrf'),
  });
  t.equal(verified.status, 303);
  t.equal(pathOf(verified.headers.location), `/.gateway/account/methods/remove?id=${methods[1]!.id}`);
  remove = await alice.get(pathOf(verified.headers.location));
  t.match(remove.body, /Remove “Shared mailbox”/);
  t.notMatch(remove.body, /only sign-in method/);
  const removed = await alice.post('/.gateway/account/methods/remove', { id: methods[1]!.id, csrf: field(remove.body, 'csrf') });
  t.equal(pathOf(removed.headers.location), '/.gateway/account?done=removed');
  t.same(
    (await gw.store.listMethods('alice')).map((m) => m.label),
    ['Anna’s phone'],
  );

  // The last one: a clear warning first; allowed, and the next sign-in enrolls again.
  remove = await alice.get(`/.gateway/account/methods/remove?id=${methods[0]!.id}`);
  t.match(remove.body, /This is your only sign-in method/);
  await alice.post('/.gateway/account/methods/remove', { id: methods[0]!.id, csrf: field(remove.body, 'csrf') });
  t.equal(await gw.store.countMethods('alice'), 0);
  const again = new Browser(gw.port);
  await signInPassword(again, 'alice');
  t.equal(pathOf((await again.get('/.gateway/second-factor')).headers.location), '/.gateway/enroll');

  // Someone else's method id is not found.
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  const bobs = await gw.store.listMethods('bob');
  t.equal((await alice.get(`/.gateway/account/methods/remove?id=${bobs[0]!.id}`)).status, 404);

  const log = await gw.store.query({ user: 'alice', limit: 50 });
  t.ok(
    log.some((e) => e.kind === 'enrollment' && /enrolled \(Shared mailbox\)/.test(e.detail)),
    'addition logged',
  );
  t.ok(
    log.some((e) => e.kind === 'enrollment' && /renamed from "Authenticator app" to "Anna’s phone"/.test(e.detail)),
    'rename logged',
  );
  t.equal(log.filter((e) => e.kind === 'method_removed').length, 2, 'removals logged');
  t.ok(log.some((e) => e.kind === 'method_removed' && /no active method left/.test(e.detail)));
  t.ok(log.some((e) => e.kind === 'second_factor' && /^method change confirmation: totp code accepted/.test(e.detail)));
});

t.test('adding stops at mfa.max_methods_per_user and a remembered-only session must verify', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { mfa: { max_methods_per_user: 1 } });
  const alice = new Browser(gw.port);
  await signInWithEnrollment(alice, gw, 'alice');
  const account = await alice.get('/.gateway/account');
  t.notMatch(account.body, /account\/methods\/add/, 'no add link at the limit');
  t.equal((await alice.get('/.gateway/account/methods/add')).status, 409);
});

t.test('an imported but inactive token does not trap the user between code and enrollment pages', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const csv = `upn,serial number,secret key,time interval,manufacturer,model\nbob,TK-1,${base32Encode(TOKEN_SECRET)},30,Contoso,Key\n`;
  await importTokens({ store: gw.store, users, maxMethodsPerUser: 5, clock: () => gw.clock.now }, csv);
  const bob = new Browser(gw.port);
  await signInPassword(bob, 'bob');
  t.equal(pathOf((await bob.get('/.gateway/second-factor')).headers.location), '/.gateway/enroll');
  const enroll = await bob.get('/.gateway/enroll');
  t.equal(enroll.status, 200, 'enrollment is offered');
  const done = await bob.post('/.gateway/enroll', {
    code: totpCode(enrollmentSecret(enroll.body), gw.clock.now),
    csrf: field(enroll.body, 'csrf'),
  });
  t.equal(done.status, 303);
  const account = await bob.get('/.gateway/account');
  t.match(account.body, /Contoso Key TK-1 <span class="status status--bad">Not activated yet/);
});
