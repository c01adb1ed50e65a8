// Issue 17 item 6: careful admin actions through a real gateway and SQLite store. The first
// POST of reset MFA, end sessions (all or one), forget browsers, make and remove admin,
// revoke all app passwords, block and remove a security key never acts: it answers a page
// that says what will happen, read from the store, with a confirm button naming the action and
// a way back; only the same form posted again with `confirm=yes` acts, and is logged as
// before. An admin acting on their own account is warned; the last admin cannot remove their
// rights. Also the admin parts of items 2 and 7: account <-> admin links, the current page
// in the admin nav, "No open sessions".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import YAML from 'yaml';
import {
  Browser,
  field,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  totpCode,
  type Reply,
  type TestGateway,
} from '../helpers/gateway.ts';

async function start(t: Test, mfa: Record<string, unknown> = {}): Promise<TestGateway> {
  return startTestGateway(t, await startUpstream(t), { mfa: { methods: ['totp', 'webauthn'], app_passwords: { enabled: true }, ...mfa } });
}

/** `user` signed in with a code just now (first enrollment); the browser speaks `lang`. */
async function signedIn(gw: TestGateway, user: string, lang = 'en'): Promise<{ browser: Browser; secret: string }> {
  const browser = new Browser(gw.port, { 'accept-language': lang });
  const secret = await signInWithEnrollment(browser, gw, user);
  return { browser, secret };
}

