// Guards the one path normalization: every spelling of a path either becomes the path the
// upstream will serve and the policy matches, or is refused.
import t from 'tap';
import { normalizePath } from '../../src/policy/path.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { decide } from '../../src/policy/decide.ts';
import { parseAddress } from '../../src/client-ip/cidr.ts';

const addr = parseAddress('203.0.113.9')!;

t.test('path traversal corpus: each attempt meets the admin rule or is refused', async (t) => {
  const policy = compilePolicy([
    { paths: ['/admin/**'], policy: 'two_factor' },
    { paths: ['/public/**'], policy: 'bypass' },
  ]);
  const corpus = [
    '/public/../admin',
    '/public/%2e%2e/admin',
    '/public/%2E%2E/admin',
    '/public/.%2e/admin',
    '/public/%2e./admin',
    '/public/./../admin/',
    '//admin',
    '///admin/x',
    '/public//../admin',
    '/public/x/../../admin',
    '/public/../../../../admin',
    '/%2fadmin',
    '/public%2f..%2fadmin',
    '/public/..%2fadmin',
    '/public/..%2Fadmin',
    '/public\\..\\admin',
    '/public/..%5cadmin',
    '/public/..%5Cadmin',
    '/public/..;/admin',
    '/public/.;/../admin',
    '/a%00b',
    '/public/%00/../admin',
    '/public\x00/../admin',
    '/%ff',
    '/public/%c0%ae%c0%ae/admin',
    '/public/%c0%af../admin',
    '/public/%e0%80%ae%e0%80%ae/admin',
    '/public/%2e%2e%2fadmin',
    '/public/%252e%252e/admin',
    '/ADMIN/x',
    '/Admin',
    'http://gateway.example/public/../admin?x',
  ];
  for (const target of corpus) {
    const normalized = normalizePath(target);
    if (!normalized.ok) {
      t.pass(`${JSON.stringify(target)} refused: ${normalized.reason}`);
      continue;
    }
    const decision = decide(policy, { host: 'gateway.example', path: normalized.path, method: 'GET', addr });
    t.equal(decision.outcome, 'two_factor', `${JSON.stringify(target)} -> ${normalized.path} meets the admin rule`);
  }
});

t.test('normalizes as RFC 3986 §6.2.2 and §5.2.4 describe', async (t) => {
  const cases: [string, string, string][] = [
    ['/', '/', ''],
    ['/a/b', '/a/b', ''],
    ['/a/b/', '/a/b/', ''],
    ['/a/./b', '/a/b', ''],
    ['/a/b/..', '/a/', ''],
    ['/a/b/.', '/a/b/', ''],
    ['/a/b/../c', '/a/c', ''],
    ['/..', '/', ''],
    ['/../a', '/a', ''],
    ['/a/..', '/', ''],
    ['/a//b//', '/a/b/', ''],
    ['/%7Euser/%41%62%2D%2e%5F', '/~user/Ab-._', ''],
    ['/a%3ab%2Cc%2b', '/a%3Ab%2Cc%2B', ''],
    ['/%2541/50%25', '/%2541/50%25', ''],
    ['/~user/x~y', '/~user/x~y', ''],
    ['/v1/jobs/7:run', '/v1/jobs/7:run', ''],
    ['/caf%c3%a9', '/caf%C3%A9', ''],
    ['/%e2%82%ac/%f0%9f%98%80', '/%E2%82%AC/%F0%9F%98%80', ''],
    ['/%20x', '/%20x', ''],
    ['/.well-known/acme', '/.well-known/acme', ''],
    ['/a/.hidden/..x', '/a/.hidden/..x', ''],
    ['/a|b^c[d]', '/a|b^c[d]', ''],
    ['/search?q=/../admin&x=%2f', '/search', '?q=/../admin&x=%2f'],
    ['/x?/public/y', '/x', '?/public/y'],
    ['/x?', '/x', '?'],
    ['/a/../b?c#d', '/b', '?c#d'],
    ['http://host/a/b?x', '/a/b', '?x'],
    ['HTTPS://host:8443/a', '/a', ''],
    ['http://host', '/', ''],
    ['http://host?x=1', '/', '?x=1'],
    ['http://host//a/../b', '/b', ''],
  ];
  for (const [target, path, query] of cases) {
    t.same(normalizePath(target), { ok: true, path, query }, JSON.stringify(target));
  }
});

t.test('a clean target comes back as it is', async (t) => {
  const target = '/app/items/42';
  const result = normalizePath(target);
  t.ok(result.ok && result.path === target);
  const withQuery = normalizePath('/app/items?page=2');
  t.same(withQuery, { ok: true, path: '/app/items', query: '?page=2' });
});

t.test('refuses what cannot be made safe, with a reason', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['*', /asterisk/],
    ['a/b', /neither a path/],
    ['example.com:443', /neither a path/],
    ['ftp://host/a', /neither a path/],
    ['http:///a', /without a host/],
    ['http://user@host/a', /authority/],
    ['http://ho\\st/a', /authority/],
    ['/a%2Fb', /encoded slash/],
    ['/a%2fb', /encoded slash/],
    ['/a%5cb', /encoded backslash/],
    ['/a\\b', /backslash/],
    ['/a%00', /NUL/],
    ['/a\x00', /NUL/],
    ['/a\x01', /control/],
    ['/a\x7f', /control/],
    ['/a%0d%0aX:1', /control/],
    ['/a%7F', /control/],
    ['/a\tb', /control/],
    ['/a b', /space/],
    ['/a#b', /fragment/],
    ['/caf\u00e9', /non-ASCII/],
    ['/a%', /percent escape/],
    ['/a%2', /percent escape/],
    ['/a%zz', /percent escape/],
    ['/a%g0', /percent escape/],
    ['/%80', /UTF-8/],
    ['/%bf', /UTF-8/],
    ['/%c0%ae', /UTF-8/],
    ['/%c1%bf', /UTF-8/],
    ['/%c3', /UTF-8/],
    ['/%c3%41', /UTF-8/],
    ['/%e0%80%af', /UTF-8/],
    ['/%ed%a0%80', /UTF-8/],
    ['/%f0%80%80%af', /UTF-8/],
    ['/%f4%90%80%80', /UTF-8/],
    ['/%f5%80%80%80', /UTF-8/],
    ['/%ff', /UTF-8/],
    ['/%e2%82', /UTF-8/],
    ['/..;/admin', /dot segment/],
    ['/a/.;x/b', /dot segment/],
    ['/a/%2e%2e;x/b', /dot segment/],
    ['/a;jsessionid=1/b', /Java or IIS servers read it as \/a\/b$/],
    ['/a%3bb', /encoded ";"/],
    ['/public/%252e%252e/admin', /double-encoded/],
    ['/a%255c', /double-encoded/],
    ['/a%252F', /double-encoded/],
    ['/admin::$DATA', /alternate data stream/],
    ['/admin%3A%3A%24DATA', /alternate data stream/],
    ['/ADMINI~1/x', /short-name/],
    ['/%EF%BC%8Fadmin', /look-alike/],
    ['/%EF%BC%8E%EF%BC%8E/admin', /look-alike/],
    ['/a%E2%88%95b', /look-alike/],
    ['/a%C2%A0', /look-alike/],
  ];
  for (const [target, reason] of cases) {
    const result = normalizePath(target);
    t.equal(result.ok, false, JSON.stringify(target));
    if (!result.ok) t.match(result.reason, reason, JSON.stringify(target));
  }
});
