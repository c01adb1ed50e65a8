// Issue 13: refusals answered on the forward-auth endpoints (for nginx, Traefik, Caddy) and on
// WebSocket upgrades are traced like the chain's own: the answer names a request id
// (X-Request-Id), the decision trace is stored under it, and `mfa-gateway explain --request ID`
// finds it. Forward-auth's sign-in redirect names a rule with texts like the chain's does.
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import t from 'tap';
import type { Test } from 'tap';
import { main } from '../../src/cli/main.ts';
import { Browser, send, sendRaw, signInPassword, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';

const PROXY = '127.0.0.2'; // in the test gateway's trusted_proxies

const RULES = [
  { paths: ['/public/**'], policy: 'bypass' },
  {
    name: 'finance',
    paths: ['/finance/**'],
    policy: 'two_factor',
    explanation: { en: 'The finance reports are for the finance team.', de: 'Die Finanzberichte sind nur für das Finanzteam.' },
    remediation: 'Ask finance-help@example.com.',
  },
  { name: 'closed', paths: ['/closed/**'], policy: 'deny', explanation: 'Closed for maintenance until Monday.' },
  { name: 'live', paths: ['/live/**'], policy: 'one_factor' },
  { paths: ['/**'], policy: 'two_factor' },
];

/** `mfa-gateway explain --request ID` in-process, as on the command line; returns exit code and output. */
async function explain(gw: TestGateway, id: string): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = new Writable({
    write: (c: Buffer, _e, cb) => {
      out += c.toString('utf8');
      cb();
    },
  });
  const code = await main(['explain', '--request', id, '--config', join(gw.dir, 'gateway.yaml')], {
    stdin: new PassThrough(),
    stdout: sink,
    stderr: sink,
    env: {},
  });
  return { code, out };
}

/** The stored trace of the request id in `header` (after the batch is written). */
async function traceOf(t: Test, gw: TestGateway, header: string | string[] | undefined): Promise<string> {
  t.match(header, /^[0-9a-f]{12}$/, 'the answer names a request id');
  await gw.traces.flush();
  const found = await explain(gw, String(header));
  t.equal(found.code, 0, `explain --request ${String(header)} finds it`);
  return found.out;
}

const traefik = (uri: string, method = 'GET') => ({
  'x-forwarded-method': method,
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'app.example.com',
  'x-forwarded-uri': uri,
  'x-forwarded-for': '198.51.100.9',
});

