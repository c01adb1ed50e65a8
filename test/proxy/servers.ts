/**
 * @module test/proxy/servers
 * Real loopback servers for the proxy tests: an upstream app the test scripts, and a
 * small front server that does what the gateway's chain does after the policy allowed
 * a request (header hygiene, then forwarding).
 */

import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createForwarder } from '../../src/proxy/forward.ts';
import type { Forwarder } from '../../src/proxy/forward.ts';
import { upstreamRequestHeaders } from '../../src/proxy/headers.ts';
import type { Identity } from '../../src/proxy/headers.ts';
import type { GatewayError } from '../../src/errors/errors.ts';

const SESSION_COOKIE = 'gw_session';

export async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Closes a server and every connection it still holds. */
export async function shut(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A loopback port that nothing listens on any more. */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface Front {
  port: number;
  forwarder: Forwarder;
  /** Errors handed to onError, in order. */
  failures: GatewayError[];
  /** The upstream the next request goes to (tests switch it). */
  target: URL;
  identity: Identity | null;
  close(): Promise<void>;
}

/** The gateway's forwarding step alone: every request allowed, forwarded to `front.target`. */
export async function startFront(target: URL, timeouts = { connectTimeoutMs: 1000, responseTimeoutMs: 2000 }): Promise<Front> {
  const failures: GatewayError[] = [];
  const forwarder = createForwarder({
    ...timeouts,
    onError(_req, res, err) {
      failures.push(err);
      res.writeHead(err.status, { 'content-type': 'text/plain' });
      res.end(err.code);
    },
  });
  const front: Front = {
    port: 0,
    forwarder,
    failures,
    target,
    identity: null,
    async close() {
      await shut(server);
      await forwarder.close();
    },
  };
  const server = http.createServer((req, res) => {
    const headers = upstreamRequestHeaders(req.rawHeaders, {
      clientIp: req.socket.remoteAddress ?? '',
      proto: 'http',
      host: req.headers.host ?? '',
      identity: front.identity,
      stripCookies: [SESSION_COOKIE],
    });
    forwarder.web(req, res, front.target, req.url ?? '/', headers, [SESSION_COOKIE]);
  });
  front.port = await listen(server);
  return front;
}

export interface RawResponse {
  head: string;
  body: Buffer;
}

/**
 * Sends bytes exactly as given on a fresh connection and reads until the server
 * closes it (the request should say `Connection: close`), so tests can send what no
 * well-behaved client library would.
 */
export async function rawRequest(port: number, request: string): Promise<RawResponse> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(request);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const all = Buffer.concat(chunks);
  const split = all.indexOf('\r\n\r\n');
  return { head: all.subarray(0, split).toString('latin1'), body: all.subarray(split + 4) };
}

/** A promise with its resolve function, for "the other side got this far" signals. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects after `ms` with `what`, so a broken test fails instead of hanging. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
