// loadConfig: every problem at once with the right place, env and file secrets, defaults, freezing.
import t, { type Test } from 'tap';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { formatProblem, loadConfig } from '../../src/config/load.ts';
import type { ConfigProblem } from '../../src/config/types.ts';

const SECRET = '0123456789abcdef0123456789abcdef';
const MINIMAL = `session:
  secret: "${SECRET}"
upstream:
  url: http://127.0.0.1:3000
rules:
  - policy: two_factor
`;

/** A fresh directory per call (t.testdir allows one per test), removed after the test. */
async function tempDir(t: Test, files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

async function load(t: Test, yaml: string, env: NodeJS.ProcessEnv = {}) {
  const dir = await tempDir(t, { 'gateway.yaml': yaml });
  return { dir, result: await loadConfig(join(dir, 'gateway.yaml'), env) };
}

/** `line:column path: message` without the file, for compact assertions. */
function brief(problems: ConfigProblem[]): string[] {
  return problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
}

function problemsOf(result: Awaited<ReturnType<typeof loadConfig>>): ConfigProblem[] {
  if (result.ok) throw new Error('expected problems, config loaded');
  return result.problems;
}

t.test('three different mistakes are all reported, each at its own line:column', async (t) => {
  const { result } = await load(
    t,
    `session:
  secret: "${SECRET}"
upstream:
  url: http://127.0.0.1:3000
mfa:
  trusted_ips:
    ranges: [10.0.0.0/8, 10.300.0.0/16]
rules:
  - paths: ["/**"]
    polcy: two_factor
  - paths: ["/x"]
    policy: maybe
`,
  );
  const got = brief(problemsOf(result));
  t.same(got, [
    '7:26 mfa.trusted_ips.ranges[1]: "10.300.0.0/16" is not an IP address or CIDR such as 10.0.0.0/8 or fd00::/8',
    '9:5 rules[0].policy: required key "policy" is missing',
    '10:5 rules[0].polcy: unknown key "polcy"; did you mean "policy"? (allowed here: name, hosts, paths, methods, networks, groups, mfa_methods, case_sensitive, app_passwords, allowed_origins, upstream, policy, mfa_max_age, step_up_grant, mode, explanation, remediation)',
    '12:13 rules[1].policy: must be one of: bypass, one_factor, two_factor, deny',
  ]);
});

t.test('schema problems read as plain language and point at key, value or parent', async (t) => {
  const { result } = await load(
    t,
    `server:
  workers: 0
  timeouts:
    keep_alive: 30 seconds
  surprise: 1
session:
  idle_timeout: 5m
upstream:
  url: http://127.0.0.1:3000
store:
  sqlite: {}
  postgres: { url: "mysql://x" }
mfa:
  methods: [totp, sms, totp]
  remember_device: { days: 400 }
  fraud_alert: { notify: [not-an-address] }
rules: []
`,
  );
  t.same(brief(problemsOf(result)), [
    '2:12 server.workers: must be "auto" or a whole number from 1 to 64',
    '4:17 server.timeouts.keep_alive: must be a duration such as 30s, 15m or 12h',
    '5:3 server.surprise: unknown key "surprise" (allowed here: listen, public_url, trusted_proxies, allowed_origins, path_prefix, workers, metrics, timeouts, limits)',
    '7:3 session.secret: required key "secret" is missing (or give "secret_file")',
    '11:3 store: give only one of "sqlite" or "postgres"',
    '12:20 store.postgres.url: must be a postgres:// or postgresql:// URL',
    '14:19 mfa.methods[1]: must be one of: totp, oath_token, webauthn',
    '14:24 mfa.methods[2]: repeats item [0]; each value may appear once',
    '15:28 mfa.remember_device.days: must be at most 365',
    '16:26 mfa.fraud_alert.notify: lists addresses but notifications.smtp is not configured, so no e-mail could be sent',
    '16:27 mfa.fraud_alert.notify[0]: must be an e-mail address such as admin@example.com',
    '17:8 rules: must list at least one item',
  ]);
});

t.test('semantic checks are located too', async (t) => {
  const { result } = await load(
    t,
    `server:
  listen: "localhost:99999"
  public_url: https://gw.example.com/app
  path_prefix: /./
  trusted_proxies: [10.0.0.1/8]
session:
  secret: "${SECRET}"
  idle_timeout: 13h
  domain: other.example.org
upstream:
  url: http://127.0.0.1:3000/?x=1
upstreams:
  billing: { url: "https://billing.internal/base/" }
store:
  postgres: { url: "postgres://gw@127.0.0.1/gw" }
rules:
  - groups: [admins]
    policy: bypass
  - upstream: billing
    policy: one_factor
  - upstream: payroll
    policy: one_factor
  - upstream: http://127.0.0.1:4000
    networks: ["::ffff:10.0.0.0/104", 192.168.1.7]
    policy: deny
`,
  );
  t.same(brief(problemsOf(result)), [
    '2:11 server.listen: port 99999 is out of range (0 to 65535)',
    '3:15 server.public_url: must be an origin such as https://gateway.example.com, without a path',
    '4:16 server.path_prefix: must not contain . or .. segments',
    '5:21 server.trusted_proxies[0]: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?',
    '8:17 session.idle_timeout: must not be longer than session.absolute_timeout',
    '9:11 session.domain: must be the host of server.public_url (gw.example.com) or a parent domain of it',
    '11:8 upstream.url: must not contain a query (?...)',
    '15:3 store.encryption_key: required key "encryption_key" is missing (PostgreSQL needs it: every gateway instance must share one key)',
    '17:13 rules[0].groups: cannot be used with policy bypass (groups need a signed-in user; use one_factor or two_factor)',
    '21:15 rules[2].upstream: names no upstream: "payroll" is not an entry of upstreams (known: billing) nor an http(s) URL',
  ]);
});

t.test('webauthn settings and rule mfa_methods are checked against the rest of the config (issue 14)', async (t) => {
  const cases: { name: string; mfa: string; rules?: string; publicUrl?: string; problems: RegExp[] }[] = [
    { name: 'a good config', mfa: 'methods: [totp, webauthn]\n  webauthn: { rp_id: example.com }', problems: [] },
    {
      name: 'rp_id not a parent of the public host',
      mfa: 'methods: [webauthn]\n  webauthn: { rp_id: other.org }',
      problems: [/mfa\.webauthn\.rp_id: must be the host of server\.public_url \(gw\.example\.com\)/],
    },
    {
      name: 'rp_id an IP address',
      mfa: 'methods: [webauthn]\n  webauthn: { rp_id: 10.0.0.1 }',
      problems: [/rp_id: must be a domain name, not an IP address/],
    },
    {
      name: 'an IP public URL without rp_id',
      mfa: 'methods: [webauthn]',
      publicUrl: 'https://127.0.0.1:8443',
      problems: [/mfa\.methods: webauthn needs a domain name/],
    },
    { name: 'an IP public URL is fine without webauthn', mfa: 'methods: [totp]', publicUrl: 'https://127.0.0.1:8443', problems: [] },
    {
      name: 'mfa_methods on a one_factor rule',
      mfa: 'methods: [totp, webauthn]',
      rules: '{ mfa_methods: [webauthn], policy: one_factor }',
      problems: [/rules\[0\]\.mfa_methods: cannot be used with policy one_factor/],
    },
    {
      name: 'mfa_methods with no method kind',
      mfa: 'methods: [totp]',
      rules: '{ mfa_methods: [trusted_network], policy: two_factor }',
      problems: [/must name at least one method kind/],
    },
    {
      name: 'mfa_methods naming a kind that is not enabled',
      mfa: 'methods: [totp]',
      rules: '{ mfa_methods: [webauthn], policy: two_factor }',
      problems: [/names webauthn, which mfa\.methods does not enable/],
    },
    {
      name: 'an unknown kind in mfa_methods',
      mfa: 'methods: [totp]',
      rules: '{ mfa_methods: [totp, sms], policy: two_factor }',
      problems: [/mfa_methods\[1\]: must be one of/],
    },
  ];
  for (const c of cases) {
    const { result } = await load(
      t,
      `server:
  public_url: ${c.publicUrl ?? 'https://gw.example.com'}
session:
  secret: "${SECRET}"
upstream:
  url: http://127.0.0.1:3000
mfa:
  ${c.mfa}
rules:
  - ${c.rules ?? '{ policy: two_factor }'}
`,
    );
    const problems = result.ok ? [] : brief(result.problems);
    t.equal(problems.length, c.problems.length, `${c.name}: ${problems.join(' | ')}`);
    for (const [i, re] of c.problems.entries()) t.match(problems[i], re, c.name);
  }
});

t.test('a missing environment variable is located at its value; $${ is a literal ${', async (t) => {
  const yaml = `session:
  secret: \${GATEWAY_SESSION_SECRET}
  cookie_name: gw_\${COOKIE_SUFFIX}
upstream:
  url: http://\${UPSTREAM_HOST}:3000
rules:
  - name: "costs $\${5}"
    policy: deny
`;
  const missing = await load(t, yaml, { COOKIE_SUFFIX: 'a' });
  t.same(brief(problemsOf(missing.result)), [
    '2:11 session.secret: environment variable GATEWAY_SESSION_SECRET is not set',
    '5:8 upstream.url: environment variable UPSTREAM_HOST is not set',
  ]);

  const set = await load(t, yaml, { GATEWAY_SESSION_SECRET: SECRET, COOKIE_SUFFIX: 'b', UPSTREAM_HOST: '127.0.0.1' });
  t.ok(set.result.ok);
  if (!set.result.ok) return;
  t.equal(set.result.config.session.secret, SECRET);
  t.equal(set.result.config.session.cookie_name, 'gw_b');
  t.equal(set.result.config.upstream.url, 'http://127.0.0.1:3000');
  t.equal(set.result.config.rules[0]?.name, 'costs ${5}');

  const broken = await load(t, MINIMAL.replace('two_factor', 'two_factor\n    name: "${not a name}"'));
  t.match(brief(problemsOf(broken.result)), [
    '7:11 rules[0].name: has a "${" that is not a variable reference such as ${NAME} (write $${ for a literal ${)',
  ]);
});

t.test('<key>_file reads the secret from a file', async (t) => {
  const yaml = (dir: string) => `session:
  secret_file: ${join(dir, 'session.secret')}
upstream:
  url: http://127.0.0.1:3000
store:
  sqlite: { path: gateway.db }
  encryption_key_file: keys/store.key
rules:
  - policy: deny
`;
  const dir = await tempDir(t, { 'session.secret': `${SECRET}\n`, 'keys/store.key': `${'ab'.repeat(32)}\r\n` });
  await writeFile(join(dir, 'gateway.yaml'), yaml(dir));
  t.intercept(process, 'cwd', { value: () => dir });
  const r = await loadConfig(join(dir, 'gateway.yaml'), {});
  t.ok(r.ok, 'loads');
  if (!r.ok) return;
  t.equal(r.config.session.secret, SECRET, 'trailing newline trimmed');
  t.equal(r.config.store.encryption_key, 'ab'.repeat(32), 'relative path read from the working directory');
  t.notOk('secret_file' in r.config.session, 'the _file key is gone from the result');
});

t.test('<key>_file problems: both given, unreadable, too short', async (t) => {
  const dir = await tempDir(t, { short: 'too-short\n' });
  const yaml = `session:
  secret: "${SECRET}"
  secret_file: ${join(dir, 'short')}
upstream:
  url: http://127.0.0.1:3000
store:
  sqlite: {}
  encryption_key_file: ${join(dir, 'absent.key')}
federation:
  oidc:
    issuer: https://login.example.com/tenant
    client_id: gateway
    client_secret_file: ${join(dir, 'short')}
notifications:
  smtp: { host: 127.0.0.1, from: "Gateway <gw@example.com>", username: u, password_file: ${join(dir, 'short')} }
rules:
  - policy: deny
`;
  const both = await load(t, yaml);
  t.same(brief(problemsOf(both.result)), [
    '3:3 session.secret_file: give either "secret" or "secret_file", not both',
    `8:24 store.encryption_key_file: cannot read ${join(dir, 'absent.key')} (ENOENT)`,
  ]);

  const short = await load(t, yaml.replace(`  secret: "${SECRET}"\n`, ''));
  t.same(brief(problemsOf(short.result)), [
    '2:16 session.secret: must be at least 32 characters long (value read from session.secret_file)',
    `7:24 store.encryption_key_file: cannot read ${join(dir, 'absent.key')} (ENOENT)`,
  ]);
});

t.test('a YAML syntax error is located and reported alone', async (t) => {
  const { result } = await load(t, `session:\n  secret: "${SECRET}"\nrules: [\n  - policy: deny\n`);
  const problems = problemsOf(result);
  t.ok(problems.length >= 1);
  t.equal(problems[0]?.line, 4);
  t.equal(problems[0]?.column, 3);
  t.match(problems[0]?.message, /^YAML: /);
  t.equal(problems[0]?.path, '');

  const dup = await load(t, `${MINIMAL}upstream:\n  url: http://127.0.0.1:4000\n`);
  t.match(brief(problemsOf(dup.result)), [/^7:1 : YAML: Map keys must be unique/]);
});

t.test('a missing file is one problem at line 0', async (t) => {
  const file = join(await tempDir(t), 'nope.yaml');
  const r = await loadConfig(file, {});
  t.same(problemsOf(r), [{ file, line: 0, column: 0, path: '', message: 'file not found' }]);
  t.equal(formatProblem(problemsOf(r)[0]!), `${file}: file not found`);
});

t.test('an empty file or a non-mapping is reported, not thrown', async (t) => {
  t.same(brief(problemsOf((await load(t, '')).result)), [
    '1:1 session: required key "session" is missing',
    '1:1 upstream: required key "upstream" is missing',
    '1:1 rules: required key "rules" is missing',
  ]);
  t.same(brief(problemsOf((await load(t, '- a\n- b\n')).result)), ['1:1 : must be a mapping of keys to values']);
});

t.test('a minimal config gets every default, with absolute paths', async (t) => {
  const { result } = await load(t, MINIMAL);
  t.ok(result.ok);
  if (!result.ok) return;
  const c = result.config;
  t.same(c.server, {
    listen: '127.0.0.1:8080',
    public_url: 'http://localhost:8080',
    trusted_proxies: [],
    allowed_origins: [],
    path_prefix: '/.gateway/',
    workers: 1,
    timeouts: { upstream_connect: '5s', upstream_response: '30s', request_headers: '20s', keep_alive: '30s' },
    limits: { max_header_bytes: 16384, max_url_bytes: 8192 },
  });
  t.same(c.upstreams, {});
  t.same(c.session, {
    secret: SECRET,
    cookie_name: 'mfa_gateway_session',
    previous_secrets: [],
    idle_timeout: '30m',
    absolute_timeout: '12h',
    max_per_user: 0,
  });
  t.same(c.store, { sqlite: { path: join(process.cwd(), 'data/gateway.db') }, previous_encryption_keys: [] });
  t.same(c.users, { file: join(process.cwd(), 'config/users.yaml'), admin_group: 'admins' });
  t.same(c.federation, {});
  t.same(c.mfa, {
    methods: ['totp'],
    first_enrollment: 'trusted_networks',
    totp: { issuer: 'MFA Gateway', period: 30, skew_steps: 1 },
    lockout: { denials: 5, counter_reset_minutes: 10, auto_unblock_minutes: 15 },
    password_lockout: { denials: 10, counter_reset_minutes: 10, auto_unblock_minutes: 15 },
    source_throttle: { enabled: true, failures: 50, window_minutes: 10, ipv4_prefix: 32, ipv6_prefix: 64 },
    block: { days: 90 },
    fraud_alert: { enabled: true, auto_block: true, notify: [], sign_in_notice: 'new_browser' },
    trusted_ips: { ranges: [], federated_intranet_claim: false },
    remember_device: { enabled: true, days: 14 },
    max_methods_per_user: 5,
    app_passwords: { enabled: false },
    webauthn: {
      rp_name: 'MFA Gateway',
      user_verification: 'preferred',
      attestation: 'none',
      allowed_aaguids: [],
      allow_synced_passkeys: true,
      timeout: '2m',
      passwordless: false,
    },
  });
  t.same(c.notifications, { language: 'en' });
  t.same(c.portal, {});
  t.same(c.messages, {});
  t.same(c.log, { level: 'info', sign_in_retention: '90d' });
  t.same(c.rules, [{ policy: 'two_factor', case_sensitive: false, app_passwords: false, step_up_grant: '5m', mode: 'enforce' }]);
});

t.test('the authenticator app and the passkey dialog name the organization, not a slug', async (t) => {
  const named = (await load(t, `${MINIMAL}portal:\n  organization: Example Corp\n`)).result;
  t.ok(named.ok);
  if (!named.ok) return;
  t.equal(named.config.mfa.totp.issuer, 'Example Corp');
  t.equal(named.config.mfa.webauthn.rp_name, 'Example Corp');
  const own = (
    await load(
      t,
      `${MINIMAL}portal: { organization: Example Corp }\nmfa:\n  totp: { issuer: Example VPN }\n  webauthn: { rp_name: Example SSO }\n`,
    )
  ).result;
  t.ok(own.ok);
  if (!own.ok) return;
  t.equal(own.config.mfa.totp.issuer, 'Example VPN', 'an issuer set in the config wins');
  t.equal(own.config.mfa.webauthn.rp_name, 'Example SSO');
});

t.test('optional sections get their own defaults when present', async (t) => {
  const { result } = await load(
    t,
    MINIMAL +
      `store:
  postgres: { url: "postgres://gw@127.0.0.1/gw" }
  encryption_key: "${Buffer.alloc(32, 7).toString('base64')}"
federation:
  oidc: { issuer: "https://login.example.com/tenant/v2.0", client_id: gw, client_secret: s }
notifications:
  smtp: { host: 127.0.0.1, from: gw@example.com }
mfa:
  trusted_ips: { federated_intranet_claim: true }
server:
  workers: auto
`,
  );
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(result.config.store.sqlite, undefined, 'no sqlite default next to postgres');
  t.same(result.config.federation.oidc, {
    issuer: 'https://login.example.com/tenant/v2.0',
    client_id: 'gw',
    client_secret: 's',
    display_name: 'login.example.com',
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: { username: 'preferred_username', email: 'email', name: 'name', groups: 'groups' },
    intranet_claim: { name: 'http://schemas.microsoft.com/ws/2012/01/insidecorporatenetwork', value: true },
    trust_amr_mfa: false,
    create_users: false,
    local_passwords: true,
    end_session: false,
  });
  t.same(result.config.notifications.smtp, { host: '127.0.0.1', from: 'gw@example.com', port: 587, security: 'starttls' });
  t.equal(result.config.server.workers, 'auto');
});

t.test('the result is deeply frozen', async (t) => {
  const { result } = await load(t, MINIMAL);
  if (!result.ok) {
    t.fail('should load');
    return;
  }
  const c = result.config;
  t.ok(Object.isFrozen(c));
  t.ok(Object.isFrozen(c.server.timeouts));
  t.ok(Object.isFrozen(c.rules));
  t.ok(Object.isFrozen(c.rules[0]));
  t.ok(Object.isFrozen(c.mfa.methods));
  t.throws(() => {
    (c.mfa.lockout as { denials: number }).denials = 1000;
  }, TypeError);
  t.throws(() => (c.rules as unknown[]).push({}), TypeError);
});

t.test('the sample config/gateway.yaml validates with GATEWAY_SESSION_SECRET set', async (t) => {
  const file = 'config/gateway.yaml';
  const ok = await loadConfig(file, { GATEWAY_SESSION_SECRET: 'demo-secret-demo-secret-demo-secret!' });
  t.ok(ok.ok, ok.ok ? 'valid' : problemsOf(ok).map(formatProblem).join('\n'));
  if (ok.ok) {
    t.same(ok.config.mfa.methods, ['totp', 'oath_token', 'webauthn']);
    t.equal(ok.config.mfa.first_enrollment, 'anywhere');
    t.ok(isAbsolute(ok.config.users.file));
    t.equal(ok.config.rules.length, 3);
  }

  const source = await readFile(file, 'utf8');
  t.match(source.split('\n')[0], '# yaml-language-server: $schema=./schema.json');
  const lines = source.split('\n');
  const line = lines.findIndex((l) => l.includes('${GATEWAY_SESSION_SECRET}')) + 1;
  const column = (lines[line - 1] ?? '').indexOf('${') + 1;
  const bad = await loadConfig(file, {});
  t.same(problemsOf(bad), [
    { file, line, column, path: 'session.secret', message: 'environment variable GATEWAY_SESSION_SECRET is not set' },
  ]);
  t.equal(
    formatProblem(problemsOf(bad)[0]!),
    `config/gateway.yaml:${line}:${column}: session.secret: environment variable GATEWAY_SESSION_SECRET is not set`,
  );
});

t.test('the sample users file holds argon2id hashes of the demo passwords', async (t) => {
  const { verify } = await import('@node-rs/argon2');
  const { parse } = await import('yaml');
  const users = parse(await readFile('config/users.yaml', 'utf8')).users;
  t.match(users.alice, { email: 'alice@example.com', name: 'Alice Example', groups: ['admins', 'users'] });
  t.same(users.bob.groups, ['users']);
  t.match(users.alice.password, /^\$argon2id\$/);
  t.ok(await verify(users.alice.password, 'alice-demo-password'));
  t.ok(await verify(users.bob.password, 'bob-demo-password'));
});

t.test('settings that only make sense together', async (t) => {
  const { result } = await load(
    t,
    MINIMAL +
      `server:
  timeouts: { upstream_connect: 0s, upstream_response: 30d }
log:
  sign_in_retention: 0d
mfa:
  trusted_ips: { federated_intranet_claim: true }
notifications:
  smtp: { host: 127.0.0.1, from: "Gateway <not an address>", username: gw }
federation:
  oidc: { issuer: "https://login.example.com/#x", client_id: gw, client_secret: s }
`,
  );
  t.same(brief(problemsOf(result)), [
    '8:33 server.timeouts.upstream_connect: must be longer than zero',
    '8:56 server.timeouts.upstream_response: must be at most 24d',
    '10:22 log.sign_in_retention: must be longer than zero',
    '14:9 notifications.smtp.password: required key "password" is missing (username and password go together)',
    '14:34 notifications.smtp.from: must be an e-mail address or Name <address>, such as MFA Gateway <mfa@example.com>',
    '16:19 federation.oidc.issuer: must not contain a fragment (#...)',
  ]);

  const noOidc = await load(t, `${MINIMAL}mfa:\n  trusted_ips: { federated_intranet_claim: true }\n`);
  t.same(brief(problemsOf(noOidc.result)), [
    '8:44 mfa.trusted_ips.federated_intranet_claim: needs federation.oidc (the intranet claim comes from its ID tokens)',
  ]);
});

t.test('federation.oidc.revalidate_every: off when absent, a duration of at least 1m', async (t) => {
  const oidc = (every: string) =>
    `${MINIMAL}federation:\n  oidc: { issuer: "https://login.example.com", client_id: gw, client_secret: s, revalidate_every: ${every} }\n`;
  const ok = await load(t, oidc('15m'));
  t.equal(ok.result.ok && ok.result.config.federation.oidc?.revalidate_every, '15m');
  const off = await load(t, `${MINIMAL}federation:\n  oidc: { issuer: "https://login.example.com", client_id: gw, client_secret: s }\n`);
  t.equal(off.result.ok && off.result.config.federation.oidc?.revalidate_every, undefined, 'no default: off');
  t.same(brief(problemsOf((await load(t, oidc('30s'))).result)), ['8:99 federation.oidc.revalidate_every: must be at least 1m']);
  t.same(brief(problemsOf((await load(t, oidc('59s999ms'))).result)), ['8:99 federation.oidc.revalidate_every: must be at least 1m']);
  t.same(brief(problemsOf((await load(t, oidc('0m'))).result)), ['8:99 federation.oidc.revalidate_every: must be longer than zero']);
  t.same(brief(problemsOf((await load(t, oidc('"15 minutes"'))).result)), [
    '8:99 federation.oidc.revalidate_every: must be a duration such as 30s, 15m or 12h',
  ]);
  t.ok((await load(t, oidc('1m'))).result.ok, '1m is the least');
});

t.test('one YAML syntax error is reported once, not with every error that follows from it', async (t) => {
  // An unquoted ${VAR} inside a flow mapping: `{` opens a nested mapping and the parser
  // stumbles over the rest of the file.
  const { result } = await load(
    t,
    'upstream: { url: http://127.0.0.1:3000 }\nsession: { secret: ${SECRET} }\nrules:\n  - { paths: ["/**"], policy: bypass }\n',
  );
  const problems = problemsOf(result);
  t.equal(problems.length, 1);
  t.match(problems[0], { line: 2, path: '' });
  t.match(problems[0]!.message, /^YAML: .*\(\d+ more syntax errors? after this one may follow from it\)$/);
});
