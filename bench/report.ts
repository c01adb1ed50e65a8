/**
 * @module bench/report
 * Turns the repetitions of a run into what people read: the median of every figure per
 * scenario, its ratios to the two baselines of the same run (the floor, bench/floor.ts, and
 * nginx), what `identity.jwt` costs (`gateway-jwt` as ratios to `gateway-two-factor-session`),
 * the issue-7 targets checked against those medians, and the terminal tables; and
 * the same for the fixed-rate runs (latency at 2,500 and 5,000 req/s, issue 16).
 */

/** One measured repetition of one scenario. Latencies in ms, CPU in µs per request. */
export interface Sample {
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  cpuUsPerReq: number;
  /** CPU time of the server under test as a share of one core during the run, in %. */
  cpuPct: number;
  /** Same for the origin (when it is not itself the server under test), in %. */
  originCpuPct: number | null;
  /** CPU taken by every other process on the machine during the run (noise), in % of one core. */
  otherCpuPct: number;
  /** Peak resident set (VmHWM) over the server's life so far. */
  rssMb: number;
  /** Resident set at the end of the measured run. */
  rssEndMb: number;
  requests: number;
  errors: number;
  bytesPerResponse: number;
}

/** The figures that are compared (each also as a ratio to the baselines). */
const FIGURES = ['rps', 'p50', 'p99', 'p999', 'cpuUsPerReq', 'rssMb'] as const;
type Figure = (typeof FIGURES)[number];

const LABELS: Record<Figure, string> = {
  rps: 'req/s',
  p50: 'p50 ms',
  p99: 'p99 ms',
  p999: 'p99.9 ms',
  cpuUsPerReq: 'CPU µs/req',
  rssMb: 'RSS MB',
};

export interface ScenarioResult {
  name: string;
  description: string;
  status: 'measured' | 'skipped' | 'failed';
  reason?: string;
  samples: Sample[];
  median?: Sample;
  /** Max minus min of req/s over the repetitions, as % of the median. */
  rpsSpreadPct?: number;
  ratios?: { floor?: Record<Figure, number>; nginx?: Record<Figure, number> };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(result: ScenarioResult): void {
  const s = result.samples;
  if (s.length === 0) return;
  const pick = (f: (x: Sample) => number): number => median(s.map(f));
  const origin = s.map((x) => x.originCpuPct).filter((x): x is number => x !== null);
  result.median = {
    rps: pick((x) => x.rps),
    p50: pick((x) => x.p50),
    p99: pick((x) => x.p99),
    p999: pick((x) => x.p999),
    cpuUsPerReq: pick((x) => x.cpuUsPerReq),
    cpuPct: pick((x) => x.cpuPct),
    originCpuPct: origin.length ? median(origin) : null,
    otherCpuPct: pick((x) => x.otherCpuPct),
    rssMb: pick((x) => x.rssMb),
    rssEndMb: pick((x) => x.rssEndMb),
    requests: pick((x) => x.requests),
    errors: pick((x) => x.errors),
    bytesPerResponse: pick((x) => x.bytesPerResponse),
  };
  const rps = s.map((x) => x.rps);
  result.rpsSpreadPct = ((Math.max(...rps) - Math.min(...rps)) / result.median.rps) * 100;
}

export function addRatios(results: ScenarioResult[], floor: ScenarioResult | undefined, nginx: ScenarioResult | undefined): void {
  const ratio = (m: Sample, base: Sample): Record<Figure, number> =>
    Object.fromEntries(FIGURES.map((f) => [f, m[f] / base[f]])) as Record<Figure, number>;
  for (const r of results) {
    if (!r.median) continue;
    r.ratios = {
      ...(floor?.median ? { floor: ratio(r.median, floor.median) } : {}),
      ...(nginx?.median ? { nginx: ratio(r.median, nginx.median) } : {}),
    };
  }
}

/** One issue-7 target: its wording, the measured value, and whether it is met. */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

export function checkTargets(results: ScenarioResult[], floor: ScenarioResult | undefined, sessions: number): TargetCheck[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  const gw = byName.get('gateway-two-factor-session')?.median;
  const caddy = byName.get('caddy')?.median;
  const many = byName.get('gateway-many-sessions')?.median;
  const b = floor?.median;
  const why = (name: string): string => {
    const r = byName.get(name);
    return `not measured (${name}: ${r?.reason ?? r?.status ?? 'not in this run'})`;
  };
  const checks: TargetCheck[] = [];
  if (gw && b) {
    const extra = gw.cpuUsPerReq - b.cpuUsPerReq;
    checks.push({ target: 'two-factor request: at most +10 µs CPU over the floor', measured: `${fmt(extra, 1)} µs`, met: extra <= 10 });
    const share = gw.rps / b.rps;
    checks.push({
      target: "two-factor request: at least 80% of the floor's req/s",
      measured: `${fmt(share * 100, 1)}%`,
      met: share >= 0.8,
    });
    const dp99 = gw.p99 - b.p99;
    checks.push({ target: "two-factor request: p99 within 2 ms of the floor's", measured: `${fmt(dp99, 2)} ms`, met: dp99 <= 2 });
  } else {
    checks.push({
      target: 'two-factor request vs the floor (CPU, req/s, p99)',
      measured: why(gw ? 'floor' : 'gateway-two-factor-session'),
      met: null,
    });
  }
  if (gw && caddy) {
    checks.push({
      target: 'two-factor request: more req/s than Caddy',
      measured: `${fmt(gw.rps / caddy.rps, 2)}× Caddy`,
      met: gw.rps > caddy.rps,
    });
  } else {
    checks.push({
      target: 'two-factor request: more req/s than Caddy',
      measured: why(gw ? 'caddy' : 'gateway-two-factor-session'),
      met: null,
    });
  }
  checks.push({
    target: 'peak RSS under 250 MB with 100,000 sessions',
    measured: many
      ? `${fmt(many.rssMb, 0)} MB peak, ${fmt(many.rssEndMb, 0)} MB at the end of the run, with ${sessions} sessions${sessions < 100_000 ? ' (use --sessions 100000 for the target)' : ''}`
      : why('gateway-many-sessions'),
    met: many && sessions >= 100_000 ? many.rssMb < 250 : null,
  });
  return checks;
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.length === 1 ? 0 : (r[i] ?? '').length))));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(r.length === 1 ? r[0]! : line(r));
  return out.join('\n');
}

