// `check-config` on users.ldap (schema, unknown keys, settings that go together,
// bind_password_file like other secrets) and `mfa-gateway users test-ldap NAME` against a real
// slapd: the entry, the password's answer, and each group with where it came from.
import t from 'tap';
import { PassThrough, Readable } from 'node:stream';
import { join } from 'node:path';
import YAML from 'yaml';
import { checkConfigCommand } from '../../src/cli/check-config.ts';
import { usersCommand } from '../../src/cli/users.ts';
import { loadConfig } from '../../src/config/load.ts';
import { LDAP_PASSWORDS, ldapConfig, SERVICE_PASSWORD, slapdMissing, startSlapd } from '../helpers/ldap.ts';

function collect() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

function configText(ldap: Record<string, unknown>, usersFile = 'users.yaml'): string {
  return YAML.stringify({
    session: { secret: 'a-test-secret-of-at-least-32-characters!' },
    upstream: { url: 'http://127.0.0.1:3000' },
    users: { file: usersFile, ldap },
    rules: [{ paths: ['/**'], policy: 'two_factor' }],
  });
}

async function checkConfig(dir: string, ldap: Record<string, unknown>): Promise<{ code: number; err: string }> {
  const file = join(dir, 'gateway.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, configText(ldap));
  const out = collect();
  const err = collect();
  const code = await checkConfigCommand(['--config', file], { stdout: out.stream, stderr: err.stream, env: {} });
  return { code, err: err.text().replaceAll(`${file}:`, '') };
}

const good = {
  url: 'ldaps://dc1.example.com',
  implementation: 'activedirectory',
  base_dn: 'dc=example,dc=com',
  bind_dn: 'cn=svc,dc=example,dc=com',
  bind_password: 'x',
};

t.test('check-config: a good users.ldap passes; defaults are filled in', async (t) => {
  const dir = t.testdir({ 'users.yaml': 'users:\n' });
  t.same(await checkConfig(dir, good), { code: 0, err: '' });
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'gateway.yaml'), configText(good));
  const loaded = await loadConfig(join(dir, 'gateway.yaml'), {});
  if (!loaded.ok) throw new Error('invalid');
  const l = loaded.config.users.ldap!;
  t.same(
    [l.timeout, l.pool_size, l.cache_ttl, l.outage_grace, l.start_tls, l.tls.min_version, l.group_search],
    ['5s', 4, '5m', '1h', false, 'TLSv1.2', 'filter'],
  );
});

t.test('check-config: every problem of users.ldap, with its key', async (t) => {
  const dir = t.testdir({ 'users.yaml': 'users:\n', 'svc.secret': 'from-a-file\n' });
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['unknown key', { ...good, bind_passwd: 'x' }, /users\.ldap\.bind_passwd: unknown key "bind_passwd"; did you mean "bind_password"\?/],
    ['bad URL', { ...good, url: 'https://dc1' }, /users\.ldap\.url: /],
    ['bad URL in a list', { ...good, url: ['ldap://a', 'dc2:389'] }, /users\.ldap\.url/],
    [
      'bad implementation',
      { ...good, implementation: 'novell' },
      /users\.ldap\.implementation: must be one of: activedirectory, openldap, custom/,
    ],
    [
      'bind_dn without password',
      { ...good, bind_password: undefined },
      /users\.ldap\.bind_password: required key "bind_password" is missing \(bind_dn and bind_password go together/,
    ],
    ['start_tls with ldaps', { ...good, start_tls: true }, /users\.ldap\.start_tls: cannot be used with an ldaps:\/\/ URL/],
    [
      'custom without filters',
      { ...good, implementation: 'custom' },
      /users\.ldap\.user_filter: required key "user_filter" is missing[\s\S]*users\.ldap\.group_filter: required key/,
    ],
    ['user_filter without {username}', { ...good, user_filter: '(uid=alice)' }, /users\.ldap\.user_filter: must contain \{username\}/],
    [
      'unbalanced filter',
      { ...good, user_filter: '(&(uid={username})' },
      /users\.ldap\.user_filter: must be an LDAP filter in parentheses/,
    ],
    ['group_filter without {dn}', { ...good, group_filter: '(member=x)' }, /users\.ldap\.group_filter: must contain \{dn\}/],
    ['bad duration', { ...good, cache_ttl: '5 minutes' }, /users\.ldap\.cache_ttl: must be a duration/],
    ['pool too big', { ...good, pool_size: 500 }, /users\.ldap\.pool_size: /],
    ['bad TLS version', { ...good, tls: { min_version: 'TLSv1.0' } }, /users\.ldap\.tls\.min_version: must be one of: TLSv1\.2, TLSv1\.3/],
    ['password twice', { ...good, bind_password_file: 'svc.secret' }, /bind_password/],
  ];
  for (const [why, ldap, want] of cases) {
    const r = await checkConfig(dir, Object.fromEntries(Object.entries(ldap).filter(([, v]) => v !== undefined)));
    t.equal(r.code, 1, `${why}: refused`);
    t.match(r.err, want, why);
  }
  const fromFile = { ...good, bind_password: undefined, bind_password_file: join(dir, 'svc.secret') };
  t.same(
    await checkConfig(dir, Object.fromEntries(Object.entries(fromFile).filter(([, v]) => v !== undefined))),
    { code: 0, err: '' },
    'bind_password_file like other secrets',
  );
});

