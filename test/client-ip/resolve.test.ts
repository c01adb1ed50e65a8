// Guards client address resolution: forwarding headers are believed only from trusted
// proxies, read right to left past trusted hops, and every doubt fails closed.
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import type { ClientAddressOptions, ClientAddressResult } from '../../src/client-ip/resolve.ts';
import { createClientAddressResolver } from '../../src/client-ip/resolve.ts';
import { createNetworkSet } from '../../src/client-ip/cidr.ts';

const PROXIES = createNetworkSet(['10.0.0.0/24', '2001:db8:aaaa::/48']);
const PROXY = '10.0.0.2';

function resolve(socket: string | undefined, headers: IncomingHttpHeaders, options?: ClientAddressOptions): ClientAddressResult {
  return createClientAddressResolver(PROXIES, options)(socket, headers);
}

function ipOf(result: ClientAddressResult): string {
  return result.ok ? `${result.ip}${result.viaProxy ? ' via proxy' : ''}` : `fail: ${result.reason}`;
}

t.test('an untrusted peer is the client; its forwarding headers are ignored', async (t) => {
  const spoofed: IncomingHttpHeaders = {
    'x-forwarded-for': '10.0.0.5, 192.168.1.1',
    forwarded: 'for=10.0.0.5',
  };
  t.equal(ipOf(resolve('203.0.113.9', spoofed)), '203.0.113.9');
  t.equal(ipOf(resolve('::ffff:203.0.113.9', spoofed)), '203.0.113.9', 'mapped IPv6 socket address');
  t.equal(ipOf(resolve('2001:db8::9', spoofed)), '2001:db8::9');
  t.equal(ipOf(resolve('203.0.113.9', { 'x-forwarded-for': 'garbage', forwarded: 'for="' })), '203.0.113.9', 'garbage is not even parsed');
  const result = resolve('203.0.113.9', {});
  t.ok(result.ok && result.addr.kind() === 'ipv4' && result.viaProxy === false);
});

t.test('the answer for an untrusted peer is shared, not rebuilt per request', async (t) => {
  const resolver = createClientAddressResolver(PROXIES);
  t.equal(resolver('203.0.113.9', {}), resolver('203.0.113.9', { 'x-forwarded-for': '1.2.3.4' }));
});

t.test('socket addresses that are missing or unparsable fail', async (t) => {
  t.match(ipOf(resolve(undefined, {})), /fail: the connection has no peer address/);
  t.match(ipOf(resolve('not-an-ip', {})), /fail: socket address "not-an-ip" is not an IP address/);
});

t.test('X-Forwarded-For from a trusted proxy, right to left', async (t) => {
  const cases: [string, string][] = [
    ['203.0.113.9', '203.0.113.9 via proxy'],
    ['203.0.113.9, 10.0.0.3', '203.0.113.9 via proxy'],
    ['1.1.1.1, 203.0.113.9, 10.0.0.3', '203.0.113.9 via proxy'],
    ['garbage, 203.0.113.9', '203.0.113.9 via proxy'],
    ['10.0.0.7, 10.0.0.3', '10.0.0.7 via proxy'],
    ['  203.0.113.9  ,10.0.0.3  ', '203.0.113.9 via proxy'],
    ['::ffff:203.0.113.9', '203.0.113.9 via proxy'],
    ['2001:DB8::9', '2001:db8::9 via proxy'],
    ['[2001:db8::9]', '2001:db8::9 via proxy'],
    ['[2001:db8::9]:4711', '2001:db8::9 via proxy'],
    ['203.0.113.9:4711', '203.0.113.9 via proxy'],
    ['203.0.113.9, 2001:db8:aaaa::1', '203.0.113.9 via proxy'],
    ['fe80::1%eth0', 'fe80::1 via proxy'],
  ];
  for (const [xff, expected] of cases) t.equal(ipOf(resolve(PROXY, { 'x-forwarded-for': xff })), expected, xff);
});

t.test('X-Forwarded-For that cannot be read where the client should be fails closed', async (t) => {
  const cases: [string, RegExp][] = [
    ['garbage', /"garbage" is not an IP address/],
    ['203.0.113.9, garbage', /"garbage" is not an IP address/],
    ['garbage, 10.0.0.3', /"garbage" is not an IP address/],
    ['unknown', /says "unknown"/],
    ['203.0.113.9, ', /empty X-Forwarded-For element/],
    ['203.0.113.9,,10.0.0.3', /empty X-Forwarded-For element/],
    ['', /X-Forwarded-For is empty/],
    ['   ', /X-Forwarded-For is empty/],
    ['127.1', /not an IP address/],
    ['010.0.0.1', /not an IP address/],
    ['203.0.113.9:http', /not an IP address/],
    ['203.0.113.9:123456', /not an IP address/],
    ['[2001:db8::9]4711', /not an IP address/],
    ['[2001:db8::9', /not an IP address/],
    ['203.0.113.9 10.0.0.3', /not an IP address/],
    ['x'.repeat(5000), /^fail: X-Forwarded-For element "x{64}\.\.\." is not an IP address$/],
  ];
  for (const [xff, reason] of cases) t.match(ipOf(resolve(PROXY, { 'x-forwarded-for': xff })), reason, JSON.stringify(xff));
});

