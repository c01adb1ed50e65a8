// App passwords over HTTP Basic through a real gateway with a real SQLite store: created on
// the account's app-password page, accepted on rules with app_passwords: true and nowhere
// else, the account password refused there once an app password exists, revocation and
// blocks effective within a second (also when another process changes the store), the
// password lockout, and the sign-in log.
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { openStore } from '../../src/store/index.ts';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';
import { blockUser } from '../../src/regulation/block.ts';
import {
  Browser,
  PASSWORDS,
  field,
  send,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  type TestGateway,
  type Upstream,
} from '../helpers/gateway.ts';

const RULES = [
  { paths: ['/public/**'], policy: 'bypass' },
  { name: 'dav', paths: ['/dav/**'], app_passwords: true, policy: 'two_factor' },
  { name: 'mail', paths: ['/mail/**'], app_passwords: true, policy: 'one_factor' },
  { paths: ['/**'], policy: 'two_factor' },
];

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function start(t: Test, extra: Record<string, unknown> = {}): Promise<{ gw: TestGateway; up: Upstream }> {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, up, {
    rules: RULES,
    mfa: {
      app_passwords: { enabled: true },
      password_lockout: { denials: 3, counter_reset_minutes: 10, auto_unblock_minutes: 15 },
      ...extra,
    },
  });
  return { gw, up };
}

/** Signs bob in with the second factor and creates an app password; returns it as shown. */
async function createAppPassword(
  gw: TestGateway,
  name: string,
  browser = new Browser(gw.port),
): Promise<{ password: string; browser: Browser }> {
  if (!browser.cookies.size) await signInWithEnrollment(browser, gw, 'bob');
  const page = await browser.get('/.gateway/account/app-passwords');
  if (page.status !== 200) throw new Error(`app password page: ${page.status}`);
  const created = await browser.post('/.gateway/account/app-passwords', { name, csrf: field(page.body, 'csrf') });
  const m = /<code class="secret" id="new-app-password">([a-z ]+)<\/code>/.exec(created.body);
  if (created.status !== 200 || !m) throw new Error(`creation failed: ${created.status}`);
  return { password: m[1]!, browser };
}

const log = async (gw: TestGateway, user: string) => (await gw.store.query({ user, limit: 100 })).filter((e) => e.kind === 'app_password');