/** A row that spans the table; the reason only where it is first shown. */
function skippedRow(r: ScenarioResult, width: number, withReason: boolean): string[] {
  return [`${r.name.padEnd(width)}  ${r.status}${withReason ? `: ${r.reason ?? ''}` : ''}`];
}

export function renderTables(results: ScenarioResult[], floor: ScenarioResult | undefined, nginx: ScenarioResult | undefined): string {
  const width = Math.max(8, ...results.map((r) => r.name.length));
  const main = table(
    [
      'scenario',
      'req/s',
      '±%',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'CPU µs/req',
      'srv CPU%',
      'origin CPU%',
      'other CPU%',
      'RSS MB',
      'RSS end MB',
      'errors',
    ],
    results.map((r) => {
      const m = r.median;
      if (r.status !== 'measured' || !m) return skippedRow(r, width, true);
      return [
        r.name,
        fmt(m.rps, 0),
        fmt(r.rpsSpreadPct ?? 0, 1),
        fmt(m.p50, 2),
        fmt(m.p99, 2),
        fmt(m.p999, 2),
        fmt(m.cpuUsPerReq, 1),
        fmt(m.cpuPct, 0),
        m.originCpuPct === null ? '(sut)' : fmt(m.originCpuPct, 0),
        fmt(m.otherCpuPct, 0),
        fmt(m.rssMb, 1),
        fmt(m.rssEndMb, 1),
        fmt(m.errors, 0),
      ];
    }),
  );
  const ratioTable = (key: 'floor' | 'nginx', base: ScenarioResult | undefined): string => {
    if (!base?.median) return `ratios to ${key}: no ${key} baseline in this run`;
    return (
      `ratios to ${base.name} (req/s: higher is better; the rest: lower is better)\n` +
      table(
        ['scenario', ...FIGURES.map((f) => LABELS[f])],
        results.map((r) => {
          const q = r.ratios?.[key];
          if (r.status !== 'measured' || !q) return skippedRow(r, width, false);
          return [r.name, ...FIGURES.map((f) => `${fmt(q[f], 2)}×`)];
        }),
      )
    );
  };
  return [main, '', ratioTable('floor', floor), '', ratioTable('nginx', nginx)].join('\n');
}

/** The scenario `gateway-jwt` is read against: the same two-factor session with `identity.jwt` off. */
const JWT_BASE = 'gateway-two-factor-session';

