/**
 * @module policy/explain
 * What `mfa-gateway explain` prints: the same normalization, `decide` and `authorize` the
 * gateway runs on a live request, applied to a request described on the command line, with
 * every step said in a sentence, and what the report-only rules the request passes on its way
 * to the enforced one would have done. Pure; the CLI wrapper loads the config and prints `lines`.
 */
import type { NetworkSet } from '../client-ip/cidr.ts';
import type { ReportOnlyOutcome } from '../store/types.ts';
import type { CompiledPolicy } from './compile.ts';
import type { AccessContext, Subject } from './access.ts';
import { parseAddress } from '../client-ip/cidr.ts';
import { authorize, wouldHave } from './access.ts';
import { decide, reportOnlyMatches, type Decision } from './decide.ts';
import { normalizeHost } from './host.ts';
import { normalizePath } from './path.ts';

export interface ExplainInput {
  policy: CompiledPolicy;
  trustedIps: NetworkSet;
  method: string;
  /** A full URL, `https://app.example.com/path?query`: rules may name hosts. */
  url: string;
  /** The client address as the gateway would resolve it. */
  ip: string;
  /** Assumed signed in with the password only. Omitted: a user in the rule's groups is assumed. */
  user?: { name: string; groups: readonly string[] };
  /** The user signed in through the identity provider with the intranet claim. */
  intranetClaim: boolean;
  /** `mfa.trusted_ips.federated_intranet_claim`. */
  intranetClaimEnabled: boolean;
}

export interface Explanation {
  lines: string[];
  /** What the request needs to pass; `deny` also covers requests answered 400. */
  need: 'bypass' | 'password' | 'second_factor' | 'deny';
  /** The key of the enforced rule that matched; null when none did or the request is answered 400. */
  rule: string | null;
  /**
   * Report-only rules (`mode: report_only`) that match in front of the enforced rule, in order,
   * with what each would have done, as the gateway records it: to a caller who has not signed in,
   * and to the assumed user signed in with the password (null: it would have let the request pass).
   */
  reportOnly: ReportOnlyExplanation[];
}

interface ReportOnlyExplanation {
  rule: string;
  description: string;
  notSignedIn: ReportOnlyOutcome | null;
  signedIn: ReportOnlyOutcome | null;
}

const NEED_TEXT: Record<Explanation['need'], string> = {
  bypass: 'nothing: the request passes without sign-in',
  password: 'the password',
  second_factor: 'the password and a second factor',
  deny: 'nothing will do: the request is refused with 403',
};

/** Stands in for a user when `explain` is given none. */
const ANY_USER = '<any>';

/**
 * Explains one request.
 *
 * @example
 *   explainRequest({ policy, trustedIps, method: 'get', url: 'https://app.example.com/public/../admin',
 *     ip: '10.1.2.3', intranetClaim: false, intranetClaimEnabled: false })
 *   // { need: 'password', lines: [
 *   //   'request: GET https://app.example.com/public/../admin',
 *   //   'host:    app.example.com',
 *   //   'path:    /admin (normalized from /public/../admin)', ...,
 *   //   'rule:    rule 2 (paths /admin/**) matched', 'outcome: two_factor',
 *   //   '  - second factor skipped: 10.1.2.3 is in trusted_ips', ..., 'needs:   the password'] }
 */