/** A second session of bob, in Firefox on Windows, with a code. */
async function bobInFirefox(gw: TestGateway, secret: string): Promise<Browser> {
  const firefox = new Browser(gw.port, {
    'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  });
  await signInPassword(firefox, 'bob');
  const page = await firefox.get('/.gateway/second-factor');
  gw.clock.now += 30_000;
  await firefox.post('/.gateway/second-factor', { code: totpCode(secret, gw.clock.now), csrf: field(page.body, 'csrf') });
  return firefox;
}

/** The confirmation form's fields, as a browser would post them back. */
function confirmation(page: Reply): { action: string; fields: Record<string, string> } {
  const form = /<form method="post" action="([^"]+)" class="action-row">([\s\S]*?)<\/form>/.exec(page.body);
  if (!form) throw new Error(`no confirmation form in ${page.body.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[m[1]!] = m[2]!
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&');
  return { action: form[1]!, fields };
}

/** The text of a page without tags, entities decoded, whitespace collapsed. */
const text = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
const h1 = (html: string) => /<h1>([^<]*)<\/h1>/.exec(html)?.[1];
const button = (html: string) => /<button type="submit" class="button [^"]*">([^<]*)<\/button>/.exec(html)?.[1];
/** The groups of `user` in the test gateway's users file. */
const groupsOf = (gw: TestGateway, user: string): string[] =>
  (YAML.parse(readFileSync(join(gw.dir, 'users.yaml'), 'utf8')) as { users: Record<string, { groups?: string[] }> }).users[user]?.groups ??
  [];
const logCount = async (gw: TestGateway, user: string) => (await gw.store.query({ user, limit: 1000 })).length;

t.test('the first POST of each careful action changes nothing and says what will happen; the confirmed one acts', async (t) => {
  const gw = await start(t);
  const { browser: bob, secret } = await signedIn(gw, 'bob');
  const firefox = await bobInFirefox(gw, secret);
  const { browser: alice } = await signedIn(gw, 'alice');
  await gw.store.addAppPassword({ user: 'bob', name: 'Mail', hint: 'abcd', hash: 'x' }, 20);
  await gw.store.addAppPassword({ user: 'bob', name: 'Calendar', hint: 'efgh', hash: 'y' }, 20);
  await gw.store.replaceRecoveryCodes('bob', ['h1', 'h2', 'h3'], gw.clock.now);
  await gw.store.addCredential(
    {
      user: 'bob',
      credentialId: 'c1',
      label: 'Blue key',
      publicKey: 'pQ',
      signCount: 0,
      transports: ['usb'],
      aaguid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8',
      backupEligible: false,
      backedUp: false,
      discoverable: true,
    },
    5,
  );
  const userPage = await alice.get('/.gateway/admin/user?name=bob');
  const csrf = field(userPage.body, 'csrf');
  const ask = (action: string, form: Record<string, string> = {}) =>
    alice.post(`/.gateway/admin/user/${action}`, { user: 'bob', csrf, ...form });
  const confirm = async (page: Reply) => {
    const { action, fields } = confirmation(page);
    return alice.post(action, fields);
  };
  const entries = await logCount(gw, 'bob');
  const methods = (await gw.store.listMethods('bob')).map((m) => m.label);

  // Block: until when, what ends, what stays, the reason.
  let page = await ask('block', { reason: '  laptop stolen ', days: '5' });
  t.equal(page.status, 200);
  t.equal(h1(page.body), 'Block bob?');
  t.equal(button(page.body), 'Block bob', 'the button says what it does');
  t.match(text(page.body), /bob cannot sign in until .+: the password, codes and app passwords are all refused\./);
  t.match(text(page.body), 'All 2 open sessions of bob end at once');
  t.match(text(page.body), 'Sign-in methods, app passwords and remembered browsers stay');
  t.match(text(page.body), 'The reason is kept in the block history and the sign-in log: “laptop stolen”.');
  t.match(
    page.body,
    '<a class="button button--secondary button--inline" href="/.gateway/admin/user?name=bob">Cancel and go back to bob</a>',
  );
  t.notMatch(page.body, 'This is your own account', 'no self-warning for another user');
  t.equal(await gw.store.blockOf('bob'), null, 'not blocked yet');
  t.equal((await bob.get('/app')).status, 200, "bob's session goes on");

  // Reset MFA: every method and key by name, the recovery codes, the sessions, the next sign-in.
  page = await ask('reset-mfa');
  t.equal(h1(page.body), 'Reset MFA for bob?');
  t.equal(button(page.body), 'Reset MFA for bob');
  t.match(
    text(page.body),
    `These sign-in methods are removed: “${methods[0]}” (Authenticator app) “Blue key” (Security key or passkey, YubiKey 5`,
  );
  t.match(text(page.body), 'The recovery codes stop working (3 unused).');
  t.match(text(page.body), 'All 2 open sessions of bob end at once');
  t.match(text(page.body), 'Browsers that bob asked to remember are forgotten');
  t.match(text(page.body), 'App passwords keep working');
  t.match(text(page.body), 'At the next sign-in, bob enters the password and sets up a new method');

  // Sessions: all, browsers, both, one.
  page = await ask('revoke', { what: 'sessions' });
  t.equal(button(page.body), 'End all sessions of bob');
  t.match(text(page.body), 'Remembered browsers stay remembered');
  page = await ask('revoke', { what: 'devices' });
  t.equal(button(page.body), 'Forget the remembered browsers of bob');
  t.match(text(page.body), 'Open sessions stay signed in.');
  page = await ask('revoke', { what: 'all' });
  t.equal(button(page.body), 'End sessions and forget browsers of bob');
  t.equal((await ask('revoke', { what: 'everything' })).status, 400, 'an unknown choice is refused');
  const firefoxSid = (await gw.store.listSessions('bob')).find((x) => x.createdUserAgent.includes('Firefox'))!.sid;
  page = await ask('end-session', { id: firefoxSid });
  t.equal(button(page.body), 'End this session of bob');
  t.match(text(page.body), /The session in Firefox on Windows from 127\.0\.0\.1, started .+ and last active .+, ends at once/);
  t.match(text(page.body), 'The other sessions of bob stay signed in.');

  // App passwords by name; make admin; a security key.
  page = await ask('revoke-app-passwords');
  t.equal(button(page.body), 'Revoke all app passwords of bob');
  t.match(text(page.body), 'These app passwords stop working at once, on every gateway within a second: “Mail” “Calendar”');
  t.match(text(page.body), 'The account password stays refused for programs');
  page = await ask('make-admin');
  t.equal(button(page.body), 'Make bob an admin');
  t.match(text(page.body), 'bob joins the group admins in the users file.');
  t.match(page.body, 'class="button button--primary button--inline">Make bob an admin', 'not a red button');
  const key = (await gw.store.listCredentials('bob'))[0]!;
  page = await ask('remove-key', { id: key.id });
  t.equal(button(page.body), 'Remove “Blue key” of bob');
  t.match(text(page.body), 'The other sign-in methods of bob stay.');

  t.equal(await logCount(gw, 'bob'), entries, 'nothing was logged');
  t.same(
    (await gw.store.listMethods('bob')).map((m) => m.label),
    methods,
    'no method removed',
  );
  t.equal((await gw.store.listCredentials('bob')).length, 1);
  t.equal((await gw.store.listAppPasswords('bob')).length, 2);
  t.equal((await gw.store.listSessions('bob')).length, 2);
  t.notOk(await gw.store.sessionsRevokedAt('bob'));
  t.notOk(await gw.store.devicesRevokedAt('bob'));
  t.same(groupsOf(gw, 'bob'), ['users'], 'bob is no admin');
  t.equal((await firefox.get('/app')).status, 200);

  // Confirmed: each acts as before, and is logged as before.
  t.equal((await confirm(await ask('end-session', { id: firefoxSid }))).headers.location, '/.gateway/admin/user?name=bob&done=revoked');
  t.equal((await firefox.get('/app')).status, 302, 'the Firefox session ended');
  t.equal((await bob.get('/app')).status, 200, 'the other goes on');
  t.equal((await confirm(await ask('revoke-app-passwords'))).status, 303);
  t.same(await gw.store.listAppPasswords('bob'), []);
  t.equal((await confirm(await ask('make-admin'))).headers.location, '/.gateway/admin/user?name=bob&done=admin');
  t.equal((await confirm(await ask('remove-key', { id: key.id }))).headers.location, '/.gateway/admin/user?name=bob&done=key_removed');
  const blocked = await confirm(await ask('block', { reason: '  laptop stolen ', days: '5' }));
  t.equal(blocked.headers.location, '/.gateway/admin/user?name=bob&done=blocked');
  t.match(await gw.store.blockOf('bob'), { reason: 'laptop stolen', actor: 'alice' });
  t.equal((await bob.get('/app')).status, 302, 'blocked: the session ended');
  t.equal((await confirm(await ask('reset-mfa'))).headers.location, '/.gateway/admin/user?name=bob&done=reset&n=1');
  t.same(await gw.store.listMethods('bob'), []);
  const details = (await gw.store.query({ user: 'bob', limit: 100 })).map((e) => e.detail);
  for (const d of [
    /^session .* \(Firefox on Windows, 127\.0\.0\.1\) ended by admin alice$/,
    /^2 app passwords revoked by admin alice$/,
    /^made an admin \(group admins\) by admin alice$/,
    /^webauthn credential .* removed by admin alice \(Blue key\)$/,
    /^blocked by alice until .*: laptop stolen$/,
    /^MFA reset by alice: 1 method removed; 3 recovery codes and no temporary access pass revoked/,
  ])
    t.ok(
      details.some((x) => d.test(x)),
      `logged: ${d}`,
    );
});

t.test('the careful forms keep their checks: CSRF, a reason, a directory user, the last admin', async (t) => {
  const gw = await start(t);
  const { browser: alice } = await signedIn(gw, 'alice');
  const csrf = field((await alice.get('/.gateway/admin/user?name=bob')).body, 'csrf');
  const post = (action: string, form: Record<string, string>) => alice.post(`/.gateway/admin/user/${action}`, { user: 'bob', ...form });

  t.equal((await post('reset-mfa', { csrf: 'q'.repeat(43) })).status, 403, 'no confirmation page for a forged form');
  t.equal((await post('reset-mfa', { csrf: 'q'.repeat(43), confirm: 'yes' })).status, 403);
  const noReason = await post('block', { csrf, reason: ' ', days: '5' });
  t.equal(noReason.status, 400, 'a missing reason is said before any confirmation');
  t.match(noReason.body, /id="block-reason"[^>]* aria-invalid="true" autofocus>/, 'and the reason field has the focus');
  const badDays = await post('block', { csrf, reason: 'x', days: '0' });
  t.equal(badDays.status, 400);
  t.match(badDays.body, 'Enter a number of days from 1 to 3650.');
  t.match(badDays.body, /id="block-days"[^>]* aria-invalid="true" autofocus>/);
  t.equal((await post('block', { csrf, reason: ' ', days: '5', confirm: 'yes' })).status, 400, 'a confirmed form is checked again');
  t.equal(await gw.store.blockOf('bob'), null);

  // alice is the only admin: she cannot take her own rights away, confirmed or not.
  for (const confirm of [{}, { confirm: 'yes' }] as Record<string, string>[]) {
    const last = await alice.post('/.gateway/admin/user/remove-admin', { user: 'alice', csrf, ...confirm });
    t.equal(last.status, 400);
    t.match(last.body, 'alice is the only admin. Make another user an admin first');
  }
  t.same(groupsOf(gw, 'alice'), ['admins', 'users']);
  const notAdmin = await post('remove-admin', { csrf });
  t.equal(notAdmin.headers.location, '/.gateway/admin/user?name=bob&done=not_admin', 'nothing to confirm for a non-admin');
  t.match((await alice.get(notAdmin.headers.location!)).body, 'The user was not an admin.');
});

t.test('remove admin: confirmed, logged, and the rights are gone; acting on yourself warns first', async (t) => {
  const gw = await start(t, { first_enrollment: 'trusted_networks' });
  // First enrollment only on trusted networks: alice and bob enroll from 127.0.0.3.
  const trusted = (user: string) => {
    const b = new Browser(gw.port, {}, '127.0.0.3');
    return signInWithEnrollment(b, gw, user).then(() => b);
  };
  const alice = await trusted('alice');
  const bob = await trusted('bob');
  let page = await alice.get('/.gateway/admin/user?name=alice');
  const csrf = field(page.body, 'csrf');
  const own = (action: string, form: Record<string, string> = {}) =>
    alice.post(`/.gateway/admin/user/${action}`, { user: 'alice', csrf, ...form });
  t.notMatch(page.body, '/.gateway/admin/user/make-admin', 'an admin is not offered "make admin"');
  t.match(page.body, '>Remove admin rights</button>');

  const WARN = /<div class="alert alert--warn"><p><strong>This is your own account\.<\/strong> ([^<]*)<\/p><\/div>/;
  page = await own('block', { reason: 'testing', days: '1' });
  t.match(WARN.exec(page.body)?.[1], /^You are signed out at once and cannot sign in again, not even to these pages, until the block ends/);
  page = await own('reset-mfa');
  t.match(
    WARN.exec(page.body)?.[1],
    'set up a new method first: on a trusted network, or with a temporary access pass from another admin.',
    'with first enrollment on trusted networks only, the warning says so',
  );
  t.match(
    text(page.body),
    'At the next sign-in, alice sets up a new method: on a trusted network, or elsewhere with a temporary access pass',
  );
  page = await own('revoke', { what: 'sessions' });
  t.match(WARN.exec(page.body)?.[1], 'This includes the session you are using now');
  page = await own('revoke', { what: 'devices' });
  t.notMatch(page.body, WARN, 'forgetting browsers does not sign you out');
  const mine = (await gw.store.listSessions('alice'))[0]!.sid;
  page = await own('end-session', { id: mine });
  t.match(WARN.exec(page.body)?.[1], 'This is the session you are using now');
  t.equal(await gw.store.blockOf('alice'), null);
  t.equal((await alice.get('/.gateway/admin')).status, 200, 'alice is still in');

  // bob becomes an admin, loses the rights again, then alice removes her own.
  const made = await own('make-admin', { user: 'bob', confirm: 'yes' });
  t.equal(made.headers.location, '/.gateway/admin/user?name=bob&done=admin');
  t.equal((await bob.get('/.gateway/admin')).status, 200, 'bob opens the admin pages');
  page = await own('remove-admin', { user: 'bob' });
  t.equal(h1(page.body), 'Remove the admin rights of bob?');
  t.match(text(page.body), 'bob leaves the group admins in the users file and can no longer open these pages.');
  t.notMatch(page.body, WARN);
  const removed = await alice.post(confirmation(page).action, confirmation(page).fields);
  t.equal(removed.headers.location, '/.gateway/admin/user?name=bob&done=admin_removed');
  t.match((await alice.get(removed.headers.location!)).body, 'The user is no longer an admin.');
  t.equal((await bob.get('/.gateway/admin')).status, 403, "bob's rights are gone at once");
  t.match((await gw.store.query({ user: 'bob', limit: 1 }))[0], {
    kind: 'admin',
    detail: 'admin rights removed (group admins) by admin alice',
  });
  t.same(groupsOf(gw, 'bob'), ['users'], "bob's other groups stay");

  await own('make-admin', { user: 'bob', confirm: 'yes' });
  page = await own('remove-admin');
  t.equal(button(page.body), 'Remove the admin rights of alice');
  t.match(
    WARN.exec(page.body)?.[1],
    'These pages close for you at once. Only another admin, or mfa-gateway users make-admin on the server',
  );
  const gone = await alice.post(confirmation(page).action, confirmation(page).fields);
  t.equal(gone.headers.location, '/.gateway/account', 'an admin without rights goes to the account page');
  t.equal((await alice.get('/.gateway/admin')).status, 403);
  const account = await alice.get('/.gateway/account');
  t.equal(account.status, 200);
  t.notMatch(account.body, 'href="/.gateway/admin"', 'no admin link any more');
  t.ok(
    (await gw.store.query({ user: 'alice', limit: 20 })).some(
      (e) => e.kind === 'admin' && e.detail === 'admin rights removed (group admins) by admin alice',
    ),
  );
  t.same(groupsOf(gw, 'alice'), ['users']);
});

t.test('in German: the confirmation page, the self-warning and the button', async (t) => {
  const gw = await start(t);
  const { browser: alice } = await signedIn(gw, 'alice', 'de');
  const csrf = field((await alice.get('/.gateway/admin/user?name=bob')).body, 'csrf');
  let page = await alice.post('/.gateway/admin/user/reset-mfa', { user: 'bob', csrf });
  t.match(page.body, '<html lang="de">');
  t.equal(h1(page.body), 'MFA für bob zurücksetzen?');
  t.equal(button(page.body), 'MFA für bob zurücksetzen');
  t.match(text(page.body), 'bob hat keine Anmeldemethode, die entfernt werden könnte.');
  t.match(text(page.body), 'bob hat keine offene Sitzung, die beendet werden könnte.');
  t.match(page.body, '>Abbrechen und zurück zu bob</a>');
  page = await alice.post('/.gateway/admin/user/block', { user: 'alice', csrf, reason: 'Test', days: '2' });
  t.equal(h1(page.body), 'alice blockieren?');
  t.match(text(page.body), 'Das ist Ihr eigenes Konto. Sie werden sofort abgemeldet');
  t.match(text(page.body), 'Die offene Sitzung von alice endet sofort');
  page = await alice.post('/.gateway/admin/user/revoke', { user: 'bob', csrf, what: 'all' });
  t.equal(button(page.body), 'Sitzungen von bob beenden und Browser vergessen');
  const user = await alice.get('/.gateway/admin/user?name=bob');
  t.match(user.body, '>Sitzungen beenden und Browser vergessen</button>', 'no "Beides" button');
  t.match(user.body, 'Keine offenen Sitzungen.');
});

t.test('the admin pages link to the account page and the app, and mark the current page; the account page links back', async (t) => {
  const gw = await start(t);
  const { browser: alice } = await signedIn(gw, 'alice');
  const { browser: bob } = await signedIn(gw, 'bob');
  const nav = (html: string) => /<nav class="action-row" aria-label="Admin">([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? '';
  const users = await alice.get('/.gateway/admin');
  t.match(nav(users.body), '<a class="button button--secondary button--inline" href="/.gateway/admin" aria-current="page">Users</a>');
  t.match(nav(users.body), '<a href="/.gateway/account">Your account</a><a href="http://gateway.test/">Back to the app</a>');
  const log = await alice.get('/.gateway/admin/log');
  t.match(nav(log.body), 'href="/.gateway/admin/log" aria-current="page">Sign-in log</a>');
  t.notMatch(nav(log.body), 'href="/.gateway/admin" aria-current');
  t.match(nav((await alice.get('/.gateway/admin/tokens')).body), 'href="/.gateway/admin/tokens" aria-current="page"');
  const userPage = await alice.get('/.gateway/admin/user?name=bob');
  t.match(nav(userPage.body), 'href="/.gateway/admin" aria-current="true">Users</a>', 'a user page belongs to the users section');
  t.notMatch(userPage.body, 'Both');
  t.match(userPage.body, '>End sessions and forget browsers</button>');
  t.match(userPage.body, /<div class="table-wrap"><table class="table sessions">/);
  t.notMatch(userPage.body, 'No open sessions.');

  t.match((await alice.get('/.gateway/account')).body, '<a href="/.gateway/admin">Admin pages</a>', 'an admin finds the admin pages');
  t.notMatch((await bob.get('/.gateway/account')).body, 'href="/.gateway/admin"', 'others do not');

  // End all of bob's sessions: the table gives way to a line that says so.
  const csrf = field(userPage.body, 'csrf');
  await alice.post('/.gateway/admin/user/revoke', { user: 'bob', what: 'sessions', csrf, confirm: 'yes' });
  const after = await alice.get('/.gateway/admin/user?name=bob');
  t.match(after.body, '<p class="empty">No open sessions.</p>');
  t.notMatch(after.body, 'table sessions');
});