/** What `identity.jwt` costs: `gateway-jwt`'s medians as ratios to {@link JWT_BASE}'s, or why there are none. */
type JwtCost =
  | { measured: true; ratios: Record<Figure, number>; extraCpuUsPerReq: number; extraP99Ms: number }
  | { measured: false; reason: string };

export function jwtCost(results: readonly ScenarioResult[]): JwtCost {
  return compare(results, 'gateway-jwt', JWT_BASE);
}

/** `name`'s medians as ratios to `base`'s (both from one run), or why there are none. */
function compare(results: readonly ScenarioResult[], name: string, baseName: string): JwtCost {
  const r = results.find((x) => x.name === name);
  const base = results.find((x) => x.name === baseName);
  for (const [n, x] of [
    [name, r],
    [baseName, base],
  ] as const) {
    if (x?.status !== 'measured' || !x.median) return { measured: false, reason: `${n}: ${x?.reason ?? x?.status ?? 'not in this run'}` };
  }
  const m = r!.median!;
  const b = base!.median!;
  return {
    measured: true,
    ratios: Object.fromEntries(FIGURES.map((f) => [f, m[f] / b[f]])) as Record<Figure, number>,
    extraCpuUsPerReq: m.cpuUsPerReq - b.cpuUsPerReq,
    extraP99Ms: m.p99 - b.p99,
  };
}

/**
 * Before/after pairs of one run, each as one line of ratios: a scenario against its `@base`
 * (`--baseline-ref`), its `@after` against its `@base` (`--after-ref`), and the shipped heap against V8's own (a `-node-heap` scenario).
 */
export function renderComparisons(results: readonly ScenarioResult[]): string {
  const names = new Set(results.map((r) => r.name));
  const pairs: Array<[string, string]> = [];
  for (const n of names) {
    if (n.endsWith('@base') && names.has(n.slice(0, -5))) pairs.push([n.slice(0, -5), n]);
    if (n.endsWith('@after') && names.has(`${n.slice(0, -6)}@base`)) pairs.push([n, `${n.slice(0, -6)}@base`]);
    if (n.endsWith('-node-heap')) {
      const shipped = n === 'gateway-two-factor-node-heap' ? 'gateway-two-factor-session' : n.slice(0, -'-node-heap'.length);
      if (names.has(shipped)) pairs.push([shipped, n]);
    }
  }
  return pairs
    .map(([name, base]) => {
      const c = compare(results, name, base);
      if (!c.measured) return `${name} ÷ ${base}: not measured (${c.reason})`;
      const signed = (value: number, digits: number) => `${value >= 0 ? '+' : ''}${fmt(value, digits)}`;
      return (
        `${name} ÷ ${base}: ` +
        FIGURES.map((f) => `${LABELS[f]} ${fmt(c.ratios[f], 2)}×`).join(', ') +
        ` (CPU ${signed(c.extraCpuUsPerReq, 1)} µs/req, p99 ${signed(c.extraP99Ms, 2)} ms)`
      );
    })
    .join('\n');
}

/** One line: `gateway-jwt` as ratios to `gateway-two-factor-session` (req/s: higher is better; the rest: lower is better). */
export function renderJwtCost(results: readonly ScenarioResult[]): string {
  const cost = jwtCost(results);
  const title = `identity.jwt: gateway-jwt ÷ ${JWT_BASE}`;
  if (!cost.measured) return `${title}: not measured (${cost.reason})`;
  const signed = (value: number, digits: number) => `${value >= 0 ? '+' : ''}${fmt(value, digits)}`;
  return (
    `${title} (req/s: higher is better; the rest: lower is better)\n  ` +
    FIGURES.map((f) => `${LABELS[f]} ${fmt(cost.ratios[f], 2)}×`).join(', ') +
    ` (CPU ${signed(cost.extraCpuUsPerReq, 1)} µs/req, p99 ${signed(cost.extraP99Ms, 2)} ms)`
  );
}

export function renderTargets(checks: TargetCheck[], title = 'issue 7 targets (from the medians above)'): string {
  const mark = (met: boolean | null): string => (met === null ? '  n/a ' : met ? '  met ' : 'MISSED');
  return [title, ...checks.map((c) => `  ${mark(c.met)}  ${c.target}: ${c.measured}`)].join('\n');
}

