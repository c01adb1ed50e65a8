/**
 * @module cli/tokens
 * `mfa-gateway tokens import|activate|list`: OATH hardware tokens from the command line.
 * Import reads Azure MFA's CSV format and writes the rows it refused to an error CSV;
 * activate enters the code a token shows; list prints every imported token.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { GatewayConfig } from '../config/types.ts';
import type { CommandIo } from './io.ts';
import { DEFAULT_CONFIG, loadConfigOrReport } from './config-arg.ts';
import { canonicalName, operator, withStore } from './admin-store.ts';
import { loadUserDirectory } from '../factors/password/index.ts';
import { activateToken, importTokens, TOKEN_CSV_HEADER } from '../factors/oath/index.ts';

const HELP = `Usage: mfa-gateway tokens <command> [--config FILE]

OATH hardware tokens (TOTP, SHA-1, 6 digits, 30 or 60 seconds).

Commands:
  import FILE.csv [--errors OUT.csv]   import tokens from an Azure MFA token CSV
  activate NAME SERIAL CODE            activate NAME's token with the code it shows
  list                                 print every imported token

Run "mfa-gateway tokens <command> --help" for details.
`;

const IMPORT_HELP = `Usage: mfa-gateway tokens import FILE.csv [--errors OUT.csv] [--config FILE]

Imports hardware tokens from a CSV file in Azure MFA's format. The first line
must be the header

  ${TOKEN_CSV_HEADER.join(',')}

upn is a user name or a user's e-mail address; the secret key is Base32 (at
most 128 characters; spaces, lower case and "=" padding are fine); the time
interval is 30 or 60. Good rows are imported in one transaction; imported
tokens stay inactive until activated with "tokens activate". Importing the
same file again changes nothing. Every refused row is reported with its line
and reason; the exit code is 1 when any row was refused.

Options:
  --errors OUT.csv   write the refused rows as CSV (line,upn,serial number,error)
  --config FILE      the gateway config (default ${DEFAULT_CONFIG})
  -h, --help         show this help
`;

const ACTIVATE_HELP = `Usage: mfa-gateway tokens activate NAME SERIAL CODE [--config FILE]

Activates NAME's imported token SERIAL with the code the token shows now. The
code cannot be used to sign in afterwards.

Options:
  --config FILE   the gateway config (default ${DEFAULT_CONFIG})
  -h, --help      show this help
`;

const LIST_HELP = `Usage: mfa-gateway tokens list [--config FILE]

Prints every imported token: user, serial, manufacturer and model, interval,
whether it is active, when it was added and last used (UTC).

Options:
  --config FILE   the gateway config (default ${DEFAULT_CONFIG})
  -h, --help      show this help
`;

const HELPS: Record<string, string> = { import: IMPORT_HELP, activate: ACTIVATE_HELP, list: LIST_HELP };

class UsageError extends Error {}

export async function tokensCommand(argv: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  const help = HELPS[sub];
  if (help === undefined) {
    io.stderr.write(`mfa-gateway tokens: unknown command "${sub}"\n\n${HELP}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        config: { type: 'string', default: DEFAULT_CONFIG },
        help: { type: 'boolean', short: 'h' },
        ...(sub === 'import' ? { errors: { type: 'string' as const } } : {}),
      },
    });
  } catch (err) {
    io.stderr.write(`mfa-gateway tokens ${sub}: ${(err as Error).message}\n\n${help}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(help);
    return 0;
  }
  try {
    const want = { import: 1, activate: 3, list: 0 }[sub as 'import' | 'activate' | 'list'];
    if (positionals.length !== want)
      throw new UsageError(`tokens ${sub} takes ${want === 0 ? 'no arguments' : want === 1 ? 'one FILE.csv' : 'NAME SERIAL CODE'}`);
    const config = await loadConfigOrReport(values.config as string, io);
    if (!config) return 1;
    if (sub === 'import') return await runImport(config, positionals[0]!, values.errors as string | undefined, io);
    if (sub === 'activate') return await runActivate(config, positionals as [string, string, string], io);
    return await runList(config, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`mfa-gateway tokens: ${err.message}\n\n${help}`);
      return 2;
    }
    io.stderr.write(`mfa-gateway tokens ${sub}: ${(err as Error).message}\n`);
    return 1;
  }
}

async function runImport(config: Readonly<GatewayConfig>, file: string, errorsFile: string | undefined, io: CommandIo): Promise<number> {
  const text = await readFile(file, 'utf8');
  const users = await loadUserDirectory(config.users.file);
  users.close();
  const result = await withStore(config, (store) =>
    importTokens({ store, users, maxMethodsPerUser: config.mfa.max_methods_per_user, clock: Date.now, actor: operator(io.env) }, text),
  );
  if (errorsFile !== undefined) await writeFile(errorsFile, result.errorCsv);
  const n = result.errors.length;
  io.stdout.write(`${file}: ${result.imported} imported, ${result.unchanged} unchanged, ${n} refused\n`);
  for (const e of result.errors)
    io.stderr.write(`${file}:${e.line}: ${e.upn === '' ? '' : `${e.upn} `}${e.serial === '' ? '' : `${e.serial}: `}${e.error}\n`);
  if (n > 0 && errorsFile !== undefined) io.stderr.write(`refused rows written to ${errorsFile}\n`);
  if (result.imported > 0) io.stdout.write('imported tokens stay inactive until activated: mfa-gateway tokens activate NAME SERIAL CODE\n');
  return n > 0 ? 1 : 0;
}

async function runActivate(
  config: Readonly<GatewayConfig>,
  [name, serial, code]: [string, string, string],
  io: CommandIo,
): Promise<number> {
  const user = await canonicalName(config, name, io);
  const r = await withStore(config, (store) =>
    activateToken({ store, clock: Date.now, skewSteps: config.mfa.totp.skew_steps, actor: operator(io.env) }, user, serial, code),
  );
  if (r.ok) {
    io.stdout.write(`${user}: token ${serial} activated; it can be used to sign in from the next code on\n`);
    return 0;
  }
  const why = {
    unknown_token: `${user} has no imported token with serial ${serial}`,
    already_active: `token ${serial} is already active`,
    malformed: 'the code must be the 6 digits the token shows',
    wrong: 'the code does not match this token now; press the button again and enter the new code (is the token meant for another user?)',
  }[r.reason];
  io.stderr.write(`mfa-gateway tokens activate: ${why}\n`);
  return 1;
}

async function runList(config: Readonly<GatewayConfig>, io: CommandIo): Promise<number> {
  const tokens = await withStore(config, (store) => store.listTokens());
  if (tokens.length === 0) {
    io.stdout.write('no tokens imported\n');
    return 0;
  }
  const users = await loadUserDirectory(config.users.file);
  users.close();
  const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));
  const rows = [
    ['USER', 'SERIAL', 'MANUFACTURER/MODEL', 'INTERVAL', 'ACTIVE', 'ADDED', 'LAST USED'],
    ...tokens.map((t) => [
      users.get(t.user)?.name ?? t.user,
      t.serial,
      `${t.manufacturer} ${t.model}`,
      `${t.period}s`,
      t.active ? 'yes' : 'no',
      when(t.createdAt),
      when(t.lastUsedAt),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) io.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
  return 0;
}
