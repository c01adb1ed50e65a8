/**
 * @module cli/sessions
 * `mfa-gateway sessions list NAME [--json]` and `mfa-gateway sessions end NAME [SESSION-ID|--all]`:
 * the session index from the command line, for the helpdesk. Ending a session records its id
 * as ended in the store; running gateways refuse every copy of its cookie within a second.
 * A session id may be given by a prefix of at least 8 characters, as `list` shows it.
 */
import { parseArgs } from 'node:util';
import type { CommandIo } from './io.ts';
import type { IndexedSession } from '../store/types.ts';
import { DEFAULT_CONFIG, loadConfigOrReport } from './config-arg.ts';
import { canonicalName, operator, withStore } from './admin-store.ts';
import { COMMAND_LINE } from '../regulation/block.ts';
import { describeUserAgent } from '../audit/user-agent.ts';

const HELP = `Usage: mfa-gateway sessions list NAME [--json] [--config FILE]
       mfa-gateway sessions end NAME SESSION-ID|--all [--config FILE]

list   NAME's live sessions, oldest first: id, started, last seen, address and
       browser, how it signed in (RFC 8176 amr), remembered-browser or
       trusted-network skip, and whether it came through the identity provider.
end    ends one session (its id, or the first 8 or more characters of it, as
       list shows) or, with --all, every session of NAME. Running gateways
       refuse the ended sessions' cookies within a second and close their
       WebSocket connections. Logged in the sign-in log with who ran it.

Options:
  --json          list: one JSON array
  --all           end: every session of NAME
  --config FILE   the gateway config (default ${DEFAULT_CONFIG})
  -h, --help      show this help
`;

/** Shortest id prefix `end` accepts: 8 base64url characters are 48 bits, never ambiguous in one user's list by chance. */
const MIN_PREFIX = 8;

export async function sessionsCommand(argv: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: idsAsPositionals(argv),
      allowPositionals: true,
      options: {
        config: { type: 'string', default: DEFAULT_CONFIG },
        json: { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return usageError(io, (err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const [action, name, id, ...extra] = positionals;
  if (action === 'list') {
    if (!name || id !== undefined || values.all) return usageError(io, 'list takes exactly one user NAME');
  } else if (action === 'end') {
    if (!name || extra.length > 0) return usageError(io, 'end takes a user NAME and a SESSION-ID or --all');
    if ((id === undefined) === !values.all) return usageError(io, 'end takes either a SESSION-ID or --all');
    if (id !== undefined && id.length < MIN_PREFIX) return usageError(io, `a SESSION-ID has at least ${MIN_PREFIX} characters`);
    if (values.json) return usageError(io, '--json is for list');
  } else return usageError(io, action ? `unknown action "${action}"` : 'give an action: list or end');

  const config = await loadConfigOrReport(values.config, io);
  if (!config) return 1;
  const user = await canonicalName(config, name, io);
  try {
    return await withStore(config, async (store) => {
      const live = await store.listSessions(user);
      if (action === 'list') {
        io.stdout.write(values.json ? `${JSON.stringify(live.map(asJson), null, 2)}\n` : table(user, live));
        return 0;
      }
      const chosen = id === undefined ? live : live.filter((s) => s.sid.startsWith(id));
      if (id !== undefined && chosen.length !== 1) {
        io.stderr.write(
          `mfa-gateway sessions: ${chosen.length === 0 ? 'no live session' : 'more than one session'} of ${user} starts with ` +
            `${JSON.stringify(id)}\n`,
        );
        return 1;
      }
      const actor = operator(io.env);
      let ended = 0;
      for (const s of chosen) {
        if (!(await store.endSession(user, s.sid))) continue;
        ended++;
        await store.record({
          kind: 'revocation',
          user,
          ...COMMAND_LINE,
          rule: null,
          outcome: 'success',
          detail: `session ${s.sid.slice(0, MIN_PREFIX)} (${describeUserAgent(s.createdUserAgent)}, ${s.createdIp}) ended by ${actor}`,
        });
      }
      io.stdout.write(`${user}: ${ended} session${ended === 1 ? '' : 's'} ended; running gateways apply it within a second\n`);
      return 0;
    });
  } catch (err) {
    io.stderr.write(`mfa-gateway sessions: ${(err as Error).message}\n`);
    return 1;
  }
}

/**
 * A session id is base64url and may start with "-" (`-S-mTZ...`): any argument that is not
 * one of the options (nor the value of --config) is moved behind "--", so it stays positional.
 */
function idsAsPositionals(argv: readonly string[]): string[] {
  const options: string[] = [];
  const loose: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      loose.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--config') {
      options.push(arg, ...argv.slice(i + 1, i + 2));
      i++;
    } else if (!arg.startsWith('-') || /^(--config=.*|--json|--all|--help|-h)$/.test(arg)) options.push(arg);
    else loose.push(arg);
  }
  return loose.length > 0 ? [...options, '--', ...loose] : options;
}

function usageError(io: CommandIo, message: string): number {
  io.stderr.write(`mfa-gateway sessions: ${message}\n\n${HELP}`);
  return 2;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function asJson(s: IndexedSession) {
  return {
    id: s.sid,
    user: s.user,
    started: iso(s.createdAt),
    lastSeen: iso(s.lastSeen),
    expires: iso(s.expiresAt),
    startedFrom: { ip: s.createdIp, userAgent: s.createdUserAgent },
    lastSeenFrom: { ip: s.lastIp, userAgent: s.lastUserAgent },
    amr: s.amr,
    skip: s.skip,
    federated: s.federated,
  };
}

function table(user: string, sessions: readonly IndexedSession[]): string {
  if (sessions.length === 0) return `${user} has no live sessions\n`;
  const rows = sessions.map((s) => [
    s.sid.slice(0, 16),
    iso(s.createdAt),
    iso(s.lastSeen),
    s.lastIp,
    describeUserAgent(s.lastUserAgent),
    [...s.amr, ...(s.skip ? [`skip:${s.skip}`] : []), ...(s.federated ? ['federated'] : [])].join(','),
  ]);
  const head = ['ID', 'STARTED', 'LAST SEEN', 'ADDRESS', 'BROWSER', 'SIGNED IN WITH'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  return `${[line(head), ...rows.map(line)].join('\n')}\n`;
}
