/**
 * @module cli/explain
 * `mfa-gateway explain --ip IP [--user NAME] [--intranet-claim] [--json] METHOD URL`: which rule
 * matches a request and what it would need (bypass, password, second factor, deny), and
 * why, and what the report-only rules in front of it would have done, computed by the same
 * functions the gateway runs on every request.
 * `mfa-gateway explain --request ID [--json]`: the stored decision trace of a request the
 * gateway refused or redirected, by the request id its error page showed.
 */
import { parseArgs } from 'node:util';
import type { CommandIo } from './io.ts';
import { DEFAULT_CONFIG, loadConfigOrReport } from './config-arg.ts';
import { compilePolicy } from '../policy/compile.ts';
import { explainRequest } from '../policy/explain.ts';
import { createNetworkSet, parseAddress } from '../client-ip/cidr.ts';
import { loadUserDirectory } from '../factors/password/index.ts';
import { openStore } from '../store/index.ts';
import { lockoutRules } from '../regulation/lockout.ts';
import { sourceThrottleRules } from '../regulation/source-throttle.ts';
import { formatTrace, isRequestId } from '../audit/trace.ts';
import type { GatewayConfig } from '../config/types.ts';

const HELP = `Usage: mfa-gateway explain --ip IP [--user NAME] [--intranet-claim] [--json] [--config FILE] METHOD URL
       mfa-gateway explain --request ID [--json] [--config FILE]

Shows which rule matches the request, the outcome (bypass, one_factor, two_factor, deny)
and what the request would need, and why. URL is absolute (http://app.example.com/path)
so that host rules apply. --user assumes that user signed in with a password (their
groups come from the users file); --intranet-claim assumes a federated sign-in whose
ID token carried the intranet claim. Report-only rules (mode: report_only) that match
in front of the enforced rule are listed with what each would have done (would_deny,
would_require_second_factor, would_require_sign_in, or would pass) to a caller who has
not signed in and to that user. --json prints one JSON object: request, need, rule,
report_only (rule, description, not_signed_in, signed_in; null = would pass) and lines.

--request ID prints why the gateway refused or redirected that request (the id is on
its error page and in the X-Request-Id header): the matched rule, the client address
and how it was derived, network trust, the session and what was missing. Traces are
kept for log.sign_in_retention; --json prints the trace as one JSON object.
`;

export async function explainCommand(argv: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', default: DEFAULT_CONFIG },
        ip: { type: 'string' },
        user: { type: 'string' },
        'intranet-claim': { type: 'boolean', default: false },
        request: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.stderr.write(`mfa-gateway explain: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (values.request !== undefined) {
    if (positionals.length > 0 || values.ip !== undefined || values.user !== undefined) {
      io.stderr.write(`mfa-gateway explain: --request takes no --ip, --user, METHOD or URL\n\n${HELP}`);
      return 2;
    }
    const id = values.request.trim().toLowerCase();
    if (!isRequestId(id)) {
      io.stderr.write(`mfa-gateway explain: --request ${JSON.stringify(values.request)} is not a request id (12 hex digits)\n`);
      return 2;
    }
    const config = await loadConfigOrReport(values.config, io);
    if (!config) return 1;
    return explainTrace(config, id, values.json, io);
  }
  const [method, url] = positionals;
  if (!values.ip || !method || !url || positionals.length !== 2) {
    io.stderr.write(`mfa-gateway explain: --ip, METHOD and URL are required\n\n${HELP}`);
    return 2;
  }
  if (!parseAddress(values.ip)) {
    io.stderr.write(`mfa-gateway explain: --ip ${JSON.stringify(values.ip)} is not an IP address\n`);
    return 2;
  }
  const config = await loadConfigOrReport(values.config, io);
  if (!config) return 1;

  let user: { name: string; groups: readonly string[] } | undefined;
  if (values.user) {
    const users = await loadUserDirectory(config.users.file);
    const record = users.get(values.user);
    users.close();
    if (!record) {
      io.stderr.write(`mfa-gateway explain: no user ${JSON.stringify(values.user)} in ${config.users.file}\n`);
      return 1;
    }
    user = { name: record.name, groups: record.groups };
  }
  const result = explainRequest({
    policy: compilePolicy(config.rules),
    trustedIps: createNetworkSet(config.mfa.trusted_ips.ranges),
    method,
    url,
    ip: values.ip,
    ...(user ? { user } : {}),
    intranetClaim: values['intranet-claim'],
    intranetClaimEnabled: config.mfa.trusted_ips.federated_intranet_claim,
  });
  if (values.json) {
    const reportOnly = result.reportOnly.map((r) => ({
      rule: r.rule,
      description: r.description,
      not_signed_in: r.notSignedIn,
      signed_in: r.signedIn,
    }));
    const request = `${method.toUpperCase()} ${url}`;
    io.stdout.write(`${JSON.stringify({ request, need: result.need, rule: result.rule, report_only: reportOnly, lines: result.lines })}\n`);
  } else io.stdout.write(`${result.lines.join('\n')}\n`);
  return 0;
}

async function explainTrace(config: GatewayConfig, id: string, json: boolean, io: CommandIo): Promise<number> {
  const store = await openStore(config.store, { clock: Date.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules });
  try {
    const trace = await store.decisionTrace(id);
    if (trace === null) {
      io.stderr.write(
        `mfa-gateway explain: no trace of request ${id} (traces are kept for log.sign_in_retention, and written a few seconds after ` +
          `the request)\n`,
      );
      return 1;
    }
    io.stdout.write(json ? `${JSON.stringify(trace)}\n` : `${formatTrace(trace).join('\n')}\n`);
    return 0;
  } catch (err) {
    io.stderr.write(`mfa-gateway explain: the store could not be read: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
