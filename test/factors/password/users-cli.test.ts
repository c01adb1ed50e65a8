// `mfa-gateway users add|list`: edits keep comments and layout, duplicates are refused, passwords are hashed.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { verify } from '@node-rs/argon2';
import t from 'tap';
import type { Test } from 'tap';
import { usersCommand } from '../../../src/cli/users.ts';
import { hashPassword, parseUsersFile, readUsersFile } from '../../../src/factors/password/index.ts';

async function run(argv: string[], file: string, stdin = '') {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await usersCommand(argv, { stdin: Readable.from([Buffer.from(stdin)]), stdout, stderr }, { usersFile: file });
  return { code, out, err };
}

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const hash = await hashPassword('existing password');

t.test('users add keeps comments and layout, and refuses an existing name in any case', async (t) => {
  const file = join(await tempDir(t), 'users.yaml');
  const original = `# Users of the ACME gateway.
# Passwords are argon2id hashes: use "mfa-gateway users add".

users:
  # the admin
  Alice:
    password: ${hash} # rotated 2026-10
    groups: [admins]
`;
  await writeFile(file, original, { mode: 0o640 });
  const r = await run(
    ['add', 'bob', '--email', 'bob@example.com', '--groups', 'staff, Domain Users', '--password-stdin'],
    file,
    'correct horse battery\n',
  );
  t.equal(r.code, 0, r.err);
  t.match(r.out, /added user bob/);
  t.notMatch(r.out, /password/, 'a given password is not echoed');
  const text = await readFile(file, 'utf8');
  t.ok(text.startsWith(original), 'everything before is untouched, comments included');
  t.match(
    text.slice(original.length),
    /^ {2}bob:\n {4}password: \$argon2id\$[^\n]+\n {4}email: bob@example.com\n {4}groups: \[staff, Domain Users\]\n$/,
  );
  const bob = parseUsersFile(text, file).find((e) => e.record.name === 'bob')!;
  t.equal(await verify(bob.passwordHash, 'correct horse battery'), true, 'one trailing newline removed from stdin');
  t.same(bob.record.groups, ['staff', 'Domain Users']);
  t.equal((await stat(file)).mode & 0o777, 0o640, 'the file keeps its mode');

  for (const name of ['alice', 'BOB']) {
    const dup = await run(['add', name, '--password-stdin'], file, 'another password');
    t.equal(dup.code, 1);
    t.match(dup.err, /already exists/);
  }
  t.equal(await readFile(file, 'utf8'), text, 'a refused add changes nothing');
});

t.test('users add without --password-stdin generates a strong password and prints it once', async (t) => {
  const file = join(await tempDir(t), 'sub', 'users.yaml');
  t.equal((await run(['add', 'carol'], file)).code, 1, 'the directory must exist');
  const dir = join(file, '..', '..');
  const fresh = join(dir, 'users.yaml');
  const r = await run(['add', 'carol@example.com'], fresh);
  t.equal(r.code, 0, r.err);
  const m = /password \(shown once, store it now\): (\S+)\n/.exec(r.out);
  t.ok(m, 'printed');
  t.match(m![1], /^[A-Za-z2-9]{24}$/);
  const [entry] = await readUsersFile(fresh);
  t.equal(await verify(entry!.passwordHash, m![1]!), true);
  t.equal((await stat(fresh)).mode & 0o777, 0o600, 'a new users file is private');
  t.equal((await readFile(fresh, 'utf8')).includes(m![1]!), false, 'only the hash is stored');
});

t.test('users add validates its input and refuses to edit a broken file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'users.yaml');
  await writeFile(file, 'users: {}\n');
  t.equal((await run(['add', 'bad name'], file)).code, 2);
  t.equal((await run(['add', 'x', '--groups', 'a\tb'], file)).code, 2);
  t.equal((await run(['add', 'x', '--email', 'nope'], file)).code, 2);
  t.equal((await run(['add'], file)).code, 2);
  t.equal((await run(['add', 'x', '--bogus'], file)).code, 2);
  const short = await run(['add', 'x', '--password-stdin'], file, 'short\n');
  t.equal(short.code, 1);
  t.match(short.err, /at least 8/);
  t.equal(await readFile(file, 'utf8'), 'users: {}\n');
  t.equal((await run(['add', 'dave', '--password-stdin'], file, 'long enough')).code, 0);
  t.match(await readFile(file, 'utf8'), /^users:\n {2}dave:\n {4}password: /, 'an empty flow map becomes a block map');

  await writeFile(file, 'users:\n  erin:\n    password: plain\n');
  const broken = await run(['add', 'frank', '--password-stdin'], file, 'long enough');
  t.equal(broken.code, 1);
  t.match(broken.err, /users\.yaml:3:15: users\.erin\.password/);
});

t.test('users list and help', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'users.yaml');
  t.equal((await run(['list'], file)).code, 1, 'no file yet');
  await writeFile(
    file,
    `users:\n  alice:\n    password: ${hash}\n    email: alice@example.com\n    groups: [admins, staff]\n  bob:\n    password: ${hash}\n    disabled: true\n`,
  );
  const r = await run(['list'], file);
  t.equal(r.code, 0);
  t.equal(
    r.out,
    'NAME            EMAIL              GROUPS\nalice           alice@example.com  admins,staff\nbob (disabled)  -                  -\n',
  );
  t.match((await run(['--help'], file)).out, /Usage: mfa-gateway users <command>/);
  t.match((await run(['add', '--help'], file)).out, /--password-stdin/);
  t.match((await run(['list', '-h'], file)).out, /Usage: mfa-gateway users list/);
  t.equal((await run([], file)).code, 2);
  const unknown = await run(['remove', 'alice'], file);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /unknown users command "remove"/);
});