/** One measured repetition of one scenario at one fixed rate. Latencies in ms (from when each request was due). */
export interface RateSample {
  achievedRps: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  errors: number;
  /** CPU of the server under test per request, and as a share of one core, in %. */
  cpuUsPerReq: number;
  cpuPct: number;
  otherCpuPct: number;
  /** The generator's own accuracy and cost: p99 of its timer lag (ms), its CPU per request (µs). */
  genLagP99: number;
  genCpuUsPerReq: number;
}

export interface RateRow {
  name: string;
  rate: number;
  status: 'measured' | 'failed';
  reason?: string;
  samples: RateSample[];
  median?: RateSample;
}

export function summarizeRate(row: RateRow): void {
  const s = row.samples;
  if (s.length === 0) return;
  const keys = Object.keys(s[0]!) as (keyof RateSample)[];
  row.median = Object.fromEntries(keys.map((k) => [k, median(s.map((x) => x[k]))])) as unknown as RateSample;
}

/** Above this timer lag (p99) the generator did not keep its schedule and the row says so. */
const GEN_LAG_LIMIT_MS = 1;

/** One table per rate: the latency figures, p99 against nginx's, and the generator's own overhead. */
export function renderRateTables(rows: RateRow[]): string {
  const width = Math.max(8, ...rows.map((r) => r.name.length));
  const rates = [...new Set(rows.map((r) => r.rate))];
  return rates
    .map((rate) => {
      const at = rows.filter((r) => r.rate === rate);
      const nginx = at.find((r) => r.name === 'nginx')?.median;
      const body = table(
        [
          'scenario',
          'req/s',
          'p50 ms',
          'p99 ms',
          'p99.9 ms',
          'max ms',
          'p99 − nginx',
          'p99 ÷ nginx',
          'CPU µs/req',
          'srv CPU%',
          'other CPU%',
          'gen lag p99 ms',
          'gen µs/req',
          'errors',
        ],
        at.map((r) => {
          const m = r.median;
          if (r.status !== 'measured' || !m) return [`${r.name.padEnd(width)}  ${r.status}: ${r.reason ?? ''}`];
          return [
            r.name,
            fmt(m.achievedRps, 0),
            fmt(m.p50, 3),
            fmt(m.p99, 3),
            fmt(m.p999, 3),
            fmt(m.max, 2),
            nginx ? `${m.p99 - nginx.p99 >= 0 ? '+' : ''}${fmt(m.p99 - nginx.p99, 3)} ms` : '-',
            nginx ? `${fmt(m.p99 / nginx.p99, 2)}×` : '-',
            fmt(m.cpuUsPerReq, 1),
            fmt(m.cpuPct, 0),
            fmt(m.otherCpuPct, 0),
            fmt(m.genLagP99, 3),
            fmt(m.genCpuUsPerReq, 1),
            fmt(m.errors, 0),
          ];
        }),
      );
      // A generator whose timer ran late was itself short of CPU: its latency figures include its own waiting.
      const late = at.filter((r) => r.median && r.median.genLagP99 > GEN_LAG_LIMIT_MS).map((r) => r.name);
      const warn = late.length
        ? `\n  generator late (timer lag p99 over ${GEN_LAG_LIMIT_MS} ms, CPU-starved; rerun on a quieter machine): ${late.join(', ')}`
        : '';
      return `latency at a fixed ${fmt(rate, 0)} req/s (open loop, measured from when each request was due)\n${body}${warn}`;
    })
    .join('\n\n');
}

/** Issue 16: the gateway's p99 within 0.5 ms of nginx's at 2,500 req/s (both gateway scenarios shown). */
export function checkRateTargets(rows: RateRow[]): TargetCheck[] {
  const at = (name: string): RateRow | undefined => rows.find((r) => r.rate === 2500 && r.name === name);
  const nginx = at('nginx');
  return ['gateway-two-factor-session', 'gateway-bypass'].map((name) => {
    const gw = at(name);
    const target = `${name}: p99 within 0.5 ms of nginx's at 2,500 req/s`;
    if (!gw?.median || !nginx?.median) {
      const missing = !gw?.median ? name : 'nginx';
      const r = at(missing);
      return {
        target,
        measured: `not measured (${missing}: ${r?.reason ?? (r ? r.status : 'not in this run at 2,500 req/s')})`,
        met: null,
      };
    }
    const d = gw.median.p99 - nginx.median.p99;
    return {
      target,
      measured: `${fmt(gw.median.p99, 3)} ms vs ${fmt(nginx.median.p99, 3)} ms (${d >= 0 ? '+' : ''}${fmt(d, 3)} ms)`,
      met: d <= 0.5,
    };
  });
}
