// The forward-auth endpoints as nginx (auth_request), Traefik (ForwardAuth) and Caddy
// (forward_auth) call them: the same policy and sessions as the proxy chain, answered with
// 200 + identity headers, a sign-in redirect (or 401 for nginx), or 403.
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  Browser,
  send,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  type TestGateway,
} from '../helpers/gateway.ts';

const PROXY = '127.0.0.2'; // in the test gateway's trusted_proxies

function ask(gw: TestGateway, headers: Record<string, string>, cookie = '') {
  const endpoint = 'x-original-url' in headers ? '/.gateway/auth/nginx' : '/.gateway/auth/traefik';
  return send(gw.port, endpoint, {
    localAddress: PROXY,
    headers: { ...headers, ...(cookie ? { cookie } : {}), 'x-forwarded-for': '198.51.100.9' },
  });
}

const nginx = (url: string, method = 'GET') => ({ 'x-original-url': url, 'x-original-method': method });

const traefik = (uri: string, method = 'GET') => ({
  'x-forwarded-method': method,
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'app.example.com',
  'x-forwarded-uri': uri,
});

t.test('only a trusted proxy may ask', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const reply = await send(gw.port, '/.gateway/auth/traefik', { headers: traefik('/public/x') });
  t.equal(reply.status, 403, 'a client cannot ask the gateway about a request it describes itself');
});

t.test('Traefik/Caddy style: redirect to sign in, then 200 with the identity', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const anonymous = await ask(gw, traefik('/reports?q=1'));
  t.equal(anonymous.status, 302);
  const location = new URL(anonymous.headers.location!);
  t.equal(location.pathname, '/.gateway/sign-in');
  t.equal(location.searchParams.get('rd'), 'https://app.example.com/reports?q=1', 'rd is the original URL');
  t.equal((await ask(gw, traefik('/reports', 'POST'))).status, 401, 'non-navigations get 401');

  t.equal((await ask(gw, traefik('/public/page'))).status, 200, 'bypass rule: allowed without a session');
  t.notOk((await ask(gw, traefik('/public/page'))).headers['remote-user'], 'and without an identity');

  const alice = new Browser(gw.port);
  await signInWithEnrollment(alice, gw, 'alice');
  const allowed = await ask(gw, traefik('/reports'), alice.cookieHeader());
  t.equal(allowed.status, 200);
  t.equal(allowed.headers['remote-user'], 'alice');
  t.equal(allowed.headers['remote-groups'], 'admins,users');
  t.equal(allowed.headers['remote-email'], 'alice@example.com');
  t.equal(allowed.headers['remote-name'], 'Alice Example');
  t.equal(upstream.requests.length, 0, 'forward-auth never forwards anything itself');
});

t.test('nginx auth_request style: 401 with the sign-in location, 403 for outsiders', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const anonymous = await ask(gw, nginx('https://app.example.com/admin/panel'));
  t.equal(anonymous.status, 401, 'nginx only understands 2xx, 401 and 403 from auth_request');
  t.match(anonymous.headers.location, /\/\.gateway\/sign-in\?rd=https%3A%2F%2Fapp\.example\.com%2Fadmin%2Fpanel$/);

  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  const refused = await ask(gw, nginx('https://app.example.com/admin/panel'), bob.cookieHeader());
  t.equal(refused.status, 403, 'bob is not in admins');
  // The page the proxy shows says who is signed in and offers another account (as the chain's 403 does) ...
  t.match(refused.body, 'Signed in as bob');
  t.match(refused.body, /<form method="post" action="\/\.gateway\/sign-out">/);
  t.notMatch(refused.body, /name="rd"/, 'a host no rule names is not a place to come back to');
  // ... and comes back to the refused page after signing out, where the return URL may point.
  const onGateway = await ask(gw, nginx('http://gateway.test/admin/panel?x=1'), bob.cookieHeader());
  t.match(onGateway.body, /name="rd" value="http:\/\/gateway\.test\/admin\/panel\?x=1"/);
  const posted = await ask(gw, nginx('http://gateway.test/admin/panel', 'POST'), bob.cookieHeader());
  t.match(posted.body, 'Signed in as bob', 'a refused form post names the account too');
  t.notMatch(posted.body, /name="rd"/, 'but signing out does not come back to a POST');
  t.equal((await ask(gw, nginx('https://app.example.com/ADMIN/panel'), bob.cookieHeader())).status, 403, 'case-insensitive like the chain');
  t.equal((await ask(gw, nginx('https://app.example.com/reports'), bob.cookieHeader())).status, 200);
});

