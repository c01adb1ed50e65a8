/**
 * @module bench/floor
 * The floor of the bench: the fastest correct minimal HTTP/1.1 reverse proxy we could write
 * in Node, with no gateway code, so that "gateway vs floor" shows what the gateway's own
 * work (policy, session, identity headers, logging) costs on top of forwarding itself.
 *
 * What it does, and nothing more: `node:http` in front (llhttp parses and rejects
 * malformed or smuggling-prone requests); a keep-alive undici `Pool` behind, driven with
 * `pool.dispatch()` and one small handler object per request. It forwards the method, the
 * request target and the client's headers as the raw `[name, value, ...]` array (no header
 * object is built on the request side), streams request bodies (`Content-Length` as is;
 * `Transfer-Encoding: chunked` re-chunked by undici) and response bodies with
 * back-pressure, and writes the upstream's raw response header array straight to
 * `res.writeHead(status, text, array)`, keeping names' case, order and repeated fields
 * (Set-Cookie). Hop-by-hop fields (RFC 9110 §7.6.1) and every field the `Connection`
 * header names are dropped both ways. An upstream that fails before its response starts
 * gets 502; after it started, the client connection is cut (the only honest signal left).
 * A client that leaves aborts its upstream request. 1xx interim responses are not relayed
 * (Node answers `Expect: 100-continue` itself). No upgrades, no HTTP/2.
 *
 * Chosen by measurement against the alternatives (bench/README.md, "The floor").
 *
 *   node bench/floor.ts --upstream URL --port N [--workers N]
 *
 * `--workers N` > 1 runs N node:cluster workers sharing the port (the primary only forks).
 * Prints `listening PORT` on stdout once it accepts connections.
 */

import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

/** RFC 9110 §7.6.1 (plus the old `proxy-connection`): one connection's fields, never forwarded. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
/** Lengths of those names: a field of any other length is copied without lowercasing its name. */
const HOP_LENGTHS: ReadonlySet<number> = new Set([...HOP_BY_HOP].map((n) => n.length));

/**
 * The forwardable part of a raw `[name, value, ...]` field list: hop-by-hop fields and the
 * fields named in `Connection` removed. Fields are otherwise kept as they came (case, order,
 * repeats). Accepts strings (node:http's rawHeaders) or Buffers (undici's raw response).
 */
export function forwardable(raw: readonly (string | Buffer)[]): string[] {
  const out: string[] = [];
  let named: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = typeof raw[i] === 'string' ? (raw[i] as string) : (raw[i] as Buffer).toString('latin1');
    const value = typeof raw[i + 1] === 'string' ? (raw[i + 1] as string) : (raw[i + 1] as Buffer).toString('latin1');
    if (HOP_LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) {
        if (lower === 'connection') for (const token of value.split(',')) (named ??= new Set()).add(token.trim().toLowerCase());
        continue;
      }
    }
    out.push(name, value);
  }
  if (named === null) return out;
  // Rare: Connection named other fields (`Connection: close, X-Foo`); drop those too.
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!named.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

/** RFC 9112 §6.3: a request has a body only when it says so with Content-Length or Transfer-Encoding. */
function hasBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') return raw[i + 1] !== '0';
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return true;
  }
  return false;
}

function badGateway(res: ServerResponse): void {
  if (res.headersSent) res.destroy();
  else res.writeHead(502, { 'content-type': 'text/plain', 'content-length': '12' }).end('bad gateway\n');
}

/** One request's bridge from undici's dispatch callbacks to the client's response. */
class Relay implements Dispatcher.DispatchHandler {
  readonly res: ServerResponse;
  controller: Dispatcher.DispatchController | null = null;
  gone = false;

  constructor(res: ServerResponse) {
    this.res = res;
    res.on('close', this.onClientClose);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.gone) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, _headers: unknown, statusText?: string): void {
    if (statusCode < 200) return;
    // undici keeps the response's raw [name, value, ...] Buffers on the controller.
    const raw = (controller as { rawHeaders?: Buffer[] }).rawHeaders ?? [];
    this.res.writeHead(statusCode, statusText, forwardable(raw));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.gone) return;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(_c: Dispatcher.DispatchController | null, _err: Error): void {
    if (!this.gone) badGateway(this.res);
  }

  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.gone = true;
    this.controller?.abort(new Error('client closed the connection'));
  };
}

function serve(upstream: URL, port: number): void {
  const pool = new Pool(upstream.origin, { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000, allowH2: false });
  const prefix = upstream.pathname === '/' ? '' : upstream.pathname.replace(/\/$/, '');
  const server = createServer({ keepAliveTimeout: 120_000, noDelay: true }, (req: IncomingMessage, res: ServerResponse) => {
    const raw = req.rawHeaders;
    pool.dispatch(
      { path: prefix + req.url!, method: req.method!, headers: forwardable(raw), body: hasBody(raw) ? req : null },
      new Relay(res),
    );
  });
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    if (address && typeof address === 'object') process.stdout.write(`listening ${address.port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => void pool.close().then(() => process.exit(0))));
}

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    port: { type: 'string', default: '0' },
    workers: { type: 'string', default: '1' },
  },
});
if (!values.upstream) throw new Error('--upstream URL is required');
const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers must be a positive integer');
if (workers > 1 && cluster.isPrimary) {
  // The primary only forks; each worker prints `listening`, the first one is enough for the bench.
  if (Number(values.port) === 0) throw new Error('--workers > 1 needs a fixed --port');
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    cluster.on('exit', () => Object.keys(cluster.workers ?? {}).length === 0 && process.exit(0));
  });
} else serve(new URL(values.upstream), Number(values.port));
