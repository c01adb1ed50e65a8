// The bench's floor (bench/floor.ts) must be a correct proxy, or "gateway vs floor" compares
// the gateway with something that cuts corners. Each case sends raw bytes through the real
// floor process to a real upstream and checks what arrived on each side.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';

const FLOOR = join(import.meta.dirname, '..', '..', 'bench', 'floor.ts');

interface Seen {
  method: string;
  url: string;
  raw: string[];
  body: string;
  remotePort: number;
}

async function upstream(
  respond: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ port: number; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, raw: req.rawHeaders, body, remotePort: req.socket.remotePort! });
      respond(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as AddressInfo).port, seen, server };
}

async function floor(upstreamPort: number): Promise<number> {
  const child: ChildProcess = spawn(process.execPath, [FLOOR, '--upstream', `http://127.0.0.1:${upstreamPort}/`, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`floor exited ${code}`)));
  });
}

/** Sends raw request bytes on one connection and returns everything read until the server closes it. */
function exchange(port: number, ...requests: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (got += c));
    socket.on('end', () => resolve(got));
    socket.on('error', (err) => (got ? resolve(got) : reject(err)));
    socket.on('close', () => resolve(got));
    for (const r of requests) socket.write(r);
  });
}

const names = (raw: string[]): string[] => raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());

t.test('request: method, target and end-to-end headers pass; hop-by-hop and Connection-named fields do not', async (t) => {
  const up = await upstream((_req, res) => res.end('ok'));
  const port = await floor(up.port);
  const res = await exchange(
    port,
    'DELETE /a/b?x=1&y=%2F HTTP/1.1\r\nHost: app.example\r\nX-Keep: 1\r\nX-Keep: 2\r\nConnection: close, X-Drop-Me\r\n' +
      'X-Drop-Me: secret\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\n\r\n',
  );
  t.match(res, /^HTTP\/1\.1 200 OK\r\n/);
  const seen = up.seen[0]!;
  t.equal(seen.method, 'DELETE');
  t.equal(seen.url, '/a/b?x=1&y=%2F');
  const keep = seen.raw.indexOf('X-Keep');
  t.same(seen.raw.slice(keep, keep + 4), ['X-Keep', '1', 'X-Keep', '2'], 'kept in order, with repeats and case');
  t.equal(seen.raw[seen.raw.findIndex((n) => n.toLowerCase() === 'host') + 1], 'app.example', "the client's Host");
  for (const dropped of ['x-drop-me', 'keep-alive', 'proxy-connection', 'te', 'trailer'])
    t.notOk(names(seen.raw).includes(dropped), `${dropped} dropped`);
  t.same(
    seen.raw.filter((_, i) => i > 0 && seen.raw[i - 1]!.toLowerCase() === 'connection'),
    ['keep-alive'],
    "only undici's own Connection",
  );
  t.notMatch(seen.raw.join('\n'), /X-Drop-Me|secret/);
});

t.test('request bodies: content-length and chunked both arrive whole', async (t) => {
  const up = await upstream((_req, res) => res.end('ok'));
  const port = await floor(up.port);
  await exchange(port, 'POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world');
  await exchange(
    port,
    'PUT /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  );
  t.equal(up.seen[0]!.body, 'hello world');
  t.ok(up.seen[0]!.raw.includes('11'), 'content-length forwarded');
  t.equal(up.seen[1]!.method, 'PUT');
  t.equal(up.seen[1]!.body, 'hello world');
});

t.test('response: status, text, repeated Set-Cookie and streamed chunked body pass; hop-by-hop fields do not', async (t) => {
  const up = await upstream((_req, res) => {
    res.writeHead(201, 'Made It', [
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'Connection',
      'X-Internal',
      'X-Internal',
      'leak',
      'Keep-Alive',
      'timeout=1',
      'X-App',
      'yes',
    ]);
    res.write('part one,');
    setTimeout(() => res.end(' part two'), 20);
  });
  const port = await floor(up.port);
  const res = await exchange(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const [head, body] = res.split('\r\n\r\n');
  t.match(head, /^HTTP\/1\.1 201 Made It\r\n/);
  t.match(head, /\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n/);
  t.match(head, /\r\nX-App: yes\r\n/);
  t.notMatch(head, /X-Internal|leak|timeout=1/);
  t.match(head, /\r\nTransfer-Encoding: chunked(\r\n|$)/i, 'no length known: chunked to the client');
  t.equal(body!.replace(/\r\n[0-9a-f]+\r\n/g, '').replace(/^[0-9a-f]+\r\n|\r\n0$|\r\n$/g, ''), 'part one, part two');
});

t.test('response header values pass byte for byte, obs-text included (RFC 9110 §5.5)', async (t) => {
  const up = await upstream((_req, res) => {
    res.setHeader('X-Name', 'caf\xe9 \xff');
    res.end('ok');
  });
  const port = await floor(up.port);
  const get = 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
  const line = (res: string): string | undefined => /\r\n(X-Name: [^\r]*)\r\n/.exec(res)?.[1];
  const direct = await exchange(up.port, get);
  const res = await exchange(port, get);
  t.match(res, /^HTTP\/1\.1 200 OK\r\n/, 'not a 502');
  t.ok(line(direct), 'the upstream sent the field');
  t.equal(line(res), line(direct), 'the same bytes as the upstream sent (read as latin1 on both sides)');
});

t.test('upstream connections are kept alive between requests', async (t) => {
  const up = await upstream((_req, res) => res.end('ok'));
  const port = await floor(up.port);
  await exchange(port, 'GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  await exchange(port, 'GET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  t.equal(up.seen.length, 2);
  t.equal(up.seen[0]!.remotePort, up.seen[1]!.remotePort, 'same upstream connection');
});

t.test('upstream down answers 502; upstream dying mid-response cuts the client connection', async (t) => {
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const deadPort = (dead.address() as AddressInfo).port;
  await new Promise<void>((r) => dead.close(() => r()));
  const port = await floor(deadPort);
  t.match(await exchange(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 502 /);

  const up = await upstream((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('only part');
    setTimeout(() => res.socket!.destroy(), 20);
  });
  const port2 = await floor(up.port);
  const cut = await exchange(port2, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  t.match(
    cut,
    /^HTTP\/1\.1 200 OK\r\n[\s\S]*only part$/,
    'status and the partial body, then the connection closes short of Content-Length',
  );
});
