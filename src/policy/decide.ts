import type { Addr } from '../client-ip/cidr.ts';
import type { CompiledPolicy, CompiledRule, Decision, HostMatcher } from './compile.ts';

export type { Decision } from './compile.ts';

/** The request as the policy sees it; `host` from `normalizeHost`, `path` from `normalizePath`. */
export interface PolicyRequest {
  host: string;
  path: string;
  /** As received; HTTP methods are case-sensitive (RFC 9110 §9.1) and Node passes them uppercase. */
  method: string;
  addr: Addr;
}

const NO_MATCH: Decision = Object.freeze({ outcome: 'deny', rule: null, reason: 'no rule matched; the default is deny' });

/**
 * The first rule that matches, or `deny` when none does.
 *
 * @example
 *   decide(compilePolicy([{ paths: ['/admin/**'], groups: ['admins'], policy: 'two_factor' }]),
 *     { host: 'app.example.com', path: '/ADMIN/x', method: 'GET', addr })
 *   // { outcome: 'two_factor', rule, reason: 'rule 1 (paths /admin/**, groups admins) matched' }
 */
export function decide(policy: CompiledPolicy, req: PolicyRequest): Decision {
  for (const rule of policy.enforced) if (matches(rule, req)) return rule.decision;
  return NO_MATCH;
}

/**
 * The report-only rules (`mode: report_only`) the request passes on its way to `enforced`,
 * the rule `decide` chose (null: none, so every report-only rule is passed). Ask only when
 * `policy.reportOnly` is not null.
 */
export function reportOnlyMatches(reportOnly: readonly CompiledRule[], req: PolicyRequest, enforced: CompiledRule | null): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const rule of reportOnly) {
    if (enforced !== null && rule.index > enforced.index) break;
    if (matches(rule, req)) out.push(rule);
  }
  return out;
}

function matches(rule: CompiledRule, req: PolicyRequest): boolean {
  if (rule.methods !== null && !rule.methods.has(req.method)) return false;
  if (rule.hosts !== null && !hostMatches(rule.hosts, req.host)) return false;
  if (rule.paths !== null && !rule.paths.test(req.path)) return false;
  return rule.networks === null || rule.networks.has(req.addr);
}

function hostMatches(hosts: HostMatcher, host: string): boolean {
  if (hosts.exact.has(host)) return true;
  // normalizeHost never returns a name starting with `.`, so a match is a proper subdomain.
  for (const suffix of hosts.suffixes) if (host.endsWith(suffix)) return true;
  return false;
}
