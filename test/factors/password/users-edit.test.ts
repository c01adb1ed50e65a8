// The gateway's own edits of the users file: make admin and remove admin keep comments, layout
// and the other groups, change nothing when there is nothing to change, and refuse an
// unknown user or a bad group name without touching the file.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { hashPassword, parseUsersFile } from '../../../src/factors/password/index.ts';
import { makeAdmin, removeAdmin, UserEditError } from '../../../src/factors/password/users-edit.ts';

const hash = await hashPassword('a password');

async function usersFile(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-users-edit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'users.yaml');
  await writeFile(
    file,
    `# our users
users:
  Alice:
    password: ${hash}
    groups: [admins, Domain Users] # flow style
  bob:
    password: ${hash}
    groups:
      - staff
      - admins
  carol:
    password: ${hash}
`,
  );
  return file;
}

const groups = async (file: string, name: string) =>
  parseUsersFile(await readFile(file, 'utf8'), file).find((u) => u.record.name === name)?.record.groups;

t.test('remove admin takes only the admin group away, in either list style, and keeps the comments', async (t) => {
  const file = await usersFile(t);
  t.equal(await removeAdmin(file, 'alice', 'admins'), true, 'any letter case of the name');
  t.same(await groups(file, 'Alice'), ['Domain Users']);
  t.equal(await removeAdmin(file, 'bob', 'admins'), true);
  t.same(await groups(file, 'bob'), ['staff']);
  const text = await readFile(file, 'utf8');
  t.match(text, /^# our users/);
  t.match(text, '# flow style');
  t.equal(await removeAdmin(file, 'bob', 'admins'), false, 'not in the group: nothing to do');
  t.equal(await removeAdmin(file, 'carol', 'admins'), false, 'no groups at all');
  t.equal(await readFile(file, 'utf8'), text, 'and the file is unchanged');
});

t.test('make admin and remove admin undo each other; an unknown user or a bad group is refused', async (t) => {
  const file = await usersFile(t);
  t.equal(await makeAdmin(file, 'carol', 'admins'), true);
  t.same(await groups(file, 'carol'), ['admins']);
  t.equal(await removeAdmin(file, 'carol', 'admins'), true);
  t.same(await groups(file, 'carol'), []);
  const before = await readFile(file, 'utf8');
  await t.rejects(removeAdmin(file, 'nobody', 'admins'), UserEditError);
  await t.rejects(removeAdmin(file, 'bob', 'a,b'), UserEditError);
  t.equal(await readFile(file, 'utf8'), before);
});
