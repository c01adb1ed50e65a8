// Sign-in against a real OpenLDAP (slapd on loopback, see test/helpers/ldap.ts) through a real
// gateway: directory users, their groups in Remote-Groups and in rules, names in any case
// becoming the directory's spelling, LDAP injection in the user name, disabled and
// must-change accounts, the users file winning on equal names, failover, StartTLS, and a
// directory that goes down (503, nobody let in, signed-in users keep working within the
// cache policy) and comes back.
import t from 'tap';
import type { Test } from 'tap';
import {
  Browser,
  enrollmentSecret,
  field,
  PASSWORDS,
  startTestGateway,
  startUpstream,
  totpCode,
  type Reply,
  type TestGateway,
  type Upstream,
} from '../helpers/gateway.ts';
import { freePort } from '../helpers/net.ts';
import { Attribute, Change, Client } from 'ldapts';
import { LDAP_PASSWORDS, ldapConfig, ROOT_DN, ROOT_PASSWORD, slapdMissing, startSlapd, type Slapd } from '../helpers/ldap.ts';

const MIN = 60_000;

if (slapdMissing) t.plan(0, slapdMissing);

async function setup(t: Test, ldap: Record<string, unknown> = {}, slapdOptions: { tls?: boolean } = {}) {
  const slapd = await startSlapd(t, slapdOptions);
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, {
    users: { ldap: ldapConfig(slapd, ldap) },
    rules: [
      { paths: ['/public/**'], policy: 'bypass' },
      { paths: ['/admin/**'], groups: ['admins'], policy: 'two_factor' },
      { paths: ['/platform/**'], groups: ['platform'], policy: 'two_factor' },
      { paths: ['/**'], policy: 'two_factor' },
    ],
  });
  return { slapd, upstream, gw };
}

async function signIn(browser: Browser, user: string, password: string): Promise<Reply> {
  const form = await browser.get('/.gateway/sign-in');
  return browser.post('/.gateway/sign-in', { username: user, password, csrf: field(form.body, 'csrf') });
}

/** Password, first enrollment, code: a two-factor session for a directory user. */
async function fullSignIn(gw: TestGateway, user: string, password: string): Promise<Browser> {
  const browser = new Browser(gw.port);
  const r = await signIn(browser, user, password);
  if (r.status !== 303) throw new Error(`sign-in of ${user}: ${r.status} ${r.body.slice(0, 300)}`);
  const page = await browser.get('/.gateway/enroll');
  const secret = enrollmentSecret(page.body);
  const done = await browser.post('/.gateway/enroll', { code: totpCode(secret, gw.clock.now), csrf: field(page.body, 'csrf') });
  if (done.status !== 303) throw new Error(`enrollment of ${user}: ${done.status}`);
  return browser;
}

const lastRequest = (u: Upstream) => u.requests[u.requests.length - 1]!;

async function log(gw: TestGateway, user: string): Promise<string[]> {
  return (await gw.store.query({ user, limit: 50 })).reverse().map((e) => `${e.kind} ${e.outcome}: ${e.detail}`);
}

t.test(
  'a directory user signs in; the directory spelling is the name everywhere; groups (nested too) reach the app and the rules',
  async (t) => {
    const { gw, upstream } = await setup(t);
    const alice = await fullSignIn(gw, 'ALICE.smith', LDAP_PASSWORDS['Alice.Smith']!);
    const app = await alice.get('/reports');
    t.equal(app.status, 200);
    const seen = lastRequest(upstream).headers;
    t.equal(seen['remote-user'], 'Alice.Smith', 'canonical spelling from the directory, not as typed');
    t.same(String(seen['remote-groups']).split(',').sort(), ['engineering', 'platform', 'staff'], 'direct and nested groups');
    t.equal(seen['remote-email'], 'alice.smith@example.com');
    t.equal((await alice.get('/platform/x')).status, 200, 'a rule on a nested group lets her in');
    t.equal((await alice.get('/admin/x')).status, 403, 'not in admins');
    t.same(
      (await gw.store.listMethods('alice.smith')).map((m) => m.user),
      ['alice.smith'],
      'methods under the canonical user key',
    );
    t.match((await log(gw, 'Alice.Smith')).join('\n'), /password success: password ok/);

    const bob = await fullSignIn(gw, 'dave2', 'x').catch((e: Error) => e);
    t.ok(bob instanceof Error, 'an unknown user is refused');
  },
);

