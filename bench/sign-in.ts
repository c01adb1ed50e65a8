/**
 * @module bench/sign-in
 * The sign-in bench (issue 7, item 2), run by `npm run bench` after the forwarding
 * scenarios, or alone with `npm run bench -- --only sign-in`. Its own gateway (rule `/**`
 * two_factor, pinned like the other servers under test) with 10,100 bench users:
 *
 * (a) **password checks per second**: `--sign-in-clients` concurrent clients POST the real
 *     `{prefix}sign-in` form with correct passwords (each client its own user, its own CSRF
 *     token and binding cookie) for `--duration` seconds. Each answer is the full step: the
 *     lockout counter, the argon2id check, the new session cookie, the sign-in log row.
 * (b) **signed-in traffic during a wrong-password burst**: wrk with the signed-in
 *     second-factor cookie on the two_factor rule (same load as the other scenarios), first
 *     alone, then while the same number of clients POST wrong passwords for 10,000 user
 *     names × 20 attempts each (user after user, so lockout engages after
 *     `mfa.password_lockout.denials`; a locked account still costs the same argon2 work, by
 *     design). The burst is bounded in time (1 s ramp + warm-up + measured run + 1 s) and
 *     carries on across repetitions where it stopped. Reported: the p99 during the burst as a
 *     ratio to the p99 alone (target: at most 2×), the burst's own rate, latency and status
 *     codes (a 429 or 503 from a limiter is a valid answer under attack; counted apart).
 * (c) **password spray**: one source (its own loopback address) sends one wrong password for
 *     each of many user names, with the same number of clients, while wrk keeps the
 *     signed-in traffic going and one client from another address signs other users in
 *     with their right passwords. Measured first quiet (traffic and other users' sign-ins,
 *     no spray), then during the spray. Reported: signed-in p99 and the other users'
 *     sign-in p50/p99 as ratios to the quiet run, and the spray's status codes (after
 *     `mfa.source_throttle.failures` failures the source gets 429s that cost no hashing):
 *     how many attempts were refused with 429, and after how many answers and milliseconds
 *     the first 429 came. Each repetition sprays from a fresh address, so each one shows the
 *     throttle engage (the window would otherwise carry it over from the previous one).
 *
 * Each kind of client has its own loopback source address (the gateway does not trust
 * loopback as a proxy here), so the throttle that the burst and the spray run into never
 * touches (a), the session renewals or the other users' sign-ins.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:net';
import { Agent, request, type buildConnector } from 'undici';
import { startGateway } from './gateway.ts';
import { runLoad } from './load.ts';
import { cpuSeconds, cpuSnapshot, freePort, machineBusySeconds, selfAndReapedSeconds, stop } from './procs.ts';
import { BENCH_PASSWORD, benchUser, loadBenchConfig, mintSessions, signInForm } from './sessions.ts';

export interface SignInOptions {
  runDir: string;
  originPort: number;
  /** The origin's pid, so its CPU is not counted as other processes' noise. */
  originPid: number;
  serverCores: string;
  genCores: string;
  connections: number;
  duration: number;
  warmup: number;
  reps: number;
  /** Concurrent sign-in clients, for (a) and for the burst. */
  clients: number;
  burstUsers: number;
  burstAttempts: number;
  log: (line: string) => void;
}

/** Burst user k is bench-user-(BURST_BASE + k); the password clients use 1..clients. */
const BURST_BASE = 100;

/** Source addresses of the client kinds (127.0.0.1 stays with wrk and the session set-up). */
const SOURCE = { password: '127.0.0.3', burst: '127.0.0.5', others: '127.0.0.2' } as const;
/**
 * The bench gateway's `mfa.source_throttle`: with the default (50 failures in 10 minutes) the
 * spray's eight clients need a few seconds on a busy 2-core machine to cross it, most of a
 * `--quick` spray; 10 failures are crossed within the first second, so every run shows the
 * throttled spray. The burst (b) crosses it as early (its 429s are counted apart).
 */
