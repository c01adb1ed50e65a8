// Cross-site WebSocket hijacking (issue 10, item 3), through a real gateway to a real echo
// app: an upgrade that would carry a user's identity is refused with 403 unless its Origin is
// a protected host, the socket's own origin, or one the config allows; nothing refused
// reaches the app. Non-browser clients (no Origin) and bypass rules are unaffected.
import t from 'tap';
import { Browser, signInWithEnrollment, startTestGateway } from '../helpers/gateway.ts';
import { echo, handshakeStatus, openSocket, startEchoUpstream } from '../helpers/websocket.ts';
import { parseOrigin } from '../../src/policy/origin-key.ts';

const upstream = await startEchoUpstream(t);
const gw = await startTestGateway(t, upstream, {
  server: { allowed_origins: ['https://dashboard.example.net'] },
  rules: [
    { hosts: ['app.example.com', '*.corp.example'], paths: ['/elsewhere/**'], policy: 'two_factor' },
    { paths: ['/public/**'], policy: 'bypass' },
    { paths: ['/widened/**'], policy: 'two_factor', allowed_origins: ['https://partner.example.org'] },
    { paths: ['/**'], policy: 'two_factor' },
  ],
});
const browser = new Browser(gw.port);
await signInWithEnrollment(browser, gw, 'alice');
const cookie = browser.cookieHeader();
const own = `http://127.0.0.1:${gw.port}`;

type Case = { name: string; path?: string; origins: Array<readonly [string, string]>; status: 101 | 403 };
const corpus: Case[] = [
  // refused
  { name: 'Origin: null (sandboxed frame, file: page)', origins: [['Origin', 'null']], status: 403 },
  { name: 'Origin: NULL in capitals', origins: [['Origin', 'NULL']], status: 403 },
  { name: 'another site', origins: [['Origin', 'http://evil.example']], status: 403 },
  { name: 'same host, other port', origins: [['Origin', `http://127.0.0.1:${gw.port + 1}`]], status: 403 },
  { name: 'same host and port, other scheme', origins: [['Origin', `https://127.0.0.1:${gw.port}`]], status: 403 },
  { name: 'protected host as a prefix of an attacker domain', origins: [['Origin', 'http://app.example.com.evil.com']], status: 403 },
  { name: 'attacker domain ending in a protected name', origins: [['Origin', 'http://evilapp.example.com']], status: 403 },
  { name: 'wildcard rule host does not cover its parent domain', origins: [['Origin', 'http://corp.example']], status: 403 },
  { name: 'userinfo in front of the own host', origins: [['Origin', `http://evil@127.0.0.1:${gw.port}`]], status: 403 },
  { name: 'own host as userinfo of an attacker host', origins: [['Origin', `http://127.0.0.1:${gw.port}@evil.example`]], status: 403 },
  { name: 'a path after the origin', origins: [['Origin', `${own}/`]], status: 403 },
  { name: 'garbage', origins: [['Origin', 'not an origin']], status: 403 },
  { name: 'empty Origin', origins: [['Origin', '']], status: 403 },
  { name: 'another scheme (file:)', origins: [['Origin', 'file://']], status: 403 },
  { name: 'an extension origin', origins: [['Origin', 'chrome-extension://abcdefghijklmnop']], status: 403 },
  {
    name: 'two Origin lines, own first',
    origins: [
      ['Origin', own],
      ['Origin', 'http://evil.example'],
    ],
    status: 403,
  },
  {
    name: 'two Origin lines, both own',
    origins: [
      ['Origin', own],
      ['Origin', own],
    ],
    status: 403,
  },
  {
    name: 'Sec-WebSocket-Origin of an old draft from another site',
    origins: [['Sec-WebSocket-Origin', 'http://evil.example']],
    status: 403,
  },
  {
    name: 'Origin own but Sec-WebSocket-Origin foreign',
    origins: [
      ['Origin', own],
      ['Sec-WebSocket-Origin', 'http://evil.example'],
    ],
    status: 403,
  },
  { name: 'public host on another port', origins: [['Origin', 'http://gateway.test:8080']], status: 403 },
  { name: 'public host with another scheme', origins: [['Origin', 'https://gateway.test']], status: 403 },
  { name: "a rule's allowed origin on another rule's route", origins: [['Origin', 'https://partner.example.org']], status: 403 },
  { name: 'an allowed origin with another scheme', origins: [['Origin', 'http://dashboard.example.net']], status: 403 },
  // accepted
  { name: 'no Origin (a non-browser client)', origins: [], status: 101 },
  { name: 'the socket’s own origin', origins: [['Origin', own]], status: 101 },
  { name: 'the own origin in capitals', origins: [['Origin', `HTTP://127.0.0.1:${gw.port}`]], status: 101 },
  { name: 'the public_url host', origins: [['Origin', 'http://gateway.test']], status: 101 },
  {
    name: 'the public_url host in capitals with a trailing dot and its default port',
    origins: [['Origin', 'http://GATEWAY.TEST.:80']],
    status: 101,
  },
  { name: 'a host a rule names', origins: [['Origin', 'http://app.example.com']], status: 101 },
  { name: 'a subdomain of a rule’s *.domain', origins: [['Origin', 'http://wiki.corp.example']], status: 101 },
  { name: 'server.allowed_origins', origins: [['Origin', 'https://dashboard.example.net']], status: 101 },
  { name: "the rule's own allowed_origins", path: '/widened/live', origins: [['Origin', 'https://partner.example.org']], status: 101 },
  { name: 'Sec-WebSocket-Origin alone, own origin', origins: [['Sec-WebSocket-Origin', own]], status: 101 },
];

