// issue-10 item 7 through a real gateway: an app that sets its own cookies on every response
// does not sign active users out at the idle timeout (the renewed session cookie reaches the
// browser beside the app's), and the app cannot set, overwrite or delete the gateway's
// cookies, whatever the status or method.
import t from 'tap';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Browser, send, signInWithEnrollment, startTestGateway, startUpstream } from '../helpers/gateway.ts';

const SESSION = 'mfa_gateway_session';
const IDLE_MS = 30 * 60_000; // the default session.idle_timeout

/** An app that sets a cookie on every response, answering `/status/NNN` with that status. */
function cookieApp(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const status = Number(/^\/status\/(\d{3})/.exec(req.url ?? '')?.[1] ?? 200);
  const headers: Record<string, string | string[]> = { 'set-cookie': [`app_seen=${Date.now()}; Path=/`, 'app_lang=de; Path=/'] };
  if (status === 302) headers.location = '/elsewhere';
  res.writeHead(status, headers);
  res.end(status === 304 ? undefined : 'app\n');
}

/** An app that tries to plant or delete the gateway's cookies on every response. */
function hostileApp(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const status = Number(/^\/status\/(\d{3})/.exec(req.url ?? '')?.[1] ?? 200);
  res.writeHead(status, {
    'set-cookie': [
      `${SESSION}=; Max-Age=0; Path=/`,
      `${SESSION.toUpperCase()}=forged; Path=/`,
      `=${SESSION}=forged; Path=/`,
      `${SESSION}_device=forged; Path=/`,
      `${SESSION}_csrf=forged; Path=/`,
      'app=1; Path=/',
    ],
    ...(status === 302 ? { location: '/elsewhere' } : {}),
  });
  res.end(status === 304 ? undefined : 'app\n');
}

t.test('issue-10: an active user stays signed in across twice the idle timeout while the app sets cookies', async (t) => {
  const upstream = await startUpstream(t, cookieApp);
  const gw = await startTestGateway(t, upstream);
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'bob');
  const start = gw.clock.now;
  let renewed = 0;
  // One request every 10 minutes (past the refresh interval, well inside the idle timeout).
  while (gw.clock.now - start <= 2 * IDLE_MS + 10 * 60_000) {
    gw.clock.now += 10 * 60_000;
    const before = browser.cookies.get(SESSION);
    const reply = await browser.get('/app');
    t.equal(reply.status, 200, `still signed in ${(gw.clock.now - start) / 60_000} minutes after sign-in`);
    const names = (reply.headers['set-cookie'] ?? []).map((c) => c.split('=')[0]);
    t.ok(names.includes('app_seen') && names.includes('app_lang'), "the app's cookies arrive");
    if (browser.cookies.get(SESSION) !== before) renewed++;
  }
  t.ok(renewed >= 5, `the session cookie was renewed along the way (${renewed} times)`);
  t.equal(upstream.requests.at(-1)?.headers['remote-user'], 'bob');
});

t.test('issue-10: the renewed cookie and the app cookies both arrive on 304, HEAD, redirects and error statuses', async (t) => {
  const upstream = await startUpstream(t, cookieApp);
  const gw = await startTestGateway(t, upstream);
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'bob');
  const cases: [string, string, number][] = [
    ['GET', '/status/200', 200],
    ['GET', '/status/304', 304],
    ['HEAD', '/status/200', 200],
    ['GET', '/status/302', 302],
    ['GET', '/status/404', 404],
    ['GET', '/status/500', 500],
    ['POST', '/status/201', 201],
  ];
  for (const [method, target, status] of cases) {
    gw.clock.now += 10 * 60_000; // past the refresh interval each time: every answer renews
    const reply = await send(gw.port, target, { method, headers: { cookie: browser.cookieHeader() } });
    t.equal(reply.status, status, `${method} ${target}`);
    const set = reply.headers['set-cookie'] ?? [];
    t.equal(set.filter((c) => c.startsWith(`${SESSION}=Fe26`)).length, 1, `${method} ${target}: the renewed session cookie`);
    t.same(
      set.filter((c) => c.startsWith('app_')).map((c) => c.split('=')[0]),
      ['app_seen', 'app_lang'],
      `${method} ${target}: and the app's`,
    );
    for (const c of set) {
      const [pair = ''] = c.split(';');
      browser.cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
    }
  }
  t.equal((await browser.get('/app')).status, 200, 'still signed in');
});

t.test("issue-10: the app cannot set, overwrite or delete the gateway's cookies, whatever the status or method", async (t) => {
  const upstream = await startUpstream(t, hostileApp);
  const gw = await startTestGateway(t, upstream);
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'bob');
  const session = browser.cookies.get(SESSION);
  for (const [method, target] of [
    ['GET', '/app'],
    ['GET', '/status/304'],
    ['HEAD', '/app'],
    ['GET', '/status/302'],
    ['GET', '/status/500'],
    ['POST', '/status/200'],
    ['GET', '/public/x'],
  ] as const) {
    const reply = await send(gw.port, target, { method, headers: { cookie: browser.cookieHeader() } });
    const set = reply.headers['set-cookie'] ?? [];
    t.same(set, ['app=1; Path=/'], `${method} ${target}: only the app's own cookie`);
  }
  t.equal(browser.cookies.get(SESSION), session);
  t.equal((await browser.get('/app')).status, 200, 'the session is intact');
});
