/**
 * @module cli/main
 * The `mfa-gateway` command: one subcommand per file in this folder. Each takes
 * `--config FILE` (default `config/gateway.yaml`) and prints `--help`; each returns its
 * exit code rather than exiting, so tests run them in-process.
 */
import type { CommandIo } from './io.ts';

type Command = (argv: string[], io: CommandIo) => Promise<number>;

interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

const commands: Record<string, CommandEntry> = {
  serve: { summary: 'run the gateway', load: async () => (await import('./serve.ts')).serveCommand },
  'check-config': {
    summary: 'validate the config file and print every problem with file:line:column',
    load: async () => (await import('./check-config.ts')).checkConfigCommand,
  },
  explain: {
    summary: 'show which rule matches a request and what it would need, and why',
    load: async () => (await import('./explain.ts')).explainCommand,
  },
  users: { summary: 'add and list users, reset MFA, make admins', load: async () => (await import('./users-entry.ts')).usersEntry },
  block: { summary: 'block a user (NAME --reason TEXT [--days N])', load: async () => (await import('./block.ts')).blockCommand },
  unblock: { summary: 'lift a block early (NAME --reason TEXT)', load: async () => (await import('./block.ts')).unblockCommand },
  revoke: {
    summary: "end a user's sessions and/or forget their remembered browsers",
    load: async () => (await import('./revoke.ts')).revokeCommand,
  },
  sessions: {
    summary: "list a user's sessions, end one or all (list NAME [--json], end NAME SESSION-ID|--all)",
    load: async () => (await import('./sessions.ts')).sessionsCommand,
  },
  tokens: { summary: 'OATH hardware tokens: import a CSV, activate, list', load: async () => (await import('./tokens.ts')).tokensCommand },
  log: {
    summary: 'print the sign-in log ([--user NAME] [--kind report_only] [--since 2h] [--json])',
    load: async () => (await import('./log.ts')).logCommand,
  },
  impact: {
    summary: 'what report-only rules would have done ([--since 7d] [--rule NAME] [--json])',
    load: async () => (await import('./impact.ts')).impactCommand,
  },
  store: {
    summary: 're-seal stored secrets with the current encryption key (store rekey)',
    load: async () => (await import('./store.ts')).storeCommand,
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return [
    'Usage: mfa-gateway <command> [--config FILE] [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Every command takes --config FILE (default config/gateway.yaml) and --help.',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default;
    io.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const entry = commands[name];
  if (!entry) {
    io.stderr.write(`mfa-gateway: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  return command(rest, io);
}

function processIo(): CommandIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}
