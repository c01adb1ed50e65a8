// Guards `explain`: the same normalization and decisions as a live request, said in lines,
// and the one-word need the CLI can exit on.
import t from 'tap';
import type { ExplainInput } from '../../src/policy/explain.ts';
import { explainRequest } from '../../src/policy/explain.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { createNetworkSet } from '../../src/client-ip/cidr.ts';

const policy = compilePolicy([
  { paths: ['/public/**'], policy: 'bypass' },
  { name: 'admin area', hosts: ['app.example.com'], paths: ['/admin/**'], groups: ['admins'], policy: 'two_factor' },
  { hosts: ['app.example.com'], methods: ['GET'], policy: 'one_factor' },
  { hosts: ['*.internal.example'], policy: 'two_factor' },
]);
const trustedIps = createNetworkSet(['10.0.0.0/8']);

function explain(method: string, url: string, ip: string, extra: Partial<ExplainInput> = {}) {
  return explainRequest({ policy, trustedIps, method, url, ip, intranetClaim: false, intranetClaimEnabled: true, ...extra });
}

t.test('need: bypass, password, second factor, deny', async (t) => {
  const cases: [string, string, string, Partial<ExplainInput>, string][] = [
    ['GET', 'https://app.example.com/public/a.css', '203.0.113.9', {}, 'bypass'],
    ['GET', 'https://app.example.com/home', '203.0.113.9', {}, 'password'],
    ['POST', 'https://app.example.com/home', '203.0.113.9', {}, 'deny'],
    ['GET', 'https://app.example.com/admin/users', '203.0.113.9', {}, 'second_factor'],
    ['GET', 'https://app.example.com/admin/users', '10.1.2.3', {}, 'password'],
    ['GET', 'https://app.example.com/admin/users', '::ffff:10.1.2.3', {}, 'password'],
    ['GET', 'https://app.example.com/admin/users', '203.0.113.9', { user: { name: 'ann', groups: ['admins'] } }, 'second_factor'],
    ['GET', 'https://app.example.com/admin/users', '203.0.113.9', { user: { name: 'bob', groups: ['staff'] } }, 'deny'],
    ['GET', 'https://app.example.com/admin/users', '10.1.2.3', { user: { name: 'bob', groups: [] } }, 'deny'],
    ['GET', 'https://wiki.internal.example/', '203.0.113.9', {}, 'second_factor'],
    ['GET', 'https://wiki.internal.example/', '203.0.113.9', { intranetClaim: true }, 'password'],
    ['GET', 'https://wiki.internal.example/', '203.0.113.9', { intranetClaim: true, intranetClaimEnabled: false }, 'second_factor'],
    ['GET', 'https://other.example/', '203.0.113.9', {}, 'deny'],
    ['GET', 'http://app.example.com', '203.0.113.9', {}, 'password'],
    ['GET', 'HTTPS://APP.EXAMPLE.COM?x=1', '203.0.113.9', {}, 'password'],
  ];
  for (const [method, url, ip, extra, need] of cases) {
    t.equal(explain(method, url, ip, extra).need, need, `${method} ${url} from ${ip} ${JSON.stringify(extra)}`);
  }
});

t.test('the lines say what was normalized, which rule matched and why', async (t) => {
  const result = explain('get', 'https://APP.example.com:8443/public/%2e%2e/admin/x?y=/public/', '10.1.2.3');
  t.same(result.lines, [
    'request: GET https://APP.example.com:8443/public/%2e%2e/admin/x?y=/public/',
    'host:    app.example.com',
    'path:    /admin/x (normalized from /public/%2e%2e/admin/x)',
    '         the query string takes no part in matching',
    'client:  10.1.2.3 (in trusted_ips)',
    'user:    none given; a user in admins (<any>) is assumed, signed in with the password',
    'rule:    rule 2 "admin area" (hosts app.example.com, paths /admin/**, groups admins) matched',
    'outcome: two_factor',
    '  - its policy is two_factor: the password and a second factor are needed',
    '  - second factor skipped: 10.1.2.3 is in trusted_ips',
    '  - user <any> has signed in with the password',
    'needs:   the password',
  ]);
  t.equal(result.need, 'password');
});

t.test('an outsider is told they would be refused after the second factor', async (t) => {
  const result = explain('GET', 'https://app.example.com/admin', '203.0.113.9', { user: { name: 'bob', groups: ['staff'] } });
  t.equal(result.need, 'deny');
  t.match(result.lines, ['request: GET https://app.example.com/admin']);
  t.ok(result.lines.includes('user:    bob (groups staff), assumed signed in with the password'));
  t.ok(result.lines.includes('  - after the second factor: user bob is not in any of the groups: admins'));
  t.equal(result.lines.at(-1), 'needs:   nothing will do: the request is refused with 403');
});

t.test('no rule matched says so', async (t) => {
  const result = explain('GET', 'https://other.example/x', '203.0.113.9');
  t.ok(result.lines.includes('rule:    no rule matched; the default is deny'));
  t.ok(result.lines.includes('outcome: deny'));
});

t.test('a claim the config ignores is pointed out', async (t) => {
  const result = explain('GET', 'https://wiki.internal.example/', '203.0.113.9', { intranetClaim: true, intranetClaimEnabled: false });
  t.ok(result.lines.includes('         the intranet claim is ignored: mfa.trusted_ips.federated_intranet_claim is off'));
});