for (const c of corpus) {
  t.test(`cross-site WebSocket hijacking: ${c.name} -> ${c.status}`, async (t) => {
    const before = upstream.upgrades.length;
    const status = await handshakeStatus(gw.port, c.path ?? '/live', [['Cookie', cookie], ...c.origins]);
    t.equal(status, c.status);
    t.equal(upstream.upgrades.length - before, c.status === 101 ? 1 : 0, c.status === 101 ? 'reached the app' : 'nothing reached the app');
  });
}

t.test('a signed-out cross-site upgrade on a protected route gets 401, not the app', async (t) => {
  const before = upstream.upgrades.length;
  t.equal(await handshakeStatus(gw.port, '/live', [['Origin', 'http://evil.example']]), 401);
  t.equal(upstream.upgrades.length, before);
});

t.test('bypass routes forward no identity, so a cross-site page may open them (decision: the app owns their Origin)', async (t) => {
  const before = upstream.upgrades.length;
  t.equal(
    await handshakeStatus(gw.port, '/public/feed', [
      ['Cookie', cookie],
      ['Origin', 'http://evil.example'],
    ]),
    101,
  );
  const seen = upstream.upgrades[before]!;
  t.equal(seen.headers['remote-user'], undefined, 'no identity reached the app');
  t.notMatch(String(seen.headers.cookie ?? ''), /mfa_gateway_session/, 'nor the session cookie');
});

t.test('a real WebSocket client: same-origin and no-Origin sockets echo, a cross-site one is refused', async (t) => {
  const same = await openSocket(gw.port, '/live', { cookie, origin: own });
  t.equal(await echo(same, 'same origin'), 'same origin');
  same.close();
  const script = await openSocket(gw.port, '/live', { cookie });
  t.equal(await echo(script, 'no origin'), 'no origin');
  script.close();
  const before = upstream.upgrades.length;
  await t.rejects(openSocket(gw.port, '/live', { cookie, origin: 'http://evil.example' }), /refused/);
  await t.rejects(openSocket(gw.port, '/live', { cookie, origin: 'null' }), /refused/);
  t.equal(upstream.upgrades.length, before, 'nothing reached the app');
});

t.test('parseOrigin: serialized http(s) origins only, normalized', async (t) => {
  const table: Array<[string, string | null]> = [
    ['https://App.Example.com', 'https app.example.com 443'],
    ['http://app.example.com.:8080', 'http app.example.com 8080'],
    ['http://[::1]:3000', 'http [::1] 3000'],
    ['http://app.example.com:0', null],
    ['http://app.example.com:65536', null],
    ['http://app..example.com', null],
    ['http://app.example.com..', null],
    ['http://a_b.example.com', null],
    ['http://app.example.com?x', null],
    ['http://app.example.com#x', null],
    ['http:/app.example.com', null],
    ['ws://app.example.com', null],
    [' http://app.example.com', null],
  ];
  for (const [input, expected] of table) {
    const o = parseOrigin(input);
    t.equal(o === null ? null : `${o.scheme} ${o.host} ${o.port}`, expected, JSON.stringify(input));
  }
});
