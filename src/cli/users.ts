/**
 * @module cli/users
 * `mfa-gateway users add|list|reset-mfa|make-admin|access-pass|test-ldap`: user administration
 * on the users file (and, for `reset-mfa` and `access-pass`, the store; `test-ldap` asks the
 * directory). `add` edits the file
 * through yaml's Document API so the operator's comments, order and blank lines survive (the
 * library only normalizes the spacing before an inline comment), and writes it atomically
 * (temporary file, then rename) so a running gateway never reads half a file.
 */

import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isMap, isSeq, parseDocument } from 'yaml';
import type { Document, YAMLMap } from 'yaml';
import {
  GROUP_NAME_PATTERN,
  hashPassword,
  loadUserDirectory,
  parseUsersFile,
  USER_NAME_PATTERN,
  UsersFileError,
} from '../factors/password/index.ts';
import { userKey } from '../store/types.ts';
import type { GatewayConfig } from '../config/types.ts';
import { makeAdmin, UserEditError, writeAtomically } from '../factors/password/users-edit.ts';
import { resetMfa } from '../factors/methods/reset.ts';
import { AccessPassInputError, ACCESS_PASS_DEFAULT_VALID_MS, issueAccessPass } from '../factors/fallback/access-pass.ts';
import { parseDuration } from '../config/duration.ts';
import { canonicalName, operator, withStore } from './admin-store.ts';
import { testLdap } from './test-ldap.ts';

export interface UsersCommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const HELP = `Usage: mfa-gateway users <command> [options]

Manage the users file (config: users.file).

Commands:
  add NAME [--email E] [--groups a,b] [--password-stdin]
                 add a user; without --password-stdin a strong password is
                 generated and printed once
  list           print every user with e-mail and groups
  reset-mfa NAME remove NAME's second-factor methods and end their sessions;
                 they enroll again at the next sign-in
  make-admin NAME
                 add NAME to the admin group (users.admin_group)
  access-pass NAME [--valid 8h] [--uses 1]
                 issue a temporary access pass (printed once) so NAME can set
                 up a first method from outside the trusted networks
  test-ldap NAME [--password-stdin]
                 sign NAME in against users.ldap and show the entry, the
                 groups and where each came from

Run "mfa-gateway users <command> --help" for details.
`;

const ADD_HELP = `Usage: mfa-gateway users add NAME [--email E] [--groups a,b] [--password-stdin]

Adds NAME to the users file, keeping its comments and layout. Names are
case-insensitive; an existing name is refused.

Options:
  --email E          the user's e-mail address
  --groups a,b       comma-separated groups
  --password-stdin   read the password from standard input (one trailing newline
                     is removed); otherwise a random password is generated and
                     printed once
  -h, --help         show this help
`;

const RESET_HELP = `Usage: mfa-gateway users reset-mfa NAME [--config FILE]

For a lost or replaced phone: removes every second-factor method of NAME
(authenticator apps and hardware tokens; the sign-in log keeps what was
removed), drops a half-done enrollment, ends NAME's sessions and forgets their
remembered browsers. Running gateways apply it within a second; at the next
sign-in NAME sets up a method again (under mfa.first_enrollment).
`;

const MAKE_ADMIN_HELP = `Usage: mfa-gateway users make-admin NAME [--config FILE]

Adds NAME to the admin group (users.admin_group in the config) in the users
file, keeping its comments and layout. Running gateways pick it up like any
edit of the file.
`;

const ACCESS_PASS_HELP = `Usage: mfa-gateway users access-pass NAME [--valid D] [--uses N] [--config FILE]

Issues a temporary access pass for NAME and prints it once. With it, NAME can
set up a FIRST second-factor method from anywhere, also where
mfa.first_enrollment is trusted_networks and NAME is outside: the enrollment
page asks for it. It grants nothing else: it never signs in to an app by
itself, and a user who already has a method cannot use it.

Entering a pass counts on the same lockout counter as codes. Issuing a new pass
voids the earlier one; users reset-mfa revokes it. The store keeps only a hash.
NAME must be in the users file (or federation.oidc be configured).

Options:
  --valid D   how long it is valid: 8h (default), 30m, 2d ... (1 minute to 30 days)
  --uses N    how many times it can be used, 1 (default) to 10
  -h, --help  show this help
`;

const LIST_HELP = `Usage: mfa-gateway users list

Prints every user of the users file with e-mail and groups.
`;