t.test('the original path is normalized exactly like proxied requests', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  for (const uri of ['/public/../admin/x', '/public/%2e%2e/admin/x', '//admin/x']) {
    const reply = await ask(gw, traefik(uri));
    t.equal(reply.status, 302, `${uri} meets the admin rule, not the bypass`);
  }
  for (const uri of ['/public%2fadmin', '/a%00b']) {
    t.equal((await ask(gw, traefik(uri))).status, 400, `${uri} cannot be normalized safely`);
  }
  t.equal((await ask(gw, { 'x-forwarded-host': 'app.example.com' })).status, 400, 'no URI: refused, not allowed');
  const notUrl = await ask(gw, nginx('not a url'));
  t.equal(notUrl.status, 403, 'nginx: a refused request is 403 (auth_request would make a 400 its own 500)');
  t.equal(notUrl.headers['gateway-status'], '400', 'with the real status for the error_page to map back');
  const badPath = await ask(gw, nginx('https://app.example.com/public%2fadmin'));
  t.equal(badPath.status, 403);
  t.equal(badPath.headers['gateway-status'], '400');
});

t.test('no matching rule means deny here too', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, { rules: [{ hosts: ['app.example.com'], paths: ['/**'], policy: 'one_factor' }] });
  t.equal((await ask(gw, { ...traefik('/x'), 'x-forwarded-host': 'other.example.com' })).status, 403);
});

t.test('issue 10 item 9: the bare endpoint of earlier versions is gone, with a clear answer', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  for (const path of ['/.gateway/auth', '/.gateway/auth/', '/.gateway/auth/other', '/.gateway/auth/nginx/x']) {
    const reply = await send(gw.port, path, {
      localAddress: PROXY,
      headers: { ...traefik('/public/x'), ...nginx('https://app.example.com/public/x') },
    });
    t.equal(reply.status, 404, `${path}: 404`);
    t.match(reply.body, '/.gateway/auth/nginx, /.gateway/auth/traefik, /.gateway/auth/caddy', 'naming the endpoints');
  }
});

t.test('issue 10 item 9: a client cannot steer the endpoint with the other family', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  const carol = new Browser(gw.port);
  await signInPassword(carol, 'alice');
  const cases: [string, string, Record<string, string>][] = [
    [
      'signed out, nginx endpoint',
      '',
      { ...nginx('https://app.example.com/private'), 'x-forwarded-uri': '/public/x', 'x-forwarded-method': 'GET' },
    ],
    ['non-admin, nginx endpoint', bob.cookieHeader(), { ...nginx('https://app.example.com/admin/'), 'x-forwarded-uri': '/public/x' }],
    ['password only, nginx endpoint', carol.cookieHeader(), { ...nginx('https://app.example.com/private'), 'x-rewrite-url': '/public/x' }],
  ];
  for (const [what, cookie, headers] of cases) {
    const reply = await send(gw.port, '/.gateway/auth/nginx', {
      localAddress: PROXY,
      headers: { ...headers, ...(cookie ? { cookie } : {}) },
    });
    t.equal(reply.status, 403, `${what}: refused`);
    t.equal(reply.headers['gateway-status'], '400', `${what}: as a bad request`);
  }
  for (const endpoint of ['/.gateway/auth/traefik', '/.gateway/auth/caddy']) {
    const steered: [string, string, Record<string, string>][] = [
      ['signed out', '', { ...traefik('/private'), 'x-original-url': 'https://app.example.com/public/x' }],
      [
        'non-admin',
        bob.cookieHeader(),
        { ...traefik('/admin/'), 'x-original-url': 'https://app.example.com/public/x', 'x-original-method': 'GET' },
      ],
      ['password only', carol.cookieHeader(), { ...traefik('/private'), x_original_url: 'https://app.example.com/public/x' }],
      ['appended host', bob.cookieHeader(), { ...traefik('/admin/'), 'x-forwarded-host': 'evil.example.com, app.example.com' }],
      ['method override', '', { ...traefik('/public/x'), 'x-http-method-override': 'DELETE' }],
    ];
    for (const [what, cookie, headers] of steered) {
      const reply = await send(gw.port, endpoint, { localAddress: PROXY, headers: { ...headers, ...(cookie ? { cookie } : {}) } });
      t.equal(reply.status, 400, `${endpoint} ${what}: 400`);
    }
  }
});

