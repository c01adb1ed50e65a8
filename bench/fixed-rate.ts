/**
 * @module bench/fixed-rate
 * Latency at fixed rates (issue 16): after the saturation runs, the same running servers are
 * driven at each rate of `--rates` by the open-loop generator (`rate.ts`, via `runRate`),
 * interleaved like the saturation runs, and each repetition is measured from outside as
 * usual: the server's CPU from /proc, the machine's other load, the generator's own lag and
 * CPU. Returns one row per scenario and rate; `report.ts` turns them into tables.
 */

import { runRate } from './load.ts';
import { cpuSeconds, cpuSnapshot, exitMessage, machineBusySeconds, selfAndReapedSeconds } from './procs.ts';
import type { Running } from './procs.ts';
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
  /** taskset core list of the generator (the load generator's core). */
  genCores: string;
  origin: Running;
  log: (line: string) => void;
}

/** Runs every scenario in `names` (in that order, rotated per repetition) at every rate. */
export async function runFixedRates(names: string[], targets: Map<string, RateTarget>, opts: FixedRateOptions): Promise<RateRow[]> {
  const { origin, log } = opts;
  const rows: RateRow[] = opts.rates.flatMap((rate) => names.map((name): RateRow => ({ name, rate, status: 'measured', samples: [] })));
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const rate of opts.rates) {
      const at = rows.filter((r) => r.rate === rate);
      // Each repetition starts one scenario further on, as in the saturation runs.
      for (const row of at.map((_, i) => at[(i + rep) % at.length]!)) {
        if (row.status !== 'measured') continue;
        const target = targets.get(row.name)!;
        try {
          await target.renew?.();
          target.enter?.();
          const before = cpuSnapshot(target.proc.pid);
          const originBefore = cpuSnapshot(origin.pid);
          const machineBefore = machineBusySeconds();
          const selfBefore = selfAndReapedSeconds();
          const started = performance.now();
          const out = await runRate({
            url: target.url,
            rate,
            seconds: opts.duration,
            warmup: opts.warmup,
            connections: opts.connections,
            cores: opts.genCores,
            ...(target.headers ? { headers: target.headers } : {}),
          });
          const wall = (performance.now() - started) / 1000;
          // CPU is read around the whole generator run (warm-up included, same rate), so per request it divides by all of it.
          const cpu = cpuSeconds(before, cpuSnapshot(target.proc.pid));
          const originCpu = target.proc === origin ? 0 : cpuSeconds(originBefore, cpuSnapshot(origin.pid));
          const machine = machineBusySeconds() - machineBefore;
          // The generator is a reaped child of this process, so `self` includes it.
          const self = selfAndReapedSeconds() - selfBefore;
          const sample: RateSample = {
            achievedRps: out.achievedRps,
            p50: out.p50 / 1000,
            p99: out.p99 / 1000,
            p999: out.p999 / 1000,
            max: out.max / 1000,
            errors: out.errors,
            cpuUsPerReq: (cpu / (rate * (opts.warmup + opts.duration))) * 1e6,
            cpuPct: (cpu / wall) * 100,
            otherCpuPct: (Math.max(0, machine - cpu - originCpu - self) / wall) * 100,
            genLagP99: out.lagP99 / 1000,
            genCpuUsPerReq: out.cpuUsPerReq,
          };
          row.samples.push(sample);
          log(
            `[rep ${rep + 1}/${opts.reps}] ${row.name.padEnd(27)} at ${rate} req/s: p50 ${sample.p50.toFixed(3)} p99 ${sample.p99.toFixed(3)} p99.9 ${sample.p999.toFixed(3)} ms` +
              `  ${sample.cpuUsPerReq.toFixed(1)} µs/req${sample.errors ? `  ${sample.errors} errors` : ''}`,
          );
        } catch (err) {
          row.status = 'failed';
          row.reason = target.proc.exited() ? exitMessage(target.proc) : (err as Error).message;
          log(`[rep ${rep + 1}/${opts.reps}] ${row.name} at ${rate} req/s failed: ${row.reason}`);
        } finally {
          target.leave?.();
        }
      }
    }
  }
  return rows;
}
