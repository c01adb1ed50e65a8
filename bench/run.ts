/**
 * @module bench/run
 * `npm run bench`: what the gateway adds to each request, next to the floor (the fastest
 * correct minimal Node forwarder, `floor.ts`) and the peers (nginx, Caddy), all measured in one run on
 * loopback with the same load. Starts the origin and every server under test once, then
 * runs the repetitions interleaved (repetition 1 of every scenario, then repetition 2, ...)
 * so that drift of a shared machine affects all scenarios alike. Prints tables and writes
 * `bench/results/<timestamp>.json`. It measures and reports; it asserts nothing.
 *
 *   node bench/run.ts [--quick] [--duration S] [--warmup S] [--reps N] [--connections N]
 *                     [--sessions N] [--only a,b] [--no-pin] [--profile SCENARIO] [--rates 2500,5000]
 *
 * Besides the forwarding scenarios: `workers-1`/`workers-2` (the two_factor session with
 * `server.workers` 1 and 2), latency at fixed rates (`rate.ts`, after the saturation runs) and
 * the sign-in bench (`sign-in.ts`), which runs last.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { RATE_SCENARIOS, runFixedRates } from './fixed-rate.ts';
import { NODE_HEAP, SHIPPED_HEAP, startGateway } from './gateway.ts';
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
  currentRssBytes,
  pin,
  selfAndReapedSeconds,
  start,
  stop,
  stopAll,
  waitForPort,
} from './procs.ts';
import type { Running } from './procs.ts';
import {
  addRatios,
  checkRateTargets,
  checkTargets,
  jwtCost,
  renderJwtCost,
  renderRateTables,
  renderTables,
  renderComparisons,
  renderTargets,
  summarize,
  summarizeRate,
} from './report.ts';
import type { Sample, ScenarioResult } from './report.ts';
import { topSelfTime, renderProfile } from './profile.ts';
import { mintSessions } from './sessions.ts';
import { renderSignIn, runSignInBench } from './sign-in.ts';
import { renderLdap, runLdapBench } from './ldap.ts';
import type { LdapBenchResult } from './ldap.ts';
import type { SignInResult } from './sign-in.ts';
import { ensureTools } from './tools.ts';

const HELP = `Usage: npm run bench -- [options]

  --quick           1 repetition of 3 s after 1 s of warm-up (development)
  --duration S      measured seconds per repetition (default 10)
  --warmup S        warm-up seconds before each repetition, discarded (default 2)
  --reps N          repetitions, interleaved across scenarios (default 3)
  --connections N   keep-alive connections of the load generator (default 50)
  --sessions N      distinct signed-in users in gateway-many-sessions (default 5000)
  --only LIST       comma-separated scenario names or name prefixes (e.g. floor,nginx);
                    sign-in selects the sign-in bench, ldap the directory sign-in
                    bench (slapd next to the users file), workers the workers-1/-2 pair
  --no-pin          do not pin processes to cores
  --sign-in-clients N   concurrent clients of the sign-in bench and of its burst (default 8)
  --burst-users N   user names in the wrong-password burst (default 10000)
  --baseline-ref REF  also run gateway-two-factor-session and gateway-many-sessions with the
                    gateway of git commit REF (git archive into the run dir, this checkout's
                    node_modules), as gateway-two-factor-session@base and gateway-many-sessions@base:
                    before and after a change in one run
  --after-ref REF   with --baseline-ref: also the same two scenarios with the gateway of commit
                    REF, as @after rows, and the ratios @after ÷ @base (one commit's cost,
                    measured apart from everything merged since)
  --burst-attempts N    wrong passwords per user name (default 20)
  --profile SCENARIO    run only this gateway scenario under node --cpu-prof, one warm-up
                    and one measured run, and print the top 15 functions by self time
  --rates LIST      fixed request rates of the latency runs, comma-separated req/s
                    (default 2500,5000; none = skip); measured with the open-loop
                    generator rate.ts for those of these scenarios that are selected:
                    ${RATE_SCENARIOS.join(', ')}
  --rate-slice-ms MS  the fixed-rate runs drive all those but direct in one run, in turns
                    of MS each (default 250), so the machine's stalls fall on each alike;
                    0 = one scenario at a time, rotated per repetition
  --help            this text
`;

const BENCH_DIR = import.meta.dirname;
const ROOT_DIR = resolve(BENCH_DIR, '..');
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
  /** Before each repetition: session cookies made fresh again, as a browser keeps them. */
  renew?: () => Promise<void>;
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
      'sign-in-clients': { type: 'string', default: '8' },
      'burst-users': { type: 'string', default: '10000' },
      'burst-attempts': { type: 'string', default: '20' },
      profile: { type: 'string' },
      rates: { type: 'string', default: '2500,5000' },
      'rate-slice-ms': { type: 'string', default: '250' },
      'baseline-ref': { type: 'string' },
      'after-ref': { type: 'string' },
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
    only: values.only
      ? values.only
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : null,
    pin: !values['no-pin'] && availableParallelism() >= 2,
    signInClients: Math.round(positive('sign-in-clients', values['sign-in-clients'])),
    burstUsers: Math.round(positive('burst-users', values['burst-users'])),
    burstAttempts: Math.round(positive('burst-attempts', values['burst-attempts'])),
    profile: values.profile ?? null,
    rates: values.rates === 'none' ? [] : values.rates.split(',').map((r) => Math.round(positive('rates', r.trim()))),
    rateSliceMs: values['rate-slice-ms'] === '0' ? 0 : Math.round(positive('rate-slice-ms', values['rate-slice-ms'])),
    baselineRef: values['baseline-ref'] ?? null,
    afterRef: values['after-ref'] ?? null,
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

  const nodeServer =
    (name: string, script: string, args: string[], cores = serverCores) =>
    async (): Promise<Target | string> => {
      const port = await freePort();
      const proc = start(name, cores, node, [join(BENCH_DIR, script), ...args, '--port', String(port)]);
      return (await waitForPort(proc, port)) ?? { url: `http://127.0.0.1:${port}/`, proc };
    };
  const peer = (name: string, tool: string | null, launch: typeof startNginx) => async (): Promise<Target | string> => {
    if (!tool) return `${name} is not installed and could not be installed`;
    const port = await freePort();
    const proc = launch(runDir, port, originPort, serverCores);
    return (await waitForPort(proc, port)) ?? { url: `http://127.0.0.1:${port}/`, proc };
  };
  const profileDir = opts.profile ? join(runDir, 'profile') : undefined;
  const gateway =
    (setup: GatewaySetup, sessions: number, cores = serverCores) =>
    async (): Promise<Target | string> => {
      const started = await startGateway(runDir, { ...setup, ...(profileDir ? { profileDir } : {}) }, await freePort(), originPort, cores);
      if (typeof started === 'string') return started;
      if (sessions === 0) return { url: started.url, proc: started.proc };
      try {
        if (sessions > 1) log(`  ${sessions} sessions: writing users, signing the first in, minting the rest`);
        const set = await mintSessions(started.url, started.configFile, sessions, { env: started.env });
        if (set.cookies.length !== sessions) throw new Error(`mintSessions returned ${set.cookies.length} cookies, asked for ${sessions}`);
        const cookieFile = join(runDir, setup.name, 'cookies.txt');
        const target: Target = { url: started.url, proc: started.proc };
        const apply = (): void => {
          if (sessions === 1) target.headers = { cookie: set.cookies[0]! };
          else writeFileSync(cookieFile, `${set.cookies.join('\n')}\n`);
        };
        apply();
        if (sessions > 1) target.cookieFile = cookieFile;
        target.renew = async () => {
          await set.renew();
          apply();
        };
        return target;
      } catch (err) {
        await stop(started.proc);
        return `${setup.name}: ${(err as Error).message}`;
      }
    };

  // --baseline-ref (and --after-ref): the gateway of another commit, unpacked beside the run, for before/after rows in one run.
  const unpack = (ref: string, label: string): string => {
    const dir = join(runDir, label);
    mkdirSync(dir);
    execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', ROOT_DIR, ref, dir]);
    symlinkSync(join(ROOT_DIR, 'node_modules'), join(dir, 'node_modules'));
    log(`${label}: the gateway of ${ref} (${execFileSync('git', ['-C', ROOT_DIR, 'rev-parse', '--short', ref]).toString().trim()})`);
    return join(dir, 'bin', 'mfa-gateway.js');
  };
  if (opts.afterRef !== null && opts.baselineRef === null) throw new Error('--after-ref needs --baseline-ref');
  const refs: Array<{ suffix: string; ref: string; bin: string }> = [];
  if (opts.baselineRef !== null) refs.push({ suffix: 'base', ref: opts.baselineRef, bin: unpack(opts.baselineRef, 'baseline') });
  if (opts.afterRef !== null) refs.push({ suffix: 'after', ref: opts.afterRef, bin: unpack(opts.afterRef, 'after') });
  const baseline = (name: string, policySetup: GatewaySetup, sessions: number): Scenario[] =>
    refs.map(({ suffix, ref, bin }) => ({
      name: `${name}@${suffix}`,
      description: `${name} with the gateway of ${ref}`,
      // The heap `serve` ships with, named on the command line: an older commit's bin may not set it itself.
      setup: gateway({ ...policySetup, name: `${policySetup.name}-${suffix}`, bin, nodeOptions: SHIPPED_HEAP }, sessions),
    }));

  // Many sessions stay the same sessions through the run: with a long idle timeout no cookie is due
  // for renewal (a browser would take the renewed cookie; wrk cannot), so nothing is minted again
  // and the gateway holds the N sessions asked for, not N more per repetition (bench/sessions.ts).
  const MANY: GatewaySetup = { name: 'gateway-many-sessions', policy: 'two_factor', trustLoopback: false, idleTimeout: '12h' };
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
      name: 'floor',
      description:
        'the floor: bench/floor.ts, the fastest correct minimal Node forwarder (node:http + undici Pool.dispatch, raw headers), no gateway code',
      setup: nodeServer('floor', 'floor.ts', ['--upstream', originUrl]),
    },
    // Compare with workers-2: unpinned, wrk and the origin still on core 1.
    {
      name: 'floor-workers-2',
      description: 'the floor with 2 node:cluster workers, not pinned',
      setup: nodeServer('floor-workers-2', 'floor.ts', ['--upstream', originUrl, '--workers', '2'], ''),
    },
    {
      name: 'nginx',
      description: 'nginx proxy_pass, 1 worker, upstream keep-alive, no access log',
      setup: peer('nginx', tools.nginx ?? null, startNginx),
    },
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
      name: 'gateway-jwt',
      description: 'gateway-two-factor-session with identity.jwt on: each request also carries the signed assertion (cached per session)',
      setup: gateway({ name: 'gateway-jwt', policy: 'two_factor', trustLoopback: false, jwt: true }, 1),
    },
    {
      name: 'gateway-many-sessions',
      description: `gateway, rule /** two_factor, ${opts.sessions} distinct signed-in users, a different cookie per request`,
      setup: gateway(MANY, opts.sessions),
    },
    // V8's own young generation next to the one `serve` ships with (bin/mfa-gateway.js): RSS and throughput in one run.
    {
      name: 'gateway-two-factor-node-heap',
      description: `gateway-two-factor-session under node ${NODE_HEAP.join(' ')} (V8's semi-space here, not the shipped 16 MB)`,
      setup: gateway({ name: 'gateway-two-factor-node-heap', policy: 'two_factor', trustLoopback: false, nodeOptions: NODE_HEAP }, 1),
    },
    {
      name: 'gateway-many-sessions-node-heap',
      description: `gateway-many-sessions under node ${NODE_HEAP.join(' ')} (V8's semi-space here, not the shipped 16 MB)`,
      setup: gateway({ ...MANY, name: 'gateway-many-sessions-node-heap', nodeOptions: NODE_HEAP }, opts.sessions),
    },
    {
      name: 'gateway-trusted-network',
      description: 'gateway, 127.0.0.0/8 trusted, rule /** two_factor, password-only session',
      setup: gateway({ name: 'gateway-trusted-network', policy: 'two_factor', trustLoopback: true }, 1),
    },
    ...baseline('gateway-two-factor-session', { name: 'gateway-two-factor', policy: 'two_factor', trustLoopback: false }, 1),
    ...baseline('gateway-many-sessions', MANY, opts.sessions),
    // Workers scaling: both unpinned (a second worker needs the second core), wrk and the origin still on core 1.
    {
      name: 'workers-1',
      description: 'gateway, two_factor session, server.workers 1, gateway not pinned (may use both cores)',
      setup: gateway({ name: 'workers-1', policy: 'two_factor', trustLoopback: false, workers: 1 }, 1, ''),
    },
    {
      name: 'workers-2',
      description: 'gateway, two_factor session, server.workers 2 (node:cluster), gateway not pinned',
      setup: gateway({ name: 'workers-2', policy: 'two_factor', trustLoopback: false, workers: 2 }, 1, ''),
    },
  ];
  const load = (target: Target, seconds: number): LoadOptions => ({
    url: target.url,
    seconds,
    connections: opts.connections,
    cores: genCores,
    ...(target.headers ? { headers: target.headers } : {}),
    ...(target.cookieFile ? { cookieFile: target.cookieFile } : {}),
  });
  const matches = (name: string, token: string): boolean => name === token || name.startsWith(token);
  const names = [...all.map((s) => s.name), 'sign-in', 'ldap'];
  if (opts.profile) {
    const scenario = all.find((s) => s.name === opts.profile);
    if (!scenario || !(scenario.name.startsWith('gateway') || scenario.name.startsWith('workers'))) {
      log(
        `--profile: no gateway scenario named ${opts.profile}; choose one of ${all
          .filter((s) => /^(gateway|workers)/.test(s.name))
          .map((s) => s.name)
          .join(', ')}`,
      );
      await cleanup();
      return 2;
    }
    return profileRun(scenario);
  }
  const unknown = (opts.only ?? []).filter((token) => !names.some((name) => matches(name, token)));
  const selected = opts.only ? all.filter((s) => opts.only!.some((token) => matches(s.name, token))) : all;
  const signInSelected = !opts.only || opts.only.some((token) => matches('sign-in', token));
  const ldapSelected = !opts.only || opts.only.some((token) => matches('ldap', token));
  if (unknown.length > 0 || (selected.length === 0 && !signInSelected && !ldapSelected)) {
    log(`--only: no scenario named ${unknown.join(', ') || opts.only!.join(', ')}; the scenarios are: ${names.join(', ')}`);
    await cleanup();
    return 2;
  }

  /** --profile: one scenario under node --cpu-prof, warm-up plus one measured run, top 15 by self time. */
  async function profileRun(scenario: Scenario): Promise<number> {
    log(`setting up ${scenario.name} under --cpu-prof`);
    const target = await scenario.setup();
    const problem =
      typeof target === 'string'
        ? target
        : await preflight(target, target.cookieFile ? readFileSync(target.cookieFile, 'utf8').trim().split('\n') : [], originPage);
    if (problem || typeof target === 'string') {
      log(`  cannot profile: ${problem}`);
      await cleanup();
      return 1;
    }
    await target.renew?.();
    await runLoad(load(target, opts.warmup));
    const out = await runLoad(load(target, opts.duration));
    log(`  ${Math.round(out.requests / out.seconds)} req/s under the profiler; stopping the gateway to write the profile`);
    await stop(target.proc);
    const files = readdirSync(profileDir!).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) {
      log('  the gateway wrote no .cpuprofile (did it exit cleanly?)');
      await cleanup();
      return 1;
    }
    const profiles = files.map((f) => JSON.parse(readFileSync(join(profileDir!, f), 'utf8')));
    const top = topSelfTime(profiles, ROOT, 15);
    process.stdout.write(
      `\nprofile of ${scenario.name} (${files.length} process${files.length === 1 ? '' : 'es'}, whole gateway lifetime: start-up, sign-in, ${opts.warmup} s warm-up, ${opts.duration} s measured)\n${renderProfile(top)}\n`,
    );
    const resultsDir = join(BENCH_DIR, 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-profile-${scenario.name}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ scenario: scenario.name, rps: out.requests / out.seconds, options: { ...opts, help: undefined }, top }, null, 2)}\n`,
    );
    // The raw profiles too, for DevTools' Performance panel or an inclusive-time reading.
    for (const [i, p] of profiles.entries()) writeFileSync(file.replace(/\.json$/, `-${i}.cpuprofile`), JSON.stringify(p));
    process.stdout.write(`\nresults: ${file.slice(ROOT.length + 1)} (and the .cpuprofile beside it)\n`);
    await cleanup();
    return 0;
  }

  const results: ScenarioResult[] = [];
  const targets = new Map<string, Target>();
  for (const scenario of selected) {
    log(`setting up ${scenario.name}`);
    const result: ScenarioResult = { name: scenario.name, description: scenario.description, status: 'measured', samples: [] };
    results.push(result);
    const target = await scenario.setup();
    const problem =
      typeof target === 'string'
        ? target
        : await preflight(target, target.cookieFile ? readFileSync(target.cookieFile, 'utf8').trim().split('\n') : [], originPage);
    if (problem) {
      result.status = 'skipped';
      result.reason = problem;
      if (typeof target !== 'string' && target.proc !== origin) await stop(target.proc);
      log(`  skipped: ${problem}`);
    } else if (typeof target !== 'string') targets.set(scenario.name, target);
  }

  const measured = results.filter((r) => targets.has(r.name));
  for (let rep = 0; rep < opts.reps; rep++) {
    // Each repetition starts one scenario further on, so no scenario always runs first.
    const order = measured.map((_, i) => measured[(i + rep) % measured.length]!);
    for (const result of order) {
      if (result.status !== 'measured') continue;
      const target = targets.get(result.name)!;
      try {
        await target.renew?.();
        target.enter?.();
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
          rssEndMb: currentRssBytes(target.proc.pid) / 2 ** 20,
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
  // Latency at fixed rates: the same servers, driven by the open-loop generator instead of wrk.
  const rateTargets = new Map(
    [...targets].filter(([name]) => RATE_SCENARIOS.includes(name) && results.some((r) => r.name === name && r.status === 'measured')),
  );
  const rateRows = await runFixedRates(
    RATE_SCENARIOS.filter((n) => rateTargets.has(n)),
    rateTargets,
    { ...opts, sliceMs: opts.rateSliceMs, genCores, origin, log },
  );

  let signIn: SignInResult | null = null;
  if (signInSelected) {
    log('sign-in bench');
    signIn = await runSignInBench({
      runDir,
      originPort,
      originPid: origin.pid,
      serverCores,
      genCores,
      connections: opts.connections,
      duration: opts.duration,
      warmup: opts.warmup,
      reps: opts.reps,
      clients: opts.signInClients,
      burstUsers: opts.burstUsers,
      burstAttempts: opts.burstAttempts,
      log,
    });
    if (signIn.status !== 'measured') log(`  sign-in bench ${signIn.status}: ${signIn.reason}`);
  }
  let ldap: LdapBenchResult | null = null;
  if (ldapSelected) {
    log('directory sign-in bench');
    ldap = await runLdapBench({
      runDir,
      originPort,
      serverCores,
      duration: opts.duration,
      warmup: opts.warmup,
      clients: opts.signInClients,
      log,
    });
    if (ldap.status !== 'measured') log(`  directory sign-in bench ${ldap.status}: ${ldap.reason}`);
  }
  await cleanup();

  for (const r of results) summarize(r);
  for (const r of rateRows) summarizeRate(r);
  const rateChecks = rateRows.length > 0 ? checkRateTargets(rateRows) : [];
  const floor = results.find((r) => r.name === 'floor' && r.status === 'measured' && r.median);
  const nginx = results.find((r) => r.name === 'nginx' && r.status === 'measured' && r.median);
  addRatios(results, floor, nginx);
  const targetChecks = checkTargets(results, floor, opts.sessions);

  const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', kernel: release(), node: process.version };
  const pinning = opts.pin ? 'server under test on core 0 (the origin too, for direct); wrk and the origin on core 1' : 'not pinned';
  const header = [
    `mfa-gateway bench: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, ${tools.wrk}`,
    `load: wrk, 1 thread, ${opts.connections} keep-alive connections, ${opts.duration} s measured after ${opts.warmup} s warm-up, ` +
      `median of ${opts.reps} interleaved repetition${opts.reps === 1 ? '' : 's'}; ${pinning}`,
    `baselines: floor = ${floor ? 'floor (bench/floor.ts)' : 'none'}, nginx = ${nginx ? 'nginx' : 'none'}`,
    '',
  ].join('\n');
  const workers = [1, 2].map((n) => results.find((r) => r.name === `workers-${n}` && r.median));
  const scaling =
    workers[0] && workers[1]
      ? `\nworkers scaling (gateway unpinned; wrk and the origin share core 1, so on 2 cores a second worker competes with them): ` +
        `1 worker ${Math.round(workers[0].median!.rps)} req/s at ${workers[0].median!.cpuUsPerReq.toFixed(1)} µs/req, ` +
        `2 workers ${Math.round(workers[1].median!.rps)} req/s at ${workers[1].median!.cpuUsPerReq.toFixed(1)} µs/req (${(workers[1].median!.rps / workers[0].median!.rps).toFixed(2)}×)\n`
      : '';
  const tables =
    selected.length > 0
      ? `${renderTables(results, floor, nginx)}\n${scaling}\n${renderJwtCost(results)}\n${renderComparisons(results)}\n\n${renderTargets(targetChecks)}\n`
      : '';
  const rateTables =
    rateRows.length > 0
      ? `\n${renderRateTables(rateRows)}\n(gen: the generator rate.ts on core 1 with the origin; its lag and CPU are its own overhead, and direct is its own latency floor)\n${opts.rateSliceMs > 0 ? `(interleaved: each repetition drives all rows but direct in one run, ${opts.rateSliceMs} ms to each in turn; direct runs alone)\n` : ''}\n${renderTargets(rateChecks, 'issue 16 target (fixed rate, from the medians above)')}\n`
      : '';
  process.stdout.write(
    `\n${header}\n${tables}${rateTables}${signIn ? `\n${renderSignIn(signIn)}\n` : ''}${ldap ? `\n${renderLdap(ldap)}\n` : ''}`,
  );

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
    baselines: { floor: floor ? 'floor' : null, nginx: nginx ? 'nginx' : null },
    scenarios: results,
    targets: targetChecks,
    jwt: jwtCost(results),
    fixedRate: { rates: opts.rates, rows: rateRows, targets: rateChecks },
    signIn,
    ldap,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nresults: ${file.slice(ROOT.length + 1)}\n`);
  return 0;
}

process.exitCode = await main();