t.test('users test-ldap NAME shows the entry, the password answer and where each group came from', { skip: slapdMissing }, async (t) => {
  const slapd = await startSlapd(t);
  const dir = t.testdir({ 'users.yaml': 'users:\n', 'svc.secret': `${SERVICE_PASSWORD}\n` });
  const { writeFileSync } = await import('node:fs');
  const ldap = { ...ldapConfig(slapd), bind_password: undefined, bind_password_file: join(dir, 'svc.secret') };
  writeFileSync(
    join(dir, 'gateway.yaml'),
    configText(Object.fromEntries(Object.entries(ldap).filter(([, v]) => v !== undefined)), join(dir, 'users.yaml')),
  );
  const loaded = await loadConfig(join(dir, 'gateway.yaml'), {});
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const run = async (argv: string[], stdin: string) => {
    const out = collect();
    const err = collect();
    const code = await usersCommand(
      argv,
      { stdin: Readable.from([Buffer.from(stdin)]), stdout: out.stream, stderr: err.stream },
      { usersFile: loaded.config.users.file, config: loaded.config },
    );
    return { code, out: out.text(), err: err.text() };
  };
  const ok = await run(['test-ldap', 'alice.smith', '--password-stdin'], `${LDAP_PASSWORDS['Alice.Smith']}\n`);
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, /user: +Alice\.Smith \(typed: alice\.smith\)/);
  t.match(ok.out, /dn: +uid=Alice\.Smith,ou=people,dc=example,dc=com/);
  t.match(ok.out, /password: +accepted/);
  t.match(ok.out, /engineering +- direct member/);
  t.match(ok.out, /platform +- nested through engineering/);
  const wrong = await run(['test-ldap', 'alice.smith', '--password-stdin'], 'nope\n');
  t.equal(wrong.code, 1);
  t.match(wrong.out, /password: +refused \(wrong_password\)/);
  const disabled = await run(['test-ldap', 'carol', '--password-stdin'], `${LDAP_PASSWORDS.carol}\n`);
  t.match(disabled.out, /state: +disabled/);
  const unknown = await run(['test-ldap', '*', '--password-stdin'], 'x\n');
  t.equal(unknown.code, 1);
  t.match(unknown.out, /user: +not found/);
  const noTty = await run(['test-ldap', 'alice.smith'], '');
  t.equal(noTty.code, 1);
  t.match(noTty.err, /not a terminal: pass the password with --password-stdin/);
  await slapd.stop();
  const down = await run(['test-ldap', 'alice.smith', '--password-stdin'], 'x\n');
  t.equal(down.code, 1);
  t.match(down.err, /the directory cannot be reached/);
});
