/**
 * @module bench/bare-forwarder
 * The floor of what the gateway could be: a reverse proxy on the gateway's own stack
 * (Node, `node:http` in front) with no policy, no session and no logging, only the
 * hop-by-hop header hygiene any correct proxy needs. Two variants, so that each run shows
 * which forwarding library is faster on the machine at hand:
 *
 *   - `undici`: a keep-alive `Pool` to the upstream, `pool.dispatch()` with a small handler
 *     per request that streams the response with back-pressure (the gateway's technique);
 *   - `http-proxy-3`: `proxy.web()` over a keep-alive `http.Agent`.
 *
 *   node bench/bare-forwarder.ts --variant undici|http-proxy-3 --upstream URL --port N
 *
 * Prints `listening PORT` on stdout once it accepts connections.
 */

import { Agent, createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { createProxyServer } from 'http-proxy-3';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

/** RFC 9110 §7.6.1: these belong to one connection and are never forwarded. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

function withoutHopByHop<T extends IncomingHttpHeaders | OutgoingHttpHeaders>(headers: T): T {
  const listed = headers.connection;
  if (typeof listed === 'string') {
    for (const name of listed.split(',')) delete headers[name.trim().toLowerCase()];
  }
  for (const name of HOP_BY_HOP) delete headers[name];
  return headers;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function badGateway(res: ServerResponse): void {
  if (res.headersSent) res.destroy();
  else res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway\n');
}

/** Bridges undici's dispatch callbacks to one client response; one allocation per request. */
class Relay implements Dispatcher.DispatchHandler {
  readonly res: ServerResponse;
  controller: Dispatcher.DispatchController | null = null;

  constructor(res: ServerResponse) {
    this.res = res;
    res.once('close', this.onClose);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: OutgoingHttpHeaders): void {
    if (statusCode >= 200) this.res.writeHead(statusCode, withoutHopByHop(headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(_c: Dispatcher.DispatchController | null, _err: Error): void {
    badGateway(this.res);
  }

  private readonly onClose = (): void => {
    if (!this.res.writableFinished) this.controller?.abort(new Error('client closed the connection'));
  };
}

function undiciHandler(upstream: URL): Handler {
  const pool = new Pool(upstream.origin, { connections: 128, keepAliveTimeout: 60_000 });
  return (req, res) => {
    const method = req.method ?? 'GET';
    pool.dispatch(
      {
        path: req.url ?? '/',
        method,
        headers: withoutHopByHop(req.headers),
        body: method === 'GET' || method === 'HEAD' ? null : req,
      },
      new Relay(res),
    );
  };
}

function httpProxy3Handler(upstream: URL): Handler {
  const proxy = createProxyServer({
    target: upstream.origin,
    agent: new Agent({ keepAlive: true, maxSockets: 128 }),
  });
  proxy.on('error', (_err, _req, res) => {
    if (res && 'writeHead' in res) badGateway(res);
  });
  return (req, res) => proxy.web(req, res);
}

const { values } = parseArgs({
  options: {
    variant: { type: 'string', default: 'undici' },
    upstream: { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});
if (!values.upstream) throw new Error('--upstream URL is required');
const upstream = new URL(values.upstream);
const handlers: Record<string, (u: URL) => Handler> = { undici: undiciHandler, 'http-proxy-3': httpProxy3Handler };
const make = handlers[values.variant];
if (!make) throw new Error(`--variant must be one of: ${Object.keys(handlers).join(', ')}`);

const server = createServer(make(upstream));
server.keepAliveTimeout = 120_000;
server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`listening ${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