export function explainRequest(input: ExplainInput): Explanation {
  const method = input.method.toUpperCase();
  const lines = [`request: ${method} ${input.url}`];
  const refuse = (why: string): Explanation => {
    lines.push(`refused: ${why}`, 'needs:   nothing will do: the request is answered 400 before any rule is looked at');
    return { lines, need: 'deny', rule: null, reportOnly: [] };
  };

  const parts = splitUrl(input.url);
  if (parts === null) return refuse('give a full http(s) URL such as https://app.example.com/path, because rules may name hosts');
  const host = normalizeHost(parts.authority);
  if (host === null) return refuse(`the host ${JSON.stringify(parts.authority)} is malformed`);
  const target = normalizePath(input.url);
  if (!target.ok) return refuse(`the path cannot be normalized safely: ${target.reason}`);
  const addr = parseAddress(input.ip);
  if (addr === null) return refuse(`the client address ${JSON.stringify(input.ip)} is not an IP address`);

  const rawPath = parts.rawPath;
  lines.push(`host:    ${host}`);
  lines.push(`path:    ${target.path}${rawPath === target.path ? '' : ` (normalized from ${rawPath})`}`);
  if (target.query !== '') lines.push('         the query string takes no part in matching');
  const trustedNetwork = input.trustedIps.has(addr);
  lines.push(`client:  ${addr.toString()} (${trustedNetwork ? 'in' : 'not in'} trusted_ips)`);

  const request = { host, path: target.path, method, addr };
  const decision = decide(input.policy, request);
  const groups = decision.rule?.groups ?? [];
  if (input.user !== undefined) {
    const theirs = input.user.groups.length === 0 ? 'no groups' : `groups ${input.user.groups.join(', ')}`;
    lines.push(`user:    ${input.user.name} (${theirs}), assumed signed in with the password`);
  } else {
    const who = groups.length === 0 ? 'any user' : `a user in ${groups.join(' or ')}`;
    lines.push(`user:    none given; ${who} (${ANY_USER}) is assumed, signed in with the password`);
  }
  if (input.intranetClaim && !input.intranetClaimEnabled) {
    lines.push('         the intranet claim is ignored: mfa.trusted_ips.federated_intranet_claim is off');
  }
  lines.push(`rule:    ${decision.reason}`, `outcome: ${decision.outcome}`);
  const stepUp = decision.rule?.mfaMaxAge ?? null;
  if (stepUp !== null) {
    lines.push(
      stepUp === 0
        ? `step-up: mfa_max_age 0: a code at every new visit, kept for ${decision.rule!.stepUpGrantMs / 1000} s for this rule only; ` +
            `trusted networks and remembered browsers do not skip it`
        : `step-up: mfa_max_age ${stepUp / 1000} s: a code entered in this session within that time; trusted networks and remembered ` +
            `browsers do not skip it`,
    );
  }

  const ctx = { trustedNetwork, ip: addr.toString() };
  const subject: Subject = {
    user: input.user?.name ?? ANY_USER,
    groups: input.user?.groups ?? groups,
    level: 1,
    intranetClaim: input.intranetClaim && input.intranetClaimEnabled,
  };
  const { need, reasons } = needOf(decision, subject, ctx);
  // The first reason is the rule line above.
  for (const reason of reasons.slice(1)) lines.push(`  - ${reason}`);
  const accepts = decision.rule?.mfaMethods;
  const only = need === 'second_factor' && accepts ? ` (only ${accepts.join(' or ')}; another second factor must step up)` : '';
  lines.push(`needs:   ${NEED_TEXT[need]}${only}`);

  // Judged like the gateway judges them on a live request: the same caller, never enforced.
  const reportOnly = (input.policy.reportOnly === null ? [] : reportOnlyMatches(input.policy.reportOnly, request, decision.rule)).map(
    (rule): ReportOnlyExplanation => ({
      rule: rule.key,
      description: rule.description,
      notSignedIn: wouldHave(authorize(rule.decision, null, ctx).result),
      signedIn: wouldHave(authorize(rule.decision, subject, ctx).result),
    }),
  );
  if (input.policy.reportOnly !== null) {
    if (reportOnly.length === 0) lines.push('report-only: no report-only rule matches in front of the enforced one');
    else lines.push('report-only: rules in front of the enforced one, judged and recorded but never enforced (the answer above stands):');
    for (const r of reportOnly) {
      lines.push(
        `  - ${r.description}: ${r.notSignedIn ?? 'would pass'} when not signed in; ` +
          `${r.signedIn ?? 'would pass'} for ${subject.user} signed in with the password`,
      );
    }
  }
  return { lines, need, rule: decision.rule?.key ?? null, reportOnly };
}

/** What a request under `decision` needs, from a caller not signed in up to `subject` with a second factor, and why. */
function needOf(decision: Decision, subject: Subject, ctx: AccessContext): { need: Explanation['need']; reasons: string[] } {
  const anonymous = authorize(decision, null, ctx);
  if (anonymous.result === 'allow') return { need: 'bypass', reasons: anonymous.reasons };
  if (anonymous.result === 'forbidden') return { need: 'deny', reasons: anonymous.reasons };
  const signedIn = authorize(decision, subject, ctx);
  const reasons = signedIn.reasons;
  if (signedIn.result === 'allow') return { need: 'password', reasons };
  if (signedIn.result !== 'second_factor' && signedIn.result !== 'step_up') return { need: 'deny', reasons };
  // Groups are checked only once the second factor is done; say what happens then.
  const afterSecondFactor = authorize(
    decision,
    { ...subject, level: 2, mfaAt: 0, stepUp: { rule: decision.rule?.key ?? '', at: 0 } },
    { ...ctx, now: 0 },
  );
  if (afterSecondFactor.result === 'forbidden')
    return { need: 'deny', reasons: [...reasons, `after the second factor: ${afterSecondFactor.reasons.at(-1)!}`] };
  return { need: 'second_factor', reasons };
}

/** The authority and the path as written (for showing what normalization changed) of an `http(s)://` URL. */
function splitUrl(url: string): { authority: string; rawPath: string } | null {
  const lower = url.slice(0, 8).toLowerCase();
  const start = lower.startsWith('http://') ? 7 : lower.startsWith('https://') ? 8 : -1;
  if (start === -1) return null;
  let end = start;
  while (end < url.length && url[end] !== '/' && url[end] !== '?') end++;
  const q = url.indexOf('?', end);
  const rawPath = url.slice(end, q === -1 ? url.length : q);
  return { authority: url.slice(start, end), rawPath: rawPath === '' ? '/' : rawPath };
}
