/**
 * @module bench/instructions
 * Instructions per signed-in request, counted by valgrind's callgrind: a before/after
 * measurement that the machine's other load does not move. `npm run bench` measures time,
 * and on a shared 2-core machine its repetitions spread by 10–80%, more than a change of a
 * few percent; an instruction count of the same program on the same input repeats to well
 * under 1%. It is not time (a cache miss costs more than an add), but it answers "does this
 * commit add work to each request, and how much".
 *
 *   npm run bench:instructions -- --baseline-ref REF [--after-ref REF] [--requests N]
 *                                  [--warmup N] [--sessions N] [--runs N]
 *
 * For each gateway (the commit REF as `@base`, `--after-ref` as `@after`, else this checkout)
 * and each of two scenarios, `two-factor-session` (one signed-in second-factor cookie on a
 * `/**` two_factor rule) and `many-sessions` (`--sessions` distinct cookies, a different one
 * per request), the gateway runs under `valgrind --tool=callgrind` behind the bench's origin
 * (bench/origin.ts), gets `--warmup` requests (the JIT settles), then its counters are
 * zeroed, it gets `--requests` requests over 8 keep-alive connections, and the counters are
 * dumped: every instruction of the gateway process (all its threads) between the two, divided
 * by the requests. The count includes what timers do meanwhile (the change feed's poll each
 * second, housekeeping), which grows with the phase's wall time: each line says how long the
 * phase took, and counts are comparable when those are alike. V8 runs in predictable mode ({@link PREDICTABLE}), so the count repeats; it
 * is the gateway's own work per request, GC included, not what V8's time-driven heuristics
 * would add on a given machine. Printed: a table of instructions per request (median of `--runs`) and the
 * ratio `@after ÷ @base` per scenario; written to bench/results/instructions-*.json.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startGateway } from './gateway.ts';
import { freePort, start, stop, stopAll, waitForPort } from './procs.ts';
import { mintSessions } from './sessions.ts';

const BENCH_DIR = import.meta.dirname;
const ROOT = resolve(BENCH_DIR, '..');
const CONNECTIONS = 8;
/**
 * V8 in predictable mode: no background compiler or GC threads, and a fixed GC schedule
 * instead of one steered by measured time (which under valgrind depends on how busy the
 * machine is). Without them, two runs of one commit differed by up to 19%. The fixed schedule
 * sets a 4 MB semi-space; naming it also keeps `serve` from replacing itself with the shipped
 * one (bin/mfa-gateway.js), which would leave valgrind behind (it does not follow an exec).
 */
const PREDICTABLE = ['--predictable', '--predictable-gc-schedule', '--max-semi-space-size=4'];

const HELP = `Usage: npm run bench:instructions -- --baseline-ref REF [options]

  --baseline-ref REF  the gateway of commit REF, as @base
  --after-ref REF     the gateway of commit REF as @after (default: this checkout)
  --requests N        measured requests per run (default 4000)
  --warmup N          requests before the counters are zeroed (default 6000)
  --sessions N        distinct cookies of many-sessions (default 2000)
  --runs N            runs per gateway and scenario, interleaved (default 2)
  --keep              keep the callgrind dumps (printed: where) for callgrind_annotate
`;

