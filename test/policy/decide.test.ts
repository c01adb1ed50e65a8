// Guards rule compilation and matching: globs, hosts, methods, networks, first match wins,
// no match denies, groups never take part in matching, and Host normalization.
import t from 'tap';
import type { RuleConfig } from '../../src/config/types.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { decide } from '../../src/policy/decide.ts';
import { normalizeHost } from '../../src/policy/host.ts';
import { normalizePath } from '../../src/policy/path.ts';
import { parseAddress } from '../../src/client-ip/cidr.ts';

const EXTERNAL = parseAddress('203.0.113.9')!;

function outcomeOf(rules: RuleConfig[], req: { host?: string; path?: string; method?: string; ip?: string }) {
  const decision = decide(compilePolicy(rules), {
    host: req.host ?? 'app.example.com',
    path: req.path ?? '/',
    method: req.method ?? 'GET',
    addr: req.ip === undefined ? EXTERNAL : parseAddress(req.ip)!,
  });
  return decision.rule === null ? 'none' : `${decision.rule.index}:${decision.outcome}`;
}

t.test('path globs: * within a segment, ** any depth including none', async (t) => {
  const cases: [string, string, boolean][] = [
    ['/admin/**', '/admin', true],
    ['/admin/**', '/admin/', true],
    ['/admin/**', '/admin/x/y/z', true],
    ['/admin/**', '/administrator', false],
    ['/admin/**', '/x/admin', false],
    ['/admin/*', '/admin/x', true],
    ['/admin/*', '/admin/', true],
    ['/admin/*', '/admin/x/y', false],
    ['/admin/*', '/admin', false],
    ['/*.php', '/index.php', true],
    ['/*.php', '/a/index.php', false],
    ['/*.php', '/indexXphp', false],
    ['/**/*.php', '/index.php', true],
    ['/**/*.php', '/a/b/index.php', true],
    ['/a/**/b', '/a/b', true],
    ['/a/**/b', '/a/x/y/b', true],
    ['/a/**/b', '/a/xb', false],
    ['/**', '/', true],
    ['/**', '/anything/at/all', true],
    ['/', '/', true],
    ['/', '/x', false],
    ['/exact', '/exact', true],
    ['/exact', '/exact/', false],
    ['/a+b(c)', '/a+b(c)', true],
    ['/a+b(c)', '/aab(c)', false],
    ['/v1.0/*', '/v1x0/x', false],
    ['/%7Euser/**', '/~user/files', true],
    ['/~user/**', '/~user/files', true],
    ['/caf%c3%a9', '/caf%C3%A9', true],
    ['/a/../admin/**', '/admin/x', true],
  ];
  for (const [glob, path, matches] of cases) {
    t.equal(outcomeOf([{ paths: [glob], policy: 'bypass' }], { path }), matches ? '0:bypass' : 'none', `${glob} vs ${path}`);
  }
});

t.test('paths match case-insensitively unless case_sensitive is set', async (t) => {
  const insensitive: RuleConfig[] = [{ paths: ['/admin/**'], policy: 'two_factor' }];
  t.equal(outcomeOf(insensitive, { path: '/ADMIN/x' }), '0:two_factor', '/ADMIN/x meets /admin/**');
  t.equal(outcomeOf(insensitive, { path: '/Admin' }), '0:two_factor');
  const sensitive: RuleConfig[] = [{ paths: ['/admin/**'], case_sensitive: true, policy: 'two_factor' }];
  t.equal(outcomeOf(sensitive, { path: '/ADMIN/x' }), 'none');
  t.equal(outcomeOf(sensitive, { path: '/admin/x' }), '0:two_factor');
});

t.test('a query string never takes part in path matching', async (t) => {
  const rules: RuleConfig[] = [{ paths: ['/public/**'], policy: 'bypass' }, { policy: 'two_factor' }];
  for (const target of ['/x?/public/y', '/x?a=/public/', '/admin?/public']) {
    const normalized = normalizePath(target);
    t.ok(normalized.ok);
    if (normalized.ok) t.equal(outcomeOf(rules, { path: normalized.path }), '1:two_factor', target);
  }
  t.throws(() => compilePolicy([{ paths: ['/x?y'], policy: 'bypass' }]), /rules\[0\]\.paths/);
});

