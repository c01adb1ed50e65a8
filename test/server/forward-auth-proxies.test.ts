// issue 10 item 9: real nginx and real Caddy, each configured exactly as the README's
// snippet in docs/forward-auth/, asking the gateway with forward-auth. A client's override
// headers change no decision, its Remote-* headers and the gateway's cookies never reach the
// app, the renewed session cookie reaches the browser, and a refused path is 400.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Browser, send, signInPassword, signInWithEnrollment, startTestGateway, startUpstream, type Reply } from '../helpers/gateway.ts';
import { CADDY, NGINX, snippet, startCaddy, startNginx, type FrontProxy } from '../helpers/front-proxy.ts';

const HOST = 'app.example.com';

t.test('the README shows the snippets the tests run, verbatim', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const name of ['nginx.conf', 'Caddyfile', 'traefik.yml'] as const) {
    t.ok(readme.includes(snippet(name).trimEnd()), `README quotes docs/forward-auth/${name}`);
  }
});

// Every header some proxy or app reads as "the request was really this".
const OVERRIDES: Record<string, string> = {
  'X-Original-URL': `https://${HOST}/public/x`,
  'X-Original-Method': 'GET',
  'X-Forwarded-Uri': '/public/x',
  'X-Forwarded-Method': 'GET',
  'X-Forwarded-Host': 'evil.example.com',
  'X-Forwarded-Proto': 'https',
  'X-Rewrite-URL': '/public/x',
};
const VARIANTS: [string, Record<string, string>][] = [
  ...Object.entries(OVERRIDES).map(([k, v]): [string, Record<string, string>] => [k, { [k]: v }]),
  ['every override header', OVERRIDES],
  ['every override header, lower case with _', Object.fromEntries(Object.entries(OVERRIDES).map(([k, v]) => [k.toLowerCase().replaceAll('-', '_'), v]))],
];
const ROUTES = ['/private/page?x=1', '/admin/panel', '/public/x'];
// Every spelling of the identity headers a client might forge.
const FORGED: Record<string, string> = {
  'Remote-User': 'mallory',
  'remote-groups': 'admins',
  'REMOTE-EMAIL': 'mallory@evil.example',
  Remote_Name: 'Mallory',
  remote_user: 'mallory2',
  REMOTE_GROUPS: 'admins2',
};

const decisionOf = (r: Reply) => `${r.status} ${r.headers.location ?? ''} ${r.headers['www-authenticate'] ?? ''}`;

