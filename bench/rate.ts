/**
 * @module bench/rate
 * The fixed-rate load generator: an open loop that sends `GET` requests at a constant rate,
 * whatever the server's latency, and measures each one from the moment it was due, so a
 * server that stalls is charged for every request that had to wait behind the stall
 * (coordinated omission corrected, as wrk2 does). wrk2 is not packaged by Debian, wrk is a
 * closed loop, and autocannon's rate is a per-second budget per connection (bursts) with an
 * after-the-fact correction (bench/README.md), hence this small generator; the bench runs it as its own process, pinned to the load
 * generator's core, and reports its own overhead (its CPU per request, its timer lag, and
 * the `direct` row, which is this generator against the bare origin).
 *
 *   node bench/rate.ts --url URL --rate R --seconds S [--warmup S] [--connections N]
 *                      [--header 'Name: value']...
 *   node bench/rate.ts --targets JSON --rate R --seconds S [--slice-ms MS] [--warmup S] [--connections N]
 *
 * How: request bytes are built once; `--connections` raw keep-alive TCP connections (no
 * HTTP client library, a minimal response reader for Content-Length and chunked bodies).
 * A 1 ms timer, and every response that completes, release every request that has come
 * due since; a request goes out on an idle connection at once, or waits in a FIFO queue for
 * the next connection that finishes. Its latency runs from when the generator released it
 * (its due time, or the moment the generator found it due when it was itself late: the
 * generator's own lateness is not the server's) to the last byte of its response. The timer lag (release minus due
 * time) is reported apart, as the generator's accuracy. The warm-up runs first on the same
 * schedule and is not recorded. In-flight requests get 10 s to finish after the run; those
 * that do not count as errors with a latency of 10 s.
 *
 * Interleaved targets (`--targets '[{"url": "...", "headers": ["Cookie: ..."]}, ...]'`): one
 * schedule at `--rate` whose time is cut into slices of `--slice-ms` (default 250), each slice
 * sent to the next target in turn, each target on its own `--connections` connections. Every
 * target gets `--warmup` plus `--seconds` worth of requests, so the run lasts N times as long.
 * A shared machine's stalls (another VM taking the core, a noisy neighbour) fall on every
 * target alike instead of on whichever one was being measured at the time: a comparison of
 * tails between servers then measures the servers, not when each one ran.
 *
 * Prints one line `RATE_RESULT {json}` (latencies in µs): the generator's own figures and
 * `targets`, one result per target in the order given; with one target, that target's
 * figures also at the top level.
 */

import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    targets: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string', default: '0' },
    connections: { type: 'string', default: '50' },
    header: { type: 'string', multiple: true, default: [] },
    'slice-ms': { type: 'string', default: '250' },
  },
});
if ((!values.url && !values.targets) || !values.rate || !values.seconds)
  throw new Error('--url (or --targets), --rate and --seconds are required');
const specs: { url: string; headers?: string[] }[] = values.targets
  ? (JSON.parse(values.targets) as { url: string; headers?: string[] }[])
  : [{ url: values.url!, headers: values.header! }];
if (!Array.isArray(specs) || specs.length === 0) throw new Error('--targets must be a non-empty JSON array of {url, headers}');
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const sliceMs = Number(values['slice-ms']);
if (!(sliceMs > 0)) throw new Error('--slice-ms must be positive');
const TIMEOUT_MS = 10_000;

/** Per connection: the request in flight (its start time) and the response reader's state. */
interface Conn {
  target: Target;
  socket: Socket;
  start: number;
  measured: boolean;
  busy: boolean;
  buf: Buffer | null;
  /** Body bytes still expected (of the Content-Length, or of the current chunk plus its CRLF), or a reader state below. */
  remaining: number;
  chunked: boolean;
  status: number;
}

const perTarget = Math.ceil(rate * seconds * 1.05) + 1000;

/** One server under test: its connections, its waiting requests, its measurements. */
interface Target {
  url: URL;
  requestBytes: Buffer;
  conns: Conn[];
  idle: Conn[];
  /** Requests due but waiting for a connection: their start times and whether they are measured. */
  queue: { start: number; measured: boolean }[];
  latencies: Float64Array;
  recorded: number;
  errors: number;
  statusErrors: number;
  sent: number;
}

