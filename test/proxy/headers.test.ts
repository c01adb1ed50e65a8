/**
 * @module test/proxy/headers
 * Header hygiene as a pure function: what the client may not pass, what the gateway
 * always adds, and how identity values become valid field values.
 */

import t from 'tap';
import { encodeHeaderValue, responseHeaders, upstreamRequestHeaders } from '../../src/proxy/headers.ts';
import type { ForwardContext } from '../../src/proxy/headers.ts';
import { OVERRIDES, spellings } from './override-headers.ts';

const ctx: ForwardContext = {
  clientIp: '203.0.113.9',
  proto: 'https',
  host: 'app.example',
  identity: { user: 'jdoe', groups: ['dev', 'ops'], email: 'jdoe@example.com', name: 'Jane Doe' },
  stripCookies: ['gw_session', 'gw_remember'],
};

/** All values of one field, case-insensitively, in order. */
function values(list: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) if ((list[i] as string).toLowerCase() === name.toLowerCase()) out.push(list[i + 1] as string);
  return out;
}

t.test('hop-by-hop fields are dropped, end-to-end fields keep their order and spelling', async (t) => {
  const out = upstreamRequestHeaders(
    [
      'Host',
      'app.example',
      'Accept',
      'text/html',
      'Connection',
      'keep-alive',
      'Keep-Alive',
      'timeout=5',
      'Proxy-Connection',
      'keep-alive',
      'Proxy-Authorization',
      'Basic Zm9vOmJhcg==',
      'TE',
      'trailers',
      'Trailer',
      'X-Checksum',
      'Transfer-Encoding',
      'chunked',
      'Upgrade',
      'h2c',
      'Expect',
      '100-continue',
      'x-custom',
      'a',
      'X-Custom',
      'b',
    ],
    { ...ctx, identity: null },
  );
  t.same(out, [
    'Host',
    'app.example',
    'Accept',
    'text/html',
    'x-custom',
    'a',
    'X-Custom',
    'b',
    'X-Forwarded-For',
    '203.0.113.9',
    'X-Forwarded-Proto',
    'https',
    'X-Forwarded-Host',
    'app.example',
  ]);
});

t.test('fields named in Connection are dropped, from every Connection field', async (t) => {
  const out = upstreamRequestHeaders(
    ['Connection', 'close, X-Secret', 'X-Secret', '1', 'connection', 'x-other', 'X-OTHER', '2', 'X-Kept', '3'],
    ctx,
  );
  t.same(values(out, 'x-secret'), []);
  t.same(values(out, 'x-other'), []);
  t.same(values(out, 'x-kept'), ['3']);
});

t.test("fix-hop-by-hop-abuse: Connection naming the gateway's own fields cannot strip them", async (t) => {
  const out = upstreamRequestHeaders(
    ['Connection', 'X-Forwarded-For, Remote-User, X-Forwarded-Proto, Remote-Groups, X-Forwarded-Host, Host, remote_name'],
    ctx,
  );
  t.same(values(out, 'x-forwarded-for'), ['203.0.113.9']);
  t.same(values(out, 'x-forwarded-proto'), ['https']);
  t.same(values(out, 'x-forwarded-host'), ['app.example']);
  t.same(values(out, 'remote-user'), ['jdoe']);
  t.same(values(out, 'remote-groups'), ['dev,ops']);
  t.same(values(out, 'remote-name'), ['Jane Doe']);
  t.same(values(out, 'host'), ['app.example']);
});

t.test('client identity and forwarding fields never pass, in any spelling', async (t) => {
  const spoof = [
    'remote-user',
    'REMOTE-USER',
    'Remote_User',
    'remote_groups',
    'Remote-Groups',
    'REMOTE_EMAIL',
    'remote-name',
    'X-Forwarded-For',
    'x_forwarded_for',
    'X-Forwarded-Proto',
    'X-FORWARDED-HOST',
    'Forwarded',
    'X-Real-IP',
    'x_real_ip',
  ];
  const raw = spoof.flatMap((name) => [name, 'admin']);
  const out = upstreamRequestHeaders(raw, { ...ctx, identity: null });
  for (let i = 0; i < out.length; i += 2) t.not(out[i + 1], 'admin', `${out[i]} is the gateway's`);
  t.same(values(out, 'remote-user'), [], 'no identity on a bypass route, and none from the client');

  const signedIn = upstreamRequestHeaders(raw, ctx);
  t.same(values(signedIn, 'remote-user'), ['jdoe']);
  t.same(values(signedIn, 'remote-groups'), ['dev,ops']);
  t.same(values(signedIn, 'remote-email'), ['jdoe@example.com']);
  t.same(values(signedIn, 'x-forwarded-for'), ['203.0.113.9']);
});