for (const [name, bin, start] of [
  ['nginx', NGINX, startNginx],
  ['Caddy', CADDY, startCaddy],
] as const) {
  t.test(`${name} as the README configures it`, { skip: bin ? false : `${name} is not installed (.ci/run installs it)` }, async (t) => {
    const app = await startUpstream(t);
    const gw = await startTestGateway(t, app, {
      server: { listen: '127.0.0.1:0', public_url: `http://${HOST}`, trusted_proxies: ['127.0.0.1/32'] },
      session: { secret: 'test-session-secret-that-is-long-enough-0123456789', idle_timeout: '10m' },
    });
    const proxy: FrontProxy = await start(t, gw.port, Number(new URL(app.url).port));
    const hdr = { host: HOST };

    // The users: signed out, password only, two factors, and two factors without the admin group.
    const twoFactor = new Browser(proxy.port, hdr);
    await signInWithEnrollment(twoFactor, gw, 'alice');
    const nonAdmin = new Browser(proxy.port, hdr);
    await signInWithEnrollment(nonAdmin, gw, 'bob');
    const passwordOnly = new Browser(proxy.port, hdr);
    const signed = await signInPassword(passwordOnly, 'alice');
    t.equal(signed.status, 303, 'password-only sign-in through the proxy');
    const subjects: [string, Browser | null][] = [
      ['signed out', null],
      ['password only', passwordOnly],
      ['two factors', twoFactor],
      ['non-admin', nonAdmin],
    ];
    const get = (who: Browser | null, target: string, headers: Record<string, string> = {}) =>
      send(proxy.port, target, { headers: { ...hdr, ...(who ? { cookie: who.cookieHeader() } : {}), ...headers } });

    await t.test('override headers change no decision (header × route × user)', async (t) => {
      for (const [who, browser] of subjects) {
        for (const route of ROUTES) {
          const before = app.requests.length;
          const baseline = await get(browser, route);
          const baselineForwarded = app.requests.length - before;
          for (const [variant, headers] of VARIANTS) {
            const count = app.requests.length;
            const reply = await get(browser, route, headers);
            t.equal(decisionOf(reply), decisionOf(baseline), `${who} ${route} + ${variant}: ${decisionOf(baseline)}`);
            t.equal(app.requests.length - count, baselineForwarded, `${who} ${route} + ${variant}: forwarded as without it`);
          }
        }
      }
      // Spot checks that the baseline decisions are the policy's.
      t.equal((await get(null, '/private/page')).status, 302);
      t.equal((await get(passwordOnly, '/private/page')).status, 302);
      t.equal((await get(nonAdmin, '/admin/panel')).status, 403);
      t.equal((await get(twoFactor, '/admin/panel')).status, 200);
      t.equal((await get(null, '/public/x')).status, 200);
    });

    await t.test('client Remote-* headers and the gateway cookies never reach the app', async (t) => {
      for (const [who, browser, route, user] of [
        ['two factors', twoFactor, '/admin/panel', 'alice'],
        ['non-admin', nonAdmin, '/private/page', 'bob'],
        ['signed out', null, '/public/x', undefined],
        ['two factors', twoFactor, '/public/x', undefined],
      ] as const) {
        const reply = await get(browser, route, { ...FORGED, cookie: `theme=dark; ${browser?.cookieHeader() ?? 'mfa_gateway_session=forged'}; lang=de` });
        t.equal(reply.status, 200, `${who} ${route}: allowed`);
        const seen = app.requests.at(-1)!.headers;
        t.equal(seen['remote-user'], user, `${who} ${route}: Remote-User is the gateway's`);
        for (const name of Object.keys(seen)) t.notMatch(name, /^remote_/, `${who} ${route}: no ${name}`);
        if (user === undefined) t.notOk(seen['remote-groups'] ?? seen['remote-email'] ?? seen['remote-name'], `${who} ${route}: no identity on a bypass`);
        else t.notOk([seen['remote-groups'], seen['remote-email'], seen['remote-name']].some((v) => /mallory|admins2/i.test(String(v))), 'no forged value');
        t.equal(seen.cookie, 'theme=dark; lang=de', `${who} ${route}: the app's cookies only`);
        for (const name of ['x-original-url', 'x-original-method', 'x-rewrite-url', 'x-forwarded-uri', 'x-forwarded-method']) t.notOk(seen[name], `no ${name} at the app`);
      }
      const noCookie = await get(twoFactor, '/private/page');
      t.equal(noCookie.status, 200);
      t.notOk(app.requests.at(-1)!.headers.cookie, 'no Cookie at all when only the gateway\'s were sent');
    });

    await t.test('a path the gateway refuses is 400 at the client', async (t) => {
      for (const target of ['/public%2fadmin', '/a%00b', '/public/..%2fadmin/']) {
        const count = app.requests.length;
        t.equal((await get(twoFactor, target)).status, 400, `${target}: 400`);
        t.equal(app.requests.length, count, `${target}: not forwarded`);
      }
    });

    await t.test('an active user stays signed in past the idle timeout', async (t) => {
      const user = new Browser(proxy.port, hdr);
      for (const [k, v] of nonAdmin.cookies) user.cookies.set(k, v);
      const first = user.cookieHeader();
      // 25 minutes of activity, a request every 4 minutes, with a 10-minute idle timeout.
      let renewed = 0;
      for (let minute = 4; minute <= 25; minute += 4) {
        gw.clock.now += 4 * 60_000;
        const reply = await user.get('/private/page');
        t.equal(reply.status, 200, `minute ${minute}: still signed in`);
        if (reply.headers['set-cookie']?.some((c) => c.startsWith('mfa_gateway_session='))) renewed++;
      }
      t.ok(renewed >= 2, `the renewed cookie reached the browser (${renewed} times)`);
      const stale = await send(proxy.port, '/private/page', { headers: { ...hdr, cookie: first } });
      t.equal(stale.status, 302, 'the first cookie alone has timed out: the renewal is what kept the user in');
    });

    t.equal(proxy.errors(), '', `${name} logged no error`);
  });
}
