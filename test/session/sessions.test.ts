// Sessions through a real gateway: a new cookie at every change of level, revocation that
// ends copied cookies at once, timeouts on a frozen clock, and bad cookies that send the
// user to sign in instead of failing.
import t from 'tap';
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
} from '../helpers/gateway.ts';

const SESSION = 'mfa_gateway_session';

t.test('the session cookie changes after the password and after the second factor', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const browser = new Browser(gw.port);
  // A cookie planted before sign-in (session fixation) is replaced, never promoted.
  browser.cookies.set(SESSION, 'planted-by-attacker');
  await signInPassword(browser, 'bob');
  const afterPassword = browser.cookies.get(SESSION);
  t.ok(afterPassword && afterPassword !== 'planted-by-attacker', 'a new cookie after the password');

  const enroll = await browser.get('/.gateway/enroll');
  const secret = /<code class="secret">(.*?)<\/code>/s.exec(enroll.body)![1]!.replace(/<[^>]+>|\s/g, '');
  await browser.post('/.gateway/enroll', { code: totpCode(secret, gw.clock.now), csrf: field(enroll.body, 'csrf') });
  const afterSecond = browser.cookies.get(SESSION);
  t.ok(afterSecond && afterSecond !== afterPassword, 'a new cookie after the second factor');

  const copy = new Browser(gw.port);
  copy.cookies.set(SESSION, afterPassword!);
  const withOld = await copy.get('/app');
  t.equal(withOld.status, 302, 'the password-level cookie still needs the second factor');
  t.match(pathOf(withOld.headers.location), /second-factor/);
});

t.test('a cookie copied before "sign out everywhere" stops working at once', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'alice');
  const stolen = new Browser(gw.port);
  stolen.cookies.set(SESSION, browser.cookies.get(SESSION)!);
  t.equal((await stolen.get('/app')).status, 200, 'the copied cookie works before');

  gw.clock.now += 1000;
  const account = await browser.get('/.gateway/account');
  t.equal(account.status, 200);
  const done = await browser.post('/.gateway/account/sign-out-everywhere', { csrf: field(account.body, 'csrf') });
  t.equal(done.status, 200);

  const after = await stolen.get('/app');
  t.equal(after.status, 302, 'the copied cookie is refused on the next request');
  t.match(pathOf(after.headers.location), /^\/\.gateway\/sign-in/);

  // Signing in again afterwards works: only sessions issued before the revocation end.
  gw.clock.now += 1000;
  const again = new Browser(gw.port);
  await signInPassword(again, 'alice');
  const code = await again.get('/.gateway/second-factor');
  t.equal(code.status, 200, 'a fresh sign-in reaches the code page');
});

t.test('a store revocation made elsewhere (the CLI, another gateway) ends sessions within a poll', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'bob');
  t.equal((await browser.get('/app')).status, 200);
  gw.clock.now += 1000;
  await gw.store.revokeSessions('BOB');
  await gw.revocations.refresh();
  t.equal((await browser.get('/app')).status, 302, 'refused after the view refreshed');
});

t.test('tampered, foreign and expired cookies send the user to sign in, never a 500', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, {
    session: { secret: 'another-secret-that-is-also-long-enough-42', idle_timeout: '30m', absolute_timeout: '2h' },
  });
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'bob');
  const good = browser.cookies.get(SESSION)!;
  const variants = {
    'flipped character': good.slice(0, 40) + (good[40] === 'A' ? 'B' : 'A') + good.slice(41),
    truncated: good.slice(0, good.length - 10),
    garbage: 'Fe26.2*1*garbage',
    empty: '',
    'huge value': 'x'.repeat(3000),
  };
  for (const [name, value] of Object.entries(variants)) {
    const b = new Browser(gw.port);
    b.cookies.set(SESSION, value);
    const reply = await b.get('/app');
    t.equal(reply.status, 302, `${name}: redirected`);
    t.match(pathOf(reply.headers.location), /^\/\.gateway\/sign-in/, `${name}: to sign in`);
    const portal = await b.get('/.gateway/sign-in');
    t.equal(portal.status, 200, `${name}: the sign-in page renders`);
  }

  t.equal((await browser.get('/app')).status, 200, 'still valid within the idle timeout');
  gw.clock.now += 31 * 60_000;
  t.equal((await browser.get('/app')).status, 302, 'idle timeout ends the session');

  const active = new Browser(gw.port);
  await signInWithEnrollment(active, gw, 'alice');
  for (let i = 0; i < 4; i++) {
    gw.clock.now += 25 * 60_000;
    t.equal((await active.get('/app')).status, 200, `active at ${(i + 1) * 25} minutes: the idle clock moves`);
  }
  gw.clock.now += 25 * 60_000;
  t.equal((await active.get('/app')).status, 302, 'absolute timeout ends even an active session');
});