t.test('a trusted proxy that sends no address header is itself the client', async (t) => {
  t.equal(ipOf(resolve(PROXY, {})), '10.0.0.2 via proxy');
  t.equal(ipOf(resolve('::ffff:10.0.0.2', {})), '10.0.0.2 via proxy');
  t.equal(
    ipOf(resolve(PROXY, { forwarded: 'proto=https;host=app.example.com' })),
    '10.0.0.2 via proxy',
    'Forwarded without for= says nothing about addresses',
  );
});

t.test('Forwarded (RFC 7239) from a trusted proxy, right to left', async (t) => {
  const cases: [string, string][] = [
    ['for=203.0.113.9', '203.0.113.9 via proxy'],
    ['For=203.0.113.9', '203.0.113.9 via proxy'],
    ['for=203.0.113.9;proto=https;by=10.0.0.2', '203.0.113.9 via proxy'],
    ['proto=https;for=203.0.113.9', '203.0.113.9 via proxy'],
    ['for="203.0.113.9"', '203.0.113.9 via proxy'],
    ['for="203.0.113.9:4711"', '203.0.113.9 via proxy'],
    ['for="203.0.113.9:_port"', '203.0.113.9 via proxy'],
    ['for="[2001:db8::9]"', '2001:db8::9 via proxy'],
    ['for="[2001:db8::9]:4711"', '2001:db8::9 via proxy'],
    ['for=[2001:db8::9]:4711', '2001:db8::9 via proxy'],
    ['for="[::ffff:203.0.113.9]"', '203.0.113.9 via proxy'],
    ['for=198.51.100.1, for=203.0.113.9', '203.0.113.9 via proxy'],
    ['for=198.51.100.1, for=203.0.113.9, for=10.0.0.3', '203.0.113.9 via proxy'],
    ['for=_hidden, for=203.0.113.9', '203.0.113.9 via proxy'],
    ['for=unknown, for=203.0.113.9', '203.0.113.9 via proxy'],
    ['for="x,y;z", for=203.0.113.9', '203.0.113.9 via proxy'],
    ['for="a\\"b", for=203.0.113.9', '203.0.113.9 via proxy'],
    ['for=10.0.0.7;proto=http, for=10.0.0.3', '10.0.0.7 via proxy'],
    ['for=203.0.113.9 , for=10.0.0.3', '203.0.113.9 via proxy'],
    ['for=203.0.113.9;;proto=https', '203.0.113.9 via proxy'],
  ];
  for (const [forwarded, expected] of cases) t.equal(ipOf(resolve(PROXY, { forwarded })), expected, forwarded);
});

t.test('Forwarded that cannot be read where the client should be fails closed', async (t) => {
  const cases: [string, RegExp][] = [
    ['for=unknown', /for=unknown/],
    ['for=UNKNOWN:80', /for=unknown/],
    ['for=203.0.113.9, for=unknown, for=10.0.0.3', /for=unknown/],
    ['for=_hidden', /obfuscated node "_hidden"/],
    ['for="_x.y-z:_p"', /obfuscated node "_x.y-z"/],
    ['for=203.0.113.9, proto=https', /without for=/],
    ['for=203.0.113.9,', /without for=/],
    ['for="2001:db8::9"', /not a node RFC 7239 §6 allows/],
    ['for="[2001:db8::9"', /not a node/],
    ['for="[2001:db8::9]x"', /not a node/],
    ['for="[203.0.113.9]"', /not a node/],
    ['for=203.0.113.9:port', /not a node/],
    ['for=203.0.113.9:123456', /not a node/],
    ['for=127.1', /not a node/],
    ['for=_', /not a node/],
    ['for="_a/b"', /not a node/],
    ['for="203.0.113.9', /unterminated quoted string/],
    ['for="203.0.113.9\\', /unterminated quoted string/],
    ['for="a\x01b"', /control character/],
    ['for=203.0.113.9;for=198.51.100.1', /two for= parameters/],
    ['for=', /empty for=/],
    ['for=""', /empty for=/],
    ['for', /malformed/],
    ['=203.0.113.9', /malformed/],
    ['f(r=203.0.113.9', /malformed/],
    ['for=203.0.113.9 x', /malformed/],
    ['for="203.0.113.9"x', /malformed/],
    // A client's broken prefix cannot swallow what the proxy appended: the whole header fails.
    ['for="203.0.113.9, for=198.51.100.1', /unterminated/],
    ['for="x, for="[2001:db8::9]"', /malformed/],
  ];
  for (const [forwarded, reason] of cases) t.match(ipOf(resolve(PROXY, { forwarded })), reason, JSON.stringify(forwarded));
});

