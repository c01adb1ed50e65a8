/**
 * @module bench/run
 * `npm run bench`: what the gateway adds to each request, next to the floor (a bare
 * forwarder on the same stack) and the peers (nginx, Caddy), all measured in one run on
 * loopback with the same load. Starts the origin and every server under test once, then
 * runs the repetitions interleaved (repetition 1 of every scenario, then repetition 2, ...)
 * so that drift of a shared machine affects all scenarios alike. Prints tables and writes
 * `bench/results/<timestamp>.json`. It measures and reports; it asserts nothing.
 *
 *   node bench/run.ts [--quick] [--duration S] [--warmup S] [--reps N] [--connections N]
 *                     [--sessions N] [--only a,b] [--no-pin]
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { startGateway } from './gateway.ts';
import type { GatewaySetup } from './gateway.ts';
import { runLoad, useScripts } from './load.ts';
import type { LoadOptions } from './load.ts';
import { startCaddy, startNginx } from './peers.ts';
import {
  cpuSeconds,
  cpuSnapshot,
  exitMessage,
  freePort,
  killAllNow,
  machineBusySeconds,
  peakRssBytes,
  pin,
  selfAndReapedSeconds,
  start,
  stop,
  stopAll,
  waitForPort,
} from './procs.ts';
import type { Running } from './procs.ts';
import { addRatios, checkTargets, renderTables, renderTargets, summarize } from './report.ts';
import type { Sample, ScenarioResult } from './report.ts';
import { mintSessions } from './sessions.ts';
import { ensureTools } from './tools.ts';

const HELP = `Usage: npm run bench -- [options]

  --quick           1 repetition of 3 s after 1 s of warm-up (development)
  --duration S      measured seconds per repetition (default 10)
  --warmup S        warm-up seconds before each repetition, discarded (default 2)
  --reps N          repetitions, interleaved across scenarios (default 3)
  --connections N   keep-alive connections of the load generator (default 50)
  --sessions N      distinct signed-in users in gateway-many-sessions (default 5000)
  --only LIST       comma-separated scenario names or name prefixes (e.g. bare,nginx)
  --no-pin          do not pin processes to cores
  --help            this text
`;

const BENCH_DIR = import.meta.dirname;
const ROOT = resolve(BENCH_DIR, '..');

/** What the load generator hits for one scenario, and which process tree it measures. */
interface Target {
  url: string;
  /** Root of the process tree whose CPU and memory are the scenario's cost. */
  proc: Running;
  headers?: Record<string, string>;
  cookieFile?: string;
  /** Around each measured repetition (the direct scenario moves the origin onto the server core). */
  enter?: () => void;
  leave?: () => void;
}

interface Scenario {
  name: string;
  description: string;
  /** Starts what the scenario needs; a string is the reason it is skipped. */
  setup: () => Promise<Target | string>;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      reps: { type: 'string' },
      connections: { type: 'string', default: '50' },
      sessions: { type: 'string', default: '5000' },
      only: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const positive = (name: string, value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not "${value}"`);
    return n;
  };
  return {
    help: values.help,
    quick: values.quick,
    duration: positive('duration', values.duration ?? (values.quick ? '3' : '10')),
    warmup: positive('warmup', values.warmup ?? (values.quick ? '1' : '2')),
    reps: Math.round(positive('reps', values.reps ?? (values.quick ? '1' : '3'))),
    connections: Math.round(positive('connections', values.connections)),
    sessions: Math.round(positive('sessions', values.sessions)),
    only: values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : null,
    pin: !values['no-pin'] && availableParallelism() >= 2,
  };
}

/** Checks that the scenario's request gets the origin's page, not a redirect or an error. */
async function preflight(target: Target, cookies: string[], expected: Buffer): Promise<string | null> {
  const samples = cookies.length ? [cookies[0]!, cookies[cookies.length - 1]!] : [undefined];
  for (const cookie of samples) {
    const headers = { ...target.headers, ...(cookie ? { cookie } : {}) };
    try {
      const res = await request(target.url, { headers });
      const body = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode !== 200 || !body.equals(expected)) {
        const where = res.headers.location ? ` to ${String(res.headers.location)}` : '';
        return `preflight: GET ${new URL(target.url).pathname} answered ${res.statusCode}${where} with ${body.length} bytes, not the origin's page`;
      }
    } catch (err) {
      return `preflight: ${(err as Error).message}`;
    }
  }
  return null;
}

