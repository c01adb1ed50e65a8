// The users file: validation with line numbers, case-insensitive lookup, equal argon2 work for unknown users, live reload.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions, verify } from '@node-rs/argon2';
import t from 'tap';
import type { Test } from 'tap';
import {
  checkPassword,
  hashPassword,
  loadUserDirectory,
  parseUsersFile,
  UsersFileError,
  verifyPassword,
} from '../../../src/factors/password/index.ts';
import type { PasswordVerifier, UserRecord } from '../../../src/factors/password/index.ts';

const aliceHash = await hashPassword('alice password');
const bobHash = await hashPassword('bob password');

const usersYaml = (extra = '') => `# our users
users:
  Alice:
    password: ${aliceHash}
    email: alice@example.com
    name: Alice Example
    groups: [admins, Domain Users]
  bob:
    password: ${bobHash}
    disabled: true
${extra}`;

async function tempFile(t: Test, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-users-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'users.yaml');
  await writeFile(file, text);
  return file;
}

/** Collects callbacks and lets a test await the next one, so nothing sleeps. */
function events<T>() {
  const queue: T[] = [];
  const waiters: ((v: T) => void)[] = [];
  return {
    push: (v: T) => {
      const w = waiters.shift();
      if (w === undefined) queue.push(v);
      else w(v);
    },
    next: () => new Promise<T>((resolve) => (queue.length > 0 ? resolve(queue.shift()!) : waiters.push(resolve))),
    /** The next value that satisfies `ok`; an in-place write may be seen half-written first. */
    async until(ok: (v: T) => boolean): Promise<T> {
      for (;;) {
        const v = await this.next();
        if (ok(v)) return v;
      }
    },
  };
}