t.test('issue-10: path, method, host and address overrides never pass, in any spelling, however often', async (t) => {
  const raw: string[] = ['Accept', '*/*'];
  for (const name of OVERRIDES) for (const spelled of spellings(name)) raw.push(spelled, '/admin', spelled, 'DELETE');
  for (const identity of [null, ctx.identity]) {
    const out = upstreamRequestHeaders(raw, { ...ctx, identity });
    for (const name of OVERRIDES)
      t.same(
        values(
          out.map((v, i) => (i % 2 === 0 ? v.replaceAll('_', '-') : v)),
          name,
        ),
        [],
        `${name} is dropped`,
      );
    t.same(values(out, 'accept'), ['*/*'], 'other fields pass');
  }
  // Look-alikes that are not on the list stay: the app may have its own meaning for them.
  const kept = upstreamRequestHeaders(['X-Original-URL-Hint', 'a', 'X-Forwarded-User-Agent', 'b'], ctx);
  t.same(values(kept, 'x-original-url-hint'), ['a']);
  t.same(values(kept, 'x-forwarded-user-agent'), ['b']);
});

t.test("the client's Host is replaced by ctx.host, once and first", async (t) => {
  const out = upstreamRequestHeaders(['Accept', '*/*', 'Host', 'evil.example', 'host', 'app.example'], ctx);
  t.same(out.slice(0, 2), ['Host', 'app.example']);
  t.same(values(out, 'host'), ['app.example']);
  const noHost = upstreamRequestHeaders(['Accept', '*/*'], { ...ctx, host: '' });
  t.same(values(noHost, 'host'), []);
  t.same(values(noHost, 'x-forwarded-host'), []);
});

t.test("the gateway's cookies are stripped, the app's kept and joined into one Cookie", async (t) => {
  const out = upstreamRequestHeaders(
    ['Cookie', 'app=1; gw_session=sealed; theme=dark', 'cookie', 'gw_remember=x;lang=de', 'Cookie', 'gw_session=again'],
    ctx,
  );
  t.same(values(out, 'cookie'), ['app=1; theme=dark; lang=de']);

  t.same(values(upstreamRequestHeaders(['Cookie', 'gw_session=only'], ctx), 'cookie'), [], 'an emptied Cookie field is dropped');
  t.same(values(upstreamRequestHeaders(['Cookie', 'a=1; b=2'], ctx), 'cookie'), ['a=1; b=2'], 'untouched when nothing matches');
  t.same(
    values(upstreamRequestHeaders(['Cookie', 'GW_SESSION=1; xgw_session=2; gw_session_old=3'], ctx), 'cookie'),
    ['GW_SESSION=1; xgw_session=2; gw_session_old=3'],
    'names compare exactly, not by prefix or case',
  );
  const cases: [string, string][] = [
    ['a=1;gw_session=x;b=2', 'a=1;b=2'],
    ['a=1; gw_session=x', 'a=1'],
    ['gw_session=x; gw_session=y; a=1', 'a=1'],
    ['gw_session=1; a=1; gw_remember=2', 'a=1'],
    ['a=gw_session; gw_session_x=1; b=2', 'a=gw_session; gw_session_x=1; b=2'],
    ['a=1; gw_session', 'a=1'],
    ['a=1; gw_session =x; b=2', 'a=1; b=2'],
    ['gw_remember=1;  gw_session=2', ''],
  ];
  for (const [sent, kept] of cases) {
    t.same(values(upstreamRequestHeaders(['Cookie', sent], ctx), 'cookie'), kept === '' ? [] : [kept], sent);
  }
});

t.test('identity values are valid field values: non-ASCII and controls percent-encoded', async (t) => {
  const out = upstreamRequestHeaders([], {
    ...ctx,
    identity: { user: 'jürgen', groups: ['Entwicklung', 'R&D, Berlin', '100%'], name: 'Jürgen Müller\r\nX-Evil: 1' },
  });
  t.same(values(out, 'remote-user'), ['j%C3%BCrgen']);
  t.same(values(out, 'remote-groups'), ['Entwicklung,R&D%2C Berlin,100%25']);
  t.same(values(out, 'remote-name'), ['J%C3%BCrgen M%C3%BCller%0D%0AX-Evil: 1']);
  t.same(values(out, 'remote-email'), [], 'no email known: no field');
  for (let i = 0; i < out.length; i += 2) t.match(out[i + 1], /^[\x20-\x7e]*$/, `${out[i]} is printable ASCII`);

  const groups = (values(out, 'remote-groups')[0] as string).split(',').map(decodeURIComponent);
  t.same(groups, ['Entwicklung', 'R&D, Berlin', '100%'], 'lossless round trip');
  t.equal(decodeURIComponent(values(out, 'remote-name')[0] as string), 'Jürgen Müller\r\nX-Evil: 1');
});

t.test('encodeHeaderValue', async (t) => {
  t.equal(encodeHeaderValue('plain ASCII (ok)'), 'plain ASCII (ok)');
  t.equal(encodeHeaderValue('Jürgen Müller'), 'J%C3%BCrgen M%C3%BCller');
  t.equal(encodeHeaderValue('tab\there\0'), 'tab%09here%00');
  t.equal(encodeHeaderValue('东京'), '%E4%B8%9C%E4%BA%AC');
  t.equal(encodeHeaderValue('a\uD800b'), 'a%EF%BF%BDb', 'a lone surrogate becomes U+FFFD instead of throwing');
  t.equal(encodeHeaderValue(''), '');
});

