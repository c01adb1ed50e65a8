// The admin pages through a real gateway and SQLite store: who gets in (403 for non-admins,
// a fresh code for admins whatever the network or a remembered browser says), CSRF on every
// form, and each action doing its work and landing in the sign-in log with the admin's name.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { base32Decode, generateTotp } from '../../src/factors/totp/totp.ts';
import {
  Browser,
  field,
  pathOf,
  send,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  totpCode,
  type Reply,
  type TestGateway,
} from '../helpers/gateway.ts';

const TOKEN_SECRET = 'JBSWY3DPEHPK3PXP'; // 10 bytes, as many hardware tokens have
const CSV = [
  'upn,serial number,secret key,time interval,manufacturer,model',
  `bob,TK-100,${TOKEN_SECRET},30,Feitian,c200`,
  `zed,TK-101,${TOKEN_SECRET},30,Feitian,c200`,
  `bob,TK-102,not base32!,30,Feitian,c200`,
].join('\n');

async function start(t: Test): Promise<TestGateway> {
  const up = await startUpstream(t);
  return startTestGateway(t, up, { mfa: { app_passwords: { enabled: true } } });
}

/** alice (admin) signed in with a code just now; returns the browser and her TOTP secret. */
async function admin(gw: TestGateway): Promise<{ browser: Browser; secret: string }> {
  const browser = new Browser(gw.port);
  const secret = await signInWithEnrollment(browser, gw, 'alice');
  return { browser, secret };
}

