// The bench report (bench/report.ts) on made-up results, without running the bench: what
// identity.jwt costs is printed as gateway-jwt's ratios to gateway-two-factor-session of the
// same run, and a missing or failed scenario is named instead of a ratio.
import t from 'tap';
import { addRatios, jwtCost, renderComparisons, renderJwtCost, summarize, type Sample, type ScenarioResult } from '../../bench/report.ts';

const sample = (over: Partial<Sample>): Sample => ({
  rps: 10_000,
  p50: 1,
  p99: 2,
  p999: 4,
  cpuUsPerReq: 50,
  cpuPct: 90,
  originCpuPct: 20,
  otherCpuPct: 1,
  rssMb: 80,
  rssEndMb: 78,
  requests: 100_000,
  errors: 0,
  bytesPerResponse: 300,
  ...over,
});

function scenario(name: string, samples: Sample[], status: ScenarioResult['status'] = 'measured', reason?: string): ScenarioResult {
  const r: ScenarioResult = { name, description: name, status, samples, ...(reason ? { reason } : {}) };
  summarize(r);
  return r;
}

t.test('gateway-jwt is printed as ratios to gateway-two-factor-session, from the medians', async (t) => {
  const results = [
    scenario('floor', [sample({ rps: 20_000, cpuUsPerReq: 30 })]),
    // Three repetitions each: the medians are the middle ones.
    scenario('gateway-two-factor-session', [
      sample({ rps: 9_000, cpuUsPerReq: 60 }),
      sample({ rps: 10_000, cpuUsPerReq: 50, p99: 2 }),
      sample({ rps: 11_000, cpuUsPerReq: 40 }),
    ]),
    scenario('gateway-jwt', [
      sample({ rps: 9_500, cpuUsPerReq: 55, p99: 2.5, rssMb: 88 }),
      sample({ rps: 8_000, cpuUsPerReq: 70, p99: 3, rssMb: 90 }),
      sample({ rps: 9_000, cpuUsPerReq: 60, p99: 2.5, rssMb: 88 }),
    ]),
  ];
  addRatios(results, results[0], undefined);

  const cost = jwtCost(results);
  t.ok(cost.measured);
  if (!cost.measured) return;
  t.equal(cost.ratios.rps, 0.9, 'req/s 9,000 over 10,000');
  t.equal(cost.ratios.cpuUsPerReq, 1.2, 'CPU 60 over 50 µs/req');
  t.equal(cost.ratios.p99, 1.25);
  t.equal(cost.ratios.rssMb, 1.1);
  t.equal(cost.extraCpuUsPerReq, 10);
  t.equal(cost.extraP99Ms, 0.5);

  t.equal(
    renderJwtCost(results),
    'identity.jwt: gateway-jwt ÷ gateway-two-factor-session (req/s: higher is better; the rest: lower is better)\n' +
      '  req/s 0.90×, p50 ms 1.00×, p99 ms 1.25×, p99.9 ms 1.00×, CPU µs/req 1.20×, RSS MB 1.10× (CPU +10.0 µs/req, p99 +0.50 ms)',
  );
  t.equal(results[2]!.ratios?.floor?.rps, 0.45, 'the floor ratios are still there beside it');
});

t.test('without both scenarios measured, the line says which one is missing and why', async (t) => {
  const base = scenario('gateway-two-factor-session', [sample({})]);
  t.equal(renderJwtCost([base]), 'identity.jwt: gateway-jwt ÷ gateway-two-factor-session: not measured (gateway-jwt: not in this run)');
  t.equal(
    renderJwtCost([base, scenario('gateway-jwt', [], 'failed', 'the gateway exited 1')]),
    'identity.jwt: gateway-jwt ÷ gateway-two-factor-session: not measured (gateway-jwt: the gateway exited 1)',
  );
  t.equal(
    renderJwtCost([scenario('gateway-jwt', [sample({})]), scenario('gateway-two-factor-session', [], 'skipped', 'not selected')]),
    'identity.jwt: gateway-jwt ÷ gateway-two-factor-session: not measured (gateway-two-factor-session: not selected)',
  );
  t.same(jwtCost([]), { measured: false, reason: 'gateway-jwt: not in this run' });
});

t.test("before/after pairs of one run: a scenario against its @base, and the shipped heap against V8's own (-node-heap)", async (t) => {
  const results = [
    scenario('gateway-two-factor-session', [sample({ rps: 10_000, cpuUsPerReq: 50, rssMb: 200 })]),
    scenario('gateway-two-factor-session@base', [sample({ rps: 10_200, cpuUsPerReq: 49, rssMb: 190 })]),
    scenario('gateway-many-sessions', [sample({ rps: 8_550, rssMb: 240 })]),
    scenario('gateway-many-sessions-node-heap', [sample({ rps: 9_000, rssMb: 400 })]),
    scenario('gateway-two-factor-node-heap', [], 'skipped', 'the gateway did not start'),
  ];
  const lines = renderComparisons(results).split('\n');
  t.equal(lines.length, 3);
  t.match(lines[0], /^gateway-two-factor-session ÷ gateway-two-factor-session@base: req\/s 0\.98×, .*RSS MB 1\.05× \(CPU \+1\.0 µs\/req/);
  t.match(lines[1], /^gateway-many-sessions ÷ gateway-many-sessions-node-heap: req\/s 0\.95×, .*RSS MB 0\.60×/);
  t.equal(
    lines[2],
    'gateway-two-factor-session ÷ gateway-two-factor-node-heap: not measured (gateway-two-factor-node-heap: the gateway did not start)',
  );
  t.equal(renderComparisons([results[0]!]), '', 'no pairs, no lines');
});

t.test('one commit apart from what came after it: @after against @base (--after-ref)', async (t) => {
  const results = [
    scenario('gateway-many-sessions@base', [sample({ rps: 10_000, cpuUsPerReq: 50 })]),
    scenario('gateway-many-sessions@after', [sample({ rps: 9_700, cpuUsPerReq: 51 })]),
  ];
  t.match(renderComparisons(results), /^gateway-many-sessions@after ÷ gateway-many-sessions@base: req\/s 0\.97×, .*\(CPU \+1\.0 µs\/req/);
  t.equal(renderComparisons([results[1]!]), '', 'an @after without its @base is not a pair');
});