t.test('wrong password and unknown user look the same and are logged with the reason', async (t) => {
  const { gw } = await setup(t);
  const wrong = await signIn(new Browser(gw.port), 'alice.smith', 'not-her-password');
  const unknown = await signIn(new Browser(gw.port), 'nobody-here', 'whatever');
  t.equal(wrong.status, 401);
  t.equal(unknown.status, 401);
  t.match(wrong.body, /username or password is incorrect/);
  t.match(unknown.body, /username or password is incorrect/);
  t.match((await log(gw, 'Alice.Smith')).join('\n'), /password denied: wrong password/);
  t.match((await log(gw, 'nobody-here')).join('\n'), /password denied: unknown user/);
  const empty = await signIn(new Browser(gw.port), 'alice.smith', '');
  t.equal(empty.status, 400, 'an empty password is never sent as an (unauthenticated) bind');
});

t.test('disabled and must-change accounts', async (t) => {
  const { gw } = await setup(t);
  const carol = await signIn(new Browser(gw.port), 'carol', LDAP_PASSWORDS.carol!);
  t.equal(carol.status, 401, 'pwdAccountLockedTime: disabled, even with the right password');
  t.match((await log(gw, 'carol')).join('\n'), /password denied: user disabled/);
  const dave = await signIn(new Browser(gw.port), 'dave', LDAP_PASSWORDS.dave!);
  t.equal(dave.status, 401);
  t.match(dave.body, /must be changed before you can use it/, 'a clear message, reached only with the right password');
  const daveWrong = await signIn(new Browser(gw.port), 'dave', 'wrong');
  t.match(daveWrong.body, /username or password is incorrect/, 'a wrong password learns nothing about the account');
});

t.test('a users-file user with the same name wins (break-glass accounts)', async (t) => {
  const { gw, upstream } = await setup(t);
  // bob is in the users file and in the directory.
  const byDirectory = await signIn(new Browser(gw.port), 'bob', LDAP_PASSWORDS.bob!);
  t.equal(byDirectory.status, 401, "the directory's password of a file user's name is refused");
  const b = await fullSignIn(gw, 'bob', PASSWORDS.bob!);
  t.equal((await b.get('/reports')).status, 200);
  t.equal(lastRequest(upstream).headers['remote-groups'], 'users', "the file's groups, not the directory's (staff, admins)");
  t.equal((await b.get('/admin/x')).status, 403);
});

// Each name is tried with the password of the user it tries to reach; none may sign anyone in.
const INJECTION_CORPUS: ReadonlyArray<[string, string]> = [
  ['*', 'Alice.Smith'],
  ['a*', 'admin'],
  ['*)(uid=*', 'admin'],
  [')(uid=*', 'admin'],
  ['admin)(|(uid=*', 'admin'],
  ['admin)(uid=admin', 'admin'],
  ['admin)(&', 'admin'],
  ['*)(|(objectClass=*', 'admin'],
  ['admin\\', 'admin'],
  ['admin\\2a', 'admin'],
  ['\\2a', 'admin'],
  ['ad\\6din', 'admin'],
  ['admin\u0000', 'admin'],
  ['\u0000', 'admin'],
  ['admin\\00', 'admin'],
  ['(admin)', 'admin'],
  ['admin)', 'admin'],
  ['ad\tmin', 'admin'],
  ['ADMIN*', 'admin'],
  ['ad min', 'admin'],
  ['ａdmin', 'admin'],
  ['weird*', 'weird)(uid=*'],
  ['weird)(uid=', 'weird)(uid=*'],
  ['Zoe', 'Zoë'],
  ['a'.repeat(300), 'admin'],
  [`admin${')'.repeat(200)}`, 'admin'],
];

t.test('LDAP injection: a user name cannot change the filter', async (t) => {
  const { gw } = await setup(t);
  for (const [name, target] of INJECTION_CORPUS) {
    const browser = new Browser(gw.port);
    const r = await signIn(browser, name, LDAP_PASSWORDS[target]!);
    t.equal(r.status, 401, `${JSON.stringify(name.slice(0, 40))} with ${target}'s password is refused`);
    t.equal((await browser.get('/reports')).status, 302, 'no session: the app sends to sign-in');
  }
  // The names themselves are data: the user literally named so, and a non-ASCII name, sign in.
  const weird = await signIn(new Browser(gw.port), 'weird)(uid=*', LDAP_PASSWORDS['weird)(uid=*']!);
  t.equal(weird.status, 303, 'the user whose name looks like an injection signs in with their own password');
  const zoe = await signIn(new Browser(gw.port), 'zoË', LDAP_PASSWORDS.Zoë!);
  t.equal(zoe.status, 303, 'a non-ASCII name in another case');
  t.match((await log(gw, 'Zoë')).join('\n'), /password success/);
});