const targets: Target[] = specs.map((spec) => {
  const url = new URL(spec.url);
  const head = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...(spec.headers ?? []), '', ''].join('\r\n');
  return {
    url,
    requestBytes: Buffer.from(head, 'latin1'),
    conns: [],
    idle: [],
    queue: [],
    latencies: new Float64Array(perTarget),
    recorded: 0,
    errors: 0,
    statusErrors: 0,
    sent: 0,
  };
});
const n = targets.length;

const lags = new Float64Array(perTarget * n);
let lagCount = 0;
let released = 0;
let measuredReleased = 0;

let t0 = 0;
/**
 * Requests on the schedule (request i is due at t0 + i/rate, and goes to the target whose slice
 * holds that time): the warm-up's first, then the measured ones. Each target gets its share.
 */
const total = Math.round((warmup + seconds) * rate * n);
const firstMeasured = Math.round(warmup * rate * n);
const targetOf = (i: number): Target => targets[Math.floor((i * 1000) / rate / sliceMs) % n]!;

function record(target: Target, ms: number): void {
  if (target.recorded < perTarget) target.latencies[target.recorded++] = ms * 1000;
}

function finish(conn: Conn, ok: boolean): void {
  const now = performance.now();
  const target = conn.target;
  if (conn.measured) record(target, now - conn.start);
  if (!ok) target.errors++;
  conn.busy = false;
  conn.remaining = HEAD;
  const next = target.queue.shift();
  if (next) send(conn, next.start, next.measured);
  else target.idle.push(conn);
  // The loop is awake anyway: release what has come due since the last tick, closer to its time.
  if (released < total) release(now);
}

function send(conn: Conn, start: number, measured: boolean): void {
  conn.busy = true;
  conn.start = start;
  conn.measured = measured;
  conn.remaining = HEAD;
  conn.chunked = false;
  conn.socket.write(conn.target.requestBytes);
}

const HEAD = -1;
const CHUNK_SIZE = -2;
const TRAILER = -3;

/** Reads as much of the current response as `data` holds (one response at a time: no pipelining). */
function onData(conn: Conn, chunk: Buffer): void {
  let data = conn.buf ? Buffer.concat([conn.buf, chunk]) : chunk;
  conn.buf = null;
  while (data.length > 0) {
    if (conn.remaining === HEAD || conn.remaining === CHUNK_SIZE || conn.remaining === TRAILER) {
      const eol = data.indexOf(conn.remaining === HEAD ? '\r\n\r\n' : '\r\n');
      if (eol === -1) {
        conn.buf = data;
        return;
      }
      const line = data.toString('latin1', 0, eol);
      if (conn.remaining === HEAD) {
        data = data.subarray(eol + 4);
        conn.status = Number(line.slice(9, 12));
        const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(line);
        conn.remaining = /\r\ntransfer-encoding:[^\r]*chunked/i.test(line) ? CHUNK_SIZE : cl ? Number(cl[1]) : 0;
        conn.chunked = conn.remaining === CHUNK_SIZE;
        if (conn.remaining === 0) complete(conn);
      } else if (conn.remaining === CHUNK_SIZE) {
        data = data.subarray(eol + 2);
        const size = parseInt(line, 16);
        // A chunk's data is followed by CRLF; the zero-size chunk by the trailer section.
        conn.remaining = size === 0 ? TRAILER : size + 2;
      } else {
        data = data.subarray(eol + 2);
        if (eol === 0) complete(conn);
      }
      continue;
    }
    const take = Math.min(conn.remaining, data.length);
    conn.remaining -= take;
    data = data.subarray(take);
    if (conn.remaining === 0) {
      if (conn.chunked) conn.remaining = CHUNK_SIZE;
      else complete(conn);
    }
  }
}

function complete(conn: Conn): void {
  if (conn.status >= 400 && conn.measured) conn.target.statusErrors++;
  finish(conn, true);
}

