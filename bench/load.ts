/**
 * @module bench/load
 * The load generators. At saturation: wrk, run as its own process pinned to its own core, one thread and a
 * fixed number of keep-alive connections for a fixed time. wrk's numbers come from a Lua
 * `done()` hook that prints one machine-readable line (exact request count, bytes, errors,
 * and latency percentiles from wrk's full histogram, including p99.9), so nothing is parsed
 * from its human-readable summary. For the many-sessions scenario a Lua `request()` hook
 * sends a different session cookie with every request, rotating through a file of them.
 * `runRate` drives the fixed-rate generator (`rate.ts`) the same way: its own pinned process,
 * one machine-readable result line.
 */

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What one wrk run measured. Latencies in microseconds. */
export interface LoadResult {
  requests: number;
  seconds: number;
  bytes: number;
  /** Responses with a status of 400 or above, plus connect/read/write errors and timeouts. */
  errors: number;
  p50: number;
  p99: number;
  p999: number;
  mean: number;
  max: number;
}

export interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  /** taskset core list for wrk; empty = unpinned. */
  cores: string;
  /** Extra request headers sent with every request (one fixed session cookie, for example). */
  headers?: Record<string, string>;
  /** A file of Cookie header values, one a line; each request takes the next one. */
  cookieFile?: string;
}

const MARK = 'BENCH_RESULT ';

const REPORT_LUA = `
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("${MARK}%d %d %d %d %d %d %d %d %.1f %.1f %.1f %.1f %d\\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max))
end
`;

const ROTATE_LUA = `
local requests = {}
local count, next = 0, 0
function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      count = count + 1
      requests[count] = wrk.format(nil, nil, { ["Cookie"] = line })
    end
  end
  if count == 0 then error("no cookies in " .. args[1]) end
  next = math.random(count) - 1
end
function request()
  next = next % count + 1
  return requests[next]
end
${REPORT_LUA}`;

let scripts: { report: string; rotate: string } | null = null;

/** Writes the two Lua scripts into `dir`; call once per run, before `runLoad`. */
export function useScripts(dir: string): void {
  scripts = { report: join(dir, 'report.lua'), rotate: join(dir, 'rotate-cookies.lua') };
  writeFileSync(scripts.report, REPORT_LUA);
  writeFileSync(scripts.rotate, ROTATE_LUA);
}

/** Runs wrk once and returns its figures; rejects when wrk fails or prints no result. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (!scripts) throw new Error('useScripts(dir) first');
  const args = [
    '-t1',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    options.cookieFile ? scripts.rotate : scripts.report,
  ];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(options.url);
  if (options.cookieFile) args.push('--', options.cookieFile);
  const argv = options.cores ? ['taskset', '-c', options.cores, 'wrk', ...args] : ['wrk', ...args];

  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    // wrk stops by itself after -d; this only guards against a wedged process.
    const guard = setTimeout(() => child.kill('SIGKILL'), (options.seconds + 30) * 1000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(guard);
      const line = out.split('\n').find((l) => l.startsWith(MARK));
      if (code !== 0 || !line) {
        reject(new Error(`wrk failed (exit ${code}): ${out.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      const n = line.slice(MARK.length).trim().split(/\s+/).map(Number);
      resolve({
        requests: n[0]!,
        seconds: n[1]! / 1e6,
        bytes: n[2]!,
        errors: n[3]! + n[4]! + n[5]! + n[6]! + n[7]!,
        p50: n[8]!,
        p99: n[9]!,
        p999: n[10]!,
        mean: n[11]!,
        max: n[12]!,
      });
    });
  });
}

/** What one target of a fixed-rate run measured (`rate.ts`). Latencies in microseconds, from when each request was due. */
export interface RateResult {
  url: string;
  /** Requests due in the measured window, and how many of them got a response. */
  sent: number;
  completed: number;
  achievedRps: number;
  errors: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** One fixed-rate run: the generator's own figures, and each target's, in the order given. */
export interface RateRun {
  rate: number;
  seconds: number;
  /** Interleaved targets' slice length, null for one target. */
  sliceMs: number | null;
  /** The generator's own accuracy: how late its timer released requests (p99 and max). */
  lagP99: number;
  lagMax: number;
  /** The generator's own CPU per request. */
  cpuUsPerReq: number;
  targets: RateResult[];
}

export interface RateOptions {
  /** One server, or several interleaved in slices of `sliceMs` on one schedule (rate.ts). */
  targets: { url: string; headers?: Record<string, string> }[];
  rate: number;
  /** Measured seconds per target (the run lasts this times the number of targets, plus warm-up). */
  seconds: number;
  /** Warm-up seconds per target. */
  warmup: number;
  connections: number;
  /** taskset core list for the generator; empty = unpinned. */
  cores: string;
  sliceMs: number;
}

const RATE_MARK = 'RATE_RESULT ';

/**
 * Runs the open-loop generator (`rate.ts`) once as its own process: warm-up then the measured
 * seconds on one schedule, shared by the targets in slices. Rejects when it fails or prints no result.
 */
export function runRate(options: RateOptions): Promise<RateRun> {
  const targets = options.targets.map(({ url, headers }) => ({
    url,
    headers: Object.entries(headers ?? {}).map(([name, value]) => `${name}: ${value}`),
  }));
  const args = [
    join(import.meta.dirname, 'rate.ts'),
    '--targets',
    JSON.stringify(targets),
    '--slice-ms',
    String(options.sliceMs),
    '--rate',
    String(options.rate),
    '--seconds',
    String(options.seconds),
    '--warmup',
    String(options.warmup),
    '--connections',
    String(options.connections),
  ];
  const argv = options.cores ? ['taskset', '-c', options.cores, process.execPath, ...args] : [process.execPath, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    // The generator stops by itself (10 s drain at most); this only guards against a wedged process.
    const guard = setTimeout(() => child.kill('SIGKILL'), ((options.warmup + options.seconds) * targets.length + 40) * 1000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(guard);
      const line = out.split('\n').find((l) => l.startsWith(RATE_MARK));
      if (code !== 0 || !line) {
        reject(new Error(`rate generator failed (exit ${code}): ${out.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      resolve(JSON.parse(line.slice(RATE_MARK.length)) as RateRun);
    });
  });
}
