import type { Addr } from '../client-ip/cidr.ts';
import type { CompiledPolicy, Decision, HostMatcher } from './compile.ts';

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
  for (const rule of policy.rules) {
    if (rule.methods !== null && !rule.methods.has(req.method)) continue;
    if (rule.hosts !== null && !hostMatches(rule.hosts, req.host)) continue;
    if (rule.paths !== null && !rule.paths.test(req.path)) continue;
    if (rule.networks !== null && !rule.networks.has(req.addr)) continue;
    return rule.decision;
  }
  return NO_MATCH;
}

function hostMatches(hosts: HostMatcher, host: string): boolean {
  if (hosts.exact.has(host)) return true;
  // normalizeHost never returns a name starting with `.`, so a match is a proper subdomain.
  for (const suffix of hosts.suffixes) if (host.endsWith(suffix)) return true;
  return false;
}
