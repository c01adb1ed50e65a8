/**
 * @module cli/impact
 * `mfa-gateway impact [--since DURATION] [--rule NAME] [--json]`: what report-only rules
 * (`mode: report_only`) would have done, per rule, from the shared store.
 */
import { parseArgs } from 'node:util';
import type { CommandIo } from './io.ts';
import { DEFAULT_CONFIG, loadConfigOrReport } from './config-arg.ts';
import { openStore } from '../store/index.ts';
import { lockoutRules } from '../regulation/lockout.ts';
import { sourceThrottleRules } from '../regulation/source-throttle.ts';
import { printable, sinceCutoff } from '../audit/format.ts';
import { summarizeImpact, type RuleImpact } from '../audit/impact.ts';

const HELP = `Usage: mfa-gateway impact [--since DURATION] [--rule NAME] [--json] [--config FILE]

Prints what report-only rules (mode: report_only) would have done, per rule:
requests, distinct users and client addresses, how many would have been denied,
asked for a second factor or sent to sign in, and the users and paths most hit.
Running gateways add their counts to the store every few seconds.

Options:
  --since DURATION   the last 30m, 2h, 7d, ... (default 7d; counts are kept for
                     log.sign_in_retention)
  --rule NAME        only this rule (its name, or "rule N" for an unnamed one)
  --json             one JSON object per rule
  --config FILE      the gateway's config (default config/gateway.yaml)
  -h, --help         show this help
`;

/** `clock` lets tests pin "now" for --since. */
export async function impactCommand(argv: string[], io: CommandIo, deps: { clock?: () => number } = {}): Promise<number> {
  const usage = (message: string) => {
    io.stderr.write(`mfa-gateway impact: ${message}\n\n${HELP}`);
    return 2;
  };
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', default: DEFAULT_CONFIG },
        since: { type: 'string', default: '7d' },
        rule: { type: 'string' },
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
  const clock = deps.clock ?? Date.now;
  let since: number;
  try {
    since = sinceCutoff(values.since, clock());
  } catch {
    return usage(`--since ${JSON.stringify(values.since)} is not a duration (use e.g. 30m, 2h, 7d)`);
  }
  const config = await loadConfigOrReport(values.config, io);
  if (!config) return 1;
  const store = await openStore(config.store, { clock, lockout: lockoutRules, sourceThrottle: sourceThrottleRules });
  try {
    // Minutes are stored by their start: the minute holding the cutoff counts whole.
    const hits = await store.reportOnlyHits({
      since: since - (since % 60_000),
      ...(values.rule !== undefined ? { rule: values.rule } : {}),
    });
    const impact = summarizeImpact(hits);
    if (values.json) io.stdout.write(impact.map((r) => `${JSON.stringify(r)}\n`).join(''));
    else io.stdout.write(impact.length === 0 ? `No report-only hits in the last ${values.since}.\n` : impact.map(text).join('\n'));
    return 0;
  } catch (err) {
    io.stderr.write(`mfa-gateway impact: the store could not be read: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

function text(r: RuleImpact): string {
  const o = r.outcomes;
  return [
    `${printable(r.rule)}: ${r.requests} requests, ${r.users} users (+${r.anonymous} anonymous requests), ${r.addresses} addresses`,
    `  would deny ${o.would_deny}, would require a second factor ${o.would_require_second_factor}, would require sign-in ` +
      `${o.would_require_sign_in}`,
    `  top users: ${r.topUsers.map((u) => `${printable(u.user)} (${u.requests})`).join(', ') || '-'}`,
    `  top paths: ${r.topPaths.map((p) => `${printable(p.path)} (${p.requests})`).join(', ') || '-'}`,
    '',
  ].join('\n');
}
