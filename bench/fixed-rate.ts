/**
 * @module bench/fixed-rate
 * Latency at fixed rates (issue 16): after the saturation runs, the same running servers are
 * driven at each rate of `--rates` by the open-loop generator (`rate.ts`, via `runRate`), and
 * each repetition is measured from outside as usual: the servers' CPU from /proc, the
 * machine's other load, the generator's own lag and CPU. Returns one row per scenario and
 * rate; `report.ts` turns them into tables.
 *
 * Interleaved (the default, `sliceMs` > 0): in each repetition one generator run drives every
 * scenario but `direct` on one schedule, a slice of `sliceMs` each in turn, so the machine's
 * stalls fall on all of them alike (on a shared machine they decide a p99 more than the
 * servers do when each scenario has its own 7 s). `direct` runs alone before them: it moves
 * the origin onto the server core, which the others need on the generator's. `sliceMs` 0
 * runs every scenario alone in turn, rotated per repetition, as the saturation runs do.
 */

import { runRate } from './load.ts';
import type { RateRun } from './load.ts';
import { cpuSeconds, cpuSnapshot, exitMessage, machineBusySeconds, selfAndReapedSeconds } from './procs.ts';
import type { CpuSnapshot, Running } from './procs.ts';
import type { RateRow, RateSample } from './report.ts';

/** The scenarios also measured at fixed rates: the generator's own floor (direct), the floor, the peers, the gateway. */
export const RATE_SCENARIOS = [
  'direct',
  'floor',
  'nginx',
  'caddy',
  'gateway-bypass',
  'gateway-two-factor-session',
  'gateway-two-factor-node-heap',
];

/** What the generator hits; the same shape as the saturation runs' targets. */
export interface RateTarget {
  url: string;
  proc: Running;
  headers?: Record<string, string>;
  enter?: () => void;
  renew?: () => Promise<void>;
  leave?: () => void;
}

export interface FixedRateOptions {
  rates: number[];
  reps: number;
  warmup: number;
  duration: number;
  connections: number;
  /** Slice length of the interleaved runs; 0 = one scenario per generator run. */
  sliceMs: number;
  /** taskset core list of the generator (the load generator's core). */
  genCores: string;
  origin: Running;
  log: (line: string) => void;
}

/** Runs every scenario in `names` at every rate, `opts.reps` times (see the module comment for the order). */
export async function runFixedRates(names: string[], targets: Map<string, RateTarget>, opts: FixedRateOptions): Promise<RateRow[]> {
  const rows: RateRow[] = opts.rates.flatMap((rate) => names.map((name): RateRow => ({ name, rate, status: 'measured', samples: [] })));
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const rate of opts.rates) {
      const at = rows.filter((r) => r.rate === rate);
      // Each repetition starts one scenario further on, as in the saturation runs.
      const order = at.map((_, i) => at[(i + rep) % at.length]!);
      const groups =
        opts.sliceMs > 0 ? [order.filter((r) => r.name === 'direct'), order.filter((r) => r.name !== 'direct')] : order.map((r) => [r]);
      for (const group of groups) {
        const live = group.filter((r) => r.status === 'measured');
        if (live.length > 0) await runGroup(live, targets, rate, rep, opts);
      }
    }
  }
  return rows;
}

/** One generator run over `group` (one scenario, or several interleaved); a sample for each row. */
async function runGroup(
  group: RateRow[],
  targets: Map<string, RateTarget>,
  rate: number,
  rep: number,
  opts: FixedRateOptions,
): Promise<void> {
  const { origin, log } = opts;
  const members = group.map((row) => ({ row, target: targets.get(row.name)! }));
  const entered: RateTarget[] = [];
  try {
    for (const { target } of members) await target.renew?.();
    for (const { target } of members) {
      target.enter?.();
      entered.push(target);
    }
    const before = members.map(({ target }) => cpuSnapshot(target.proc.pid));
    const originBefore = cpuSnapshot(origin.pid);
    const machineBefore = machineBusySeconds();
    const selfBefore = selfAndReapedSeconds();
    const started = performance.now();
    const out: RateRun = await runRate({
      targets: members.map(({ target }) => ({ url: target.url, ...(target.headers ? { headers: target.headers } : {}) })),
      rate,
      seconds: opts.duration,
      warmup: opts.warmup,
      connections: opts.connections,
      cores: opts.genCores,
      sliceMs: opts.sliceMs > 0 ? opts.sliceMs : 1000,
    });
    const wall = (performance.now() - started) / 1000;
    // CPU is read around the whole generator run (warm-up included, same rate), so per request it divides by all of it.
    const cpu = members.map(({ target }, i) => cpuSeconds(before[i] as CpuSnapshot, cpuSnapshot(target.proc.pid)));
    const cpuTotal = cpu.reduce((a, b) => a + b, 0);
    const originCpu = members.some(({ target }) => target.proc === origin) ? 0 : cpuSeconds(originBefore, cpuSnapshot(origin.pid));
    const machine = machineBusySeconds() - machineBefore;
    // The generator is a reaped child of this process, so `self` includes it.
    const self = selfAndReapedSeconds() - selfBefore;
    members.forEach(({ row }, i) => {
      const result = out.targets[i]!;
      const sample: RateSample = {
        achievedRps: result.achievedRps,
        p50: result.p50 / 1000,
        p99: result.p99 / 1000,
        p999: result.p999 / 1000,
        max: result.max / 1000,
        errors: result.errors,
        cpuUsPerReq: (cpu[i]! / (rate * (opts.warmup + opts.duration))) * 1e6,
        // A share of one core while it was driven: each member is driven 1/N of the run.
        cpuPct: (cpu[i]! / (wall / members.length)) * 100,
        otherCpuPct: (Math.max(0, machine - cpuTotal - originCpu - self) / wall) * 100,
        genLagP99: out.lagP99 / 1000,
        genCpuUsPerReq: out.cpuUsPerReq,
      };
      row.samples.push(sample);
      log(
        `[rep ${rep + 1}/${opts.reps}] ${row.name.padEnd(27)} at ${rate} req/s${members.length > 1 ? ` (1 of ${members.length} interleaved)` : ''}: ` +
          `p50 ${sample.p50.toFixed(3)} p99 ${sample.p99.toFixed(3)} p99.9 ${sample.p999.toFixed(3)} ms` +
          `  ${sample.cpuUsPerReq.toFixed(1)} µs/req${sample.errors ? `  ${sample.errors} errors` : ''}`,
      );
    });
  } catch (err) {
    // One generator run for the group: a server that exited fails its own row; otherwise each member's.
    const dead = members.filter(({ target }) => target.proc.exited());
    for (const { row, target } of dead.length > 0 ? dead : members) {
      row.status = 'failed';
      row.reason = target.proc.exited() ? exitMessage(target.proc) : (err as Error).message;
      log(`[rep ${rep + 1}/${opts.reps}] ${row.name} at ${rate} req/s failed: ${row.reason}`);
    }
  } finally {
    for (const target of entered) target.leave?.();
  }
}