const SPRAY_THROTTLE = { failures: 10, window_minutes: 10 };

/** The spray of repetition `rep` comes from its own address (counted per /32 by default). */
const sprayAddress = (rep: number) => `127.0.1.${1 + rep}`;

export interface SprayRep {
  /** Signed-in traffic and other users' sign-ins without the spray, then during it. */
  quiet: TrafficRep;
  during: TrafficRep;
  othersQuiet: { p50Ms: number; p99Ms: number; count: number; statuses: Record<string, number> };
  othersDuring: { p50Ms: number; p99Ms: number; count: number; statuses: Record<string, number> };
  spray: {
    attempts: number;
    attemptsPerSecond: number;
    statuses: Record<string, number>;
    /** Answers refused with 429 (the source throttle, or the fair hashing queue when full). */
    refused: number;
    /** Answers before the first 429, and milliseconds from the spray's start to it; null when none came. */
    firstRefused: { after: number; ms: number } | null;
  };
  p99Ratio: number;
  othersP99Ratio: number;
  othersP50Ratio: number;
}

export interface PasswordRep {
  checksPerSecond: number;
  checks: number;
  /** Gateway CPU per sign-in POST, in ms. */
  cpuMsPerCheck: number;
  srvCpuPct: number;
  otherCpuPct: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
}

export interface TrafficRep {
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  errors: number;
  srvCpuPct: number;
  otherCpuPct: number;
}

export interface BurstRep {
  seconds: number;
  attempts: number;
  attemptsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
  /** Users the burst reached (first attempt sent) so far, over all repetitions. */
  usersReached: number;
}

export interface SignInRep {
  password: PasswordRep;
  alone: TrafficRep;
  during: TrafficRep;
  burst: BurstRep;
  p99Ratio: number;
  spray: SprayRep;
}

