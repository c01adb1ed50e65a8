/**
 * @module test/helpers/websocket
 * A real RFC 6455 echo app behind the test gateway, a raw handshake that returns the status
 * line (to see 401/403 that a WebSocket client only reports as an error), and opening a
 * socket with undici's WebSocket client with the cookie and Origin a browser would send.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Test } from 'tap';
import { WebSocket } from 'undici';
import { startUpstream, type Upstream } from './gateway.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface EchoUpstream extends Upstream {
  /** Handshakes that reached the app: URL and headers. */
  upgrades: Array<{ url: string; headers: Record<string, string | string[] | undefined> }>;
}

/** Unmasks the client's frames and echoes each data frame back (RFC 6455 §5.2, §5.3). */
function echoFrames(socket: Duplex): void {
  let buf = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.on('end', () => socket.end());
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0]! & 0x0f;
      const len = buf[1]! & 0x7f;
      if (len >= 126 || buf.length < 6 + len) return;
      const mask = buf.subarray(2, 6);
      const payload = Buffer.from(buf.subarray(6, 6 + len));
      for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
      buf = buf.subarray(6 + len);
      socket.write(Buffer.concat([Buffer.from([0x80 | opcode, len]), payload]));
      if (opcode === 0x8) socket.end();
    }
  });
}

export async function startEchoUpstream(t: Test): Promise<EchoUpstream> {
  const upstream = await startUpstream(t);
  const upgrades: EchoUpstream['upgrades'] = [];
  // Upgraded sockets leave the server's books: `close()` would wait for them forever.
  const sockets = new Set<Duplex>();
  const close = upstream.server.close.bind(upstream.server);
  upstream.server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof upstream.server.close;
  upstream.server.on('upgrade', (req, socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    echoFrames(socket);
  });
  return Object.assign(upstream, { upgrades });
}

/** Sends a handshake by hand with extra header lines (each `[name, value]`, repeats allowed); returns the status code. */
export async function handshakeStatus(
  port: number,
  path: string,
  lines: ReadonlyArray<readonly [string, string]>,
  host = `127.0.0.1:${port}`,
): Promise<number> {
  const socket = net.connect(port, '127.0.0.1');
  const extra = lines.map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
  let head = '';
  try {
    for await (const chunk of socket) {
      head += (chunk as Buffer).toString('latin1');
      if (head.includes('\r\n')) break;
    }
  } finally {
    socket.destroy();
  }
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
}

/** Opens a WebSocket as a browser page on `origin` would (cookie and Origin), and waits for it. */
export async function openSocket(port: number, path: string, headers: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
  const opened = once(ws, 'open');
  const failed = once(ws, 'error').then(() => {
    throw new Error(`WebSocket ${path} refused`);
  });
  await Promise.race([opened, failed]);
  return ws;
}

export async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = once(ws, 'message');
  ws.send(text);
  const [event] = await reply;
  return (event as MessageEvent).data as string;
}

/** Resolves with the milliseconds until `ws` closes, or rejects after `ms`. */
export async function closesWithin(ws: WebSocket, ms: number): Promise<number> {
  const started = performance.now();
  if (ws.readyState === WebSocket.CLOSED) return 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      once(ws, 'close'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  return performance.now() - started;
}
