// Issue 13 item 1: step-up per rule (`mfa_max_age`). A rule may ask for a code entered in this
// session within a time (15m), or for a code at every new visit (0, kept for the rule's
// `step_up_grant`). Neither a remembered browser nor a trusted network skips it, on the proxy,
// on forward-auth and on WebSocket upgrades; the rule next to it stays as it was.
import t from 'tap';
import {
  Browser,
  field,
  pathOf,
  send,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  totpCode,
  type TestGateway,
} from '../helpers/gateway.ts';
import { handshakeStatus, startEchoUpstream } from '../helpers/websocket.ts';

const TRUSTED = '127.0.0.3'; // in the test gateway's trusted_ips
const PROXY = '127.0.0.2'; // in its trusted_proxies

const rules = [
  { name: 'admin', paths: ['/admin/**'], policy: 'two_factor', mfa_max_age: 0 },
  { name: 'billing', paths: ['/billing/**'], policy: 'two_factor', mfa_max_age: '15m' },
  { paths: ['/**'], policy: 'two_factor' },
];

/** Answers the code page the step-up redirect leads to; returns where the gateway sends the browser next. */
async function enterCode(browser: Browser, gw: TestGateway, secret: string, location: string): Promise<string> {
  gw.clock.now += 30_000; // a new TOTP step: the last one was used
  const page = await browser.get(pathOf(location));
  if (page.status !== 200) throw new Error(`code page: ${page.status}`);
  const form: Record<string, string> = { code: totpCode(secret, gw.clock.now), csrf: field(page.body, 'csrf') };
  if (page.body.includes('name="rd"')) form.rd = field(page.body, 'rd');
  if (page.body.includes('name="step_up"')) form.step_up = field(page.body, 'step_up');
  const done = await browser.post('/.gateway/second-factor', form);
  if (done.status !== 303) throw new Error(`code refused: ${done.status}`);
  return done.headers.location!;
}

t.test('a remembered browser is asked for a code on the mfa_max_age: 0 rule and not on the rule next to it', async (t) => {
  const upstream = await startEchoUpstream(t);
  const gw = await startTestGateway(t, upstream, { rules });
  const first = new Browser(gw.port);
  const secret = await signInWithEnrollment(first, gw, 'alice');
  // Sign in again and tick "don't ask again on this browser".
  const browser = new Browser(gw.port);
  await signInPassword(browser, 'alice');
  gw.clock.now += 30_000;
  const codePage = await browser.get('/.gateway/second-factor');
  const remembered = await browser.post('/.gateway/second-factor', {
    code: totpCode(secret, gw.clock.now),
    remember: '1',
    csrf: field(codePage.body, 'csrf'),
  });
  t.equal(remembered.status, 303);
  // A new session on the remembered browser: the password alone gives level 2.
  for (const name of [...browser.cookies.keys()]) if (!name.includes('device')) browser.cookies.delete(name);
  t.ok(browser.cookies.size > 0, 'the remember-device cookie is kept');
  gw.clock.now += 3_600_000;
  await signInPassword(browser, 'alice');
  t.equal((await browser.get('/reports')).status, 200, 'the rule next to it: the remembered browser is enough');

  const asked = await browser.get('/admin/users');
  t.equal(asked.status, 302, 'the step-up rule asks');
  const location = new URL(asked.headers.location!);
  t.equal(location.pathname, '/.gateway/second-factor');
  t.equal(location.searchParams.get('step_up'), 'admin');
  const page = await browser.get(pathOf(asked.headers.location));
  t.match(page.body, /Confirm it’s you to open \/admin\/users/, 'the code page says why it asks');
  t.notMatch(page.body, /name="remember"/, 'no remember checkbox on a step-up: it would promise nothing');
  const german = await browser.get(pathOf(asked.headers.location), { 'accept-language': 'de' });
  t.match(german.body, /Bestätigen Sie, dass Sie es sind, um \/admin\/users zu öffnen/);

  const back = await enterCode(browser, gw, secret, asked.headers.location!);
  t.equal(back, 'http://gateway.test/admin/users');
  t.equal((await browser.get('/admin/users')).status, 200, 'the code opens the rule');
  gw.clock.now += 4 * 60_000;
  t.equal((await browser.get('/admin/logo.png')).status, 200, 'within the 5-minute grant the page assets pass');
  t.equal((await browser.get('/billing/x')).status, 200, 'the code also counts for mfa_max_age 15m');
  gw.clock.now += 2 * 60_000;
  t.equal((await browser.get('/admin/users')).status, 302, 'a new visit after the grant asks again');
  t.equal((await browser.get('/reports')).status, 200, 'and the rule next to it still does not');
});