/** Passwords generated for new users: 24 characters without look-alikes, about 140 bits. */
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const GENERATED_LENGTH = 24;
const MIN_PASSWORD_LENGTH = 8;

class UsageError extends Error {}

/**
 * Runs `users ...`; `argv` is what follows `users` (e.g. `['add', 'alice', '--email', 'a@x']`).
 * Returns the exit code: 0 done, 1 refused or failed, 2 bad usage.
 */
export async function usersCommand(
  argv: string[],
  io: UsersCommandIo,
  deps: { usersFile: string; config?: Readonly<GatewayConfig> },
): Promise<number> {
  const print = (s: string) => io.stdout.write(s);
  const fail = (s: string) => io.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
  const [sub, ...rest] = argv;
  try {
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      print(HELP);
      return sub === undefined ? 2 : 0;
    }
    if (sub === 'add') return await add(rest, io, deps.usersFile);
    if (sub === 'list') return await list(rest, io, deps.usersFile);
    if (sub === 'reset-mfa' || sub === 'make-admin') return await adminAction(sub, rest, io, deps);
    if (sub === 'access-pass') return await accessPass(rest, io, deps);
    if (sub === 'test-ldap') return await testLdap(rest, io, deps.config);
    throw new UsageError(`unknown users command "${sub}"`);
  } catch (err) {
    if (err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      fail(`mfa-gateway users: ${(err as Error).message}\n\n${HELP}`);
      return 2;
    }
    if (err instanceof UserEditError || err instanceof AccessPassInputError) {
      fail(err.message);
      return 1;
    }
    if (err instanceof UsersFileError) {
      fail(`the users file has problems; fix them first:\n${err.message}`);
      return 1;
    }
    fail(`mfa-gateway users: ${(err as Error).message}`);
    return 1;
  }
}

