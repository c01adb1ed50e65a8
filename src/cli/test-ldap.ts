/**
 * @module cli/test-ldap
 * `mfa-gateway users test-ldap NAME`: signs NAME in against `users.ldap` as the gateway would
 * (service-account search, bind as the user, groups) and shows what the directory said: the
 * entry, the account state, the password's answer, and every group with where it came from.
 * For setting up a directory without guessing; it changes nothing and writes no log entry.
 */
import { parseArgs } from 'node:util';
import type { GatewayConfig } from '../config/types.ts';
import { loadUserDirectory } from '../factors/password/index.ts';
import { createLdapDirectory, DirectoryUnavailableError } from '../factors/ldap/directory.ts';
import type { UsersCommandIo } from './users.ts';

export const TEST_LDAP_HELP = `Usage: mfa-gateway users test-ldap NAME [--password-stdin] [--config FILE]

Signs NAME in against the directory in users.ldap, as the gateway does, and
prints the entry (DN, canonical name, e-mail, display name, account state),
whether the password was accepted, and each group with where it came from
(direct member, nested through another group, memberOf, in-chain rule).
Asks for the password on the terminal (not echoed); --password-stdin reads
it from standard input instead. Exit code 0 when the password was accepted.
`;

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from a TTY without echoing it. */
async function askPassword(io: UsersCommandIo, prompt: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (!stdin.isTTY) throw new Error('standard input is not a terminal: pass the password with --password-stdin');
  io.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  let typed = '';
  try {
    for await (const chunk of stdin as AsyncIterable<Buffer>) {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return typed;
        if (ch === '\u0003') throw new Error('cancelled');
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    }
    return typed;
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    io.stderr.write('\n');
  }
}

export async function testLdap(args: string[], io: UsersCommandIo, config: Readonly<GatewayConfig> | undefined): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'password-stdin': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const print = (s: string) => io.stdout.write(`${s}\n`);
  if (values.help) {
    io.stdout.write(TEST_LDAP_HELP);
    return 0;
  }
  const name = positionals[0];
  if (positionals.length !== 1 || name === undefined) {
    io.stderr.write(`test-ldap takes one NAME\n\n${TEST_LDAP_HELP}`);
    return 2;
  }
  const ldap = config?.users.ldap;
  if (config === undefined || ldap === undefined) {
    io.stderr.write('users.ldap is not configured in this config file\n');
    return 1;
  }
  const password = values['password-stdin']
    ? (await readAll(io.stdin)).replace(/\r?\n$/, '')
    : await askPassword(io, `Password for ${name}: `);
  const directory = createLdapDirectory(ldap);
  try {
    print(`directory:  ${directory.urls().join(', ')} (${directory.settings.implementation})`);
    const fileUsers = await loadUserDirectory(config.users.file).catch(() => undefined);
    const fileUser = fileUsers?.get(name);
    fileUsers?.close();
    const auth = await directory.authenticate(name, password);
    if (auth.user === undefined) {
      print(`user:       not found (filter ${directory.settings.userFilter.replace('{username}', '…')} under ${ldap.base_dn})`);
      if (fileUser) print(`note:       "${fileUser.name}" is a users-file user; the gateway signs them in from the file`);
      return 1;
    }
    const u = auth.user;
    print(`user:       ${u.record.name}${u.record.name === name ? '' : ` (typed: ${name})`}`);
    print(`dn:         ${u.dn}`);
    print(`e-mail:     ${u.record.email ?? '-'}`);
    print(`name:       ${u.record.displayName ?? '-'}`);
    print(`state:      ${u.state}`);
    print(`password:   ${auth.ok ? 'accepted' : `refused (${auth.reason})`}`);
    print(`groups:     ${u.groups.length === 0 ? '(none)' : ''}`);
    for (const g of u.groups) print(`  ${g.name}  - ${g.via}  [${g.dn}]`);
    for (const dn of u.ignoredGroups) print(`  ignored: ${dn} (not usable as a group name: commas or control characters)`);
    if (config.users.admin_group && u.record.groups.includes(config.users.admin_group))
      print(`admin:      yes (in ${config.users.admin_group})`);
    if (fileUser) print(`note:       the users file has "${fileUser.name}": the file user wins, this directory entry is not used`);
    return auth.ok && !fileUser ? 0 : 1;
  } catch (err) {
    if (err instanceof DirectoryUnavailableError) {
      io.stderr.write(`the directory cannot be reached: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await directory.close();
  }
}