t.test('a trusted-network client is asked on the step-up rule, not on the rule next to it', async (t) => {
  const upstream = await startEchoUpstream(t);
  const gw = await startTestGateway(t, upstream, { rules });
  const secret = await signInWithEnrollment(new Browser(gw.port), gw, 'alice');
  const office = new Browser(gw.port, {}, TRUSTED);
  await signInPassword(office, 'alice');
  t.equal((await office.get('/reports')).status, 200, 'trusted_ips skip the second factor on two_factor');
  const asked = await office.get('/admin/');
  t.equal(asked.status, 302);
  t.equal(new URL(asked.headers.location!).searchParams.get('step_up'), 'admin', 'but not on the step-up rule');
  await enterCode(office, gw, secret, asked.headers.location!);
  t.equal((await office.get('/admin/')).status, 200);

  // A code entered for one mfa_max_age: 0 rule does not open another one.
  const gw2 = await startTestGateway(t, upstream, {
    rules: [
      { name: 'admin', paths: ['/admin/**'], policy: 'two_factor', mfa_max_age: 0 },
      { name: 'payroll', paths: ['/payroll/**'], policy: 'two_factor', mfa_max_age: 0, step_up_grant: '1m' },
      { paths: ['/**'], policy: 'two_factor' },
    ],
  });
  const secret2 = await signInWithEnrollment(new Browser(gw2.port), gw2, 'alice');
  const b = new Browser(gw2.port, {}, TRUSTED);
  await signInPassword(b, 'alice');
  await enterCode(b, gw2, secret2, (await b.get('/admin/')).headers.location!);
  t.equal((await b.get('/admin/')).status, 200);
  const payroll = await b.get('/payroll/');
  t.equal(payroll.status, 302, 'the grant is for the rule it was asked for');
  await enterCode(b, gw2, secret2, payroll.headers.location!);
  t.equal((await b.get('/payroll/')).status, 200);
  gw2.clock.now += 61_000;
  t.equal((await b.get('/payroll/')).status, 302, 'step_up_grant is per rule');
});

t.test('mfa_max_age: 15m honors a code from 14 minutes ago and asks again at 16 (frozen clock)', async (t) => {
  const upstream = await startEchoUpstream(t);
  const gw = await startTestGateway(t, upstream, { rules });
  const browser = new Browser(gw.port);
  const secret = await signInWithEnrollment(browser, gw, 'alice');
  t.equal((await browser.get('/billing/invoices')).status, 200, 'the code at sign-in counts');
  gw.clock.now += 14 * 60_000;
  t.equal((await browser.get('/billing/invoices')).status, 200, '14 minutes later');
  gw.clock.now += 2 * 60_000;
  const asked = await browser.get('/billing/invoices');
  t.equal(asked.status, 302, '16 minutes later the code is too old');
  t.equal(new URL(asked.headers.location!).searchParams.get('step_up'), 'billing');
  const api = await browser.post('/billing/invoices', { a: '1' });
  t.equal(api.status, 401, 'a script gets 401 with the location');
  await enterCode(browser, gw, secret, asked.headers.location!);
  t.equal((await browser.get('/billing/invoices')).status, 200);
  gw.clock.now -= 10 * 60_000;
  t.equal((await browser.get('/billing/invoices')).status, 302, 'a code "from the future" (clock set back) does not count');
});

t.test('forward-auth and WebSocket upgrades obey step-up', async (t) => {
  const upstream = await startEchoUpstream(t);
  const gw = await startTestGateway(t, upstream, { rules });
  const office = new Browser(gw.port, {}, TRUSTED);
  const secret = await signInWithEnrollment(new Browser(gw.port), gw, 'alice');
  await signInPassword(office, 'alice');
  const ask = (uri: string) =>
    send(gw.port, '/.gateway/auth/traefik', {
      localAddress: PROXY,
      headers: {
        cookie: office.cookieHeader(),
        'x-forwarded-for': TRUSTED,
        'x-forwarded-method': 'GET',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'gateway.test',
        'x-forwarded-uri': uri,
      },
    });
  t.equal((await ask('/reports')).status, 200, 'forward-auth: the rule next to it passes on the trusted network');
  const asked = await ask('/admin/x');
  t.equal(asked.status, 302, 'forward-auth: the step-up rule asks');
  t.equal(new URL(asked.headers.location!).searchParams.get('step_up'), 'admin');

  // The upgrades come from 127.0.0.1 (not a trusted network) with a full two-factor session.
  const full = new Browser(gw.port);
  await signInPassword(full, 'alice');
  await enterCode(full, gw, secret, '/.gateway/second-factor');
  const ws = (path: string) =>
    handshakeStatus(
      gw.port,
      path,
      [
        ['Cookie', full.cookieHeader()],
        ['Origin', 'http://gateway.test'],
      ],
      'gateway.test',
    );
  t.equal(await ws('/reports/socket'), 101, 'the rule next to it upgrades');
  t.equal(await ws('/billing/socket'), 101, 'a code entered just now is fresh for mfa_max_age 15m');
  t.equal(await ws('/admin/socket'), 401, 'a WebSocket upgrade on the mfa_max_age 0 rule is refused without a code for it');
  gw.clock.now += 16 * 60_000;
  t.equal(await ws('/billing/socket'), 401, 'and on the 15m rule once the code is 16 minutes old');
  const again = await full.get('/admin/socket');
  await enterCode(full, gw, secret, again.headers.location!);
  t.equal(await ws('/admin/socket'), 101, 'the upgrade after the code');
  t.equal(await ws('/billing/socket'), 101);

  await enterCode(office, gw, secret, asked.headers.location!);
  t.equal((await ask('/admin/x')).status, 200, 'forward-auth after the code');
});
