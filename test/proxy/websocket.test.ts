/**
 * @module test/proxy/websocket
 * WebSocket upgrades through the forwarder: a real RFC 6455 echo upstream, undici's
 * WebSocket client, header hygiene on the handshake, a dead upstream, and closing a
 * user's live sockets.
 */

import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { WebSocket } from 'undici';
import { createWebSocketForwarder } from '../../src/proxy/websocket.ts';
import { upstreamRequestHeaders } from '../../src/proxy/headers.ts';
import { deadPort, listen, shut, within } from './servers.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Unmasks the client's frames and echoes each data frame back unmasked (RFC 6455 §5.2, §5.3). */
function echoFrames(socket: Duplex): void {
  let buf = Buffer.alloc(0);
  socket.on('end', () => socket.end());
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const opcode = (buf[0] as number) & 0x0f;
      let len = (buf[1] as number) & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        offset = 4;
      }
      if (buf.length < offset + 4 + len) return;
      const mask = buf.subarray(offset, offset + 4);
      const payload = Buffer.from(buf.subarray(offset + 4, offset + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
      buf = buf.subarray(offset + 4 + len);
      const header = len < 126 ? Buffer.from([0x80 | opcode, len]) : Buffer.from([0x80 | opcode, 126, len >> 8, len & 0xff]);
      socket.write(Buffer.concat([header, payload]));
      if (opcode === 0x8) socket.end();
    }
  });
}

/** Handshakes seen by the upstream, newest last. */
const handshakes: { url: string; rawHeaders: string[] }[] = [];
const upstream = http.createServer((_req, res) => res.writeHead(426).end());
upstream.on('upgrade', (req, socket) => {
  handshakes.push({ url: req.url ?? '', rawHeaders: req.rawHeaders });
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  if (req.url === '/dies') setTimeout(() => socket.destroy(), 20);
  else echoFrames(socket);
});
const upstreamPort = await listen(upstream);

/** The forwarder's clock, frozen; tests move it to reach a session's expiry. */
const clock = { now: Date.parse('2026-11-23T09:00:00Z') };
const forwarder = createWebSocketForwarder({ connectTimeoutMs: 1000, clock: () => clock.now, sweepMs: 50 });
let target = new URL(`http://127.0.0.1:${upstreamPort}`);
/** The front: who the user is comes from `?user=` here; the gateway takes it from the session. */
const front = http.createServer((_req, res) => res.writeHead(404).end());
front.on('upgrade', (req, socket, head) => {
  const params = new URL(req.url ?? '/', 'http://x').searchParams;
  const user = params.get('user');
  const sessionId = params.get('sid') ?? undefined;
  const expires = params.get('expires');
  const headers = upstreamRequestHeaders(req.rawHeaders, {
    clientIp: req.socket.remoteAddress ?? '',
    proto: 'http',
    host: req.headers.host ?? '',
    identity: user === null ? null : { user, groups: ['dev'] },
    stripCookies: ['gw_session'],
  });
  const owner = user === null ? null : { user, ...(sessionId ? { sessionId } : {}), ...(expires ? { expiresAt: Number(expires) } : {}) };
  forwarder.ws(req, socket, head, target, req.url ?? '/', headers, owner);
});
const frontPort = await listen(front);

t.teardown(async () => {
  await forwarder.close();
  await shut(front);
  await shut(upstream);
});

async function connect(path: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${frontPort}${path}`, { headers });
  await within(5000, `open ${path}`, once(ws, 'open'));
  return ws;
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = once(ws, 'message');
  ws.send(text);
  const [event] = await within(5000, 'echo', reply);
  return (event as MessageEvent).data as string;
}

const HANDSHAKE =
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

/** Sends a handshake by hand and returns the response head; the connection is closed then. */
async function rawHandshake(path: string): Promise<string> {
  const socket = net.connect(frontPort, '127.0.0.1');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: app.example\r\n${HANDSHAKE}\r\n`);
  let head = '';
  for await (const chunk of socket) {
    head += (chunk as Buffer).toString('latin1');
    if (head.includes('\r\n\r\n')) break;
  }
  return head;
}