t.test('an identity with no groups sends an empty Remote-Groups', async (t) => {
  const out = upstreamRequestHeaders([], { ...ctx, identity: { user: 'svc', groups: [] } });
  t.same(values(out, 'remote-groups'), ['']);
  t.same(values(out, 'remote-name'), []);
});

t.test('identity headers follow an identity that can change; a frozen one is encoded once and sent alike', async (t) => {
  const mutable = { user: 'ann', groups: ['dev'] as string[], email: 'ann@example.com' };
  t.same(values(upstreamRequestHeaders([], { ...ctx, identity: mutable }), 'remote-groups'), ['dev']);
  mutable.groups.push('ops');
  mutable.email = 'ann@example.org';
  const again = upstreamRequestHeaders([], { ...ctx, identity: mutable });
  t.same(values(again, 'remote-groups'), ['dev,ops'], 'a changed group list is sent as it is now');
  t.same(values(again, 'remote-email'), ['ann@example.org'], 'a changed address too');

  const frozen = Object.freeze({ user: 'Jürgen', groups: Object.freeze(['a b', 'c,d']), name: 'J. Müller' });
  const first = upstreamRequestHeaders([], { ...ctx, identity: frozen });
  const second = upstreamRequestHeaders([], { ...ctx, identity: frozen });
  t.same(second, first, 'the second request of a frozen identity sends the same fields');
  t.same(values(second, 'remote-user'), ['J%C3%BCrgen']);
  t.same(values(second, 'remote-groups'), ['a b,c%2Cd'], 'a comma inside a group name is encoded');
  t.same(values(second, 'remote-name'), ['J. M%C3%BCller']);
  t.equal(values(second, 'remote-user').length, 1, 'each field once');
});

t.test("responseHeaders drops hop-by-hop fields and those the upstream's Connection names", async (t) => {
  const out = responseHeaders({
    'content-type': 'text/html',
    connection: 'keep-alive, X-Internal',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    trailer: 'x-checksum',
    upgrade: 'h2c',
    'proxy-connection': 'close',
    'x-internal': 'secret',
    'set-cookie': ['a=1', 'b=2'],
  });
  t.same(out, { 'content-type': 'text/html', 'set-cookie': ['a=1', 'b=2'] });
  t.same(responseHeaders({ connection: ['close', 'x-a', 'X_C'], 'x-a': '1', 'x-b': '2', x_c: '3' }), { 'x-b': '2' });
});

t.test("issue-10: the gateway's renewed cookie and the app's own cookies both reach the browser", async (t) => {
  const own = { setCookie: 'gw_session=renewed; Path=/; HttpOnly', gatewayCookies: ['gw_session', '__Host-gw_csrf'] };
  t.same(responseHeaders({ 'set-cookie': ['app=1', 'lang=de'] }, own)['set-cookie'], [
    'gw_session=renewed; Path=/; HttpOnly',
    'app=1',
    'lang=de',
  ]);
  t.same(
    responseHeaders({ 'set-cookie': 'app=1' }, own)['set-cookie'],
    ['gw_session=renewed; Path=/; HttpOnly', 'app=1'],
    'one app cookie as a string',
  );
  t.same(
    responseHeaders({ 'content-type': 'text/plain' }, own)['set-cookie'],
    ['gw_session=renewed; Path=/; HttpOnly'],
    'the app sets none',
  );
  t.same(
    responseHeaders({ 'set-cookie': ['app=1'] }, { setCookie: ['a=1', 'b=2'], gatewayCookies: [] })['set-cookie'],
    ['a=1', 'b=2', 'app=1'],
    "several of the gateway's",
  );
  t.same(
    responseHeaders({ 'set-cookie': ['app=1'] }, { setCookie: undefined, gatewayCookies: ['gw_session'] })['set-cookie'],
    ['app=1'],
    'nothing renewed',
  );
  t.notOk(
    'set-cookie' in responseHeaders({ 'content-type': 'x' }, { setCookie: undefined, gatewayCookies: ['gw_session'] }),
    'no empty field',
  );
});

t.test("issue-10: the app cannot set, overwrite or delete the gateway's cookies", async (t) => {
  const own = { setCookie: undefined, gatewayCookies: ['gw_session', 'gw_session_device', '__Host-gw_session_csrf'] };
  const attempts = [
    'gw_session=forged; Path=/',
    'gw_session=; Max-Age=0; Path=/',
    'GW_SESSION=forged',
    ' gw_session =forged',
    'gw_session_device=x; Domain=gateway.test',
    '__Host-gw_session_csrf=x; Secure; Path=/',
    '__HOST-gw_session_csrf=x; Secure; Path=/',
    '=gw_session=forged; Path=/',
    'gw_session',
  ];
  const out = responseHeaders({ 'set-cookie': [...attempts, 'app=1', 'gw_session_other=2', 'x=gw_session'] }, own);
  t.same(out['set-cookie'], ['app=1', 'gw_session_other=2', 'x=gw_session'], "only the app's own names pass");
  t.notOk('set-cookie' in responseHeaders({ 'set-cookie': 'gw_session=forged' }, own), 'a field left empty is dropped');
});
