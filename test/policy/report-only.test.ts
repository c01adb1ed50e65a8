// Issue 13 item 2: report-only rules. A report-only rule in front of enforced ones changes no
// answer; what it would have done is counted in the metrics, kept (aggregated) in the store,
// and `mfa-gateway impact` sums it per rule for a scripted mix of users and addresses. The
// sign-in log gets one entry per rule, outcome, user and address per minute, with the count:
// `mfa-gateway log --kind report_only` and the admin log page (English and German) show them.
import t from 'tap';
import { PassThrough, Writable } from 'node:stream';
import { join } from 'node:path';
import { impactCommand } from '../../src/cli/impact.ts';
import { logCommand } from '../../src/cli/log.ts';
import { explainCommand } from '../../src/cli/explain.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { decide, reportOnlyMatches } from '../../src/policy/decide.ts';
import { createNetworkSet } from '../../src/client-ip/cidr.ts';
import { processMetrics } from '../../src/metrics/metrics.ts';
import type { CommandIo } from '../../src/cli/io.ts';
import { Browser, signInPassword, signInWithEnrollment, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';

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
    const gw = await startTestGateway(t, upstream, {
      rules: [...REPORT_ONLY, ...ENFORCED],
      server: { metrics: { listen: '127.0.0.1:0' } },
    });
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

t.test(
  'report-only hits reach the sign-in log once the minute is over: one entry per rule, outcome, user and address, with the count',
  async (t) => {
    const upstream = await startUpstream(t);
    const plain = await startTestGateway(t, upstream, { rules: ENFORCED });
    const baseline = await script(plain);
    const gw = await startTestGateway(t, upstream, { rules: [...REPORT_ONLY, ...ENFORCED] });
    t.same(await script(gw), baseline, 'every request answered as without the report-only rules');
    const log = async (...args: string[]) => {
      const cmd = io();
      const code = await logCommand(['--config', join(gw.dir, 'gateway.yaml'), ...args], cmd, { clock: () => gw.clock.now });
      return { code, out: cmd.out() };
    };
    const reported = async () =>
      (await log('--kind', 'report_only', '--json')).out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, string>);

    await gw.reportOnly.flush();
    t.same(await reported(), [], 'the minute is not over: the flush wrote the counts, not yet the log entries');
    // The same minute, a later flush: it adds to alice's entry instead of writing another.
    const alice = new Browser(gw.port, {}, '127.0.0.1');
    await signInPassword(alice, 'alice');
    t.equal((await alice.get('/reports/q1')).status, 200, 'one_factor lets alice in; mfa-reports would ask for a code');
    await gw.reportOnly.flush();
    gw.clock.now += 60_000;
    await gw.reportOnly.flush();
    await gw.reportOnly.flush();

    const entries = await reported();
    const minute = '2026-11-23 09:00Z';
    t.same(
      entries.map((e) => `${e.rule} ${e.outcome} ${e.user || '-'} ${e.client_ip}: ${e.detail}`).sort(),
      [
        `lock-docs would_deny - 127.0.0.1: 1 request in the minute from ${minute}, to /docs/a`,
        `lock-docs would_deny - 127.0.0.4: 1 request in the minute from ${minute}, to /docs/a`,
        `lock-docs would_deny alice 127.0.0.1: 1 request in the minute from ${minute}, to /docs/b`,
        `mfa-reports would_require_second_factor alice 127.0.0.1: 4 requests in the minute from ${minute}, 2 paths, most to /reports/q1`,
        `mfa-reports would_require_second_factor bob 127.0.0.3: 1 request in the minute from ${minute}, to /reports/q3`,
        `mfa-reports would_require_second_factor bob 127.0.0.5: 1 request in the minute from ${minute}, to /reports/q1`,
        `mfa-reports would_require_sign_in - 127.0.0.1: 1 request in the minute from ${minute}, to /reports/q1`,
      ],
      'seven entries for ten hits, each written once',
    );
    t.ok(
      entries.every((e) => e.kind === 'report_only' && e.time === '2026-11-23T09:01:00.000Z'),
      'written when the minute was over',
    );

    const table = await log('--kind', 'report_only', '--user', 'alice');
    t.equal(table.code, 0);
    t.match(
      table.out,
      /\n2026-11-23 09:01:00Z +alice +127\.0\.0\.1 +- +mfa-reports +would_require_second_factor +4 requests in the minute from 2026-11-23 09:00Z, 2 paths, most to \/reports\/q1\n/,
    );
    t.match(table.out, /lock-docs +would_deny +1 request in the minute/);
    t.notMatch((await log('--kind', 'password')).out, /would_/, '--kind keeps one kind');
    const bad = await log('--kind', 'reports');
    t.equal(bad.code, 2, 'an unknown kind is a usage error');
    t.match(bad.out, /--kind "reports" is not one of password, .*report_only/);

    // The admin log page, filtered to report-only entries, in English and German.
    const admin = new Browser(gw.port, {}, '127.0.0.9');
    await signInWithEnrollment(admin, gw, 'alice');
    const rows = (html: string) => /<tbody>([\s\S]*)<\/tbody>/.exec(html)?.[1] ?? '';
    const en = await admin.get('/.gateway/admin/log?kind=report_only');
    t.equal(en.status, 200);
    const enRows = rows(en.body);
    t.equal(enRows.match(/<tr>/g)?.length, 7, 'only the report-only entries');
    t.equal(enRows.match(/Report-only rule/g)?.length, 7);
    t.match(enRows, /Would ask for a second factor/);
    t.match(enRows, /Would deny/);
    t.match(enRows, /Would ask to sign in/);
    t.match(enRows, /<td data-label="User">not signed in<\/td>/, 'a caller who had not signed in is said so, not linked');
    t.match(enRows, /Rule “mfa-reports” \(not enforced\)\. Requests in the minute from [^<]*: 4, to 2 paths, most to \/reports\/q1/);
    t.match(enRows, /Rule “lock-docs” \(not enforced\)\. Requests in the minute from [^<]*: 1, to \/docs\/b/);
    t.notMatch(enRows, /would_|report_only|requests in the minute/, 'no raw outcome, kind or stored detail');
    t.match(en.body, /<option value="report_only" selected>Report-only rule<\/option>/);

    const de = rows((await admin.get('/.gateway/admin/log?kind=report_only', { 'accept-language': 'de' })).body);
    t.equal(de.match(/Regel im Modus „Nur Bericht“/g)?.length, 7);
    t.match(de, /Würde einen zweiten Faktor verlangen/);
    t.match(de, /Würde ablehnen/);
    t.match(de, /Würde eine Anmeldung verlangen/);
    t.match(de, /nicht angemeldet/);
    t.match(
      de,
      /Regel „mfa-reports“ \(nicht durchgesetzt\)\. Anfragen in der Minute ab [^<]*: 4, an 2 Pfade, die meisten an \/reports\/q1/,
    );

    const all = rows((await admin.get('/.gateway/admin/log')).body);
    t.match(all, /<td data-label="Event">Password<\/td>/, 'the other kinds are named too');
  },
);