async function main(): Promise<number> {
  const opts = options();
  if (opts.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // Servers under test get core 0 to themselves; wrk and the origin share core 1.
  const serverCores = opts.pin ? '0' : '';
  const genCores = opts.pin ? '1' : '';
  const tools = ensureTools(log);
  if (!tools.wrk) {
    log('wrk is not installed and could not be installed; nothing can be measured');
    return 1;
  }
  const runDir = mkdtempSync(join(tmpdir(), 'mfa-bench-'));
  useScripts(runDir);
  const cleanup = async (): Promise<void> => {
    await stopAll();
    rmSync(runDir, { recursive: true, force: true });
  };
  process.on('exit', () => {
    killAllNow();
    rmSync(runDir, { recursive: true, force: true });
  });
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

  const node = process.execPath;
  const originPort = await freePort();
  const origin = start('origin', genCores, node, [join(BENCH_DIR, 'origin.ts'), '--port', String(originPort)]);
  const originProblem = await waitForPort(origin, originPort);
  if (originProblem) throw new Error(originProblem);
  const originUrl = `http://127.0.0.1:${originPort}/`;
  const originPage = Buffer.from(await (await request(originUrl)).body.arrayBuffer());

  const nodeServer = (name: string, script: string, args: string[]) => async (): Promise<Target | string> => {
    const port = await freePort();
    const proc = start(name, serverCores, node, [join(BENCH_DIR, script), ...args, '--port', String(port)]);
    return (await waitForPort(proc, port)) ?? { url: `http://127.0.0.1:${port}/`, proc };
  };
  const peer = (name: string, tool: string | null, launch: typeof startNginx) => async (): Promise<Target | string> => {
    if (!tool) return `${name} is not installed and could not be installed`;
    const port = await freePort();
    const proc = launch(runDir, port, originPort, serverCores);
    return (await waitForPort(proc, port)) ?? { url: `http://127.0.0.1:${port}/`, proc };
  };
  const gateway = (setup: GatewaySetup, sessions: number) => async (): Promise<Target | string> => {
    const started = await startGateway(runDir, setup, await freePort(), originPort, serverCores);
    if (typeof started === 'string') return started;
    if (sessions === 0) return { url: started.url, proc: started.proc };
    try {
      const cookies = await mintSessions(started.url, started.configFile, sessions);
      if (cookies.length !== sessions) throw new Error(`mintSessions returned ${cookies.length} cookies, asked for ${sessions}`);
      if (sessions === 1) return { url: started.url, proc: started.proc, headers: { cookie: cookies[0]! } };
      const cookieFile = join(runDir, setup.name, 'cookies.txt');
      writeFileSync(cookieFile, `${cookies.join('\n')}\n`);
      return { url: started.url, proc: started.proc, cookieFile };
    } catch (err) {
      await stop(started.proc);
      return `${setup.name}: ${(err as Error).message}`;
    }
  };

  const all: Scenario[] = [
    {
      name: 'direct',
      description: 'wrk straight to the origin (moved onto the server core for the run)',
      setup: async () => ({
        url: originUrl,
        proc: origin,
        enter: () => opts.pin && pin(origin.pid, serverCores),
        leave: () => opts.pin && pin(origin.pid, genCores),
      }),
    },
    {
      name: 'bare-undici',
      description: 'bare forwarder: node:http + undici Pool.dispatch, no policy, no session',
      setup: nodeServer('bare-undici', 'bare-forwarder.ts', ['--variant', 'undici', '--upstream', originUrl]),
    },
    {
      name: 'bare-http-proxy-3',
      description: 'bare forwarder: node:http + http-proxy-3 proxy.web, no policy, no session',
      setup: nodeServer('bare-http-proxy-3', 'bare-forwarder.ts', ['--variant', 'http-proxy-3', '--upstream', originUrl]),
    },
    { name: 'nginx', description: 'nginx proxy_pass, 1 worker, upstream keep-alive, no access log', setup: peer('nginx', tools.nginx ?? null, startNginx) },
    { name: 'caddy', description: 'Caddy reverse_proxy, admin and logs off', setup: peer('caddy', tools.caddy ?? null, startCaddy) },
    {
      name: 'gateway-bypass',
      description: 'gateway, rule /** bypass (no session needed)',
      setup: gateway({ name: 'gateway-bypass', policy: 'bypass', trustLoopback: false }, 0),
    },
    {
      name: 'gateway-two-factor-session',
      description: 'gateway, rule /** two_factor, one signed-in second-factor session',
      setup: gateway({ name: 'gateway-two-factor', policy: 'two_factor', trustLoopback: false }, 1),
    },
    {
      name: 'gateway-many-sessions',
      description: `gateway, rule /** two_factor, ${opts.sessions} distinct signed-in users, a different cookie per request`,
      setup: gateway({ name: 'gateway-many-sessions', policy: 'two_factor', trustLoopback: false }, opts.sessions),
    },
    {
      name: 'gateway-trusted-network',
      description: 'gateway, 127.0.0.0/8 trusted, rule /** two_factor, password-only session',
      setup: gateway({ name: 'gateway-trusted-network', policy: 'two_factor', trustLoopback: true }, 1),
    },
  ];
  const matches = (name: string, token: string): boolean => name === token || name.startsWith(token);
  const unknown = (opts.only ?? []).filter((token) => !all.some((s) => matches(s.name, token)));
  const selected = opts.only ? all.filter((s) => opts.only!.some((token) => matches(s.name, token))) : all;
  if (unknown.length > 0 || selected.length === 0) {
    log(`--only: no scenario named ${unknown.join(', ') || opts.only!.join(', ')}; the scenarios are: ${all.map((s) => s.name).join(', ')}`);
    await cleanup();
    return 2;
  }

  const results: ScenarioResult[] = [];
  const targets = new Map<string, Target>();
  for (const scenario of selected) {
    log(`setting up ${scenario.name}`);
    const result: ScenarioResult = { name: scenario.name, description: scenario.description, status: 'measured', samples: [] };
    results.push(result);
    const target = await scenario.setup();
    const problem =
      typeof target === 'string' ? target : await preflight(target, target.cookieFile ? readFileSync(target.cookieFile, 'utf8').trim().split('\n') : [], originPage);
    if (problem) {
      result.status = 'skipped';
      result.reason = problem;
      if (typeof target !== 'string' && target.proc !== origin) await stop(target.proc);
      log(`  skipped: ${problem}`);
    } else if (typeof target !== 'string') targets.set(scenario.name, target);
  }

  const load = (target: Target, seconds: number): LoadOptions => ({
    url: target.url,
    seconds,
    connections: opts.connections,
    cores: genCores,
    ...(target.headers ? { headers: target.headers } : {}),
    ...(target.cookieFile ? { cookieFile: target.cookieFile } : {}),
  });
  const measured = results.filter((r) => targets.has(r.name));
  for (let rep = 0; rep < opts.reps; rep++) {
    // Each repetition starts one scenario further on, so no scenario always runs first.
    const order = measured.map((_, i) => measured[(i + rep) % measured.length]!);
    for (const result of order) {
      if (result.status !== 'measured') continue;
      const target = targets.get(result.name)!;
      target.enter?.();
      try {
        await runLoad(load(target, opts.warmup));
        const before = cpuSnapshot(target.proc.pid);
        const originBefore = cpuSnapshot(origin.pid);
        const machineBefore = machineBusySeconds();
        const selfBefore = selfAndReapedSeconds();
        const out = await runLoad(load(target, opts.duration));
        const machine = machineBusySeconds() - machineBefore;
        const self = selfAndReapedSeconds() - selfBefore;
        const cpu = cpuSeconds(before, cpuSnapshot(target.proc.pid));
        const originCpu = target.proc === origin ? 0 : cpuSeconds(originBefore, cpuSnapshot(origin.pid));
        const sample: Sample = {
          rps: out.requests / out.seconds,
          p50: out.p50 / 1000,
          p99: out.p99 / 1000,
          p999: out.p999 / 1000,
          cpuUsPerReq: (cpu / out.requests) * 1e6,
          cpuPct: (cpu / out.seconds) * 100,
          originCpuPct: target.proc === origin ? null : (originCpu / out.seconds) * 100,
          // wrk and this process are counted in `self`; the servers other than the one under test idle.
          otherCpuPct: (Math.max(0, machine - cpu - originCpu - self) / out.seconds) * 100,
          rssMb: peakRssBytes(target.proc.pid) / 2 ** 20,
          requests: out.requests,
          errors: out.errors,
          bytesPerResponse: out.bytes / out.requests,
        };
        result.samples.push(sample);
        log(
          `[rep ${rep + 1}/${opts.reps}] ${result.name.padEnd(27)} ${Math.round(sample.rps).toString().padStart(7)} req/s` +
            `  p99 ${sample.p99.toFixed(2)} ms  ${sample.cpuUsPerReq.toFixed(1)} µs/req${sample.errors ? `  ${sample.errors} errors` : ''}`,
        );
      } catch (err) {
        result.status = 'failed';
        // A server that died explains the failure better than wrk's "connection refused".
        result.reason = target.proc.exited() ? exitMessage(target.proc) : (err as Error).message;
        log(`[rep ${rep + 1}/${opts.reps}] ${result.name} failed: ${result.reason}`);
      } finally {
        target.leave?.();
      }
    }
  }
  await cleanup();

  for (const r of results) summarize(r);
  const fastestBare = results
    .filter((r) => r.name.startsWith('bare-') && r.status === 'measured' && r.median)
    .sort((a, b) => b.median!.rps - a.median!.rps)[0];
  const nginx = results.find((r) => r.name === 'nginx' && r.status === 'measured' && r.median);
  addRatios(results, fastestBare, nginx);
  const targetChecks = checkTargets(results, fastestBare, opts.sessions);

  const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', kernel: release(), node: process.version };
  const pinning = opts.pin
    ? 'server under test on core 0 (the origin too, for direct); wrk and the origin on core 1'
    : 'not pinned';
  const header = [
    `mfa-gateway bench: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, ${tools.wrk}`,
    `load: wrk, 1 thread, ${opts.connections} keep-alive connections, ${opts.duration} s measured after ${opts.warmup} s warm-up, ` +
      `median of ${opts.reps} interleaved repetition${opts.reps === 1 ? '' : 's'}; ${pinning}`,
    `baselines: bare = ${fastestBare?.name ?? 'none'} (the faster bare forwarder), nginx = ${nginx ? 'nginx' : 'none'}`,
    '',
  ].join('\n');
  process.stdout.write(`\n${header}\n${renderTables(results, fastestBare, nginx)}\n\n${renderTargets(targetChecks)}\n`);

  const resultsDir = join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(resultsDir, `${stamp}.json`);
  const report = {
    date: new Date().toISOString(),
    machine,
    tools,
    options: { ...opts, help: undefined },
    pinning,
    baselines: { bare: fastestBare?.name ?? null, nginx: nginx ? 'nginx' : null },
    scenarios: results,
    targets: targetChecks,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nresults: ${file.slice(ROOT.length + 1)}\n`);
  return 0;
}

process.exitCode = await main();
