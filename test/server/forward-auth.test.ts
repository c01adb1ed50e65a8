// The forward-auth endpoint as nginx (auth_request), Traefik (ForwardAuth) and Caddy
// (forward_auth) call it: the same policy and sessions as the proxy chain, answered with
// 200 + identity headers, a sign-in redirect (or 401 for nginx), or 403.
import t from 'tap';
import { Browser, send, signInWithEnrollment, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';

const PROXY = '127.0.0.2'; // in the test gateway's trusted_proxies

function ask(gw: TestGateway, headers: Record<string, string>, cookie = '') {
  return send(gw.port, '/.gateway/auth', { localAddress: PROXY, headers: { ...headers, ...(cookie ? { cookie } : {}), 'x-forwarded-for': '198.51.100.9' } });
}

const traefik = (uri: string, method = 'GET') => ({
  'x-forwarded-method': method,
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'app.example.com',
  'x-forwarded-uri': uri,
});

t.test('only a trusted proxy may ask', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const reply = await send(gw.port, '/.gateway/auth', { headers: traefik('/public/x') });
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
  const anonymous = await ask(gw, { 'x-original-url': 'https://app.example.com/admin/panel', 'x-original-method': 'GET' });
  t.equal(anonymous.status, 401, 'nginx only understands 2xx, 401 and 403 from auth_request');
  t.match(anonymous.headers.location, /\/\.gateway\/sign-in\?rd=https%3A%2F%2Fapp\.example\.com%2Fadmin%2Fpanel$/);

  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  t.equal((await ask(gw, { 'x-original-url': 'https://app.example.com/admin/panel' }, bob.cookieHeader())).status, 403, 'bob is not in admins');
  t.equal((await ask(gw, { 'x-original-url': 'https://app.example.com/ADMIN/panel' }, bob.cookieHeader())).status, 403, 'case-insensitive like the chain');
  t.equal((await ask(gw, { 'x-original-url': 'https://app.example.com/reports' }, bob.cookieHeader())).status, 200);
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
  t.equal((await ask(gw, { 'x-original-url': 'not a url' })).status, 400);
});

t.test('no matching rule means deny here too', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, { rules: [{ hosts: ['app.example.com'], paths: ['/**'], policy: 'one_factor' }] });
  t.equal((await ask(gw, { ...traefik('/x'), 'x-forwarded-host': 'other.example.com' })).status, 403);
});