t.test('hosts: exact or *.domain (any depth, not the apex); ports and trailing dots ignored', async (t) => {
  const rules: RuleConfig[] = [{ hosts: ['App.Example.com:8443', '*.corp.example.', '[2001:DB8::1]'], policy: 'one_factor' }];
  const cases: [string, boolean][] = [
    ['app.example.com', true],
    ['www.app.example.com', false],
    ['example.com', false],
    ['x.corp.example', true],
    ['a.b.c.corp.example', true],
    ['corp.example', false],
    ['xcorp.example', false],
    ['corp.example.evil', false],
    ['[2001:db8::1]', true],
    ['[2001:db8::2]', false],
  ];
  for (const [header, matches] of cases) {
    const host = normalizeHost(header)!;
    t.equal(outcomeOf(rules, { host }), matches ? '0:one_factor' : 'none', header);
  }
  t.equal(outcomeOf(rules, { host: normalizeHost('APP.EXAMPLE.COM.:80')! }), '0:one_factor', 'Host header spelled differently');
});

t.test('methods match uppercased; networks match the client address', async (t) => {
  const rules: RuleConfig[] = [
    { methods: ['get', 'Head'], policy: 'bypass' },
    { networks: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'], policy: 'one_factor' },
  ];
  t.equal(outcomeOf(rules, { method: 'GET' }), '0:bypass');
  t.equal(outcomeOf(rules, { method: 'HEAD' }), '0:bypass');
  t.equal(outcomeOf(rules, { method: 'POST' }), 'none');
  t.equal(outcomeOf(rules, { method: 'POST', ip: '10.20.30.40' }), '1:one_factor');
  t.equal(outcomeOf(rules, { method: 'POST', ip: '::ffff:10.20.30.40' }), '1:one_factor', 'mapped IPv6 is IPv4');
  t.equal(outcomeOf(rules, { method: 'POST', ip: '2001:db8:1::5' }), '1:one_factor');
  t.equal(outcomeOf(rules, { method: 'POST', ip: '192.0.2.7' }), '1:one_factor');
  t.equal(outcomeOf(rules, { method: 'POST', ip: '192.0.2.8' }), 'none');
  t.equal(outcomeOf(rules, { method: 'POST', ip: '2001:db9::1' }), 'none');
});

t.test('every condition of a rule must hold', async (t) => {
  const rules: RuleConfig[] = [
    { hosts: ['app.example.com'], paths: ['/api/**'], methods: ['POST'], networks: ['10.0.0.0/8'], policy: 'bypass' },
  ];
  const ok = { host: 'app.example.com', path: '/api/x', method: 'POST', ip: '10.1.1.1' };
  t.equal(outcomeOf(rules, ok), '0:bypass');
  t.equal(outcomeOf(rules, { ...ok, host: 'other.example.com' }), 'none');
  t.equal(outcomeOf(rules, { ...ok, path: '/web/x' }), 'none');
  t.equal(outcomeOf(rules, { ...ok, method: 'GET' }), 'none');
  t.equal(outcomeOf(rules, { ...ok, ip: '11.1.1.1' }), 'none');
});

t.test('first match wins', async (t) => {
  const rules: RuleConfig[] = [
    { paths: ['/admin/**'], policy: 'deny' },
    { paths: ['/admin/public/**'], policy: 'bypass' },
    { policy: 'one_factor' },
  ];
  t.equal(outcomeOf(rules, { path: '/admin/public/x' }), '0:deny');
  t.equal(outcomeOf(rules, { path: '/other' }), '2:one_factor');
});

t.test('no match denies, with the default named', async (t) => {
  const decision = decide(compilePolicy([{ paths: ['/x'], policy: 'bypass' }]), { host: 'h', path: '/y', method: 'GET', addr: EXTERNAL });
  t.same(decision, { outcome: 'deny', rule: null, reason: 'no rule matched; the default is deny' });
  t.equal(decide(compilePolicy([]), { host: 'h', path: '/', method: 'GET', addr: EXTERNAL }).outcome, 'deny', 'empty rules deny');
});

t.test('groups do not take part in matching: a group rule never falls through', async (t) => {
  const rules: RuleConfig[] = [{ paths: ['/admin/**'], groups: ['admins'], policy: 'two_factor' }, { policy: 'bypass' }];
  t.equal(outcomeOf(rules, { path: '/admin/x' }), '0:two_factor');
});

t.test('compiled rules carry what the chain and explain need', async (t) => {
  const policy = compilePolicy([
    { paths: ['/public/**'], policy: 'bypass' },
    {
      name: 'admin area',
      hosts: ['a.example'],
      paths: ['/admin/**', '/ops/**'],
      methods: ['get'],
      networks: ['10.0.0.0/8'],
      groups: ['admins', 'ops'],
      policy: 'two_factor',
      upstream: 'legacy',
      app_passwords: true,
      case_sensitive: true,
    },
    { policy: 'deny' },
  ]);
  const [first, second, third] = policy.rules;
  t.equal(first!.description, 'rule 1 (paths /public/**)');
  t.equal(
    second!.description,
    'rule 2 "admin area" (hosts a.example, paths /admin/** or /ops/**, methods GET, networks 10.0.0.0/8, groups admins or ops, case-sensitive paths)',
  );
  t.equal(third!.description, 'rule 3 (any request)');
  t.equal(second!.index, 1);
  t.equal(second!.name, 'admin area');
  t.equal(second!.policy, 'two_factor');
  t.same(second!.groups, ['admins', 'ops']);
  t.equal(second!.upstream, 'legacy');
  t.equal(second!.appPasswords, true);
  t.equal(first!.appPasswords, false);
  t.equal(first!.upstream, undefined);
  t.same([...second!.methods!], ['GET']);
  t.equal(second!.decision.rule, second, 'the shared decision points back at its rule');
  t.equal(second!.decision.reason, `${second!.description} matched`);
  t.ok(Object.isFrozen(policy) && Object.isFrozen(second) && Object.isFrozen(second!.decision));
});

t.test('a rule that cannot be compiled refuses the whole policy', async (t) => {
  const bad: [RuleConfig, RegExp][] = [
    [{ paths: [], policy: 'bypass' }, /rules\[0\]\.paths is empty/],
    [{ hosts: [], policy: 'bypass' }, /rules\[0\]\.hosts is empty/],
    [{ paths: ['admin/**'], policy: 'bypass' }, /rules\[0\]\.paths: "admin\/\*\*"/],
    [{ paths: ['/a**'], policy: 'bypass' }, /\*\* must be a whole segment/],
    [{ paths: ['/a%2fb'], policy: 'bypass' }, /encoded slash/],
    [{ hosts: ['bad host'], policy: 'bypass' }, /rules\[0\]\.hosts: "bad host"/],
    [{ hosts: ['*'], policy: 'bypass' }, /rules\[0\]\.hosts/],
    [{ hosts: ['a.*.example'], policy: 'bypass' }, /rules\[0\]\.hosts/],
    [{ networks: ['10.0.0.0/33'], policy: 'bypass' }, /rules\[0\]\.networks: not an IP address or CIDR: "10.0.0.0\/33"/],
  ];
  for (const [rule, message] of bad) t.throws(() => compilePolicy([rule]), message, JSON.stringify(rule));
});

t.test('normalizeHost', async (t) => {
  const cases: [string | undefined, string | null][] = [
    ['app.example.com', 'app.example.com'],
    ['App.Example.COM', 'app.example.com'],
    ['app.example.com:8443', 'app.example.com'],
    ['app.example.com.', 'app.example.com'],
    ['APP.example.com.:443', 'app.example.com'],
    ['localhost', 'localhost'],
    ['my_host-1', 'my_host-1'],
    ['127.0.0.1:3000', '127.0.0.1'],
    ['[::1]', '[::1]'],
    ['[::1]:8080', '[::1]'],
    ['[2001:DB8::A]:443', '[2001:db8::a]'],
    [undefined, null],
    ['', null],
    [':80', null],
    ['.', null],
    ['.example.com', null],
    ['a..b', null],
    ['example.com..', null],
    ['a b', null],
    ['a/b', null],
    ['a@b', null],
    ['host:', null],
    ['host:80:80', null],
    ['host:123456', null],
    ['host:65536', null],
    ['host:x', null],
    ['[::1', null],
    ['[::1]x', null],
    ['[::1]:', null],
    ['[1.2.3.4]', null],
    ['[fe80::1%25eth0]', null],
    ['[v1.x]', null],
    ['::1', null],
    ['h\u00f6st', null],
    ['a'.repeat(300), null],
  ];
  for (const [header, expected] of cases) t.equal(normalizeHost(header), expected, JSON.stringify(header));
});
