// Full-gateway integration tests of the core: a real upstream on port 0, a real gateway in
// front of it, raw request targets. Each test is named after what it guards.
import t from 'tap';
import { createServer } from 'node:http';
import { Browser, send, signInPassword, signInWithEnrollment, startTestGateway, startUpstream, pathOf } from '../helpers/gateway.ts';

t.test('a spoofed X-Forwarded-For from an untrusted peer changes nothing', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  // 10.1.2.3 is in trusted_ips: believed, it would skip the second factor.
  const spoofed = await send(gw.port, '/public/x', { headers: { 'x-forwarded-for': '10.1.2.3', forwarded: 'for=10.1.2.3' } });
  t.equal(spoofed.status, 200);
  t.equal(upstream.requests.at(-1)?.headers['x-forwarded-for'], '127.0.0.1', 'the app sees the socket address');
  t.notOk(upstream.requests.at(-1)?.headers.forwarded, 'the client Forwarded header is dropped');

  const browser = new Browser(gw.port, { 'x-forwarded-for': '10.1.2.3' });
  await signInPassword(browser, 'bob');
  const app = await browser.get('/app');
  t.equal(app.status, 302, 'password alone is not enough: the trusted-IP skip was not granted');
  t.match(pathOf(app.headers.location), /^\/\.gateway\/second-factor/);
});

t.test("a trusted proxy's X-Forwarded-For is honored", async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const reply = await send(gw.port, '/public/x', { localAddress: '127.0.0.2', headers: { 'x-forwarded-for': '198.51.100.7, 10.1.2.3' } });
  t.equal(reply.status, 200);
  t.equal(upstream.requests.at(-1)?.headers['x-forwarded-for'], '10.1.2.3', 'rightmost untrusted hop');

  const browser = new Browser(gw.port, { 'x-forwarded-for': '10.1.2.3' });
  const viaProxy = (target: string) =>
    send(gw.port, target, { localAddress: '127.0.0.2', headers: { ...browser.extraHeaders, cookie: browser.cookieHeader() } });
  const form = await send(gw.port, '/.gateway/sign-in', { localAddress: '127.0.0.2' });
  t.equal(form.status, 200);
  // The skip is for users who have a method (one without is led into enrollment first).
  await signInWithEnrollment(new Browser(gw.port), gw, 'bob');
  await signInPassword(browser, 'bob');
  // Same session, now arriving through the trusted proxy from a trusted network.
  const app = await viaProxy('/app');
  t.equal(app.status, 200, 'second factor skipped for a client in trusted_ips behind a trusted proxy');
  t.equal(upstream.requests.at(-1)?.headers['remote-user'], 'bob');
});

t.test('an unparsable forwarding header from a trusted proxy is refused, never trusted', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const reply = await send(gw.port, '/public/x', { localAddress: '127.0.0.2', headers: { 'x-forwarded-for': 'not-an-address' } });
  t.equal(reply.status, 400);
  t.equal(upstream.requests.length, 0);
});

t.test('traversal and slash tricks never reach the app under the bypass rule', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const corpus = [
    '/public/../admin',
    '/public/%2e%2e/admin',
    '/public/%2E%2E/admin',
    '/public/.%2e/admin',
    '/public//../admin',
    '//admin',
    '/public/./../admin/x',
    '/public%2f..%2fadmin',
    '/public/%2e%2e%2fadmin',
    '/public\\..\\admin',
    '/public/..%5cadmin',
    '/public/%00/../admin',
    '/public/%c0%ae%c0%ae/admin',
  ];
  for (const target of corpus) {
    const reply = await send(gw.port, target);
    t.not(reply.status, 200, `${target} is not served as public (got ${reply.status})`);
    t.ok(reply.status === 302 || reply.status === 400, `${target}: sign-in redirect or 400, got ${reply.status}`);
  }
  t.equal(upstream.requests.length, 0, 'nothing reached the app');
});