function open(target: Target): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.url.port || 80), target.url.hostname);
    socket.setNoDelay(true);
    const conn: Conn = { target, socket, start: 0, measured: false, busy: false, buf: null, remaining: -1, chunked: false, status: 0 };
    socket.on('data', (chunk: Buffer) => onData(conn, chunk));
    socket.once('connect', () => {
      target.conns.push(conn);
      resolve(conn);
    });
    socket.on('error', (err) => {
      if (!conn.busy && conn.start === 0) reject(err);
    });
    socket.on('close', () => {
      // A dropped connection: its request failed; replace the connection so the rate holds.
      const idx = target.idle.indexOf(conn);
      if (idx !== -1) target.idle.splice(idx, 1);
      target.conns.splice(target.conns.indexOf(conn), 1);
      if (conn.busy && conn.measured) {
        target.errors++;
        record(target, performance.now() - conn.start);
      }
      conn.busy = false;
      if (!stopping)
        void open(target).then(
          (c) => (target.queue.length > 0 ? send(c, target.queue[0]!.start, target.queue.shift()!.measured) : target.idle.push(c)),
          () => undefined,
        );
    });
  });
}

let stopping = false;

/** Releases every request due by `now`: to an idle connection of its target, or into that target's queue. */
function release(now: number): void {
  const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000) + 1);
  for (; released < due; released++) {
    const intended = t0 + (released * 1000) / rate;
    const start = Math.max(intended, now);
    const measured = released >= firstMeasured;
    const target = targetOf(released);
    if (measured) {
      measuredReleased++;
      target.sent++;
      if (lagCount < lags.length) lags[lagCount++] = (now - intended) * 1000;
    }
    const conn = target.idle.shift();
    if (conn) send(conn, start, measured);
    else target.queue.push({ start, measured });
  }
}

function tick(): void {
  release(performance.now());
  if (released < total) setTimeout(tick, 1);
  else void drain();
}

const pct = (a: Float64Array, p: number): number => (a.length ? a[Math.min(a.length - 1, Math.ceil((p / 100) * a.length) - 1)]! : 0);

/** What one target measured: every request due in the measured window, answered or charged as an error. */
function resultOf(target: Target): Record<string, number | string> {
  const lat = target.latencies.subarray(0, target.recorded).sort();
  return {
    url: target.url.href,
    sent: target.sent,
    completed: target.recorded,
    achievedRps: target.recorded / seconds,
    errors: target.errors + target.statusErrors,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    p999: pct(lat, 99.9),
    max: lat.length ? lat[lat.length - 1]! : 0,
  };
}

async function drain(): Promise<void> {
  const deadline = performance.now() + TIMEOUT_MS;
  const busy = (): boolean => targets.some((t) => t.queue.length > 0 || t.conns.some((c) => c.busy));
  while (performance.now() < deadline && busy()) await new Promise((r) => setTimeout(r, 5));
  stopping = true;
  const cpu = process.cpuUsage(cpuStart);
  // What never finished counts as an error at the timeout.
  for (const target of targets) {
    for (const c of target.conns) {
      if (c.busy && c.measured) {
        target.errors++;
        record(target, TIMEOUT_MS);
      }
    }
    for (const q of target.queue) {
      if (q.measured) {
        target.errors++;
        record(target, TIMEOUT_MS);
      }
    }
    for (const c of target.conns) c.socket.destroy();
  }
  const lag = lags.subarray(0, lagCount).sort();
  const results = targets.map(resultOf);
  const result = {
    ...(n === 1 ? results[0] : {}),
    rate,
    seconds,
    sliceMs: n === 1 ? null : sliceMs,
    lagP99: pct(lag, 99),
    lagMax: lag.length ? lag[lag.length - 1]! : 0,
    cpuUsPerReq: (cpu.user + cpu.system) / Math.max(1, measuredReleased),
    targets: results,
  };
  process.stdout.write(`RATE_RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

for (const target of targets) for (let i = 0; i < connections; i++) await open(target);
for (const target of targets) target.idle.push(...target.conns);
let cpuStart = process.cpuUsage();
t0 = performance.now();
setTimeout(
  () => {
    cpuStart = process.cpuUsage();
  },
  warmup * n * 1000,
);
tick();
