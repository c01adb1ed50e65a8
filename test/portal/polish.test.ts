// Issue 17 item 7 over HTTP: a page showing an error says so first in its title; the field in
// error takes the focus (autofocus, aria-invalid, aria-describedby, no script); the account
// page lists one row per sign-in with its steps; a method's "last used" is the code that last
// confirmed it, its enrollment code included; the TOTP issuer names the organization.
import t from 'tap';
import { buildCatalog } from '../../src/portal/i18n.ts';
import { createRenderer } from '../../src/portal/render.ts';
import { loadStaticAssets } from '../../src/portal/static.ts';
import { signInsOf } from '../../src/portal/account.ts';
import type { AuditEntry } from '../../src/store/types.ts';
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
} from '../helpers/gateway.ts';
import { samplePages } from './render-fixtures.ts';

const renderer = createRenderer({ catalog: buildCatalog({}), prefix: '/.gateway/', assets: await loadStaticAssets('views/static') });
const samples = await samplePages();
const titleOf = (html: string) => /<title>([^<]*)<\/title>/.exec(html)?.[1];
/** The input whose id is `id`, as written. */
const inputTag = (html: string, id: string) => new RegExp(`<input id="${id}"[^>]*>`).exec(html)?.[0] ?? '';

t.test('a page showing an error starts its title with "Error: " / "Fehler: ", and only then', async (t) => {
  t.equal(titleOf(renderer.page('sign-in', 'en', samples['sign-in'].plain!)), 'Sign in · MFA Gateway');
  t.equal(titleOf(renderer.page('sign-in', 'en', samples['sign-in'].failed!)), 'Error: Sign in · MFA Gateway');
  t.equal(titleOf(renderer.page('sign-in', 'de', samples['sign-in'].failed!)), 'Fehler: Anmelden · MFA Gateway');
  t.equal(
    titleOf(renderer.page('second-factor', 'de', samples['second-factor'].error!)),
    'Fehler: Bestätigen Sie Ihre Identität · MFA Gateway',
  );
  t.equal(titleOf(renderer.page('second-factor', 'en', samples['second-factor'].plain!)), 'Verify it’s you · MFA Gateway');
  t.equal(titleOf(renderer.page('enroll', 'en', samples.enroll.error!)), 'Error: Set up your authenticator app · MFA Gateway');
  t.equal(
    titleOf(renderer.page('enroll-refused', 'en', samples['enroll-refused'].wrongPass!)),
    'Error: Setup needs the office network · MFA Gateway',
  );
  t.equal(
    titleOf(renderer.page('security-key-add', 'en', samples['security-key-add'].refused!)),
    'Error: Add a security key or passkey · MFA Gateway',
  );
  t.equal(titleOf(renderer.errorPage(404, 'de')), 'Fehler: Seite nicht gefunden · MFA Gateway');
  t.match(renderer.errorPage(404, 'de'), '<h1>Seite nicht gefunden</h1>', 'the heading stays the plain title');
  t.equal(titleOf(renderer.page('admin-user', 'en', samples['admin-user'].empty!)), 'Error: User carol · MFA Gateway');
  t.equal(titleOf(renderer.page('account', 'en', samples.account.plain!)), 'Account security · MFA Gateway');
});

