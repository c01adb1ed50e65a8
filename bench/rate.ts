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
 * Prints one line `RATE_RESULT {json}` (latencies in µs).
 */

import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string', default: '0' },
    connections: { type: 'string', default: '50' },
    header: { type: 'string', multiple: true, default: [] },
  },
});
if (!values.url || !values.rate || !values.seconds) throw new Error('--url, --rate and --seconds are required');
const url = new URL(values.url);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const TIMEOUT_MS = 10_000;

const head = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...values.header!, '', ''].join('\r\n');
const requestBytes = Buffer.from(head, 'latin1');

/** Per connection: the request in flight (its start time) and the response reader's state. */
interface Conn {
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

const capacity = Math.ceil(rate * seconds * 1.05) + 1000;
const latencies = new Float64Array(capacity);
let recorded = 0;
const lags = new Float64Array(capacity);
let lagCount = 0;
let errors = 0;
let statusErrors = 0;
let released = 0;
let measuredReleased = 0;

const idle: Conn[] = [];
/** Requests due but waiting for a connection: their start times and whether they are measured. */
const queue: { start: number; measured: boolean }[] = [];

let t0 = 0;
/** Requests on the schedule: the warm-up's first, then the measured ones (request i is due at t0 + i/rate). */
const total = Math.round((warmup + seconds) * rate);
const firstMeasured = Math.round(warmup * rate);

function finish(conn: Conn, ok: boolean): void {
  const now = performance.now();
  if (conn.measured && recorded < capacity) latencies[recorded++] = (now - conn.start) * 1000;
  if (!ok) errors++;
  conn.busy = false;
  conn.remaining = HEAD;
  const next = queue.shift();
  if (next) send(conn, next.start, next.measured);
  else idle.push(conn);
  // The loop is awake anyway: release what has come due since the last tick, closer to its time.
  if (released < total) release(now);
}

function send(conn: Conn, start: number, measured: boolean): void {
  conn.busy = true;
  conn.start = start;
  conn.measured = measured;
  conn.remaining = HEAD;
  conn.chunked = false;
  conn.socket.write(requestBytes);
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
  if (conn.status >= 400 && conn.measured) statusErrors++;
  finish(conn, true);
}

function open(): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port || 80), url.hostname);
    socket.setNoDelay(true);
    const conn: Conn = { socket, start: 0, measured: false, busy: false, buf: null, remaining: -1, chunked: false, status: 0 };
    socket.on('data', (chunk: Buffer) => onData(conn, chunk));
    socket.once('connect', () => {
      conns.push(conn);
      resolve(conn);
    });
    socket.on('error', (err) => {
      if (!conn.busy && conn.start === 0) reject(err);
    });
    socket.on('close', () => {
      // A dropped connection: its request failed; replace the connection so the rate holds.
      const idx = idle.indexOf(conn);
      if (idx !== -1) idle.splice(idx, 1);
      conns.splice(conns.indexOf(conn), 1);
      if (conn.busy && conn.measured) {
        errors++;
        if (recorded < capacity) latencies[recorded++] = (performance.now() - conn.start) * 1000;
      }
      conn.busy = false;
      if (!stopping)
        void open().then(
          (c) => (queue.length > 0 ? send(c, queue[0]!.start, queue.shift()!.measured) : idle.push(c)),
          () => undefined,
        );
    });
  });
}

let stopping = false;

/** Releases every request due by `now`: to an idle connection, or into the queue. */
function release(now: number): void {
  const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000) + 1);
  for (; released < due; released++) {
    const intended = t0 + (released * 1000) / rate;
    const start = Math.max(intended, now);
    const measured = released >= firstMeasured;
    if (measured) {
      measuredReleased++;
      if (lagCount < capacity) lags[lagCount++] = (now - intended) * 1000;
    }
    const conn = idle.shift();
    if (conn) send(conn, start, measured);
    else queue.push({ start, measured });
  }
}

function tick(): void {
  release(performance.now());
  if (released < total) setTimeout(tick, 1);
  else void drain();
}

async function drain(): Promise<void> {
  const deadline = performance.now() + TIMEOUT_MS;
  while (performance.now() < deadline && (queue.length > 0 || conns.some((c) => c.busy))) await new Promise((r) => setTimeout(r, 5));
  stopping = true;
  const cpu = process.cpuUsage(cpuStart);
  // What never finished counts as an error at the timeout.
  for (const c of conns) {
    if (c.busy && c.measured) {
      errors++;
      if (recorded < capacity) latencies[recorded++] = TIMEOUT_MS * 1000;
    }
  }
  for (const q of queue) {
    if (q.measured) {
      errors++;
      if (recorded < capacity) latencies[recorded++] = TIMEOUT_MS * 1000;
    }
  }
  for (const c of conns) c.socket.destroy();
  const lat = latencies.subarray(0, recorded).sort();
  const lag = lags.subarray(0, lagCount).sort();
  const pct = (a: Float64Array, p: number): number => (a.length ? a[Math.min(a.length - 1, Math.ceil((p / 100) * a.length) - 1)]! : 0);
  const result = {
    rate,
    seconds,
    sent: measuredReleased,
    completed: recorded,
    achievedRps: recorded / seconds,
    errors: errors + statusErrors,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    p999: pct(lat, 99.9),
    max: lat.length ? lat[lat.length - 1]! : 0,
    lagP99: pct(lag, 99),
    lagMax: lag.length ? lag[lag.length - 1]! : 0,
    cpuUsPerReq: (cpu.user + cpu.system) / Math.max(1, measuredReleased),
  };
  process.stdout.write(`RATE_RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

const conns: Conn[] = [];
for (let i = 0; i < connections; i++) await open();
idle.push(...conns);
let cpuStart = process.cpuUsage();
t0 = performance.now();
setTimeout(() => {
  cpuStart = process.cpuUsage();
}, warmup * 1000);
tick();