t.test('remembered browsers skip the code until they are forgotten', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const browser = new Browser(gw.port);
  const secret = await signInWithEnrollment(browser, gw, 'bob');
  await browser.post('/.gateway/sign-out', { csrf: field((await browser.get('/.gateway/account')).body, 'csrf') });

  gw.clock.now += 60_000;
  await signInPassword(browser, 'bob');
  const codePage = await browser.get('/.gateway/second-factor');
  const remembered = await browser.post('/.gateway/second-factor', {
    code: totpCode(secret, gw.clock.now),
    remember: '1',
    csrf: field(codePage.body, 'csrf'),
  });
  t.equal(remembered.status, 303);
  t.ok(browser.cookies.get(`${SESSION}_device`), 'a remember-device cookie is set');
  t.match(String(remembered.headers['set-cookie']), /mfa_gateway_session_device=[^;]+;.*Max-Age=\d+/, 'persistent');

  gw.clock.now += 60_000;
  const account = await browser.get('/.gateway/account');
  await browser.post('/.gateway/sign-out', { csrf: field(account.body, 'csrf') });
  const third = await signInPassword(browser, 'bob');
  t.equal(third.status, 303);
  t.equal((await browser.get('/app')).status, 200, 'password only: the browser is remembered');

  const other = new Browser(gw.port);
  other.cookies.set(`${SESSION}_device`, browser.cookies.get(`${SESSION}_device`)!);
  await signInPassword(other, 'alice');
  t.equal((await other.get('/app')).status, 302, "bob's remembered browser does not skip alice's code");

  gw.clock.now += 60_000;
  // The account page shows the remembered browser and forgets it on request.
  const bobAccount = new Browser(gw.port);
  await signInPassword(bobAccount, 'bob');
  const verify = await bobAccount.get('/.gateway/second-factor');
  gw.clock.now += 30_000;
  await bobAccount.post('/.gateway/second-factor', { code: totpCode(secret, gw.clock.now), csrf: field(verify.body, 'csrf') });
  const before = await bobAccount.get('/.gateway/account');
  t.match(before.body, /action="\/\.gateway\/account\/forget-browsers"/, 'the forget button is shown while a browser is remembered');
  const forgot = await bobAccount.post('/.gateway/account/forget-browsers', { csrf: field(before.body, 'csrf') });
  t.equal(forgot.status, 200);
  t.notMatch(forgot.body, /action="\/\.gateway\/account\/forget-browsers"/, 'none left to forget');
  const fresh = new Browser(gw.port);
  fresh.cookies.set(`${SESSION}_device`, browser.cookies.get(`${SESSION}_device`)!);
  await signInPassword(fresh, 'bob');
  t.equal((await fresh.get('/app')).status, 302, 'after "forget remembered browsers" the code is asked again');
});

t.test('the return URL never leaves the protected hosts', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, {
    rules: [
      { hosts: ['app.example.com', '*.corp.example.com'], paths: ['/**'], policy: 'two_factor' },
      { paths: ['/**'], policy: 'two_factor' },
    ],
  });
  const corpus = [
    '//evil.example',
    '/\\evil.example',
    '/%09/evil.example',
    '/\t/evil.example',
    'https://app.example.com.evil.example/',
    'https://evil.example/app.example.com',
    'https://app.example.com@evil.example/',
    'https://user:pw@app.example.com/',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'http:evil.example',
    'https:/\\evil.example',
    '\\\\evil.example',
    'https://corp.example.com/',
    'ftp://app.example.com/',
  ];
  // bob has no method yet, so the password step sends him to first enrollment first; the
  // return URL it carries there is where he lands afterwards, so that is what must be safe.
  const destination = (reply: { headers: { location?: string } }): URL => {
    const location = new URL(reply.headers.location!, 'http://gateway.test/');
    if (location.pathname !== '/.gateway/enroll') return location;
    const rd = location.searchParams.get('rd');
    return new URL(rd ?? '/', 'http://gateway.test/');
  };
  for (const rd of corpus) {
    const browser = new Browser(gw.port);
    const reply = await signInPassword(browser, 'bob', undefined, rd);
    t.equal(reply.status, 303, `${JSON.stringify(rd)}: signed in`);
    const location = destination(reply);
    t.ok(
      ['gateway.test', 'app.example.com'].includes(location.hostname) || location.hostname.endsWith('.corp.example.com'),
      `${JSON.stringify(rd)} stays on a protected host (went to ${location.href})`,
    );
    t.match(location.protocol, /^https?:$/, `${JSON.stringify(rd)}: http(s) only`);
    if (location.hostname !== 'gateway.test')
      t.fail(`${JSON.stringify(rd)} should have fallen back to the default page, went to ${location.href}`);
  }
  for (const rd of ['https://app.example.com/reports?q=1', 'http://gateway.test/x', 'https://a.b.corp.example.com/', '/local/path?x=1']) {
    const browser = new Browser(gw.port);
    const reply = await signInPassword(browser, 'bob', undefined, rd);
    t.equal(destination(reply).href, new URL(rd, 'http://gateway.test/').href, `${rd} is honored`);
  }
});