t.test('hashPassword makes argon2id PHC strings', async (t) => {
  t.match(aliceHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  t.equal(await verify(aliceHash, 'alice password'), true);
});

t.test('a valid file parses into records without their hashes', async (t) => {
  const entries = parseUsersFile(usersYaml(), 'users.yaml');
  t.same(
    entries.map((e) => e.record),
    [
      { name: 'Alice', email: 'alice@example.com', displayName: 'Alice Example', groups: ['admins', 'Domain Users'], disabled: false },
      { name: 'bob', groups: [], disabled: true },
    ],
  );
  t.same(parseUsersFile('users:\n', 'u'), [], 'no users yet');
  t.same(parseUsersFile('users: {}\n', 'u'), []);
});

t.test('problems are all reported with line and column', async (t) => {
  const text = `users:
  alice:
    password: hunter2
    email: not-an-email
    shoe_size: 42
  ALICE:
    password: ${aliceHash}
  carol:
    password: $argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaA
  dave:
    email: dave@example.com
    groups: admins
  bad name:
    password: ${aliceHash}
extra: 1
`;
  const err = t.throws(() => parseUsersFile(text, 'users.yaml')) as UsersFileError;
  t.ok(err instanceof UsersFileError);
  t.same(
    err.problems.map((p) => [p.line, p.column, p.path]),
    [
      [15, 1, 'extra'],
      [3, 15, 'users.alice.password'],
      [4, 12, 'users.alice.email'],
      [5, 5, 'users.alice.shoe_size'],
      [6, 3, 'users.ALICE'],
      [9, 15, 'users.carol.password'],
      [12, 13, 'users.dave.groups'],
      [13, 3, 'users.bad name'],
    ],
  );
  t.match(err.message, /users\.yaml:3:15: users\.alice\.password: must be an argon2id hash/);
  t.match(err.message, /names are case-insensitive: "ALICE" is the same user as "alice"/);
  const missing = t.throws(() => parseUsersFile('users:\n  erin:\n    email: e@example.com\n', 'u')) as UsersFileError;
  t.match(missing.problems, [{ line: 2, path: 'users.erin.password', message: /missing/ }]);
  const syntax = t.throws(() => parseUsersFile('users:\n  a: [\n', 'u')) as UsersFileError;
  t.equal(syntax.problems.length > 0 && syntax.problems[0]!.line > 0, true, 'YAML syntax errors carry a line');
  t.throws(() => parseUsersFile('- a\n- b\n', 'u'), /expected a mapping with a `users:` key/);
});

t.test("duplicate keys are reported at every level, with yaml's quadratic check off", async (t) => {
  const hash = parseUsersFile(usersYaml(), 'u')[0]!.passwordHash;
  const err = t.throws(() =>
    parseUsersFile(`users:\n  bob:\n    password: "${hash}"\n    password: "${hash}"\n  bob:\n    password: "${hash}"\n`, 'users.yaml'),
  ) as UsersFileError;
  const messages = err.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
  t.ok(messages.includes('4:5 users.bob.password: "password" appears twice'), messages.join('\n'));
  t.ok(messages.includes('5:3 users.bob: user "bob" appears twice'), messages.join('\n'));
  const root = t.throws(() => parseUsersFile('users: {}\nusers: {}\n', 'users.yaml')) as UsersFileError;
  t.match(root.problems, [{ line: 2, column: 1, path: 'users', message: '"users" appears twice' }]);

  // A large file still parses (yaml's own quadratic duplicate check is off; the time is for
  // the reader, the bench measures speed).
  const many = `users:\n${Array.from({ length: 20_000 }, (_, i) => `  user-${i}:\n    password: "${hash}"\n`).join('')}`;
  const started = performance.now();
  t.equal(parseUsersFile(many, 'many.yaml').length, 20_000);
  t.comment(`20,000 users parsed in ${(performance.now() - started).toFixed(0)} ms`);
});

t.test('a large users file parses piece by piece with the same entries, lines and duplicate checks as whole', async (t) => {
  const hash = parseUsersFile(usersYaml(), 'u')[0]!.passwordHash;
  const entry = (i: number) => `  user-${i}:\n    password: "${hash}"\n`;
  const users = (n: number, at: (i: number) => string = entry) => Array.from({ length: n }, (_, i) => at(i)).join('');
  // Comments, blank lines, a block scalar and a flow sequence over two lines: continuations are indented deeper.
  const fancy = (i: number) =>
    i % 1000 === 7
      ? `  # a comment at the entries' indentation\n\n  user-${i}:\n    name: >-\n      Multi\n      Line\n    groups: [a,\n      b]\n    password: "${hash}"\n`
      : entry(i);
  const text = `# header\nusers:   # the list\n${users(5000, fancy)}`;
  const parsed = parseUsersFile(text, 'big.yaml');
  t.equal(parsed.length, 5000);
  t.same(parsed[1007]!.record, { name: 'user-1007', displayName: 'Multi Line', groups: ['a', 'b'], disabled: false });
  t.same(parseUsersFile(text.replaceAll('\n', '\r\n'), 'big.yaml').length, 5000, 'CRLF line ends too');

  // A problem in the third piece: the line is the file's line (each plain entry is two lines).
  const bad = `users:\n${users(5000, (i) => (i === 4500 ? `  user-${i}:\n    password: hunter2\n` : entry(i)))}`;
  const err = t.throws(() => parseUsersFile(bad, 'big.yaml')) as UsersFileError;
  t.same(
    err.problems.map((p) => [p.line, p.column, p.path]),
    [[2 + 4500 * 2 + 1, 15, 'users.user-4500.password']],
  );
  // A name that comes back in a later piece (in another case) is found like in one piece.
  const dup = `users:\n${users(4500)}  USER-3:\n    password: "${hash}"\n`;
  const twice = t.throws(() => parseUsersFile(dup, 'big.yaml')) as UsersFileError;
  t.match(twice.problems, [{ line: 2 + 4500 * 2, path: 'users.USER-3', message: /same user as "user-3"/ }]);
});

t.test('lookup is case-insensitive and keeps the canonical name', async (t) => {
  const file = await tempFile(t, usersYaml());
  const dir = await loadUserDirectory(file);
  t.teardown(() => dir.close());
  t.equal(dir.get('alice')?.name, 'Alice');
  t.equal(dir.get('ALICE')?.name, 'Alice');
  t.equal(dir.get('BOB')?.disabled, true);
  t.equal(dir.get('carol'), undefined);
  t.same(
    dir.list().map((u) => u.name),
    ['Alice', 'bob'],
  );
});

t.test('passwords: right, wrong, unknown and disabled users all cost one argon2 verification', async (t) => {
  const file = await tempFile(t, usersYaml());
  const dir = await loadUserDirectory(file);
  t.teardown(() => dir.close());
  const calls: string[] = [];
  const counting: PasswordVerifier = (phc, pw) => {
    calls.push(phc);
    return verify(phc, pw);
  };
  const check = async (name: string, pw: string) => {
    calls.length = 0;
    const r = await checkPassword(dir, name, pw, counting);
    t.equal(calls.length, 1, `one verification for ${name}`);
    return { r, phc: calls[0]! };
  };
  const ok = await check('ALICE', 'alice password');
  t.match(ok.r, { ok: true, user: { name: 'Alice' } });
  t.match((await check('alice', 'wrong')).r, { ok: false, reason: 'wrong_password' });
  const unknown = await check('mallory', 'alice password');
  t.match(unknown.r, { ok: false, reason: 'unknown_user', user: undefined });
  const disabled = await check('bob', 'bob password');
  t.match(disabled.r, { ok: false, reason: 'disabled', user: { name: 'bob' } });
  t.equal(unknown.phc, disabled.phc, 'unknown and disabled users are checked against the dummy hash');
  t.not(unknown.phc, aliceHash);
  t.same(
    parseOptions(unknown.phc),
    { ...parseOptions(aliceHash), saltLen: parseOptions(unknown.phc).saltLen },
    'the dummy costs what a real hash costs',
  );

  t.match(await verifyPassword(dir, 'alice', 'alice password'), { name: 'Alice' });
  t.equal(await verifyPassword(dir, 'alice', 'nope'), null);
  t.equal(await verifyPassword(dir, 'mallory', 'x'), null);
  t.equal(await verifyPassword(dir, 'bob', 'bob password'), null);
});

t.test('the directory reloads when the file changes; a bad edit keeps the previous users', async (t) => {
  const file = await tempFile(t, usersYaml());
  const reloads = events<readonly UserRecord[]>();
  const problems = events<Error>();
  const dir = await loadUserDirectory(file, { onReload: reloads.push, onError: problems.push, pollIntervalMs: 50 });
  // The watcher and poll do not hold the process open (a gateway's listener does); this test must.
  const keepAlive = setInterval(() => undefined, 1000);
  t.teardown(() => {
    clearInterval(keepAlive);
    dir.close();
  });

  await writeFile(file, usersYaml(`  carol:\n    password: ${bobHash}\n`));
  const names = (users: readonly UserRecord[]) => users.map((u) => u.name).join(',');
  t.equal(names(await reloads.until((u) => names(u) === 'Alice,bob,carol')), 'Alice,bob,carol', 'written in place');
  t.equal(dir.get('Carol')?.name, 'carol');

  await writeFile(`${file}.new`, usersYaml(`  dave:\n    password: ${bobHash}\n`));
  await rename(`${file}.new`, file);
  t.equal(
    names(await reloads.until((u) => names(u).includes('dave'))),
    'Alice,bob,dave',
    'replaced by rename, as editors and users add do',
  );
  t.equal(dir.get('carol'), undefined);

  await writeFile(file, usersYaml('  eve:\n    password: plaintext\n'));
  const err = await problems.until((e) => /users\.eve/.test(e.message));
  t.match(err.message, /users\.eve\.password: must be an argon2id hash/);
  t.equal(dir.get('dave')?.name, 'dave', 'previous users stay');
  t.equal(dir.get('eve'), undefined);
  t.equal(await dir.reload(), false, 'an explicit reload of the same bad file changes nothing');
});

t.test('a missing or invalid file fails at start', async (t) => {
  await t.rejects(loadUserDirectory('/nonexistent/users.yaml'), { code: 'ENOENT' });
  const file = await tempFile(t, 'users:\n  a:\n    password: x\n');
  await t.rejects(loadUserDirectory(file), UsersFileError);
});
