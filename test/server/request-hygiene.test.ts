// issue-10 item 6 through a real gateway: the request the app receives has one Host that
// agrees with the request target, and none of the fields that would make it read another
// path, method, host or client address than the policy judged. Raw bytes over a socket,
// since an HTTP client library would not send most of these requests.
import t from 'tap';
import { sendRaw, startTestGateway, startUpstream } from '../helpers/gateway.ts';
import { OVERRIDES, spellings } from '../proxy/override-headers.ts';

const request = (line: string, headers: string[]) => [line, ...headers, 'Connection: close', '', ''].join('\r\n');

t.test('issue-10: several Host lines, or a Host the target contradicts, are answered 400 and reach no app', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const refused: [string, string[]][] = [
    ['GET /public/x HTTP/1.1', ['Host: gateway.test', 'Host: gateway.test']],
    ['GET /public/x HTTP/1.1', ['Host: gateway.test', 'Host: evil.example']],
    ['GET /public/x HTTP/1.1', ['host: gateway.test', 'HOST: other.test']],
    ['GET /public/x HTTP/1.1', ['Host: gateway.test', 'X-Other: 1', 'Host: gateway.test']],
    ['GET http://evil.example/public/x HTTP/1.1', ['Host: gateway.test']],
    ['GET http://gateway.test:8080/public/x HTTP/1.1', ['Host: gateway.test']],
    ['GET https://gateway.test/public/x HTTP/1.1', ['Host: gateway.test:80']],
    ['GET http://gateway.test/public/x HTTP/1.1', ['Host: evil.example']],
    ['GET http://user@gateway.test/public/x HTTP/1.1', ['Host: gateway.test']],
    ['GET http://gateway.test/public/x HTTP/1.1', ['Host: gateway.test', 'Host: gateway.test']],
    ['GET /public/x HTTP/1.1', ['Host: user@gateway.test']],
    ['GET /public/x HTTP/1.1', ['Host: gateway.test/admin']],
    ['GET /public/x HTTP/1.1', ['Host: ']],
    ['GET /public/x HTTP/1.1', ['Host: gateway.test:']],
    ['GET /public/x HTTP/1.1', ['Host: gateway.test:99999']],
    ['GET /public/x HTTP/1.1', []],
  ];
  for (const [line, headers] of refused) {
    const reply = await sendRaw(gw.port, request(line, headers));
    t.equal(reply.status, 400, `${line} ${JSON.stringify(headers)}`);
  }
  t.same(upstream.requests, [], 'none reached the app');

  const upgrade = await sendRaw(
    gw.port,
    request('GET /public/ws HTTP/1.1', [
      'Host: gateway.test',
      'Host: evil.example',
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ]),
  );
  t.equal(upgrade.status, 400, 'a WebSocket upgrade too');
  t.same(upstream.requests, []);
});

t.test('an absolute-form target that names the Host the client sent is served, with that Host', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const accepted: [string, string][] = [
    ['GET http://gateway.test/public/a?x=1 HTTP/1.1', 'Host: gateway.test'],
    ['GET HTTP://GATEWAY.TEST./public/b HTTP/1.1', 'Host: gateway.test'],
    ['GET http://gateway.test:80/public/c HTTP/1.1', 'Host: gateway.test'],
    ['GET http://gateway.test/public/d HTTP/1.1', 'Host: gateway.test:80'],
    ['GET https://gateway.test:443/public/e HTTP/1.1', 'Host: gateway.test'],
  ];
  for (const [line, host] of accepted) {
    const reply = await sendRaw(gw.port, request(line, [host]));
    t.equal(reply.status, 200, line);
  }
  t.same(
    upstream.requests.map((r) => r.url),
    ['/public/a?x=1', '/public/b', '/public/c', '/public/d', '/public/e'],
    'origin-form upstream',
  );
  t.same(
    upstream.requests.map((r) => r.headers.host),
    ['gateway.test', 'gateway.test', 'gateway.test', 'gateway.test:80', 'gateway.test'],
  );
});

t.test('issue-10: path, method, host and address override fields never reach the app, in any spelling, repeated', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const headers = ['Host: gateway.test'];
  for (const name of OVERRIDES) for (const spelled of spellings(name)) headers.push(`${spelled}: /admin/`, `${spelled}: DELETE`);
  const reply = await sendRaw(gw.port, request('GET /public/x HTTP/1.1', headers));
  t.equal(reply.status, 200);
  const seen = upstream.requests[0]!.headers;
  const leaked = Object.keys(seen).filter((name) => OVERRIDES.includes(name.replaceAll('_', '-')));
  t.same(leaked, [], 'no override field arrived');
  t.equal(upstream.requests[0]!.method, 'GET');
  t.equal(upstream.requests[0]!.url, '/public/x');
  t.equal(seen['x-forwarded-for'], '127.0.0.1', "the gateway's own address field");
  t.ok(OVERRIDES.length >= 20);
});
