/**
 * @module audit/impact
 * `mfa-gateway impact`'s summary of report-only rule hits (`report_only_hits`), per rule:
 * requests, distinct users and addresses, what would have happened, and who and which paths
 * it would have hit most. Pure: the command reads the rows and prints this.
 */
import type { ReportOnlyHit, ReportOnlyOutcome } from '../store/types.ts';

const TOP = 5;

export interface RuleImpact {
  rule: string;
  requests: number;
  /** Distinct signed-in users (anonymous requests are counted in `anonymous`). */
  users: number;
  anonymous: number;
  addresses: number;
  outcomes: Record<ReportOnlyOutcome, number>;
  topUsers: { user: string; requests: number }[];
  topPaths: { path: string; requests: number }[];
}

export function summarizeImpact(hits: readonly Omit<ReportOnlyHit, 'minute'>[]): RuleImpact[] {
  const byRule = new Map<string, { impact: RuleImpact; users: Map<string, number>; paths: Map<string, number>; addresses: Set<string> }>();
  for (const h of hits) {
    let r = byRule.get(h.rule);
    if (!r) {
      r = {
        impact: {
          rule: h.rule,
          requests: 0,
          users: 0,
          anonymous: 0,
          addresses: 0,
          outcomes: { would_deny: 0, would_require_second_factor: 0, would_require_sign_in: 0 },
          topUsers: [],
          topPaths: [],
        },
        users: new Map(),
        paths: new Map(),
        addresses: new Set(),
      };
      byRule.set(h.rule, r);
    }
    r.impact.requests += h.count;
    r.impact.outcomes[h.outcome] += h.count;
    if (h.user === '') r.impact.anonymous += h.count;
    else r.users.set(h.user, (r.users.get(h.user) ?? 0) + h.count);
    r.paths.set(h.path, (r.paths.get(h.path) ?? 0) + h.count);
    r.addresses.add(h.address);
  }
  return [...byRule.values()]
    .map(({ impact, users, paths, addresses }) => ({
      ...impact,
      users: users.size,
      addresses: addresses.size,
      topUsers: top(users).map(([user, requests]) => ({ user, requests })),
      topPaths: top(paths).map(([path, requests]) => ({ path, requests })),
    }))
    .sort((a, b) => b.requests - a.requests || (a.rule < b.rule ? -1 : 1));
}

/** The most frequent entries, ties by name. */
function top(counts: Map<string, number>): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOP);
}