/** Everything a socket sends until it closes, as latin1 text chunks. */
async function collect(socket: net.Socket): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of socket) out.push((chunk as Buffer).toString('latin1'));
  return out;
}

function received(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase().replaceAll('_', '-') === name) out.push(rawHeaders[i + 1] as string);
  }
  return out;
}

t.test('an echo works through the forwarder, with the same header hygiene', async (t) => {
  const ws = await connect('/live?user=jdoe', {
    'Remote-User': 'admin',
    remote_groups: 'admins',
    'X-Forwarded-For': '6.6.6.6',
    Cookie: 'gw_session=sealed; app=1',
  });
  t.teardown(() => ws.close());
  t.equal(await echo(ws, 'hello'), 'hello');
  t.equal(await echo(ws, 'ü'.repeat(100)), 'ü'.repeat(100), 'a frame with a 16-bit length');

  const seen = handshakes.at(-1);
  t.equal(seen?.url, '/live?user=jdoe');
  const raw = seen?.rawHeaders ?? [];
  t.same(received(raw, 'remote-user'), ['jdoe']);
  t.same(received(raw, 'remote-groups'), ['dev']);
  t.same(received(raw, 'x-forwarded-for'), ['127.0.0.1']);
  t.same(received(raw, 'cookie'), ['app=1']);
  t.same(received(raw, 'host'), [`127.0.0.1:${frontPort}`]);
  t.same(received(raw, 'upgrade'), ['websocket'], 'the handshake pair is put back');
  t.same(received(raw, 'connection'), ['upgrade']);
  t.equal(received(raw, 'sec-websocket-key').length, 1, 'end-to-end handshake fields pass');
});

t.test('a target path prefix is kept and the request path is not re-parsed', async (t) => {
  target = new URL(`http://127.0.0.1:${upstreamPort}/legacy`);
  t.teardown(() => {
    target = new URL(`http://127.0.0.1:${upstreamPort}`);
  });
  // By hand: a WHATWG URL (as in any WebSocket client) would already turn this into `/b`.
  const head = await rawHandshake('/a/%2e%2e/b?x=1');
  t.match(head, /^HTTP\/1\.1 101 /);
  t.equal(handshakes.at(-1)?.url, '/legacy/a/%2e%2e/b?x=1', 'exactly the path the policy saw');
});