function multipart(
  fields: Record<string, string>,
  file?: { name: string; filename: string; content: string },
): { body: string; type: string } {
  const boundary = '----mfa-test-boundary-7MA4YWxkTrZu0gW';
  let body = '';
  for (const [k, v] of Object.entries(fields)) body += `--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  if (file)
    body += `--${boundary}\r\ncontent-disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\ncontent-type: text/csv\r\n\r\n${file.content}\r\n`;
  return { body: `${body}--${boundary}--\r\n`, type: `multipart/form-data; boundary=${boundary}` };
}

const logOf = async (gw: TestGateway, user: string) => gw.store.query({ user, limit: 100 });

t.test('who gets in: anonymous signs in, a non-admin gets 403, an admin needs a fresh code', async (t) => {
  const gw = await start(t);
  const anonymous = await send(gw.port, '/.gateway/admin');
  t.equal(anonymous.status, 302);
  t.match(pathOf(anonymous.headers.location), /^\/\.gateway\/sign-in\?rd=/);

  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  t.equal((await bob.get('/.gateway/admin')).status, 403, 'bob is not in the admin group');
  t.equal((await bob.post('/.gateway/admin/user/block', { user: 'alice', reason: 'x', csrf: 'y' })).status, 403);

  const { browser, secret } = await admin(gw);
  t.equal((await browser.get('/.gateway/admin')).status, 200, 'a code entered just now opens the pages');
  // Keep the session alive (idle timeout 30 min) while the code grows old.
  gw.clock.now += 20 * 60_000;
  await browser.get('/app');
  gw.clock.now += 20 * 60_000;
  t.equal((await browser.get('/app')).status, 200, 'the app itself still lets alice in');
  const stale = await browser.get('/.gateway/admin/log?user=bob');
  t.equal(stale.status, 302, 'a 40-minute-old code is not enough for the admin pages');
  t.equal(pathOf(stale.headers.location), `/.gateway/admin/verify?rd=${encodeURIComponent('/.gateway/admin/log?user=bob')}`);
  const page = await browser.get(pathOf(stale.headers.location));
  t.equal(page.status, 200);
  const wrong = await browser.post('/.gateway/admin/verify', {
    code: '000000',
    rd: '/.gateway/admin/log?user=bob',
    csrf: field(page.body, 'csrf'),
  });
  t.equal(wrong.status, 401);
  t.equal(
    (
      await browser.post('/.gateway/admin/verify', {
        code: totpCode(secret, gw.clock.now),
        rd: '/.gateway/admin/log?user=bob',
        csrf: 'z'.repeat(43),
      })
    ).status,
    403,
    'CSRF refused',
  );
  const ok = await browser.post('/.gateway/admin/verify', {
    code: totpCode(secret, gw.clock.now),
    rd: '//evil.example/x',
    csrf: field(page.body, 'csrf'),
  });
  t.equal(ok.status, 303);
  t.equal(ok.headers.location, '/.gateway/admin', 'only admin paths are followed after the code');
  t.equal((await browser.get('/.gateway/admin/log?user=bob')).status, 200);
  t.match((await logOf(gw, 'alice'))[0], { kind: 'second_factor', outcome: 'success', detail: /^admin pages: totp code accepted/ });

  // A trusted network lowers two_factor rules to the password, never the admin pages.
  const trusted = await send(gw.port, '/.gateway/sign-in', { localAddress: '127.0.0.3' });
  const cookies = (r: Reply) => (r.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  const signedIn = await send(gw.port, '/.gateway/sign-in', {
    method: 'POST',
    localAddress: '127.0.0.3',
    headers: { cookie: cookies(trusted), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: 'alice', password: 'alice-test-password', csrf: field(trusted.body, 'csrf') }).toString(),
  });
  t.equal(signedIn.status, 303);
  const onTrusted = await send(gw.port, '/.gateway/admin', { localAddress: '127.0.0.3', headers: { cookie: cookies(signedIn) } });
  t.equal(onTrusted.status, 302);
  t.equal(
    pathOf(onTrusted.headers.location),
    `/.gateway/second-factor?rd=${encodeURIComponent('http://gateway.test/.gateway/admin')}`,
    'the password on a trusted network is asked for a code',
  );
});

t.test('admin actions work, refuse bad CSRF, and are logged with the admin name', async (t) => {
  const gw = await start(t);
  const bobBrowser = new Browser(gw.port);
  await signInWithEnrollment(bobBrowser, gw, 'bob');
  const { browser } = await admin(gw);

  const list = await browser.get('/.gateway/admin?q=BUILDER');
  t.equal(list.status, 200);
  t.match(list.body, '<a href="/.gateway/admin/user?name=bob">bob</a>', 'found by display name');
  t.notMatch(list.body, '>alice</a>');
  let page = await browser.get('/.gateway/admin/user?name=bob');
  t.equal(page.status, 200);
  const csrf = field(page.body, 'csrf');
  t.equal((await browser.get('/.gateway/admin/user?name=nobody')).status, 404);

  // CSRF: a forged form changes nothing.
  t.equal(
    (await browser.post('/.gateway/admin/user/block', { user: 'bob', reason: 'forged', days: '5', csrf: 'q'.repeat(43) })).status,
    403,
  );
  t.equal((await browser.post('/.gateway/admin/user/block', { user: 'bob', reason: 'forged', days: '5' })).status, 403);
  t.equal(await gw.store.blockOf('bob'), null, 'not blocked by a forged form');

  t.equal(
    (await browser.post('/.gateway/admin/user/block', { user: 'bob', reason: ' ', days: '5', csrf })).status,
    400,
    'a reason is required',
  );
  const blocked = await browser.post('/.gateway/admin/user/block', {
    user: 'bob',
    reason: 'laptop stolen',
    days: '5',
    csrf,
    confirm: 'yes',
  });
  t.equal(blocked.status, 303);
  t.equal(blocked.headers.location, '/.gateway/admin/user?name=bob&done=blocked');
  t.match(await gw.store.blockOf('bob'), { reason: 'laptop stolen', actor: 'alice', until: gw.clock.now + 5 * 86_400_000 });
  t.equal((await bobBrowser.get('/app')).status, 302, "bob's session ended at once");
  page = await browser.get(blocked.headers.location!);
  t.match(page.body, 'The user was blocked');
  t.match(page.body, 'laptop stolen');
  t.match((await logOf(gw, 'bob'))[0], { kind: 'block', detail: /^blocked by alice until .*: laptop stolen$/, clientIp: '127.0.0.1' });

  t.equal((await browser.post('/.gateway/admin/user/unblock', { user: 'bob', reason: 'laptop found', csrf })).status, 303);
  t.equal(await gw.store.blockOf('bob'), null);
  t.match((await logOf(gw, 'bob'))[0], { kind: 'unblock', detail: 'unblocked by alice: laptop found' });

  t.equal((await browser.post('/.gateway/admin/user/revoke', { user: 'bob', what: 'all', csrf, confirm: 'yes' })).status, 303);
  t.equal(await gw.store.sessionsRevokedAt('bob'), gw.clock.now);
  t.equal(await gw.store.devicesRevokedAt('bob'), gw.clock.now);
  t.match((await logOf(gw, 'bob'))[0], { kind: 'revocation', detail: 'sessions ended and remembered browsers forgotten by admin alice' });

  t.equal((await gw.store.listMethods('bob')).length, 1);
  const reset = await browser.post('/.gateway/admin/user/reset-mfa', { user: 'bob', csrf, confirm: 'yes' });
  t.equal(reset.headers.location, '/.gateway/admin/user?name=bob&done=reset&n=1');
  t.equal((await gw.store.listMethods('bob')).length, 0, 'methods removed');
  t.ok((await logOf(gw, 'bob')).some((e) => e.kind === 'method_removed' && /^MFA reset by alice: totp method/.test(e.detail)));

  await gw.store.addAppPassword({ user: 'bob', name: 'Mail', hint: 'abcd', hash: 'x' }, 20);
  t.equal((await browser.post('/.gateway/admin/user/revoke-app-passwords', { user: 'bob', csrf, confirm: 'yes' })).status, 303);
  t.same(await gw.store.listAppPasswords('bob'), []);
  t.match((await logOf(gw, 'bob'))[0], { kind: 'app_password', detail: '1 app passwords revoked by admin alice' });

  t.equal(
    (await browser.post('/.gateway/admin/user/make-admin', { user: 'bob', csrf, confirm: 'yes' })).headers.location,
    '/.gateway/admin/user?name=bob&done=admin',
  );
  t.match(readFileSync(join(gw.dir, 'users.yaml'), 'utf8'), /bob:[\s\S]*groups:[\s\S]*- admins/);
  t.match((await logOf(gw, 'bob'))[0], { kind: 'admin', detail: 'made an admin (group admins) by admin alice' });
  page = await browser.get('/.gateway/admin/user?name=bob&done=admin');
  t.match(page.body, 'The user is now an admin.');
  t.notMatch(page.body, '/.gateway/admin/user/make-admin', 'no make-admin button for an admin');
});

t.test('a methodless user with a pass: the admin page revokes the pass and resets MFA', async (t) => {
  const gw = await start(t);
  const { browser } = await admin(gw);
  const userPage = () => browser.get('/.gateway/admin/user?name=bob');
  const actions = (body: string) =>
    [...body.matchAll(/<form method="post" action="\/\.gateway\/admin\/user\/([a-z-]+)"/g)].map((m) => m[1]!);

  let page = await userPage();
  t.notOk(actions(page.body).includes('revoke-access-pass'), 'no pass: nothing to revoke');
  t.notOk(actions(page.body).includes('reset-mfa'), 'no method and no pass: nothing to reset');
  const csrf = field(page.body, 'csrf');

  const issued = await browser.post('/.gateway/admin/user/access-pass', { user: 'bob', hours: '8', uses: '2', csrf });
  t.equal(issued.status, 200);
  t.match(issued.body, /<code class="secret" id="issued-pass">[0-9a-z-]{19}<\/code>/, 'the pass is shown once');
  t.equal(await gw.store.countMethods('bob'), 0, 'bob has no method');
  page = await userPage();
  t.match(page.body, /Current pass: valid until .*, 2 of 2 uses left \(issued by alice\)/);
  t.ok(actions(page.body).includes('revoke-access-pass'), "a methodless user's pass can be revoked");
  t.ok(actions(page.body).includes('reset-mfa'), 'and MFA reset, which revokes the pass too');

  t.equal(
    (await browser.post('/.gateway/admin/user/revoke-access-pass', { user: 'bob', csrf: 'q'.repeat(43) })).status,
    403,
    'CSRF checked',
  );
  t.ok(await gw.store.accessPassOf('bob'), 'a forged form revokes nothing');
  const revoked = await browser.post('/.gateway/admin/user/revoke-access-pass', { user: 'bob', csrf });
  t.equal(revoked.status, 303);
  t.equal(revoked.headers.location, '/.gateway/admin/user?name=bob&done=pass_revoked');
  t.equal(await gw.store.accessPassOf('bob'), null, 'the pass is gone');
  t.match((await logOf(gw, 'bob'))[0], { kind: 'admin', outcome: 'success', detail: 'temporary access pass revoked by admin alice' });
  page = await browser.get(revoked.headers.location!);
  t.match(page.body, 'The temporary access pass was revoked.');
  t.match(page.body, 'No pass issued.');
  t.notOk(actions(page.body).includes('revoke-access-pass'));
  const again = await browser.post('/.gateway/admin/user/revoke-access-pass', { user: 'bob', csrf });
  t.equal(again.headers.location, '/.gateway/admin/user?name=bob&done=no_pass', 'revoking twice says there was none');
  t.match((await logOf(gw, 'bob'))[0], { detail: 'temporary access pass revoked by admin alice' }, 'and logs nothing new');

  await browser.post('/.gateway/admin/user/access-pass', { user: 'bob', hours: '8', uses: '1', csrf });
  const reset = await browser.post('/.gateway/admin/user/reset-mfa', { user: 'bob', csrf, confirm: 'yes' });
  t.equal(reset.headers.location, '/.gateway/admin/user?name=bob&done=reset&n=0');
  t.equal(await gw.store.accessPassOf('bob'), null, 'reset from the page of a methodless user revokes the pass');
  t.ok(
    (await logOf(gw, 'bob')).some((e) =>
      /^MFA reset by alice: 0 methods removed; 0 recovery codes and the temporary access pass revoked/.test(e.detail),
    ),
  );
});

t.test('token CSV upload with its error CSV, activation, and the log with filters and paging', async (t) => {
  const gw = await start(t);
  const { browser } = await admin(gw);
  const tokens = await browser.get('/.gateway/admin/tokens');
  const csrf = field(tokens.body, 'csrf');

  const forged = multipart({ csrf: 'x'.repeat(43) }, { name: 'file', filename: 'tokens.csv', content: CSV });
  t.equal(
    (
      await send(gw.port, '/.gateway/admin/tokens/import', {
        method: 'POST',
        body: forged.body,
        headers: { cookie: browser.cookieHeader(), 'content-type': forged.type },
      })
    ).status,
    403,
  );
  t.equal((await gw.store.listTokens()).length, 0, 'nothing imported by a forged upload');

  const upload = multipart({ csrf, csv: '' }, { name: 'file', filename: 'tokens.csv', content: CSV });
  const result = await send(gw.port, '/.gateway/admin/tokens/import', {
    method: 'POST',
    body: upload.body,
    headers: { cookie: browser.cookieHeader(), 'content-type': upload.type },
  });
  t.equal(result.status, 200);
  t.match(result.body, 'Imported: 1. Already there: 0. Refused: 2.');
  const link = /href="(\/\.gateway\/admin\/tokens\/errors\?id=[^"]+)"/.exec(result.body)?.[1];
  t.ok(link, 'a download link for the error CSV');
  const csv = await browser.get(link!.replace(/&amp;/g, '&'));
  t.equal(csv.status, 200);
  t.match(csv.headers['content-type'], /^text\/csv/);
  t.match(csv.headers['content-disposition'], /attachment; filename="token-import-errors.csv"/);
  const lines = csv.body.trim().split(/\r?\n/);
  t.equal(lines[0], 'line,upn,serial number,error');
  t.match(lines[1], /^3,zed,TK-101,/);
  t.match(lines[2], /^4,bob,TK-102,/);
  t.match(
    (await logOf(gw, 'alice')).find((e) => e.kind === 'admin'),
    { detail: 'token import by admin alice: 1 imported, 0 unchanged, 2 rows refused' },
  );

  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  t.equal((await bob.get(link!)).status, 403, 'a non-admin cannot download it');

  // The pasted text works too, and re-importing changes nothing.
  const again = await browser.post('/.gateway/admin/tokens/import', { csrf, csv: CSV.split('\n').slice(0, 2).join('\n') });
  t.match(again.body, 'Imported: 0. Already there: 1. Refused: 0.');

  const userPage = await browser.get('/.gateway/admin/user?name=bob');
  t.match(userPage.body, 'Not activated');
  const wrong = await browser.post('/.gateway/admin/user/activate-token', { user: 'bob', serial: 'TK-100', code: '000000', csrf });
  t.equal(wrong.status, 400);
  t.match(wrong.body, 'the code is wrong');
  const code = generateTotp({ secret: base32Decode(TOKEN_SECRET), now: gw.clock.now, period: 30, digits: 6, algorithm: 'sha1' });
  const activated = await browser.post('/.gateway/admin/user/activate-token', { user: 'bob', serial: 'TK-100', code, csrf });
  t.equal(activated.headers.location, '/.gateway/admin/user?name=bob&done=activated');
  t.equal((await gw.store.tokenBySerial('TK-100'))?.active, true);
  t.ok(
    (await logOf(gw, 'bob')).some((e) => e.kind === 'enrollment' && e.outcome === 'success' && /by alice/.test(e.detail)),
    'activation logged with the admin',
  );

  for (let i = 0; i < 55; i++) {
    await gw.store.record({
      kind: 'password',
      user: 'carol',
      clientIp: '198.51.100.7',
      userAgent: 'ua',
      rule: null,
      outcome: i % 5 === 0 ? 'success' : 'denied',
      detail: `attempt ${i}`,
    });
  }
  const first = await browser.get('/.gateway/admin/log?user=carol');
  t.equal((first.body.match(/attempt \d+/g) ?? []).length, 50, 'fifty entries a page');
  t.match(first.body, 'attempt 54');
  const older = /href="(\/\.gateway\/admin\/log\?user=carol&amp;before=\d+)"/.exec(first.body)?.[1];
  t.ok(older, 'a link to older entries');
  const second = await browser.get(older!.replace(/&amp;/g, '&'));
  t.same(second.body.match(/attempt \d+/g), ['attempt 4', 'attempt 3', 'attempt 2', 'attempt 1', 'attempt 0']);
  const denied = await browser.get('/.gateway/admin/log?user=carol&outcome=success&since=24h');
  t.same(denied.body.match(/attempt \d+/g), [
    'attempt 50',
    'attempt 45',
    'attempt 40',
    'attempt 35',
    'attempt 30',
    'attempt 25',
    'attempt 20',
    'attempt 15',
    'attempt 10',
    'attempt 5',
    'attempt 0',
  ]);
  t.match(denied.body, '<option value="success" selected>');
});

t.test("the user page lists the user's sessions and ends one of them, logged with the admin's name", async (t) => {
  const gw = await start(t);
  const bobFirefox = new Browser(gw.port, {
    'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  });
  const secret = await signInWithEnrollment(bobFirefox, gw, 'bob');
  const bobOther = new Browser(gw.port);
  await signInPassword(bobOther, 'bob');
  const sf = await bobOther.get('/.gateway/second-factor');
  gw.clock.now += 30_000;
  await bobOther.post('/.gateway/second-factor', { code: totpCode(secret, gw.clock.now), csrf: field(sf.body, 'csrf') });
  t.equal((await bobOther.get('/app')).status, 200);
  const { browser } = await admin(gw);
  const page = await browser.get('/.gateway/admin/user?name=bob');
  t.match(page.body, 'Firefox on Windows', 'the browser is listed');
  const firefox = (await gw.store.listSessions('bob')).find((s) => s.createdUserAgent.includes('Firefox'))!;
  t.match(page.body, `name="id" value="${firefox.sid}"`, 'an End form per session');
  const csrf = field(page.body, 'csrf');
  t.equal(
    (await browser.post('/.gateway/admin/user/end-session', { user: 'bob', id: firefox.sid, csrf: 'q'.repeat(43) })).status,
    403,
    'a forged form ends nothing',
  );
  t.equal((await bobFirefox.get('/app')).status, 200);
  const ended = await browser.post('/.gateway/admin/user/end-session', { user: 'bob', id: firefox.sid, csrf, confirm: 'yes' });
  t.equal(ended.headers.location, '/.gateway/admin/user?name=bob&done=revoked');
  t.equal((await bobFirefox.get('/app')).status, 302, 'that session is refused at once');
  t.equal((await bobOther.get('/app')).status, 200, "bob's other session goes on");
  t.match((await logOf(gw, 'bob'))[0], {
    kind: 'revocation',
    detail: `session ${firefox.sid.slice(0, 8)} (Firefox on Windows, 127.0.0.1) ended by admin alice`,
  });
  const aliceSid = (await gw.store.listSessions('alice'))[0]!.sid;
  await browser.post('/.gateway/admin/user/end-session', { user: 'bob', id: aliceSid, csrf, confirm: 'yes' });
  t.equal((await gw.store.listSessions('alice')).length, 1, "another user's session id under bob's name ends nothing");
});

// Issue 14, item 5: the admin user page lists security keys and passkeys (model from the
// AAGUID, added, last used, backup state), removes one, and reset-mfa removes them too.
t.test('security keys on the admin user page: listed, removed one by one, and by reset-mfa', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { mfa: { methods: ['totp', 'webauthn'] } });
  const { browser } = await admin(gw);
  const key = (credentialId: string, label: string, aaguid: string, backupEligible: boolean) =>
    gw.store.addCredential(
      {
        user: 'bob',
        credentialId,
        label,
        publicKey: 'pQ',
        signCount: 0,
        transports: ['usb'],
        aaguid,
        backupEligible,
        backedUp: backupEligible,
        discoverable: true,
      },
      5,
    );
  await key('c1', 'Blue key', 'cb69481e-8ff7-4039-93ec-0a2729a154a8', false);
  await key('c2', 'Phone passkey', 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4', true);
  let page = await browser.get('/.gateway/admin/user?name=bob');
  t.equal(page.status, 200);
  t.match(page.body, 'Security keys and passkeys');
  t.match(page.body, /Blue key<\/td><td[^>]*>YubiKey 5 Series<\/td>/);
  t.match(page.body, /Phone passkey<\/td><td[^>]*>Google Password Manager<\/td>/);
  t.match(page.body, 'This device only');
  t.match(page.body, 'Synced passkey');
  const csrf = field(page.body, 'csrf');
  const blue = (await gw.store.listCredentials('bob')).find((k) => k.label === 'Blue key');
  t.equal((await browser.post('/.gateway/admin/user/remove-key', { user: 'bob', id: blue!.id, csrf: 'x'.repeat(43) })).status, 403, 'CSRF');
  const removed = await browser.post('/.gateway/admin/user/remove-key', { user: 'bob', id: blue!.id, csrf, confirm: 'yes' });
  t.equal(removed.headers.location, '/.gateway/admin/user?name=bob&done=key_removed');
  t.same(
    (await gw.store.listCredentials('bob')).map((k) => k.label),
    ['Phone passkey'],
  );
  t.match((await logOf(gw, 'bob'))[0], { kind: 'method_removed', detail: /^webauthn credential .* removed by admin alice \(Blue key\)$/ });
  t.equal((await browser.post('/.gateway/admin/user/remove-key', { user: 'bob', id: blue!.id, csrf, confirm: 'yes' })).status, 404, 'gone');
  page = await browser.get('/.gateway/admin/user?name=bob');
  t.ok(page.body.includes('/.gateway/admin/user/reset-mfa'), 'a user with only a key can be reset');
  const reset = await browser.post('/.gateway/admin/user/reset-mfa', { user: 'bob', csrf, confirm: 'yes' });
  t.equal(reset.headers.location, '/.gateway/admin/user?name=bob&done=reset&n=1');
  t.same(await gw.store.listCredentials('bob'), []);
  t.ok((await logOf(gw, 'bob')).some((e) => /^MFA reset by alice: webauthn credential .* removed \(Phone passkey;/.test(e.detail)));
});