t.test('the field in error takes the focus, is marked invalid and names its message', async (t) => {
  const base = samples['method-add'].plain!;
  const nameWrong = renderer.page('method-add', 'en', { ...base, nameError: 'method_name_invalid' });
  t.match(inputTag(nameWrong, 'name'), /aria-invalid="true" autofocus/);
  t.match(inputTag(nameWrong, 'name'), /aria-describedby="name-hint name-error"/);
  t.notMatch(inputTag(nameWrong, 'code'), 'autofocus', 'one field takes the focus');
  const codeWrong = renderer.page('method-add', 'en', { ...base, error: 'enroll_error_invalid' });
  t.match(inputTag(codeWrong, 'code'), /aria-invalid="true" autofocus/);
  t.notMatch(inputTag(codeWrong, 'name'), 'autofocus');
  t.notMatch(renderer.page('method-add', 'en', base), 'autofocus', 'nothing grabs the focus without an error');

  const keyWrong = renderer.page('security-key-add', 'en', { ...samples['security-key-add'].plain!, nameError: 'method_name_invalid' });
  t.match(inputTag(keyWrong, 'key-name'), /aria-describedby="key-name-hint key-name-error" aria-invalid="true" autofocus/);
  const appWrong = renderer.page('app-passwords', 'en', {
    csrf: 'c',
    appPasswords: [],
    max: 10,
    name: '',
    nameError: 'app_passwords_name_error',
  });
  t.match(inputTag(appWrong, 'name'), /aria-describedby="name-hint name-error" aria-invalid="true" autofocus/);
  t.match(appWrong, '<p class="field-error" id="name-error" role="alert">');

  const account = samples.account.plain!;
  const renameWrong = renderer.page('account', 'de', {
    ...account,
    methods: account.methods.map((m, i) => ({ ...m, id: `m${i}` })),
    manage: true,
    renameError: 'm1',
  });
  t.match(renameWrong, /<details class="rename" open>[\s\S]*?id="rename-m1"/, 'the refused rename is open');
  t.match(inputTag(renameWrong, 'rename-m1'), /aria-invalid="true" aria-describedby="rename-m1-error" autofocus/);
  t.match(renameWrong, '<p class="field-error" id="rename-m1-error" role="alert">Geben Sie einen Namen mit 1 bis 64 Zeichen ein.</p>');
  t.notMatch(inputTag(renameWrong, 'rename-m0'), 'autofocus');
  t.equal(titleOf(renameWrong), 'Fehler: Kontosicherheit · MFA Gateway');
});

const entry = (at: number, kind: AuditEntry['kind'], outcome: AuditEntry['outcome'], detail: string, ip = '10.0.0.1'): AuditEntry => ({
  id: at,
  at,
  user: 'bob',
  clientIp: ip,
  userAgent: 'Firefox',
  rule: null,
  kind,
  outcome,
  detail,
});

t.test('recent sign-ins: one row per sign-in, its steps inside, how it ended', async (t) => {
  const m = 60_000;
  const newestFirst = [
    entry(1, 'password', 'success', 'password ok'),
    entry(1 + m, 'second_factor', 'denied', 'wrong code'),
    entry(2 + m, 'second_factor', 'success', 'totp code accepted (Phone); browser remembered for 14 days'),
    entry(10 * m, 'password', 'denied', 'wrong password', '203.0.113.9'),
    entry(11 * m, 'password', 'denied', 'wrong password; locked out until 2026-11-23T09:30:00.000Z', '203.0.113.9'),
    entry(20 * m, 'password', 'success', 'password ok'),
    entry(60 * m, 'second_factor', 'success', 'totp code accepted (Phone)'),
    entry(70 * m, 'password', 'success', 'password ok; second factor skipped: trusted network'),
    entry(71 * m, 'second_factor', 'success', 'admin pages: totp code accepted (Phone)'),
    entry(72 * m, 'revocation', 'success', 'user signed out'),
    entry(80 * m, 'password', 'success', 'password ok; no second-factor method yet: led into enrollment', '10.0.0.2'),
    entry(81 * m, 'enrollment', 'success', 'totp method 1f enrolled (Authenticator app)', '10.0.0.2'),
  ].reverse();
  const rows = signInsOf(newestFirst);
  t.same(
    rows.map((r) => [r.result, r.steps!.map((s) => s.detail)]),
    [
      ['success', ['password ok; no second-factor method yet: led into enrollment', 'totp method 1f enrolled (Authenticator app)']],
      ['success', ['admin pages: totp code accepted (Phone)']],
      ['success', ['password ok; second factor skipped: trusted network']],
      ['success', ['totp code accepted (Phone)']],
      ['incomplete', ['password ok']],
      ['locked', ['wrong password; locked out until 2026-11-23T09:30:00.000Z']],
      ['denied', ['wrong password']],
      ['success', ['password ok', 'wrong code', 'totp code accepted (Phone); browser remembered for 14 days']],
    ],
    'a code 40 minutes after the password is a sign-in of its own; a later code (admin pages) too',
  );
  t.equal(rows.at(-1)!.at, 1, 'a sign-in is listed at its first step');
  t.same(
    rows.at(-1)!.steps!.map((s) => s.ok),
    [true, false, true],
  );
});

