// issue 10 items 9, 10 and 11: real nginx and real Caddy, each configured exactly as the README's
// snippet in docs/forward-auth/, asking the gateway with forward-auth. A client's override
// headers change no decision, its Remote-* headers and the gateway's cookies never reach the
// app, the renewed session cookie reaches the browser, a refused path is 400, and a throttled
// source and a store outage reach the client as 429 and 503 with Retry-After (nginx's
// auth_request would turn both into its own 500).
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { Browser, send, signInPassword, signInWithEnrollment, startTestGateway, startUpstream, type Reply } from '../helpers/gateway.ts';
import { CADDY, NGINX, snippet, startCaddy, startNginx, type FrontProxy } from '../helpers/front-proxy.ts';
import { freshSchema, relay } from '../helpers/postgres.ts';

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
  [
    'every override header, lower case with _',
    Object.fromEntries(Object.entries(OVERRIDES).map(([k, v]) => [k.toLowerCase().replaceAll('-', '_'), v])),
  ],
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
  'X-Gateway-Assertion': 'forged.assertion.value',
  x_gateway_assertion: 'forged.assertion.value2',
};

const decisionOf = (r: Reply) => `${r.status} ${r.headers.location ?? ''} ${r.headers['www-authenticate'] ?? ''}`;

for (const [name, bin, start] of [
  ['nginx', NGINX, startNginx],
  ['Caddy', CADDY, startCaddy],
] as const) {
  t.test(`${name} as the README configures it`, { skip: bin ? false : `${name} is not installed (.ci/run installs it)` }, async (t) => {
    const app = await startUpstream(t);
    const keyFile = join(mkdtempSync(join(tmpdir(), 'mfa-gw-proxy-jwt-')), 'key.pem');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const gw = await startTestGateway(t, app, {
      identity: { jwt: { enabled: true, audience: `http://${HOST}`, key_file: keyFile } },
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
        const reply = await get(browser, route, {
          ...FORGED,
          cookie: `theme=dark; ${browser?.cookieHeader() ?? 'mfa_gateway_session=forged'}; lang=de`,
        });
        t.equal(reply.status, 200, `${who} ${route}: allowed`);
        const seen = app.requests.at(-1)!.headers;
        t.equal(seen['remote-user'], user, `${who} ${route}: Remote-User is the gateway's`);
        for (const name of Object.keys(seen)) t.notMatch(name, /^(remote|x_gateway)_/, `${who} ${route}: no ${name}`);
        const assertion = seen['x-gateway-assertion'];
        if (user === undefined) t.notOk(assertion, `${who} ${route}: no assertion on a bypass, the client's removed`);
        else t.equal(decodeJwt(String(assertion)).sub, user, `${who} ${route}: the gateway's signed assertion, copied by the proxy`);
        if (user === undefined)
          t.notOk(seen['remote-groups'] ?? seen['remote-email'] ?? seen['remote-name'], `${who} ${route}: no identity on a bypass`);
        else
          t.notOk(
            [seen['remote-groups'], seen['remote-email'], seen['remote-name']].some((v) => /mallory|admins2/i.test(String(v))),
            'no forged value',
          );
        t.equal(seen.cookie, 'theme=dark; lang=de', `${who} ${route}: the app's cookies only`);
        for (const name of ['x-original-url', 'x-original-method', 'x-rewrite-url', 'x-forwarded-uri', 'x-forwarded-method'])
          t.notOk(seen[name], `no ${name} at the app`);
      }
      const noCookie = await get(twoFactor, '/private/page');
      t.equal(noCookie.status, 200);
      t.notOk(app.requests.at(-1)!.headers.cookie, "no Cookie at all when only the gateway's were sent");
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

for (const [name, bin, start] of [
  ['nginx', NGINX, startNginx],
  ['Caddy', CADDY, startCaddy],
] as const) {
  t.test(
    `${name}: a throttled source is 429 and a store outage 503 at the client, with Retry-After`,
    { skip: bin ? false : `${name} is not installed (.ci/run installs it)` },
    async (t) => {
      const schema = await freshSchema();
      t.teardown(() => schema.drop());
      const link = await relay(t, schema.url);
      const app = await startUpstream(t);
      const gw = await startTestGateway(t, app, {
        server: { listen: '127.0.0.1:0', public_url: `http://${HOST}`, trusted_proxies: ['127.0.0.1/32'] },
        store: { postgres: { url: link.url }, encryption_key: 'e'.repeat(64) },
        mfa: { app_passwords: { enabled: true }, source_throttle: { failures: 3, window_minutes: 10 } },
        rules: [
          { paths: ['/public/**'], policy: 'bypass' },
          { name: 'mail', paths: ['/mail/**'], app_passwords: true, policy: 'one_factor' },
          { paths: ['/**'], policy: 'two_factor' },
        ],
      });
      const proxy = await start(t, gw.port, Number(new URL(app.url).port));
      const hdr = { host: HOST };

      await t.test('HTTP Basic from a throttled source: 429 with Retry-After, the app not reached', async (t) => {
        const basic = (password: string) =>
          send(proxy.port, '/mail/inbox', {
            headers: { ...hdr, authorization: `Basic ${Buffer.from(`bob:${password}`).toString('base64')}` },
          });
        const seen: number[] = [];
        let reply: Reply | undefined;
        for (let i = 0; i < 6; i++) {
          reply = await basic(`wrong-${i}`);
          seen.push(reply.status);
          if (reply.status !== 401) break;
        }
        t.same(seen, [401, 401, 401, 429], 'three failures are challenged, the next attempt is refused');
        t.equal(reply!.headers['retry-after'], '600', 'Retry-After: until the oldest failure leaves the 10-minute window');
        const right = await basic('bob-test-password');
        t.equal(right.status, 429, 'while throttled, even the right password is refused (no hashing)');
        t.ok(Number(right.headers['retry-after']) > 0, 'with Retry-After');
        t.equal(app.requests.length, 0, 'nothing reached the app');
        gw.clock.now += 10 * 60_000 + 1000;
        t.equal((await basic('bob-test-password')).status, 200, 'the source passes again after the window');
      });

      await t.test('a store outage: 503 with Retry-After, and back by itself', async (t) => {
        const user = new Browser(proxy.port, hdr);
        await signInWithEnrollment(user, gw, 'alice');
        t.equal((await user.get('/private/page')).status, 200, 'signed in while the database is there');
        await link.cut();
        const cutAt = performance.now();
        let down: Reply;
        for (;;) {
          down = await user.get('/private/page');
          if (down.status !== 200 || performance.now() - cutAt > 3000) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        t.equal(down.status, 503, 'a signed-in request during the outage: 503, not 500');
        t.equal(down.headers['retry-after'], '5', 'with Retry-After');
        const forwarded = app.requests.length;
        const again = await user.get('/private/other');
        t.equal(again.status, 503);
        t.equal(again.headers['retry-after'], '5');
        t.equal(app.requests.length, forwarded, 'not forwarded');
        t.equal((await send(proxy.port, '/public/x', { headers: hdr })).status, 200, 'a bypass route needs no store');
        await link.restore();
        const restoredAt = performance.now();
        let status = 0;
        while (performance.now() - restoredAt < 5000) {
          status = (await user.get('/private/page')).status;
          if (status === 200) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        t.equal(status, 200, 'recovered by itself');
      });

      t.equal(proxy.errors(), '', `${name} logged no error`);
    },
  );
}