async function add(args: string[], io: UsersCommandIo, file: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      groups: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.stdout.write(ADD_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('users add takes exactly one NAME');
  const name = positionals[0]!;
  if (!USER_NAME_PATTERN.test(name)) throw new UsageError(`"${name}" is not a valid name: 1 to 128 of A-Z a-z 0-9 . _ @ + -`);
  const groups =
    values.groups === undefined
      ? []
      : values.groups
          .split(',')
          .map((g) => g.trim())
          .filter((g) => g !== '');
  for (const g of groups) if (!GROUP_NAME_PATTERN.test(g)) throw new UsageError(`"${g}" is not a valid group name`);
  if (values.email !== undefined && !/^[^\s@,<>"]+@[^\s@,<>"]+$/.test(values.email))
    throw new UsageError(`"${values.email}" is not an e-mail address`);

  const existing = await readIfExists(file);
  const doc: Document = parseDocument(existing ?? '');
  // Refuses to edit a file the gateway could not load, and finds existing names.
  const entries = existing === null ? [] : parseUsersFile(existing, file);
  const clash = entries.find((e) => userKey(e.record.name) === userKey(name));
  if (clash !== undefined) {
    io.stderr.write(`user "${clash.record.name}" already exists in ${file}; names are case-insensitive\n`);
    return 1;
  }

  let password: string;
  if (values['password-stdin'] === true) {
    password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
    if (password.length < MIN_PASSWORD_LENGTH) {
      io.stderr.write(`the password must be at least ${MIN_PASSWORD_LENGTH} characters\n`);
      return 1;
    }
  } else {
    password = Array.from({ length: GENERATED_LENGTH }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join('');
  }

  if (!isMap(doc.contents)) doc.contents = doc.createNode({});
  let users = doc.get('users', true);
  if (!isMap(users)) {
    users = doc.createNode({});
    doc.set('users', users);
  }
  const map = users as YAMLMap;
  // `users: {}` would otherwise grow as one long flow line.
  if (map.flow === true && map.items.length === 0) map.flow = false;
  const entry = doc.createNode({
    password: await hashPassword(password),
    ...(values.email === undefined ? {} : { email: values.email }),
    ...(groups.length === 0 ? {} : { groups }),
  }) as YAMLMap;
  const groupsNode = entry.get('groups', true);
  if (isSeq(groupsNode)) groupsNode.flow = true;
  map.set(doc.createNode(name), entry);

  const text = doc.toString({ flowCollectionPadding: false, lineWidth: 0 });
  parseUsersFile(text, file); // the result must load, or nothing is written
  await writeAtomically(file, text);
  io.stdout.write(`added user ${name} to ${file}\n`);
  if (values['password-stdin'] !== true) io.stdout.write(`password (shown once, store it now): ${password}\n`);
  return 0;
}

async function list(args: string[], io: UsersCommandIo, file: string): Promise<number> {
  const { values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    io.stdout.write(LIST_HELP);
    return 0;
  }
  const text = await readIfExists(file);
  if (text === null) {
    io.stderr.write(`no users file at ${file}; add a user with "mfa-gateway users add NAME"\n`);
    return 1;
  }
  const rows = parseUsersFile(text, file).map((e) => [
    e.record.name + (e.record.disabled ? ' (disabled)' : ''),
    e.record.email ?? '-',
    e.record.groups.join(',') || '-',
  ]);
  const table = [['NAME', 'EMAIL', 'GROUPS'], ...rows];
  const widths = [0, 1].map((i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) io.stdout.write(`${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}\n`);
  return 0;
}

async function adminAction(
  sub: 'reset-mfa' | 'make-admin',
  args: string[],
  io: UsersCommandIo,
  deps: { usersFile: string; config?: Readonly<GatewayConfig> },
): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    io.stdout.write(sub === 'reset-mfa' ? RESET_HELP : MAKE_ADMIN_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`users ${sub} takes exactly one NAME`);
  const config = deps.config;
  if (config === undefined) throw new Error(`users ${sub} needs the config`);
  const env = (io as { env?: NodeJS.ProcessEnv }).env ?? process.env;
  if (sub === 'make-admin') {
    const group = config.users.admin_group;
    const changed = await makeAdmin(deps.usersFile, positionals[0]!, group);
    io.stdout.write(
      changed
        ? `${positionals[0]} added to the admin group "${group}" in ${deps.usersFile}\n`
        : `${positionals[0]} is already in the admin group "${group}"\n`,
    );
    return 0;
  }
  const user = await canonicalName(config, positionals[0]!, { ...io, env });
  const { removed } = await withStore(config, (store) => resetMfa({ store, clock: Date.now }, user, operator(env)));
  io.stdout.write(
    `${user}: ${removed} method${removed === 1 ? '' : 's'} removed, sessions ended and remembered browsers forgotten; running gateways ` +
      `apply it within a second; ${user} sets up a method again at the next sign-in\n`,
  );
  return 0;
}

async function accessPass(
  args: string[],
  io: UsersCommandIo,
  deps: { usersFile: string; config?: Readonly<GatewayConfig> },
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { valid: { type: 'string' }, uses: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) {
    io.stdout.write(ACCESS_PASS_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('users access-pass takes exactly one NAME');
  let validMs = ACCESS_PASS_DEFAULT_VALID_MS;
  if (values.valid !== undefined) {
    try {
      validMs = parseDuration(values.valid);
    } catch {
      throw new UsageError(`--valid ${JSON.stringify(values.valid)} is not a duration such as 8h, 30m or 2d`);
    }
  }
  const uses = values.uses === undefined ? 1 : /^[0-9]{1,3}$/.test(values.uses) ? Number(values.uses) : Number.NaN;
  if (Number.isNaN(uses)) throw new UsageError(`--uses ${JSON.stringify(values.uses)} is not a whole number`);
  const config = deps.config;
  if (config === undefined) throw new Error('users access-pass needs the config');
  const env = (io as { env?: NodeJS.ProcessEnv }).env ?? process.env;
  // A pass for a name nobody can sign in as would only be a secret lying around: without a
  // federation provider (whose users need not be in the file), the name must be in the file.
  const listed = await loadUserDirectory(config.users.file);
  const known = listed.get(positionals[0]!) !== undefined;
  listed.close();
  if (!known && config.federation.oidc === undefined) {
    io.stderr.write(`no user "${positionals[0]}" in ${config.users.file}; nothing issued\n`);
    return 1;
  }
  const user = await canonicalName(config, positionals[0]!, { ...io, env });
  const actor = operator(env);
  const { pass, info } = await withStore(config, (store) =>
    issueAccessPass({ store, clock: Date.now }, user, {
      validMs,
      uses,
      actor,
      context: { clientIp: 'local', userAgent: 'mfa-gateway command line', rule: null },
    }),
  );
  io.stdout.write(
    `Temporary access pass for ${user} (shown once; any earlier pass is void):\n\n  ${pass}\n\nValid until ` +
      `${new Date(info.expiresAt).toISOString()} for ${uses} use${uses === 1 ? '' : 's'}. It only lets ${user} set up a first method.\n`,
  );
  return 0;
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