t.test('both headers: they must name the same client unless one header is chosen', async (t) => {
  const agree = { forwarded: 'for=203.0.113.9', 'x-forwarded-for': '203.0.113.9' };
  t.equal(ipOf(resolve(PROXY, agree)), '203.0.113.9 via proxy');
  // nginx appends to X-Forwarded-For but passes the client's own Forwarded through untouched.
  const forgedForwarded = { forwarded: 'for=10.0.0.99', 'x-forwarded-for': '203.0.113.9' };
  t.match(ipOf(resolve(PROXY, forgedForwarded)), /fail: Forwarded names client 10\.0\.0\.99 but X-Forwarded-For names 203\.0\.113\.9/);
  t.equal(ipOf(resolve(PROXY, forgedForwarded, { header: 'x-forwarded-for' })), '203.0.113.9 via proxy');
  t.equal(ipOf(resolve(PROXY, forgedForwarded, { header: 'forwarded' })), '10.0.0.99 via proxy');
  t.match(ipOf(resolve(PROXY, { forwarded: 'for=203.0.113.9', 'x-forwarded-for': 'garbage' })), /fail: .*"garbage"/);
  t.match(ipOf(resolve(PROXY, { forwarded: 'for=unknown', 'x-forwarded-for': '203.0.113.9' })), /fail: .*unknown/);
  t.equal(ipOf(resolve(PROXY, { forwarded: 'proto=https', 'x-forwarded-for': '203.0.113.9' })), '203.0.113.9 via proxy');
  t.equal(
    ipOf(resolve(PROXY, { 'x-forwarded-for': '203.0.113.9' }, { header: 'forwarded' })),
    '10.0.0.2 via proxy',
    'the other header is not read',
  );
  t.equal(ipOf(resolve(PROXY, { forwarded: 'for=203.0.113.9' }, { header: 'x-forwarded-for' })), '10.0.0.2 via proxy');
});

t.test('header values given as arrays are read as consecutive lines', async (t) => {
  t.equal(
    ipOf(resolve(PROXY, { 'x-forwarded-for': ['198.51.100.1', '203.0.113.9, 10.0.0.3'] } as IncomingHttpHeaders)),
    '203.0.113.9 via proxy',
  );
});

t.test('the socket cache stays bounded and correct past its limit', async (t) => {
  const resolver = createClientAddressResolver(PROXIES);
  for (let i = 0; i < 10_050; i++) {
    const ip = `198.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const result = resolver(ip, {});
    if (!result.ok || result.ip !== ip) t.fail(ip);
  }
  t.equal(ipOf(resolver(PROXY, { 'x-forwarded-for': '203.0.113.9' })), '203.0.113.9 via proxy');
  t.equal(ipOf(resolver('198.0.0.1', { 'x-forwarded-for': '203.0.113.9' })), '198.0.0.1');
});

t.test('several header lines, as a real Node server receives them', async (t) => {
  const resolver = createClientAddressResolver(createNetworkSet(['127.0.0.1', '10.0.0.0/24']));
  const seen: ClientAddressResult[] = [];
  const server = http.createServer((req, res) => {
    seen.push(resolver(req.socket.remoteAddress, req.headers));
    res.end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const send = (headerLines: string[]) =>
    new Promise<void>((done, fail) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${headerLines.map((l) => `${l}\r\n`).join('')}\r\n`);
      });
      socket.on('data', () => {});
      socket.on('end', () => done());
      socket.on('error', fail);
    });
  await send(['X-Forwarded-For: 198.51.100.1, 203.0.113.9', 'X-Forwarded-For: 10.0.0.3']);
  await send(['Forwarded: for=198.51.100.1', 'Forwarded: for=203.0.113.9', 'Forwarded: for=10.0.0.3']);
  await send(['X-Forwarded-For: 203.0.113.9', 'X-Forwarded-For: garbage']);
  await send([]);
  t.same(seen.map(ipOf), [
    '203.0.113.9 via proxy',
    '203.0.113.9 via proxy',
    'fail: X-Forwarded-For element "garbage" is not an IP address',
    '127.0.0.1 via proxy',
  ]);
});