t.test('every form refuses a missing or foreign CSRF token', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const victim = new Browser(gw.port);
  await victim.get('/.gateway/sign-in');
  // Login CSRF: an attacker's token (from the attacker's own browser) does not work in the victim's.
  const attacker = new Browser(gw.port);
  const attackerForm = await attacker.get('/.gateway/sign-in');
  const forged = await victim.post('/.gateway/sign-in', {
    username: 'bob',
    password: 'bob-test-password',
    csrf: field(attackerForm.body, 'csrf'),
  });
  t.equal(forged.status, 400, 'foreign token refused');
  t.notOk(victim.cookies.get(SESSION), 'no session from a forged sign-in');
  const missing = await victim.post('/.gateway/sign-in', { username: 'bob', password: 'bob-test-password' });
  t.equal(missing.status, 400);
  const crossOrigin = await victim.post(
    '/.gateway/sign-in',
    { username: 'bob', password: 'bob-test-password', csrf: 'x' },
    { origin: 'https://evil.example' },
  );
  t.equal(crossOrigin.status, 403, 'a cross-origin POST is refused outright');

  await signInWithEnrollment(victim, gw, 'bob');
  const other = new Browser(gw.port);
  await signInWithEnrollment(other, gw, 'alice');
  const otherAccount = await other.get('/.gateway/account');
  const revoke = await victim.post('/.gateway/account/sign-out-everywhere', { csrf: field(otherAccount.body, 'csrf') });
  t.equal(revoke.status, 403, "another session's token does not work");
  t.equal((await victim.get('/app')).status, 200, 'nothing was revoked');
});

t.test('a client that never stores the refreshed cookie gets the same one again, not a new seal per request', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'bob');
  const stale = browser.cookies.get(SESSION)!;
  gw.clock.now += 10 * 60_000; // past the refresh interval (a quarter of the 30-minute idle timeout), within the timeout
  const script = () => send(gw.port, '/app', { headers: { cookie: `${SESSION}=${stale}` } });
  const sequential = [];
  for (let i = 0; i < 3; i++) sequential.push(await script());
  const parallel = await Promise.all(Array.from({ length: 10 }, script));
  const issued = new Set(
    [...sequential, ...parallel].map((r) => {
      t.equal(r.status, 200);
      return String(r.headers['set-cookie']);
    }),
  );
  t.equal(issued.size, 1, 'one refreshed cookie for the one stale cookie');
  t.match([...issued][0], new RegExp(`^${SESSION}=Fe26`), 'and it is a session cookie');
});

t.test('the same stale cookie gets the same refreshed cookie for one refresh interval, then a new one', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'bob');
  const stale = browser.cookies.get(SESSION)!;
  const script = async () => {
    const r = await send(gw.port, '/app', { headers: { cookie: `${SESSION}=${stale}` } });
    t.equal(r.status, 200);
    return String(r.headers['set-cookie']);
  };
  gw.clock.now += 10 * 60_000; // past the refresh interval (7.5 minutes), within the 30-minute idle timeout
  const first = await script();
  gw.clock.now += 7 * 60_000;
  t.equal(await script(), first, 'the same one within the interval');
  gw.clock.now += 60_000;
  const next = await script();
  t.not(next, first, 'a new one after it, its idle clock starting now');
  t.match(next, new RegExp(`^${SESSION}=Fe26`));
});