export interface SignInResult {
  status: 'measured' | 'skipped' | 'failed';
  reason?: string;
  clients: number;
  burst: { users: number; attemptsPerUser: number; seconds: number; lockoutDenials: number | null };
  reps: SignInRep[];
  median?: {
    checksPerSecond: number;
    cpuMsPerCheck: number;
    aloneP99: number;
    duringP99: number;
    p99Ratio: number;
    aloneRps: number;
    duringRps: number;
    burstRate: number;
    sprayP99Ratio: number;
    sprayOthersP99Ratio: number;
    sprayOthersP50Ratio: number;
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** An undici connector whose sockets leave from `localAddress` (undici's own `connect` options do not pass it on). */
function fromAddress(localAddress: string): buildConnector.connector {
  return (opts, cb) => {
    const socket = connect({ host: opts.hostname, port: Number(opts.port), localAddress });
    socket.once('connect', () => cb(null, socket)).once('error', (err) => cb(err, null));
  };
}

/** A sign-in client: one browser binding, one CSRF token, many POSTs. */
interface Poster {
  post(username: string, password: string): Promise<number>;
}

async function poster(url: string, prefix: string, dispatcher: Agent): Promise<Poster> {
  const { browser, csrf } = await signInForm(url, prefix);
  const cookie = browser.header();
  const target = new URL(`${prefix}sign-in`, url);
  return {
    async post(username, password) {
      const res = await request(target, {
        method: 'POST',
        dispatcher,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username, password, csrf }).toString(),
      });
      await res.body.dump();
      return res.statusCode;
    },
  };
}

/** Runs `clients` loops of `next()` until `deadline` or until `next` returns null. */
async function drive(
  clients: Poster[],
  deadline: number,
  next: () => { user: string; password: string } | null,
): Promise<{ latencies: number[]; statuses: Record<string, number>; seconds: number; firstRefused: { after: number; ms: number } | null }> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let firstRefused: { after: number; ms: number } | null = null;
  const began = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (Date.now() < deadline) {
        const job = next();
        if (!job) return;
        const t0 = performance.now();
        let key: string;
        try {
          key = String(await client.post(job.user, job.password));
        } catch (err) {
          key = `error ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
        }
        if (key === '429' && firstRefused === null) firstRefused = { after: latencies.length, ms: performance.now() - began };
        latencies.push(performance.now() - t0);
        statuses[key] = (statuses[key] ?? 0) + 1;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { latencies, statuses, seconds: (performance.now() - began) / 1000, firstRefused };
}

export async function runSignInBench(o: SignInOptions): Promise<SignInResult> {
  const result: SignInResult = {
    status: 'measured',
    clients: o.clients,
    burst: { users: o.burstUsers, attemptsPerUser: o.burstAttempts, seconds: 1 + o.warmup + o.duration + 1, lockoutDenials: null },
    reps: [],
  };
  const started = await startGateway(
    o.runDir,
    { name: 'sign-in', policy: 'two_factor', trustLoopback: false, sourceThrottle: SPRAY_THROTTLE },
    await freePort(),
    o.originPort,
    o.serverCores,
  );
  if (typeof started === 'string') return { ...result, status: 'skipped', reason: started };
  const agent = (localAddress: string) =>
    new Agent({ connections: o.clients * 2, keepAliveTimeout: 60_000, connect: fromAddress(localAddress) });
  const dispatchers = {
    password: agent(SOURCE.password),
    burst: agent(SOURCE.burst),
    others: agent(SOURCE.others),
    spray: Array.from({ length: o.reps }, (_, rep) => agent(sprayAddress(rep))),
  };
  try {
    const config = await loadBenchConfig(started.configFile, started.env);
    const prefix = config.server.path_prefix;
    result.burst.lockoutDenials = config.mfa.password_lockout.denials;
    o.log(`  writing ${BURST_BASE + o.burstUsers} users, signing ${benchUser(0)} in`);
    const sessions = await mintSessions(started.url, started.configFile, 1, { env: started.env, users: BURST_BASE + o.burstUsers });
    const posters = (d: Agent, n = o.clients) => Promise.all(Array.from({ length: n }, () => poster(started.url, prefix, d)));
    const clients = await posters(dispatchers.password);
    const burstClients = await posters(dispatchers.burst);
    const [otherClient] = await posters(dispatchers.others, 1);
    let sprayCursor = 0;
    const burstTotal = o.burstUsers * o.burstAttempts;
    let cursor = 0;

    const traffic = async (seconds: number): Promise<TrafficRep> => {
      await sessions.renew();
      const load = { url: started.url, connections: o.connections, cores: o.genCores, headers: { cookie: sessions.cookies[0]! } };
      await runLoad({ ...load, seconds: o.warmup });
      const before = cpuSnapshot(started.proc.pid);
      const origin0 = cpuSnapshot(o.originPid);
      const machine0 = machineBusySeconds();
      const self0 = selfAndReapedSeconds();
      const out = await runLoad({ ...load, seconds });
      const cpu = cpuSeconds(before, cpuSnapshot(started.proc.pid));
      const originCpu = cpuSeconds(origin0, cpuSnapshot(o.originPid));
      const other = Math.max(0, machineBusySeconds() - machine0 - cpu - originCpu - (selfAndReapedSeconds() - self0));
      return {
        rps: out.requests / out.seconds,
        p50: out.p50 / 1000,
        p99: out.p99 / 1000,
        p999: out.p999 / 1000,
        errors: out.errors,
        srvCpuPct: (cpu / out.seconds) * 100,
        // Without the gateway, the origin, wrk and this process (whose burst clients are counted as its own CPU).
        otherCpuPct: (other / out.seconds) * 100,
      };
    };

    for (let rep = 0; rep < o.reps; rep++) {
      // (a) correct passwords, each client its own user.
      const before = cpuSnapshot(started.proc.pid);
      const machine0 = machineBusySeconds();
      const self0 = selfAndReapedSeconds();
      let turn = 0;
      const a = await drive(clients, Date.now() + o.duration * 1000, () => ({
        user: benchUser(1 + (turn++ % o.clients)),
        password: BENCH_PASSWORD,
      }));
      const cpu = cpuSeconds(before, cpuSnapshot(started.proc.pid));
      const other = Math.max(0, machineBusySeconds() - machine0 - cpu - (selfAndReapedSeconds() - self0));
      const checks = a.latencies.length;
      const password: PasswordRep = {
        checksPerSecond: checks / a.seconds,
        checks,
        cpuMsPerCheck: (cpu / checks) * 1000,
        srvCpuPct: (cpu / a.seconds) * 100,
        otherCpuPct: (other / a.seconds) * 100,
        p50Ms: percentile(a.latencies, 50),
        p99Ms: percentile(a.latencies, 99),
        statuses: a.statuses,
      };
      o.log(
        `[rep ${rep + 1}/${o.reps}] sign-in: ${password.checksPerSecond.toFixed(1)} correct-password sign-ins/s, ${password.cpuMsPerCheck.toFixed(1)} ms CPU each, ${JSON.stringify(a.statuses)}`,
      );

      // (b) signed-in traffic alone, then during the burst.
      const alone = await traffic(o.duration);
      const burstSeconds = result.burst.seconds;
      const burstDeadline = Date.now() + burstSeconds * 1000;
      const burstRun = drive(burstClients, burstDeadline, () => {
        if (cursor >= burstTotal) return null;
        const i = cursor++;
        return { user: benchUser(BURST_BASE + Math.floor(i / o.burstAttempts)), password: `wrong-${i}` };
      });
      await sleep(1000);
      const during = await traffic(o.duration);
      const b = await burstRun;
      const burst: BurstRep = {
        seconds: b.seconds,
        attempts: b.latencies.length,
        attemptsPerSecond: b.latencies.length / b.seconds,
        p50Ms: percentile(b.latencies, 50),
        p99Ms: percentile(b.latencies, 99),
        statuses: b.statuses,
        usersReached: Math.min(o.burstUsers, Math.ceil(cursor / o.burstAttempts)),
      };
      // (c) the spray: quiet first (traffic and other users' sign-ins), then during it.
      const others = async () => {
        let k = 0;
        const run = await drive([otherClient!], Date.now() + (o.warmup + o.duration) * 1000, () => ({
          user: benchUser(1 + (k++ % o.clients)),
          password: BENCH_PASSWORD,
        }));
        return {
          p50Ms: percentile(run.latencies, 50),
          p99Ms: percentile(run.latencies, 99),
          count: run.latencies.length,
          statuses: run.statuses,
        };
      };
      const [quiet, othersQuiet] = await Promise.all([traffic(o.duration), others()]);
      const sprayClients = await posters(dispatchers.spray[rep]!);
      const sprayRun = drive(sprayClients, Date.now() + result.burst.seconds * 1000, () => {
        const i = sprayCursor++;
        return { user: benchUser(BURST_BASE + (i % o.burstUsers)), password: 'Winter2026!' };
      });
      await sleep(1000);
      const [sprayDuring, othersDuring] = await Promise.all([traffic(o.duration), others()]);
      const sprayed = await sprayRun;
      const spray: SprayRep = {
        quiet,
        during: sprayDuring,
        othersQuiet,
        othersDuring,
        spray: {
          attempts: sprayed.latencies.length,
          attemptsPerSecond: sprayed.latencies.length / sprayed.seconds,
          statuses: sprayed.statuses,
          refused: sprayed.statuses['429'] ?? 0,
          firstRefused: sprayed.firstRefused,
        },
        p99Ratio: sprayDuring.p99 / quiet.p99,
        othersP99Ratio: othersDuring.p99Ms / othersQuiet.p99Ms,
        othersP50Ratio: othersDuring.p50Ms / othersQuiet.p50Ms,
      };
      o.log(
        `[rep ${rep + 1}/${o.reps}] spray: signed-in p99 ${quiet.p99.toFixed(2)} → ${sprayDuring.p99.toFixed(2)} ms (${spray.p99Ratio.toFixed(2)}×); ` +
          `other users' sign-in p99 ${othersQuiet.p99Ms.toFixed(1)} → ${othersDuring.p99Ms.toFixed(1)} ms (${spray.othersP99Ratio.toFixed(2)}×); spray ${JSON.stringify(sprayed.statuses)}, ${throttleNote(spray.spray)}`,
      );
      const r: SignInRep = { password, alone, during, burst, p99Ratio: during.p99 / alone.p99, spray };
      result.reps.push(r);
      o.log(
        `[rep ${rep + 1}/${o.reps}] signed-in p99 ${alone.p99.toFixed(2)} ms alone, ${during.p99.toFixed(2)} ms during the burst (${r.p99Ratio.toFixed(2)}×); ` +
          `burst ${burst.attemptsPerSecond.toFixed(1)} wrong passwords/s ${JSON.stringify(burst.statuses)}`,
      );
    }
    const m = (f: (r: SignInRep) => number): number => median(result.reps.map(f));
    result.median = {
      checksPerSecond: m((r) => r.password.checksPerSecond),
      cpuMsPerCheck: m((r) => r.password.cpuMsPerCheck),
      aloneP99: m((r) => r.alone.p99),
      duringP99: m((r) => r.during.p99),
      p99Ratio: m((r) => r.p99Ratio),
      aloneRps: m((r) => r.alone.rps),
      duringRps: m((r) => r.during.rps),
      burstRate: m((r) => r.burst.attemptsPerSecond),
      sprayP99Ratio: m((r) => r.spray.p99Ratio),
      sprayOthersP99Ratio: m((r) => r.spray.othersP99Ratio),
      sprayOthersP50Ratio: m((r) => r.spray.othersP50Ratio),
    };
  } catch (err) {
    result.status = 'failed';
    result.reason = started.proc.exited()
      ? `gateway exited: ${started.proc.output().split('\n').slice(-3).join(' | ')}`
      : (err as Error).message;
  } finally {
    await Promise.all([dispatchers.password, dispatchers.burst, dispatchers.others, ...dispatchers.spray].map((d) => d.close()));
    await stop(started.proc);
  }
  return result;
}