const { values } = parseArgs({
  options: {
    'baseline-ref': { type: 'string' },
    'after-ref': { type: 'string' },
    requests: { type: 'string', default: '4000' },
    warmup: { type: 'string', default: '6000' },
    sessions: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help || !values['baseline-ref']) {
  process.stdout.write(HELP);
  process.exit(values.help ? 0 : 2);
}
const count = (name: string, value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, not ${value}`);
  return n;
};
const requests = count('requests', values.requests);
const warmup = count('warmup', values.warmup);
const sessions = count('sessions', values.sessions);
const runs = count('runs', values.runs);

const runDir = mkdtempSync(join(tmpdir(), 'mfa-instructions-'));
const short = (ref: string) => execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', ref]).toString().trim();
function unpack(ref: string, label: string): string {
  const dir = join(runDir, label);
  mkdirSync(dir);
  execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', ROOT, ref, dir]);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'bin', 'mfa-gateway.js');
}
const gateways = [
  { label: 'base', ref: `${values['baseline-ref']} (${short(values['baseline-ref'])})`, bin: unpack(values['baseline-ref'], 'base') },
  values['after-ref']
    ? { label: 'after', ref: `${values['after-ref']} (${short(values['after-ref'])})`, bin: unpack(values['after-ref'], 'after') }
    : { label: 'after', ref: 'this checkout', bin: join(ROOT, 'bin', 'mfa-gateway.js') },
];
const scenarios = [
  { name: 'two-factor-session', sessions: 1 },
  { name: 'many-sessions', sessions },
];

/**
 * Sends `n` GETs of / over the pool, cookie after cookie; returns the answers that were not
 * 200 (status → count). Under valgrind the gateway runs some 50 times slower, and its change
 * feed can miss its deadline: it then fails closed with a 503 for a moment, as it should.
 */
async function drive(pool: Pool, cookies: readonly string[], n: number, offset: number): Promise<Map<number, number>> {
  let next = 0;
  const bad = new Map<number, number>();
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const res = await pool.request({ path: '/', method: 'GET', headers: { cookie: cookies[(offset + i) % cookies.length]! } });
      await res.body.dump();
      if (res.statusCode !== 200) bad.set(res.statusCode, (bad.get(res.statusCode) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, lane));
  return bad;
}

/** At most this share of answers may be other than 200 (see {@link drive}); beyond it the run is not a measurement. */
const MAX_OTHER = 0.01;
function checkAnswers(name: string, bad: Map<number, number>, n: number): string {
  const others = [...bad.values()].reduce((a, b) => a + b, 0);
  const text = [...bad].map(([status, k]) => `${k} × ${status}`).join(', ');
  if (others > n * MAX_OTHER) throw new Error(`${name}: of ${n} requests, ${text}`);
  return text;
}

/** The `totals:` (or `summary:`) line of a callgrind dump: instructions executed. */
function totalOf(file: string): number {
  const m = /^(?:totals|summary):\s+(\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`no totals in ${file}`);
  return Number(m[1]);
}

async function once(
  gw: (typeof gateways)[number],
  sc: (typeof scenarios)[number],
  run: number,
  originPort: number,
): Promise<{ perRequest: number; wallMs: number }> {
  const name = `${sc.name}-${gw.label}-${run}`;
  const dir = join(runDir, `${name}-callgrind`);
  mkdirSync(dir);
  const started = await startGateway(
    runDir,
    {
      name,
      policy: 'two_factor',
      trustLoopback: false,
      bin: gw.bin,
      nodeOptions: PREDICTABLE,
      // Renewing a cookie (a seal and a store write, once per quarter of idle_timeout) would
      // fall into a count or not depending on how slowly valgrind ran; with 12 h it never does.
      idleTimeout: '12h',
      wrap: { command: ['valgrind', '--tool=callgrind', `--callgrind-out-file=${join(dir, 'out')}`], startTimeoutMs: 300_000 },
    },
    await freePort(),
    originPort,
    '',
  );
  if (typeof started === 'string') throw new Error(started);
  const pool = new Pool(started.url, { connections: CONNECTIONS, headersTimeout: 120_000, bodyTimeout: 120_000 });
  try {
    const set = await mintSessions(started.url, started.configFile, sc.sessions, { env: started.env });
    checkAnswers(`${name} (warm-up)`, await drive(pool, set.cookies, warmup, 0), warmup);
    execFileSync('callgrind_control', ['--zero', String(started.proc.pid)], { stdio: 'ignore' });
    const began = performance.now();
    const other = checkAnswers(name, await drive(pool, set.cookies, requests, warmup), requests);
    const wallMs = performance.now() - began;
    if (other) process.stderr.write(`  ${name}: ${other} of ${requests} measured answers were not 200\n`);
    execFileSync('callgrind_control', ['--dump', String(started.proc.pid)], { stdio: 'ignore' });
    // The dump on request is `out.1`; the one valgrind writes at exit (`out`) is not read.
    if (!readdirSync(dir).includes('out.1')) throw new Error(`${name}: callgrind wrote no dump in ${dir}: ${readdirSync(dir).join(', ')}`);
    return { perRequest: totalOf(join(dir, 'out.1')) / requests, wallMs };
  } finally {
    await pool.close();
    await stop(started.proc, 60_000);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
const originPort = await freePort();
const origin = start('origin', '', process.execPath, [join(BENCH_DIR, 'origin.ts'), '--port', String(originPort)]);
const originProblem = await waitForPort(origin, originPort);
if (originProblem) throw new Error(originProblem);

const results: Record<string, Record<string, number[]>> = {};
/** Wall time of each measured phase: timer-driven work (the change feed's poll, housekeeping) grows with it. */
const wall: Record<string, Record<string, number[]>> = {};
process.stderr.write(
  `callgrind: ${runs} run(s) × ${gateways.length} gateways × ${scenarios.length} scenarios, ${warmup} + ${requests} requests each\n`,
);
try {
  for (let run = 0; run < runs; run++)
    for (const sc of scenarios)
      for (const gw of gateways) {
        const { perRequest, wallMs } = await once(gw, sc, run, originPort);
        ((results[sc.name] ??= {})[gw.label] ??= []).push(perRequest);
        ((wall[sc.name] ??= {})[gw.label] ??= []).push(wallMs);
        process.stderr.write(
          `[run ${run + 1}/${runs}] ${sc.name}@${gw.label}: ${Math.round(perRequest).toLocaleString('en')} instructions/request ` +
            `(measured phase ${(wallMs / 1000).toFixed(1)} s)\n`,
        );
      }
} finally {
  await stopAll();
}

const lines = [
  `instructions per request (callgrind, median of ${runs}; ${warmup} warm-up + ${requests} measured requests, ${CONNECTIONS} connections)`,
  ...gateways.map((g) => `  @${g.label} = ${g.ref}`),
  '',
  'scenario                 @base          @after         @after ÷ @base   spread (max/min - 1)',
];
for (const sc of scenarios) {
  const base = results[sc.name]!.base!;
  const after = results[sc.name]!.after!;
  const spread = (xs: number[]) => `${((Math.max(...xs) / Math.min(...xs) - 1) * 100).toFixed(2)}%`;
  lines.push(
    `${sc.name.padEnd(24)} ${Math.round(median(base)).toLocaleString('en').padStart(12)}   ${Math.round(median(after))
      .toLocaleString('en')
      .padStart(12)}   ${(median(after) / median(base)).toFixed(3).padStart(12)}×   base ${spread(base)}, after ${spread(after)}`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
const out = join(BENCH_DIR, 'results', `instructions-${new Date().toISOString().replaceAll(':', '-')}.json`);
mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
writeFileSync(out, `${JSON.stringify({ gateways, requests, warmup, sessions, runs, results, wallMs: wall }, null, 2)}\n`);
process.stdout.write(`results: ${out}\n`);
if (values.keep) process.stdout.write(`callgrind dumps (out.1 of each run): ${runDir}/*-callgrind\n`);
else rmSync(runDir, { recursive: true, force: true });
