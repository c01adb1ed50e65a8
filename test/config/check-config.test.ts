// `mfa-gateway check-config`: output and exit code for good and bad files, --help, bad arguments.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { checkConfigCommand } from '../../src/cli/check-config.ts';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await checkConfigCommand(argv, { stdout, stderr, env });
  return { code, out, err };
}

t.test('a good file: "config OK: FILE" and exit 0', async (t) => {
  const r = await run([], { GATEWAY_SESSION_SECRET: 'a-demo-secret-of-at-least-32-characters' });
  t.same(r, { code: 0, out: 'config OK: config/gateway.yaml\n', err: '' }, 'default is config/gateway.yaml');
});

t.test('a bad file: every problem on its own stderr line and exit 1', async (t) => {
  const dir = t.testdir({
    'bad.yaml': `session:
  secret: \${GATEWAY_SESSION_SECRET}
upstream:
  url: http://127.0.0.1:3000
rules:
  - paths: ["/**"]
    policy: maybe
    hots: [example.com]
`,
  });
  const file = join(dir, 'bad.yaml');
  const r = await run(['--config', file]);
  t.equal(r.code, 1);
  t.equal(r.out, '');
  t.equal(
    r.err,
    [
      `${file}:2:11: session.secret: environment variable GATEWAY_SESSION_SECRET is not set`,
      `${file}:7:13: rules[0].policy: must be one of: bypass, one_factor, two_factor, deny`,
      `${file}:8:5: rules[0].hots: unknown key "hots"; did you mean "hosts"? (allowed here: name, hosts, paths, methods, networks, groups, mfa_methods, case_sensitive, app_passwords, allowed_origins, upstream, policy, mfa_max_age, step_up_grant, mode, explanation, remediation)`,
      '',
    ].join('\n'),
  );
});

t.test('a missing file is reported without a position', async (t) => {
  const file = join(t.testdir({}), 'missing.yaml');
  const r = await run([`--config=${file}`]);
  t.same(r, { code: 1, out: '', err: `${file}: file not found\n` });
});

t.test('--help prints usage and exits 0; a bad argument exits 2', async (t) => {
  const help = await run(['--help']);
  t.equal(help.code, 0);
  t.match(help.out, /^Usage: mfa-gateway check-config \[--config FILE\]/);
  t.match(help.out, /default config\/gateway\.yaml/);

  const bad = await run(['--conifg', 'x.yaml']);
  t.equal(bad.code, 2);
  t.match(bad.err, /check-config: Unknown option '--conifg'/);
  t.match(bad.err, /Usage:/);
});