t.test('failover: a dead first URL, then the live one', async (t) => {
  const slapd = await startSlapd(t);
  const dead = `ldap://127.0.0.1:${await freePort()}`;
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, { users: { ldap: ldapConfig(slapd, { url: [dead, slapd.url] }) } });
  const r = await signIn(new Browser(gw.port), 'alice.smith', LDAP_PASSWORDS['Alice.Smith']!);
  t.equal(r.status, 303);
  const again = await signIn(new Browser(gw.port), 'bob2', 'x');
  t.equal(again.status, 401, 'answers still come (the dead URL is now tried last)');
});

t.test('StartTLS and ldaps:// with a test CA; an untrusted certificate is never used', async (t) => {
  const slapd = await startSlapd(t, { tls: true });
  const upstream = await startUpstream(t);
  for (const [what, ldap] of [
    ['StartTLS', { start_tls: true, tls: { ca_file: slapd.caFile } }],
    ['ldaps', { url: slapd.ldapsUrl, tls: { ca_file: slapd.caFile, min_version: 'TLSv1.3' } }],
  ] as const) {
    const gw = await startTestGateway(t, upstream, { users: { ldap: ldapConfig(slapd, ldap) } });
    const r = await signIn(new Browser(gw.port), 'alice.smith', LDAP_PASSWORDS['Alice.Smith']!);
    t.equal(r.status, 303, `${what}: signs in`);
  }
  const untrusted = await startTestGateway(t, upstream, { users: { ldap: ldapConfig(slapd, { start_tls: true }) } });
  const r = await signIn(new Browser(untrusted.port), 'alice.smith', LDAP_PASSWORDS['Alice.Smith']!);
  t.equal(r.status, 503, 'the system CAs do not know the test CA: no connection, sign-in unavailable');
  const wrongName = await startTestGateway(t, upstream, {
    users: { ldap: ldapConfig(slapd, { start_tls: true, tls: { ca_file: slapd.caFile, server_name: 'ldap.example.com' } }) },
  });
  t.equal(
    (await signIn(new Browser(wrongName.port), 'alice.smith', LDAP_PASSWORDS['Alice.Smith']!)).status,
    503,
    'a certificate for another name is refused',
  );
});

t.test(
  'directory down: 503 within the timeout, nobody let in, signed-in users keep working within the grace; back: all works again',
  async (t) => {
    const { gw, slapd, upstream } = await setup(t, { timeout: '1s', cache_ttl: '5m', outage_grace: '1h' });
    const alice = await fullSignIn(gw, 'alice.smith', LDAP_PASSWORDS['Alice.Smith']!);
    await slapd.stop();

    const started = Date.now();
    const refused = await signIn(new Browser(gw.port), 'Alice.Smith', LDAP_PASSWORDS['Alice.Smith']!);
    t.equal(refused.status, 503, 'sign-in is unavailable');
    t.match(refused.body, /Sign-in is unavailable right now/);
    t.ok(Date.now() - started < 5000, 'answered within the timeout');
    t.equal(refused.headers['retry-after'], '30');
    t.match((await log(gw, 'Alice.Smith')).join('\n'), /password denied: directory unavailable/);
    // The users file still works while the directory is down: break-glass.
    t.equal((await signIn(new Browser(gw.port), 'alice', PASSWORDS.alice!)).status, 303, 'a users-file user signs in');

    t.equal((await alice.get('/reports')).status, 200, 'a signed-in directory user keeps working');
    gw.clock.now += 10 * MIN;
    t.equal((await alice.get('/reports')).status, 200, 'past cache_ttl: the last entry, while the directory is down');
    // Active within the idle timeout, while the directory stays down past cache_ttl + outage_grace.
    for (let i = 0; i < 5; i++) {
      gw.clock.now += 10 * MIN;
      t.equal((await alice.get('/reports')).status, 200, `${20 + i * 10} minutes: within outage_grace`);
    }
    gw.clock.now += 10 * MIN;
    const stale = await alice.get('/reports');
    t.equal(stale.status, 503, 'past cache_ttl + outage_grace: fails closed');
    const before = upstream.requests.length;

    await slapd.start();
    t.equal(upstream.requests.length, before, 'nothing reached the app while refused');
    const back = await alice.get('/reports');
    t.equal(back.status, 200, 'the directory is back: the session works again');
    const fresh = await signIn(new Browser(gw.port), 'alice.smith', LDAP_PASSWORDS['Alice.Smith']!);
    t.equal(fresh.status, 303, 'and sign-in too');
  },
);