t.test('the 200 answer carries what the proxy copies: identity, the app cookie, the renewed session', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, {
    session: { secret: 'test-session-secret-that-is-long-enough-0123456789', idle_timeout: '1h' },
  });
  const alice = new Browser(gw.port);
  await signInWithEnrollment(alice, gw, 'alice');
  const cookie = `theme=dark; ${alice.cookieHeader()}; lang=de`;
  const plain = await send(gw.port, '/.gateway/auth/traefik', { localAddress: PROXY, headers: { ...traefik('/reports'), cookie } });
  t.equal(plain.status, 200);
  t.equal(plain.headers.cookie, 'theme=dark; lang=de', "the app gets its own cookies, never the gateway's");
  t.notOk(plain.headers['set-cookie'], 'nothing to renew yet');
  gw.clock.now += 20 * 60_000;
  const renewed = await send(gw.port, '/.gateway/auth/nginx', {
    localAddress: PROXY,
    headers: { ...nginx('https://app.example.com/reports'), cookie },
  });
  t.equal(renewed.status, 200);
  t.match(renewed.headers['set-cookie']?.[0], /^mfa_gateway_session=/, 'the renewed session cookie, for the proxy to hand to the browser');
  const publicPage = await send(gw.port, '/.gateway/auth/caddy', { localAddress: PROXY, headers: traefik('/public/x') });
  t.equal(publicPage.status, 200);
  for (const name of ['remote-user', 'remote-groups', 'remote-email', 'remote-name', 'cookie']) {
    t.equal(publicPage.headers[name], '', `caddy: ${name} present and empty (Caddy 2.6 would copy a missing one as placeholder text)`);
  }
  const signedIn = await send(gw.port, '/.gateway/auth/caddy', {
    localAddress: PROXY,
    headers: { ...traefik('/reports'), cookie: alice.cookieHeader() },
  });
  t.equal(signedIn.headers['remote-user'], 'alice');
  t.equal(signedIn.headers['remote-name'], 'Alice Example');
});

t.test('identity.jwt: the 200 answer carries the signed assertion for the proxy to copy, never a client-sent one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-gw-fa-jwt-'));
  const keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, {
    identity: { jwt: { enabled: true, audience: 'https://app.example.com', key_file: keyFile } },
  });
  const keys = createLocalJWKSet(JSON.parse((await send(gw.port, '/.gateway/jwks.json')).body) as JSONWebKeySet);
  const alice = new Browser(gw.port);
  await signInWithEnrollment(alice, gw, 'alice');
  const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJib3NzIn0.';
  for (const endpoint of ['nginx', 'traefik', 'caddy'] as const) {
    const headers = endpoint === 'nginx' ? nginx('https://app.example.com/reports') : traefik('/reports');
    const reply = await send(gw.port, `/.gateway/auth/${endpoint}`, {
      localAddress: PROXY,
      headers: { ...headers, cookie: alice.cookieHeader(), 'x-gateway-assertion': forged, X_Gateway_Assertion: forged },
    });
    t.equal(reply.status, 200, `${endpoint}: allowed`);
    const token = reply.headers['x-gateway-assertion'];
    t.type(token, 'string', `${endpoint}: one assertion in the answer`);
    t.not(token, forged, `${endpoint}: the client's own assertion is not echoed`);
    const { payload } = await jwtVerify(token as string, keys, {
      issuer: 'http://gateway.test',
      audience: 'https://app.example.com',
      currentDate: new Date(gw.clock.now),
    });
    t.equal(payload.sub, 'alice', `${endpoint}: verifies with jose against jwks.json`);
    t.same(payload.amr, ['pwd', 'totp']);
  }
  const anonymous = await send(gw.port, '/.gateway/auth/caddy', {
    localAddress: PROXY,
    headers: { ...traefik('/public/x'), 'x-gateway-assertion': forged },
  });
  t.equal(anonymous.status, 200);
  t.equal(anonymous.headers['x-gateway-assertion'], '', 'caddy, no identity: present and empty, so the copy overwrites the client header');
  const nginxAnonymous = await ask(gw, nginx('https://app.example.com/public/x'));
  t.notOk(nginxAnonymous.headers['x-gateway-assertion'], 'nginx, no identity: no assertion');
});

t.test('identity.jwt off: no assertion header in the answer', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const alice = new Browser(gw.port);
  await signInWithEnrollment(alice, gw, 'alice');
  const reply = await ask(gw, traefik('/reports'), alice.cookieHeader());
  t.equal(reply.status, 200);
  t.notOk(reply.headers['x-gateway-assertion']);
  const caddy = await send(gw.port, '/.gateway/auth/caddy', {
    localAddress: PROXY,
    headers: { ...traefik('/reports'), cookie: alice.cookieHeader(), 'x-gateway-assertion': 'forged' },
  });
  t.equal(caddy.headers['x-gateway-assertion'], '', 'caddy: present and empty, so its copy_headers replaces a forged one');
});