t.test('explain METHOD URL lists the report-only rules in front of the enforced match, as lines and as JSON', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { rules: [...REPORT_ONLY, ...ENFORCED] });
  const run = async (...args: string[]) => {
    const cmd = io();
    const code = await explainCommand(['--config', join(gw.dir, 'gateway.yaml'), ...args], cmd);
    return { code, out: cmd.out() };
  };
  const text = await run('--ip', '198.51.100.7', 'GET', 'https://app.example.com/reports/q1');
  t.equal(text.code, 0);
  t.match(text.out, /rule: {4}rule 4 \(paths \/reports\/\*\*\) matched\n/);
  t.match(
    text.out,
    /\n {2}- rule 2 "mfa-reports" \(paths \/reports\/\*\*, report only\): would_require_sign_in when not signed in; would_require_second_factor for <any> signed in with the password\n/,
  );

  const json = await run('--ip', '198.51.100.7', '--user', 'alice', '--json', 'GET', 'https://app.example.com/docs/a');
  t.equal(json.code, 0);
  const parsed = JSON.parse(json.out) as Record<string, unknown>;
  t.match(parsed, {
    request: 'GET https://app.example.com/docs/a',
    need: 'bypass',
    rule: 'rule 3',
    report_only: [
      {
        rule: 'lock-docs',
        description: 'rule 1 "lock-docs" (paths /docs/**, report only)',
        not_signed_in: 'would_deny',
        signed_in: 'would_deny',
      },
    ],
  });
  t.ok(Array.isArray(parsed.lines) && (parsed.lines as string[]).some((l) => l.startsWith('report-only:')), 'and the lines');
});