t.test('a rule with app_passwords answers 401 with a Basic challenge to clients that cannot sign in', async (t) => {
  const { gw } = await start(t);
  const api = await send(gw.port, '/dav/calendar', { headers: { accept: '*/*' } });
  t.equal(api.status, 401);
  t.equal(api.headers['www-authenticate'], 'Basic realm="gateway.test", charset="UTF-8"');
  t.notOk(api.headers.location, 'not a redirect');
  const wrong = await send(gw.port, '/dav/calendar', { headers: { authorization: basic('bob', 'nope') } });
  t.equal(wrong.status, 401, 'wrong credentials: a challenge again');
  t.ok(wrong.headers['www-authenticate']);
  const nav = await send(gw.port, '/dav/calendar', { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
  t.equal(nav.status, 302, 'a browser navigation still goes to the sign-in page');
  const other = await send(gw.port, '/wiki/page', { headers: { authorization: basic('bob', PASSWORDS.bob!), accept: '*/*' } });
  t.equal(other.status, 302, 'a rule without app_passwords ignores Basic and answers as usual');
  t.notOk(other.headers['www-authenticate']);
  const otherPost = await send(gw.port, '/wiki/page', { method: 'POST', headers: { authorization: basic('bob', PASSWORDS.bob!) } });
  t.equal(otherPost.status, 401);
  t.notOk(otherPost.headers['www-authenticate'], 'the usual JSON 401, no Basic challenge');
});

t.test('the account password works over Basic until the first app password, and only as a first factor', async (t) => {
  const { gw, up } = await start(t);
  const mail = await send(gw.port, '/mail/inbox', { headers: { authorization: basic('BOB', PASSWORDS.bob!) } });
  t.equal(mail.status, 200, 'one_factor rule: the account password is enough');
  const seen = up.requests.at(-1)!;
  t.equal(seen.headers['remote-user'], 'bob');
  t.notOk(seen.headers.authorization, 'the credentials are not passed to the app');
  const dav = await send(gw.port, '/dav/calendar', { headers: { authorization: basic('bob', PASSWORDS.bob!) } });
  t.equal(dav.status, 401, 'two_factor rule: the account password is not a second factor');
  t.match(
    (await log(gw, 'bob')).map((e) => e.detail),
    [/account password accepted over HTTP Basic/],
  );

  const { password } = await createAppPassword(gw, 'Thunderbird');
  t.match(password, /^[a-z]{4}( [a-z]{4}){4}$/, 'shown in groups of four');
  const refused = await send(gw.port, '/mail/inbox', { headers: { authorization: basic('bob', PASSWORDS.bob!) } });
  t.equal(refused.status, 401, 'once an app password exists the account password is refused, cached or not');
  t.ok(refused.headers['www-authenticate']);
  const entries = await log(gw, 'bob');
  t.match(entries[0], { outcome: 'denied', detail: 'account password refused: the user has created app passwords', rule: 'mail' });

  for (const form of [password, password, password.replace(/ /g, '').toUpperCase()]) {
    const ok = await send(gw.port, '/dav/calendar', { headers: { authorization: basic('bob', form) } });
    t.equal(
      ok.status,
      200,
      `the app password passes the two_factor rule (${form === password ? 'as shown' : 'without spaces, in capitals'})`,
    );
  }
  t.equal(up.requests.at(-1)!.headers['remote-user'], 'bob');
  t.notOk(up.requests.at(-1)!.headers.authorization);
  const successes = (await log(gw, 'bob')).filter((e) => e.outcome === 'success' && e.detail.endsWith('accepted'));
  t.equal(successes.length, 2, 'logged once per verification: the repeated header came from the cache');
  t.match(successes[0], { detail: 'app password "Thunderbird" accepted', clientIp: '127.0.0.1', rule: 'dav' });
});

t.test('the app password page lists, and revocation stops the password at once', async (t) => {
  const { gw } = await start(t);
  const { password, browser } = await createAppPassword(gw, 'Phone mail');
  const header = { authorization: basic('bob', password) };
  t.equal((await send(gw.port, '/dav/x', { headers: header })).status, 200);
  t.match(
    (await browser.get('/.gateway/account')).body,
    '<a href="/.gateway/account/app-passwords">App passwords for mail and other programs</a>',
    'linked from the account page',
  );
  const page = await browser.get('/.gateway/account/app-passwords');
  t.match(page.body, 'Phone mail');
  t.notMatch(page.body, password, 'never shown again');
  const id = field(page.body.slice(page.body.indexOf('name="id"') - 200), 'id');
  const bad = await browser.post('/.gateway/account/app-passwords/revoke', { id, csrf: 'x'.repeat(43) });
  t.equal(bad.status, 403, 'CSRF refused');
  const revoked = await browser.post('/.gateway/account/app-passwords/revoke', { id, csrf: field(page.body, 'csrf') });
  t.equal(revoked.status, 303);
  t.equal((await send(gw.port, '/dav/x', { headers: header })).status, 401, 'the cached verification is gone with the revocation');
  const after = await browser.get('/.gateway/account/app-passwords?done=revoked');
  t.match(after.body, 'You have no app passwords.');
  t.ok(
    (await log(gw, 'bob')).some((e) => /app password "Phone mail" revoked/.test(e.detail)),
    'the revocation is logged',
  );
});

t.test('a revocation or a block from another process takes effect within a second', async (t) => {
  const { gw } = await start(t);
  const { password, browser } = await createAppPassword(gw, 'Mail');
  const second = await createAppPassword(gw, 'Calendar', browser);
  const other = await openStore(
    { sqlite: { path: join(gw.dir, 'gateway.db') }, previous_encryption_keys: [] },
    { clock: () => gw.clock.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  t.teardown(() => other.close());

  const until401 = async (authorization: string): Promise<number> => {
    const start = performance.now();
    for (;;) {
      const r = await send(gw.port, '/dav/x', { headers: { authorization } });
      if (r.status === 401) return performance.now() - start;
      if (performance.now() - start > 3000) return Infinity;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  const h1 = basic('bob', password);
  t.equal((await send(gw.port, '/dav/x', { headers: { authorization: h1 } })).status, 200, 'verified and cached');
  const id = (await other.listAppPasswords('bob')).find((p) => p.name === 'Mail')!.id;
  await other.revokeAppPassword('bob', id);
  t.ok((await until401(h1)) < 1000, 'revoked in another process: refused within a second');

  const h2 = basic('bob', second.password);
  t.equal((await send(gw.port, '/dav/x', { headers: { authorization: h2 } })).status, 200);
  await blockUser(other, 'bob', { reason: 'laptop stolen', days: 1, actor: 'test' });
  t.ok((await until401(h2)) < 1000, 'blocked in another process: refused within a second');
  await gw.revocations.refresh();
  const denied = await send(gw.port, '/dav/x', { headers: { authorization: h2 } });
  t.equal(denied.status, 401);
  t.match((await log(gw, 'bob'))[0], { outcome: 'denied', detail: /^blocked until / });
});

t.test('Basic attempts are regulated by the password lockout', async (t) => {
  const { gw } = await start(t);
  const { password } = await createAppPassword(gw, 'Mail');
  for (let i = 0; i < 2; i++)
    t.equal((await send(gw.port, '/dav/x', { headers: { authorization: basic('bob', `wrong-${i}`) } })).status, 401);
  const locking = await send(gw.port, '/dav/x', { headers: { authorization: basic('bob', 'wrong-2') } });
  t.equal(locking.status, 429, 'the denial that locks answers 429 with Retry-After');
  t.equal(locking.headers['retry-after'], String(15 * 60));
  const locked = await send(gw.port, '/dav/x', { headers: { authorization: basic('bob', password) } });
  t.equal(locked.status, 429, 'the right app password is refused while the account is locked, like a wrong one');
  const entries = await log(gw, 'bob');
  t.match(entries[0]!.detail, /^locked out until /);
  t.match(entries[1]!.detail, /^wrong password or app password; locked out until /, 'the third denial locks');
  gw.clock.now += 16 * 60_000;
  t.equal(
    (await send(gw.port, '/dav/x', { headers: { authorization: basic('bob', password) } })).status,
    200,
    'works again once the lock lifts',
  );
  const unknown = await send(gw.port, '/dav/x', { headers: { authorization: basic('nobody', password) } });
  t.equal(unknown.status, 401);
  t.match((await log(gw, 'nobody'))[0], { outcome: 'denied', detail: 'unknown user' });
});

t.test('with mfa.app_passwords.enabled off, Basic is ignored and the page does not exist', async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, up, { rules: RULES });
  const r = await send(gw.port, '/mail/inbox', { headers: { authorization: basic('bob', PASSWORDS.bob!) } });
  t.equal(r.status, 302, 'the usual redirect to the sign-in page');
  t.notOk(r.headers['www-authenticate']);
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'bob');
  t.equal((await browser.get('/.gateway/account/app-passwords')).status, 404);
  t.notMatch((await browser.get('/.gateway/account')).body, 'app-passwords', 'no link from the account page');
});