t.test('the account page: one row per sign-in with its steps, and "last used" set by the enrollment code', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { portal: { organization: 'Example Corp' } });
  const bob = new Browser(gw.port, { 'accept-language': 'de' });
  await signInPassword(bob, 'bob');
  const enroll = await bob.get('/.gateway/enroll');
  t.match(enroll.body, /<dt>Aussteller<\/dt><dd>Example Corp<\/dd>/, 'the issuer is the organization');
  t.match(enroll.body, 'otpauth://totp/Example%20Corp:bob?', 'also in the QR code and link');
  const secret = enrollmentSecret(enroll.body);
  await bob.post('/.gateway/enroll', { code: totpCode(secret, gw.clock.now), csrf: field(enroll.body, 'csrf') });
  const [method] = await gw.store.listMethods('bob');
  t.equal(method!.lastUsedAt, gw.clock.now, 'the enrollment code is the method’s last use');

  const account = await bob.get('/.gateway/account');
  t.notMatch(account.body, /data-label="Zuletzt verwendet">Nie</, 'not "never" right after the setup');
  const recent = account.body.slice(account.body.indexOf('id="recent-heading"'));
  t.equal((recent.match(/<tr><td data-label="Zeitpunkt">/g) ?? []).length, 1, 'one sign-in, one row');
  t.match(
    recent,
    /<ol class="sign-in-steps"><li>Kennwort richtig; noch keine Methode[^<]*<\/li><li>Authenticator-App „Authenticator-App“ eingerichtet<\/li><\/ol>/,
  );
  t.match(recent, /status--ok">Erfolgreich</);

  // A second sign-in with a wrong code, then the right one: a second row of three steps.
  gw.clock.now += 60 * 60_000;
  const again = new Browser(gw.port, { 'accept-language': 'de' });
  await signInPassword(again, 'bob');
  const code = await again.get('/.gateway/second-factor');
  await again.post('/.gateway/second-factor', { code: '000000', csrf: field(code.body, 'csrf') });
  gw.clock.now += 30_000;
  await again.post('/.gateway/second-factor', { code: totpCode(secret, gw.clock.now), csrf: field(code.body, 'csrf') });
  t.equal((await gw.store.listMethods('bob'))[0]!.lastUsedAt, gw.clock.now, 'the sign-in code moves it on');
  const page = await again.get('/.gateway/account');
  const rows = page.body.slice(page.body.indexOf('id="recent-heading"')).match(/<tr><td[\s\S]*?<\/tr>/g) ?? [];
  t.equal(rows.length, 2);
  t.match(rows[0], /<li>Kennwort richtig<\/li><li>Falscher Code<\/li><li>Code der Authenticator-App „Authenticator-App“ akzeptiert<\/li>/);
});

t.test('a refused rename comes back to the account page with that field open, in error and focused', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const alice = new Browser(gw.port);
  await signInWithEnrollment(alice, gw, 'alice');
  const account = await alice.get('/.gateway/account');
  const [method] = await gw.store.listMethods('alice');
  const refused = await alice.post('/.gateway/account/methods/rename', { id: method!.id, name: '  ', csrf: field(account.body, 'csrf') });
  t.equal(refused.status, 303);
  t.equal(pathOf(refused.headers.location), `/.gateway/account?rename-error=${method!.id}`);
  const page = await alice.get(pathOf(refused.headers.location));
  t.equal(titleOf(page.body), 'Error: Account security · MFA Gateway');
  t.match(inputTag(page.body, `rename-${method!.id}`), /aria-invalid="true" aria-describedby="rename-[^"]+-error" autofocus/);
  t.equal((await gw.store.listMethods('alice'))[0]!.label, 'Authenticator app', 'nothing renamed');
  t.notMatch((await alice.get(`/.gateway/account?rename-error=nonsense`)).body, 'autofocus', 'an unknown id marks nothing');
});