t.test('a dead upstream answers 502 on the raw socket and closes it', async (t) => {
  target = new URL(`http://127.0.0.1:${await deadPort()}`);
  t.teardown(() => {
    target = new URL(`http://127.0.0.1:${upstreamPort}`);
  });
  const socket = net.connect(frontPort, '127.0.0.1');
  socket.write(`GET /live HTTP/1.1\r\nHost: app.example\r\n${HANDSHAKE}\r\n`);
  let answer = '';
  for await (const chunk of socket) answer += (chunk as Buffer).toString('latin1');
  t.match(answer, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
  t.ok(socket.readableEnded, 'closed by the gateway');
});

t.test('an upstream dying after the 101 closes the client connection, with no HTTP answer', async (t) => {
  const socket = net.connect(frontPort, '127.0.0.1');
  socket.write(`GET /dies HTTP/1.1\r\nHost: app.example\r\n${HANDSHAKE}\r\n`);
  const answer = (await within(5000, 'client connection closes', collect(socket))).join('');
  t.match(answer, /^HTTP\/1\.1 101 /);
  t.notMatch(answer, /502/, 'no second response inside the WebSocket stream');
});

t.test('a client resetting its connection mid-stream does not disturb the gateway', async (t) => {
  const socket = net.connect(frontPort, '127.0.0.1');
  socket.write(`GET /live HTTP/1.1\r\nHost: app.example\r\n${HANDSHAKE}\r\n`);
  await once(socket, 'data');
  socket.resetAndDestroy();
  await new Promise((r) => setTimeout(r, 50));
  const ws = await connect('/live');
  t.equal(await echo(ws, 'alive'), 'alive');
  ws.close();
});

t.test('an upgrade to anything but websocket is refused', async (t) => {
  const socket = net.connect(frontPort, '127.0.0.1');
  socket.write(
    'GET / HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n',
  );
  let answer = '';
  for await (const chunk of socket) answer += (chunk as Buffer).toString('latin1');
  t.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
});

t.test('closeUser closes every socket of that user and only those', async (t) => {
  const alice1 = await connect('/live?user=alice');
  const alice2 = await connect('/other?user=alice');
  const bob = await connect('/live?user=bob');
  const anonymous = await connect('/live');
  t.teardown(() => {
    bob.close();
    anonymous.close();
  });
  const closed = Promise.all([once(alice1, 'close'), once(alice2, 'close')]);
  t.equal(forwarder.closeUser('alice'), 2);
  await within(5000, "alice's sockets close", closed);
  t.equal(alice1.readyState, WebSocket.CLOSED);
  t.equal(await echo(bob, 'still here'), 'still here', 'other users keep their sockets');
  t.equal(await echo(anonymous, 'me too'), 'me too');
  t.equal(forwarder.closeUser('alice'), 0, 'nothing left to close');
  t.equal(forwarder.closeUser('nobody'), 0);
});

t.test('closeUser matches the user in any letter case (revocations name users by their lowercased key)', async (t) => {
  const socket = await connect('/live?user=Alice');
  const closed = once(socket, 'close');
  t.equal(forwarder.closeUser('alice'), 1);
  await within(5000, "Alice's socket closes", closed);
});

t.test('a socket closed by the client is forgotten', async (t) => {
  const ws = await connect('/live?user=carol');
  ws.close();
  await within(5000, 'client close completes', once(ws, 'close'));
  // The gateway's side of the TCP connection closes at about the same moment as the client's.
  await new Promise((r) => setTimeout(r, 100));
  t.equal(forwarder.closeUser('carol'), 0, 'no longer counted as open');
});

t.test("closeSession closes the sockets of that one session, not the user's others", async (t) => {
  const signedOut = await connect('/live?user=dave&sid=s-1');
  const sameSession = await connect('/other?user=dave&sid=s-1');
  const otherSession = await connect('/live?user=dave&sid=s-2');
  t.teardown(() => otherSession.close());
  const closed = Promise.all([once(signedOut, 'close'), once(sameSession, 'close')]);
  t.equal(forwarder.closeSession('s-1'), 2);
  await within(5000, "the session's sockets close", closed);
  t.equal(await echo(otherSession, 'other session'), 'other session', 'another session of the same user goes on');
  t.equal(forwarder.closeSession('s-1'), 0);
});

t.test('a socket is closed when its session expires by the (frozen) clock, and a refresh of that session moves its expiry', async (t) => {
  const start = clock.now;
  const soon = await connect(`/live?user=erin&sid=e-1&expires=${start + 60_000}`);
  const later = await connect(`/live?user=erin&sid=e-2&expires=${start + 60_000}`);
  const forever = await connect('/live?user=erin');
  t.teardown(() => {
    later.close();
    forever.close();
  });
  forwarder.extendSession('e-2', start + 120_000);
  forwarder.extendSession('e-2', start + 90_000);
  await new Promise((r) => setTimeout(r, 150));
  t.equal(soon.readyState, WebSocket.OPEN, 'open before the expiry (sweeps ran)');
  const closed = once(soon, 'close');
  clock.now = start + 60_000;
  await within(1000, 'closed within a second of the expiry', closed);
  t.equal(await echo(later, 'extended'), 'extended', 'the refreshed session keeps its socket (an extension never shortens)');
  t.equal(await echo(forever, 'basic'), 'basic', 'a socket without an expiry (app password) stays');
  const laterClosed = once(later, 'close');
  clock.now = start + 120_000;
  await within(1000, 'the refreshed session closes at its new expiry', laterClosed);
  clock.now = start;
});