t.test('what the gateway answers 400 is explained as such', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['https://app.example.com/public/%2fadmin', '203.0.113.9', /encoded slash/],
    ['https://app.example.com/a\\b', '203.0.113.9', /backslash/],
    ['https://bad host/x', '203.0.113.9', /host "bad host" is malformed/],
    ['/admin', '203.0.113.9', /full http\(s\) URL/],
    ['ftp://app.example.com/', '203.0.113.9', /full http\(s\) URL/],
    ['https://app.example.com/', '10.1', /not an IP address/],
  ];
  for (const [url, ip, why] of cases) {
    const result = explain('GET', url, ip);
    t.equal(result.need, 'deny', url);
    t.match(result.lines[1], why, url);
    t.match(result.lines.at(-1), /answered 400/, url);
  }
});

t.test(
  'a rule with mfa_methods: explain names the accepted second factors and that a trusted network does not skip them (issue 14)',
  async (t) => {
    const strong = compilePolicy([{ name: 'payroll', paths: ['/payroll/**'], mfa_methods: ['webauthn'], policy: 'two_factor' }]);
    const r = explainRequest({
      policy: strong,
      trustedIps,
      method: 'GET',
      url: 'https://app.example.com/payroll/x',
      ip: '10.1.2.3',
      intranetClaim: false,
      intranetClaimEnabled: true,
    });
    t.equal(r.need, 'second_factor', 'the trusted network does not lower it');
    t.match(r.lines.join('\n'), /rule 1 "payroll" \(paths \/payroll\/\*\*, second factor webauthn\) matched/);
    t.match(r.lines.join('\n'), /only these second factors satisfy it: webauthn/);
    t.match(r.lines.join('\n'), /a trusted network does not skip it: mfa_methods does not list trusted_network/);
    t.match(r.lines.at(-1), /needs: {3}the password and a second factor \(only webauthn; another second factor must step up\)/);
    const skip = compilePolicy([{ paths: ['/**'], mfa_methods: ['webauthn', 'trusted_network'], policy: 'two_factor' }]);
    t.equal(
      explainRequest({
        policy: skip,
        trustedIps,
        method: 'GET',
        url: 'https://a.example/',
        ip: '10.1.2.3',
        intranetClaim: false,
        intranetClaimEnabled: true,
      }).need,
      'password',
      'listed trusted_network skips it',
    );
  },
);

t.test('report-only rules in front of the enforced match are listed with what each would have done (issue 13)', async (t) => {
  const trial = compilePolicy([
    { paths: ['/public/**'], policy: 'bypass' },
    { name: 'lock-docs', mode: 'report_only', paths: ['/docs/**'], policy: 'deny' },
    { name: 'mfa-reports', mode: 'report_only', paths: ['/reports/**', '/docs/**'], groups: ['finance'], policy: 'two_factor' },
    { paths: ['/docs/**', '/reports/**'], policy: 'one_factor' },
    { name: 'late', mode: 'report_only', paths: ['/**'], policy: 'deny' },
    { paths: ['/**'], policy: 'two_factor' },
  ]);
  const run = (url: string, ip: string, extra: Partial<ExplainInput> = {}) =>
    explainRequest({ policy: trial, trustedIps, method: 'GET', url, ip, intranetClaim: false, intranetClaimEnabled: true, ...extra });

  const docs = run('https://app.example.com/docs/a', '203.0.113.9');
  t.equal(docs.need, 'password', 'the enforced rule decides what the request needs');
  t.equal(docs.rule, 'rule 4');
  t.same(docs.reportOnly, [
    {
      rule: 'lock-docs',
      description: 'rule 2 "lock-docs" (paths /docs/**, report only)',
      notSignedIn: 'would_deny',
      signedIn: 'would_deny',
    },
    {
      rule: 'mfa-reports',
      description: 'rule 3 "mfa-reports" (paths /reports/** or /docs/**, groups finance, report only)',
      notSignedIn: 'would_require_sign_in',
      signedIn: 'would_require_second_factor',
    },
  ]);
  const text = docs.lines.join('\n');
  t.match(text, /needs: {3}the password\nreport-only: rules in front of the enforced one, judged and recorded but never enforced/);
  t.match(
    text,
    /\n {2}- rule 3 "mfa-reports" \(.*\): would_require_sign_in when not signed in; would_require_second_factor for <any> signed in with the password/,
  );
  t.notMatch(text, /late/, 'a report-only rule behind the enforced match is never reached');

  // On a trusted network the second factor is skipped, so the group decides; a member passes.
  t.same(
    run('https://app.example.com/reports/q1', '10.1.2.3').reportOnly.map((r) => [r.rule, r.notSignedIn, r.signedIn]),
    [['mfa-reports', 'would_require_sign_in', 'would_deny']],
  );
  const member = run('https://app.example.com/reports/q1', '10.1.2.3', { user: { name: 'ann', groups: ['finance'] } });
  t.same(member.reportOnly[0]?.signedIn, null, 'a member on a trusted network would pass');
  t.match(member.lines.join('\n'), /would_require_sign_in when not signed in; would pass for ann signed in with the password/);

  t.same(
    run('https://app.example.com/other', '203.0.113.9').reportOnly.map((r) => r.rule),
    ['late'],
  );
  const bypass = run('https://app.example.com/public/x', '203.0.113.9');
  t.same(bypass.reportOnly, []);
  t.equal(bypass.lines.at(-1), 'report-only: no report-only rule matches in front of the enforced one');
  t.same(explain('GET', 'https://app.example.com/home', '203.0.113.9').reportOnly, [], 'a policy without report-only rules');
  t.match(explain('GET', 'https://app.example.com/home', '203.0.113.9').lines.at(-1), /^needs:/, 'and no line about them');
});
