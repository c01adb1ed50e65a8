/**
 * @module cli/log
 * `mfa-gateway log [--user NAME] [--kind KIND] [--since DURATION] [--limit N] [--json]`: the
 * sign-in log from the shared store, oldest first, as a table or as JSON lines.
 */
import { parseArgs } from 'node:util';
import type { CommandIo } from './io.ts';
import { DEFAULT_CONFIG, loadConfigOrReport } from './config-arg.ts';
import { openStore } from '../store/index.ts';
import { lockoutRules } from '../regulation/lockout.ts';
import { sourceThrottleRules } from '../regulation/source-throttle.ts';
import { auditJsonLine, auditTable, sinceCutoff } from '../audit/format.ts';
import { AUDIT_KINDS, type AuditKind } from '../store/types.ts';

const HELP = `Usage: mfa-gateway log [--user NAME] [--kind KIND] [--since DURATION] [--limit N] [--json] [--config FILE]

Prints the sign-in log: every attempt with its time (UTC), the user name as typed,
the client address, the browser, the matched rule, the outcome and its detail
(for example "denied: wrong code" or "fraud reported"). Oldest first; the newest
--limit entries are shown.

What report-only rules (mode: report_only) would have done is in the log too, as
kind report_only with the outcome would_deny, would_require_second_factor or
would_require_sign_in: one entry per rule, outcome, user and address per minute
(and gateway process), with the count and the path hit most in its detail.

Options:
  --user NAME        only this user (any letter case, unknown names too)
  --kind KIND        only this kind of entry: password, second_factor,
                     enrollment, method_removed, revocation, block, unblock,
                     fraud_report, federated, app_password, admin, report_only
  --since DURATION   only the last 30m, 2h, 7d, ... (default: everything kept,
                     see log.sign_in_retention)
  --limit N          at most N entries, the newest ones (default 1000)
  --json             one JSON object per line: time, user, client_ip, user_agent,
                     browser, rule, kind, outcome, detail
  --config FILE      the gateway's config (default config/gateway.yaml)
  -h, --help         show this help
`;

const DEFAULT_LIMIT = 1000;

/** `clock` lets tests pin "now" for --since. */
export async function logCommand(argv: string[], io: CommandIo, deps: { clock?: () => number } = {}): Promise<number> {
  const usage = (message: string) => {
    io.stderr.write(`mfa-gateway log: ${message}\n\n${HELP}`);
    return 2;
  };
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', default: DEFAULT_CONFIG },
        user: { type: 'string' },
        kind: { type: 'string' },
        since: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return usage((err as Error).message);
  }
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const now = (deps.clock ?? Date.now)();
  let since: number | undefined;
  if (values.since !== undefined) {
    try {
      since = sinceCutoff(values.since, now);
    } catch {
      return usage(`--since ${JSON.stringify(values.since)} is not a duration (use e.g. 30m, 2h, 7d)`);
    }
  }
  const kind = values.kind;
  if (kind !== undefined && !isAuditKind(kind)) return usage(`--kind ${JSON.stringify(kind)} is not one of ${AUDIT_KINDS.join(', ')}`);
  const limit = values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit);
  if (!Number.isSafeInteger(limit) || limit < 1) return usage(`--limit ${JSON.stringify(values.limit)} is not a positive whole number`);

  const config = await loadConfigOrReport(values.config, io);
  if (!config) return 1;
  const store = await openStore(config.store, {
    clock: deps.clock ?? Date.now,
    lockout: lockoutRules,
    sourceThrottle: sourceThrottleRules,
  });
  try {
    const entries = (
      await store.query({
        ...(values.user !== undefined ? { user: values.user } : {}),
        ...(kind !== undefined ? { kind } : {}),
        ...(since !== undefined ? { since } : {}),
        limit,
      })
    ).reverse();
    io.stdout.write(values.json ? entries.map((e) => `${auditJsonLine(e)}\n`).join('') : auditTable(entries));
    return 0;
  } catch (err) {
    io.stderr.write(`mfa-gateway log: the store could not be read: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

const isAuditKind = (value: string): value is AuditKind => (AUDIT_KINDS as readonly string[]).includes(value);
