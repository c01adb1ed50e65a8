// Issue 13 item 2: report-only rules. A report-only rule in front of enforced ones changes no
// answer; what it would have done is counted in the metrics, kept (aggregated) in the store,
// and `mfa-gateway impact` sums it per rule for a scripted mix of users and addresses.
import t from 'tap';
import { PassThrough, Writable } from 'node:stream';
import { join } from 'node:path';
import { impactCommand } from '../../src/cli/impact.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { decide, reportOnlyMatches } from '../../src/policy/decide.ts';
import { createNetworkSet } from '../../src/client-ip/cidr.ts';
import { processMetrics } from '../../src/metrics/metrics.ts';
import type { CommandIo } from '../../src/cli/io.ts';
import { Browser, signInPassword, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';

const ENFORCED = [
  { paths: ['/public/**', '/docs/**'], policy: 'bypass' },
  { paths: ['/reports/**'], policy: 'one_factor' },
  { paths: ['/**'], policy: 'two_factor' },
];
const REPORT_ONLY = [
  { name: 'lock-docs', mode: 'report_only', paths: ['/docs/**'], policy: 'deny' },
  { name: 'mfa-reports', mode: 'report_only', paths: ['/reports/**'], policy: 'two_factor' },
];

function io(): CommandIo & { out: () => string } {
  let out = '';
  const sink = new Writable({
    write: (c: Buffer, _e, cb) => {
      out += c.toString('utf8');
      cb();
    },
  });
  return { stdin: new PassThrough(), stdout: sink, stderr: sink, env: {}, out: () => out };
}

/** The scripted traffic: who asks what from where; returns every status in order. */
async function script(gw: TestGateway): Promise<number[]> {
  const statuses: number[] = [];
  const anonymous = new Browser(gw.port, {}, '127.0.0.1');
  const anonymous2 = new Browser(gw.port, {}, '127.0.0.4');
  const alice = new Browser(gw.port, {}, '127.0.0.1');
  await signInPassword(alice, 'alice');
  const bob = new Browser(gw.port, {}, '127.0.0.5');
  await signInPassword(bob, 'bob');
  // In trusted_ips, but bob has no second-factor method yet: two_factor still leads into enrollment.
  const bobTrusted = new Browser(gw.port, {}, '127.0.0.3');
  await signInPassword(bobTrusted, 'bob');
  for (const [browser, path] of [
    [anonymous, '/docs/a'],
    [anonymous2, '/docs/a'],
    [alice, '/docs/b'],
    [alice, '/reports/q1'],
    [alice, '/reports/q1'],
    [alice, '/reports/q2'],
    [bob, '/reports/q1'],
    [anonymous, '/reports/q1'],
    [bobTrusted, '/reports/q3'],
    [alice, '/public/x'],
  ] as const) {
    statuses.push((await browser.get(path)).status);
  }
  return statuses;
}

t.test('decide skips report-only rules; reportOnlyMatches lists those passed before the enforced rule', async (t) => {
  const policy = compilePolicy([...REPORT_ONLY, ...ENFORCED] as never);
  const addr = createNetworkSet(['0.0.0.0/0']) && { kind: 'ipv4' as const, parts: [198, 51, 100, 7] };
  const req = { host: 'app.example.com', path: '/docs/x', method: 'GET', addr } as never;
  t.equal(decide(policy, req).rule?.index, 2, 'the enforced bypass rule decides');
  t.same(
    reportOnlyMatches(policy.reportOnly!, req, decide(policy, req).rule).map((r) => r.key),
    ['lock-docs'],
  );
  t.equal(compilePolicy(ENFORCED as never).reportOnly, null, 'no report-only rule: nothing to check per request');
  const behind = compilePolicy([ENFORCED[0]!, ...REPORT_ONLY, ...ENFORCED.slice(1)] as never);
  t.same(
    reportOnlyMatches(behind.reportOnly!, req, decide(behind, req).rule),
    [],
    'a report-only rule behind the enforced match is never reached',
  );
});

t.test(
  'a report-only rule in front of enforced ones: same answers, and the metrics, the store and impact say what it would have done',
  async (t) => {
    const upstream = await startUpstream(t);
    const plain = await startTestGateway(t, upstream, { rules: ENFORCED });
    const baseline = await script(plain);
    const gw = await startTestGateway(t, upstream, { rules: [...REPORT_ONLY, ...ENFORCED] });
    const start = gw.clock.now;
    const statuses = await script(gw);
    t.same(statuses, baseline, 'every request answered as without the report-only rules');
    t.same(baseline, [200, 200, 200, 200, 200, 200, 200, 302, 200, 200], 'the enforced policy');

    const metrics = await processMetrics();
    t.match(metrics, /mfa_gateway_report_only_total\{rule="lock-docs",outcome="would_deny"\} 3/);
    t.match(metrics, /mfa_gateway_report_only_total\{rule="mfa-reports",outcome="would_require_second_factor"\} 5/);
    t.match(metrics, /mfa_gateway_report_only_total\{rule="mfa-reports",outcome="would_require_sign_in"\} 1/);

    await gw.reportOnly.flush();
    const run = async (...args: string[]) => {
      const cmd = io();
      const code = await impactCommand(['--config', join(gw.dir, 'gateway.yaml'), ...args], cmd, { clock: () => gw.clock.now });
      return { code, out: cmd.out() };
    };
    const json = await run('--json');
    t.equal(json.code, 0);
    const rows = json.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    t.same(rows, [
      {
        rule: 'mfa-reports',
        requests: 6,
        users: 2,
        anonymous: 1,
        addresses: 3,
        outcomes: { would_deny: 0, would_require_second_factor: 5, would_require_sign_in: 1 },
        topUsers: [
          { user: 'alice', requests: 3 },
          { user: 'bob', requests: 2 },
        ],
        topPaths: [
          { path: '/reports/q1', requests: 4 },
          { path: '/reports/q2', requests: 1 },
          { path: '/reports/q3', requests: 1 },
        ],
      },
      {
        rule: 'lock-docs',
        requests: 3,
        users: 1,
        anonymous: 2,
        addresses: 2,
        outcomes: { would_deny: 3, would_require_second_factor: 0, would_require_sign_in: 0 },
        topUsers: [{ user: 'alice', requests: 1 }],
        topPaths: [
          { path: '/docs/a', requests: 2 },
          { path: '/docs/b', requests: 1 },
        ],
      },
    ]);
    const text = await run('--rule', 'lock-docs');
    t.match(text.out, /^lock-docs: 3 requests, 1 users \(\+2 anonymous requests\), 2 addresses\n {2}would deny 3,/);
    t.notMatch(text.out, /mfa-reports/, '--rule keeps one rule');

    gw.clock.now = start + 8 * 86_400_000;
    t.match((await run('--since', '7d')).out, /No report-only hits in the last 7d/, 'older than --since: nothing');
    t.equal((await run('--since', 'soon')).code, 2, 'a bad duration is a usage error');
  },
);