t.test('forward-auth: sign-in redirects, 401s and 403s carry a request id whose trace explain finds', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { rules: RULES });
  const ask = (path: string, headers: Record<string, string>, cookie?: string) =>
    send(gw.port, path, { localAddress: PROXY, headers: { ...headers, ...(cookie ? { cookie } : {}) } });

  const redirect = await ask('/.gateway/auth/traefik', traefik('/finance/q3?year=2026'));
  t.equal(redirect.status, 302);
  const location = new URL(redirect.headers.location!);
  t.equal(location.searchParams.get('rule'), 'finance', 'the sign-in page is told the rule, so it shows its texts');
  t.equal(location.searchParams.get('rd'), 'https://app.example.com/finance/q3?year=2026');
  const signIn = await traceOf(t, gw, redirect.headers['x-request-id']);
  t.match(signIn, /\n {2}GET app\.example\.com\/finance\/q3\n/);
  t.match(signIn, /client address: 198\.51\.100\.9 \(from a trusted proxy header\)/);
  t.match(signIn, /rule: finance\n/);
  t.match(signIn, /session: none \(not signed in\)/);
  t.match(signIn, /outcome: sign_in/);

  const api = await ask('/.gateway/auth/caddy', traefik('/finance/q3', 'POST'));
  t.equal(api.status, 401, 'a non-navigation gets 401 with the location');
  t.match(await traceOf(t, gw, api.headers['x-request-id']), /\n {2}POST app\.example\.com\/finance\/q3\n/);

  const nginx = {
    'x-original-url': 'https://app.example.com/closed/report',
    'x-original-method': 'GET',
    'x-forwarded-for': '198.51.100.9',
  };
  const denied = await ask('/.gateway/auth/nginx', nginx);
  t.equal(denied.status, 403);
  t.match(denied.body, 'Closed for maintenance until Monday.', 'the 403 page explains, for proxies that pass it on');
  const id = denied.headers['x-request-id'];
  t.match(denied.body, new RegExp(`${String(id)}`), 'and shows the id the trace is under');
  const deny = await traceOf(t, gw, id);
  t.match(deny, /rule: closed\n/);
  t.match(deny, /outcome: deny/);

  // A signed-in user with the password only, on a two_factor rule: the redirect to the code page.
  const bob = new Browser(gw.port);
  await signInPassword(bob, 'bob');
  const code = await ask('/.gateway/auth/nginx', { ...nginx, 'x-original-url': 'https://app.example.com/finance/q3' }, bob.cookieHeader());
  t.equal(code.status, 401, 'nginx gets 401 with the location');
  t.match(code.headers.location, /\/\.gateway\/second-factor\?rd=.*&rule=finance$/);
  const second = await traceOf(t, gw, code.headers['x-request-id']);
  t.match(second, /session: password only, user bob/);
  t.match(second, /outcome: second_factor/);

  const allowed = await ask('/.gateway/auth/traefik', traefik('/public/x'));
  t.equal(allowed.status, 200);
  t.equal(allowed.headers['x-request-id'], undefined, 'an allowed request is not traced');
});

/** A WebSocket handshake, raw, with extra header lines; the answer's head. */
async function upgrade(gw: TestGateway, path: string, lines: string[] = []): Promise<{ status: number; id: string | undefined }> {
  const reply = await sendRaw(
    gw.port,
    `GET ${path} HTTP/1.1\r\nHost: gateway.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`,
  );
  return { status: reply.status, id: /\r\nx-request-id: ([0-9a-f]+)\r\n/i.exec(reply.head)?.[1] };
}

t.test('WebSocket upgrades: refusals carry a request id whose trace explain finds', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { rules: RULES });

  const anonymous = await upgrade(gw, '/live/socket');
  t.equal(anonymous.status, 401);
  const signIn = await traceOf(t, gw, anonymous.id);
  t.match(signIn, /\n {2}GET gateway\.test\/live\/socket\n/);
  t.match(signIn, /client address: 127\.0\.0\.1 \(from the connection\)/);
  t.match(signIn, /rule: live\n/);
  t.match(signIn, /outcome: sign_in/);

  const closed = await upgrade(gw, '/closed/socket');
  t.equal(closed.status, 403);
  t.match(await traceOf(t, gw, closed.id), /rule: closed\n[\s\S]*outcome: deny/);

  // Signed in, but the page that opens the socket is on another site (cross-site WebSocket hijacking).
  const bob = new Browser(gw.port);
  await signInPassword(bob, 'bob');
  const hijack = await upgrade(gw, '/live/socket', [`Cookie: ${bob.cookieHeader()}`, 'Origin: https://evil.example']);
  t.equal(hijack.status, 403);
  const origin = await traceOf(t, gw, hijack.id);
  t.match(origin, /rule: live\n/);
  t.match(origin, /session: password only, user bob/);
  t.match(origin, /missing: a WebSocket opened by a page of a protected host: cross-site Origin "https:\/\/evil\.example"/);
  t.match(origin, /outcome: forbidden/);

  const bad = await sendRaw(
    gw.port,
    'GET /live/%2e%2e%2fx HTTP/1.1\r\nHost: gateway.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
  );
  t.equal(bad.status, 400);
  t.notMatch(bad.head, /x-request-id/i, 'a request refused before any rule is looked at has no trace');
});