/** "first 429 after 50 answers (812 ms); 2051 of 2101 refused with 429", or that none came. */
function throttleNote(s: SprayRep['spray']): string {
  if (s.firstRefused === null) return `no 429 in ${s.attempts} attempts: the spray did not reach the throttle`;
  return `first 429 after ${s.firstRefused.after} answers (${Math.round(s.firstRefused.ms)} ms); ${s.refused} of ${s.attempts} refused with 429`;
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The sign-in bench's table (one row per repetition, then the medians) and its target line. */
export function renderSignIn(r: SignInResult): string {
  if (r.status !== 'measured' || !r.median) return `sign-in bench ${r.status}: ${r.reason ?? ''}`;
  const statuses = (s: Record<string, number>): string =>
    Object.entries(s)
      .sort()
      .map(([k, v]) => `${k}×${v}`)
      .join(' ');
  const lines = [
    `sign-in bench: ${r.clients} concurrent clients; burst of wrong passwords over ${fmt(r.burst.users, 0)} users × ${r.burst.attemptsPerUser} attempts, ` +
      `${r.burst.seconds} s per repetition (lockout after ${r.burst.lockoutDenials ?? '?'} denials; ` +
      `source throttle after ${SPRAY_THROTTLE.failures} failures in ${SPRAY_THROTTLE.window_minutes} minutes)`,
    '',
    '(a) correct-password sign-ins (POST sign-in, full step)',
    'rep  sign-ins/s  CPU ms/each  p50 ms  p99 ms  srv CPU%  other CPU%  statuses',
    ...r.reps.map((x, i) =>
      [
        String(i + 1).padEnd(3),
        fmt(x.password.checksPerSecond, 1).padStart(10),
        fmt(x.password.cpuMsPerCheck, 1).padStart(11),
        fmt(x.password.p50Ms, 1).padStart(6),
        fmt(x.password.p99Ms, 1).padStart(6),
        fmt(x.password.srvCpuPct, 0).padStart(8),
        fmt(x.password.otherCpuPct, 0).padStart(10),
        ` ${statuses(x.password.statuses)}`,
      ].join('  '),
    ),
    '',
    '(b) signed-in two_factor traffic (wrk) alone and during the wrong-password burst',
    'rep  req/s alone  p99 alone  req/s burst  p99 burst  p99 ratio  srv CPU% (alone/burst)  other CPU% (alone/burst)  burst tries/s  burst p99 ms  burst statuses',
    ...r.reps.map((x, i) =>
      [
        String(i + 1).padEnd(3),
        fmt(x.alone.rps, 0).padStart(11),
        `${fmt(x.alone.p99, 2)} ms`.padStart(9),
        fmt(x.during.rps, 0).padStart(11),
        `${fmt(x.during.p99, 2)} ms`.padStart(9),
        `${fmt(x.p99Ratio, 2)}×`.padStart(9),
        `${fmt(x.alone.srvCpuPct, 0)} / ${fmt(x.during.srvCpuPct, 0)}`.padStart(22),
        `${fmt(x.alone.otherCpuPct, 0)} / ${fmt(x.during.otherCpuPct, 0)}`.padStart(24),
        fmt(x.burst.attemptsPerSecond, 1).padStart(13),
        fmt(x.burst.p99Ms, 0).padStart(12),
        ` ${statuses(x.burst.statuses)}`,
      ].join('  '),
    ),
    '',
    `medians: ${fmt(r.median.checksPerSecond, 1)} sign-ins/s (${fmt(r.median.cpuMsPerCheck, 1)} ms CPU each); signed-in p99 ${fmt(r.median.aloneP99, 2)} ms alone, ` +
      `${fmt(r.median.duringP99, 2)} ms during the burst; req/s ${fmt(r.median.aloneRps, 0)} → ${fmt(r.median.duringRps, 0)}; burst ${fmt(r.median.burstRate, 1)} wrong passwords/s`,
    `  ${r.median.p99Ratio <= 2 ? '  met ' : 'MISSED'}  signed-in p99 at most doubles during the wrong-password burst: ${fmt(r.median.p99Ratio, 2)}×`,
    '',
    "(c) password spray: one source, one wrong password per user name; signed-in traffic (wrk) and other users' sign-ins from another address, quiet and during the spray",
    'rep  p99 quiet  p99 spray  p99 ratio  others p50 quiet/spray  others p99 quiet/spray  others p99 ratio  others statuses (spray)  spray tries/s  spray statuses',
    ...r.reps.map((x, i) =>
      [
        String(i + 1).padEnd(3),
        `${fmt(x.spray.quiet.p99, 2)} ms`.padStart(9),
        `${fmt(x.spray.during.p99, 2)} ms`.padStart(9),
        `${fmt(x.spray.p99Ratio, 2)}×`.padStart(9),
        `${fmt(x.spray.othersQuiet.p50Ms, 1)} / ${fmt(x.spray.othersDuring.p50Ms, 1)} ms`.padStart(22),
        `${fmt(x.spray.othersQuiet.p99Ms, 1)} / ${fmt(x.spray.othersDuring.p99Ms, 1)} ms`.padStart(22),
        `${fmt(x.spray.othersP99Ratio, 2)}×`.padStart(16),
        ` ${statuses(x.spray.othersDuring.statuses)}`.padStart(23),
        fmt(x.spray.spray.attemptsPerSecond, 1).padStart(13),
        ` ${statuses(x.spray.spray.statuses)}`,
      ].join('  '),
    ),
    '',
    ...r.reps.map((x, i) => `rep ${i + 1} spray throttle (mfa.source_throttle): ${throttleNote(x.spray.spray)}`),
    `spray medians: signed-in p99 ${fmt(r.median.sprayP99Ratio, 2)}× the quiet run; other users' sign-in p50 ${fmt(r.median.sprayOthersP50Ratio, 2)}×, p99 ${fmt(r.median.sprayOthersP99Ratio, 2)}×`,
  ];
  return lines.join('\n');
}