t.test('a directory user unknown to this gateway (another instance, a restart) with a valid session is looked up once', async (t) => {
  const { gw, upstream } = await setup(t);
  const alice = await fullSignIn(gw, 'alice.smith', LDAP_PASSWORDS['Alice.Smith']!);
  // A second gateway on the same store and secret has never seen Alice.
  const { loadConfig } = await import('../../src/config/load.ts');
  const { startGateway } = await import('../../src/server/gateway.ts');
  const loaded = await loadConfig(`${gw.dir}/gateway.yaml`, {});
  if (!loaded.ok) throw new Error('config');
  const other = await startGateway({ config: loaded.config, clock: () => gw.clock.now, listen: { host: '127.0.0.1', port: 0 } });
  t.teardown(() => other.close());
  const port = (other.server.address() as { port: number }).port;
  const there = new Browser(port);
  for (const [k, v] of alice.cookies) there.cookies.set(k, v);
  const r = await there.get('/reports');
  t.equal(r.status, 200);
  t.same(String(lastRequest(upstream).headers['remote-groups']).split(',').sort(), ['engineering', 'platform', 'staff']);
});

t.test('a group change and a disabled account apply within cache_ttl, without a directory call per request', async (t) => {
  const { gw, slapd } = await setup(t, { cache_ttl: '2m' });
  const alice = await fullSignIn(gw, 'alice.smith', LDAP_PASSWORDS['Alice.Smith']!);
  t.equal((await alice.get('/platform/x')).status, 200);
  await asRoot(slapd, async (c) => {
    await c.modify('cn=engineering,ou=groups,dc=example,dc=com', [
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'member', values: ['uid=bob,ou=people,dc=example,dc=com'] }),
      }),
    ]);
  });
  t.equal((await alice.get('/platform/x')).status, 200, 'within cache_ttl: the entry read at sign-in');
  gw.clock.now += 3 * MIN;
  await alice.get('/reports'); // starts the background read
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await alice.get('/platform/x')).status, 403, 'after cache_ttl: out of platform');
  await asRoot(slapd, (c) =>
    c.modify('uid=Alice.Smith,ou=people,dc=example,dc=com', [
      new Change({ operation: 'add', modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['000001010000Z'] }) }),
    ]),
  );
  gw.clock.now += 3 * MIN;
  await alice.get('/reports');
  await new Promise((r) => setTimeout(r, 300));
  t.not((await alice.get('/reports')).status, 200, 'disabled in the directory: the session ends');
});

async function asRoot(slapd: Slapd, work: (c: Client) => Promise<unknown>): Promise<void> {
  const c = new Client({ url: slapd.url });
  await c.bind(ROOT_DN, ROOT_PASSWORD);
  try {
    await work(c);
  } finally {
    await c.unbind();
  }
}

t.test('HTTP Basic with a directory password; 503 while the directory is down', async (t) => {
  const slapd = await startSlapd(t);
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, {
    users: { ldap: ldapConfig(slapd, { timeout: '1s' }) },
    mfa: { app_passwords: { enabled: true } },
    rules: [
      { paths: ['/dav/**'], policy: 'one_factor', app_passwords: true },
      { paths: ['/**'], policy: 'two_factor' },
    ],
  });
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  const ok = await new Browser(gw.port).get('/dav/x', basic('alice.smith', LDAP_PASSWORDS['Alice.Smith']!));
  t.equal(ok.status, 200);
  t.equal(lastRequest(upstream).headers['remote-user'], 'Alice.Smith');
  t.equal((await new Browser(gw.port).get('/dav/x', basic('alice.smith', 'wrong'))).status, 401);
  t.equal((await new Browser(gw.port).get('/dav/x', basic('*', LDAP_PASSWORDS['Alice.Smith']!))).status, 401);
  await slapd.stop();
  t.equal(
    (await new Browser(gw.port).get('/dav/x', basic('bob.other', 'x'))).status,
    503,
    'a directory that is down is a 503, not a wrong password',
  );
});

t.test('admin pages: a directory user is shown read-only, and make-admin is refused for them', async (t) => {
  const { gw } = await setup(t);
  const admin = await fullSignIn(gw, 'alice', PASSWORDS.alice!);
  const directoryUser = await admin.get('/.gateway/admin/user?name=carol');
  t.equal(directoryUser.status, 200);
  t.match(directoryUser.body, 'comes from the company directory or the identity provider', 'marked as managed elsewhere');
  t.notMatch(directoryUser.body, '/.gateway/admin/user/make-admin', 'no make-admin button for a directory user');
  const refused = await admin.post('/.gateway/admin/user/make-admin', { user: 'carol', csrf: field(directoryUser.body, 'csrf') });
  t.equal(refused.status, 400, 'make-admin of a directory user is refused');
  t.match(refused.body, 'is not in the users file');
  const fileUser = await admin.get('/.gateway/admin/user?name=bob');
  t.notMatch(fileUser.body, 'comes from the company directory', 'a users-file user is not marked');
  t.match(fileUser.body, '/.gateway/admin/user/make-admin', 'and can be made an admin');
});