t.test('/ADMIN/x meets the /admin/** rule, not the broader one', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  t.equal((await bob.get('/reports')).status, 200, 'bob may use the app');
  for (const target of ['/admin/x', '/ADMIN/x', '/Admin/', '/admin', '//ADMIN//x', '/public/../ADMIN/x']) {
    t.equal((await bob.get(target)).status, 403, `${target} is the admins-only rule for bob`);
  }
  const alice = new Browser(gw.port);
  await signInWithEnrollment(alice, gw, 'alice');
  const reply = await alice.get('/ADMIN/x');
  t.equal(reply.status, 200);
  t.equal(upstream.requests.at(-1)?.url, '/ADMIN/x', 'the app receives the path the policy evaluated');
  await alice.get('/public/../admin/y?z=1');
  t.equal(upstream.requests.at(-1)?.url, '/admin/y?z=1', 'the normalized path is forwarded with the query untouched');
});

t.test('identity headers sent by the client never reach the app', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const forged = { 'Remote-User': 'alice', 'remote-groups': 'admins', REMOTE_EMAIL: 'x@evil', Remote_Name: 'Mallory', remote_user: 'root' };
  await send(gw.port, '/public/x', { headers: forged });
  const seen = upstream.requests.at(-1)!.headers;
  for (const name of Object.keys(seen)) t.notMatch(name, /^remote[-_]/i, `no ${name} on a bypass route`);

  const bob = new Browser(gw.port, forged);
  await signInWithEnrollment(bob, gw, 'bob');
  await bob.get('/app');
  const signedIn = upstream.requests.at(-1)!;
  t.equal(signedIn.headers['remote-user'], 'bob');
  t.equal(signedIn.headers['remote-groups'], 'users');
  t.equal(signedIn.headers['remote-email'], 'bob@example.com');
  t.equal(signedIn.headers['remote-name'], 'Bob Builder');
  t.notOk(signedIn.headers.remote_user, 'underscore spelling dropped');
  t.notMatch(signedIn.headers.cookie ?? '', /mfa_gateway_session/, "the gateway's session cookie is not passed to the app");
});

t.test("a Connection header cannot strip the gateway's own headers", async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  await bob.get('/app', {
    connection: 'keep-alive, X-Forwarded-For, Remote-User, Remote-Groups, X-Forwarded-Proto, X-Custom',
    'x-custom': 'gone',
  });
  const seen = upstream.requests.at(-1)!.headers;
  t.equal(seen['remote-user'], 'bob');
  t.equal(seen['remote-groups'], 'users');
  t.equal(seen['x-forwarded-for'], '127.0.0.1');
  t.equal(seen['x-forwarded-proto'], 'http');
  t.notOk(seen['x-custom'], 'a header the client named in Connection is dropped');
});

t.test('a dead upstream gives 502 and a slow one 504, as pages', async (t) => {
  const dead = createServer();
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  const deadPort = (dead.address() as { port: number }).port;
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  const gwDead = await startTestGateway(t, { url: `http://127.0.0.1:${deadPort}`, server: dead, requests: [] });
  const bad = await send(gwDead.port, '/public/x', { headers: { accept: 'text/html' } });
  t.equal(bad.status, 502);
  t.match(bad.headers['content-type'], /text\/html/);
  t.match(bad.body, /<html/);

  const slow = await startUpstream(t, (_req, res) => {
    setTimeout(() => res.end('late'), 2000).unref();
  });
  const gwSlow = await startTestGateway(t, slow, { server: { timeouts: { upstream_response: '300ms' } } });
  const started = performance.now();
  const timedOut = await send(gwSlow.port, '/public/x');
  t.equal(timedOut.status, 504);
  t.ok(performance.now() - started < 1900, 'answered at the timeout, not when the upstream finally answered');
});

t.test('oversized request targets and headers answer 414 and 431', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, { server: { limits: { max_url_bytes: 1024, max_header_bytes: 8192 } } });
  t.equal((await send(gw.port, `/public/${'a'.repeat(2000)}`)).status, 414);
  t.equal((await send(gw.port, '/public/x', { headers: { 'x-big': 'b'.repeat(10_000) } })).status, 431);
  t.equal(upstream.requests.length, 0);
});

t.test('health answers 200 while the store works', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const reply = await send(gw.port, '/.gateway/health');
  t.equal(reply.status, 200);
  t.same(JSON.parse(reply.body), { status: 'ok' });
});

t.test('no matching rule means deny', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, { rules: [{ paths: ['/public/**'], policy: 'bypass' }] });
  t.equal((await send(gw.port, '/elsewhere')).status, 403);
  t.equal(upstream.requests.length, 0);
});
