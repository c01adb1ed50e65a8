/**
 * @module policy/access
 * The access decision: the matched rule's policy against who is asking and from where.
 * Pure; the chain supplies the subject from the session and whether the client address
 * is in `trusted_ips`, and turns the result into a pass, a redirect or a 403. This is the
 * one place that says how far a trusted network lowers the bar: from two factors to the
 * password, never to nothing; and which second factors a rule's `mfa_methods` accepts.
 */
import type { RuleMfaMethod } from '../config/types.ts';
import type { ReportOnlyOutcome } from '../store/types.ts';
import type { Decision } from './decide.ts';

/** A signed-in user as the session layer vouches for them. */
export interface Subject {
  user: string;
  groups: readonly string[];
  /** 1 = password done; 2 = second factor done (or skipped at sign-in by a remembered browser). */
  level: 1 | 2;
  /**
   * Federated sign-in whose verified ID token carried the intranet claim, and
   * `mfa.trusted_ips.federated_intranet_claim` is on. The session layer sets it; this
   * module only believes it.
   */
  intranetClaim: boolean;
  /**
   * The user had no second-factor method at sign-in: a trusted network or the intranet claim
   * does not skip the second factor, so the second-factor step leads into first enrollment.
   */
  mustEnroll?: boolean;
  /**
   * How this session's second factor was done, as `mfa_methods` names it (`totp`,
   * `oath_token`, `webauthn`, `remembered_browser`); see {@link sessionFactors}.
   */
  factors?: readonly string[];
  /** When a second-factor code was last entered in this session (`SessionData.mfaAt`); absent when never. */
  mfaAt?: number;
  /** The rule (its `key`) a step-up code was last entered for, and when. */
  stepUp?: { rule: string; at: number };
}

/** Session `amr` values as `mfa_methods` names them; any other value (`rc`, `tap`, `oidc`) satisfies no such rule. */
const FACTOR_OF_AMR: Readonly<Record<string, RuleMfaMethod>> = {
  totp: 'totp',
  oath_token: 'oath_token',
  hwk: 'webauthn',
  remembered: 'remembered_browser',
};

/** Answers of {@link sessionFactors} by `amr` list: sessions share a handful of interned lists, so most requests find theirs. */
const factorsOfAmr = new WeakMap<readonly string[], readonly RuleMfaMethod[]>();

/** The second factors of a session, from its `amr` (frozen: the answer is shared by every session with that list). */
export function sessionFactors(amr: readonly string[]): readonly RuleMfaMethod[] {
  const known = factorsOfAmr.get(amr);
  if (known !== undefined) return known;
  const factors: RuleMfaMethod[] = [];
  for (const a of amr) if (Object.hasOwn(FACTOR_OF_AMR, a)) factors.push(FACTOR_OF_AMR[a]!);
  Object.freeze(factors);
  // Only frozen lists (the session layer's interned ones) are remembered: another could change after.
  if (Object.isFrozen(amr)) factorsOfAmr.set(amr, factors);
  return factors;
}

export interface AccessContext {
  /** The client address is in `mfa.trusted_ips.ranges`. */
  trustedNetwork: boolean;
  /** The client address, only to name it in `reasons`. */
  ip?: string;
  /** Epoch ms, for step-up (`mfa_max_age`); absent: no code counts as fresh (fail closed). */
  now?: number;
}

export interface Access {
  /** `step_up`: signed in with enough factors, but the rule wants a fresher code (`mfa_max_age`). */
  result: 'allow' | 'sign_in' | 'second_factor' | 'step_up' | 'forbidden';
  /** With `second_factor` on a rule with `mfa_methods`: the method kinds that satisfy it. */
  accepts?: readonly RuleMfaMethod[];
  /** Plain sentences, in order, that `explain` prints and the log keeps. */
  reasons: string[];
}

/**
 * Combines a decision with the subject (null = anonymous).
 *
 * - `deny`: forbidden. `bypass`: allow, without looking at any session.
 * - `one_factor`: needs a signed-in subject (level 1).
 * - `two_factor`: needs level 2, lowered to level 1 when the client is on a trusted
 *   network or the subject carries the intranet claim, unless the subject has no method
 *   yet (`mustEnroll`: then first enrollment comes first); never lowered to anonymous.
 * - `mfa_max_age` on the rule (step-up): once the level and groups are met, the session's
 *   last code must be younger than it, or with 0, entered for this rule within its
 *   `step_up_grant`; otherwise `step_up`. A trusted network, the intranet claim and a
 *   remembered browser do not count: only a code entered in this session does.
 * - `groups` on the rule: anonymous must sign in first; the required level is reached
 *   first, and only then is a subject outside every listed group forbidden, so someone
 *   holding only a password cannot learn who is in which group. (On a `bypass` rule,
 *   which config validation should refuse, groups still demand a signed-in member:
 *   failing closed.)
 *
 * @example
 *   authorize(decision, { user: 'bob', groups: [], level: 1, intranetClaim: false },
 *     { trustedNetwork: true, ip: '10.1.2.3' })
 *   // { result: 'allow', reasons: ['rule 2 (paths /admin/**) matched',
 *   //   'second factor skipped: 10.1.2.3 is in trusted_ips', 'the user has signed in with the password'] }
 */
export function authorize(decision: Decision, subject: Subject | null, ctx: AccessContext): Access {
  const reasons = [decision.reason];
  const groups = decision.rule?.groups ?? [];
  const required = decision.outcome === 'two_factor' ? (decision.rule?.mfaMethods ?? null) : null;
  let needed: 1 | 2;
  switch (decision.outcome) {
    case 'deny':
      if (decision.rule !== null) reasons.push('its policy is deny');
      return { result: 'forbidden', reasons };
    case 'bypass':
      if (groups.length === 0) {
        reasons.push('its policy is bypass: no sign-in needed');
        return { result: 'allow', reasons };
      }
      reasons.push('its policy is bypass, but it names groups, so a signed-in member is needed');
      needed = 1;
      break;
    case 'one_factor':
      reasons.push('its policy is one_factor: the password is needed');
      needed = 1;
      break;
    case 'two_factor':
      reasons.push('its policy is two_factor: the password and a second factor are needed');
      needed = 2;
      if (required !== null) reasons.push(`only these second factors satisfy it: ${required.join(', ')}`);
      if (subject?.mustEnroll === true) {
        reasons.push('no second-factor method set up yet: the user is led into enrollment first, even on a trusted network');
      } else if (ctx.trustedNetwork && (required === null || required.includes('trusted_network'))) {
        reasons.push(`second factor skipped: ${ctx.ip ?? 'the client address'} is in trusted_ips`);
        needed = 1;
      } else if (subject?.intranetClaim === true && (required === null || required.includes('trusted_network'))) {
        reasons.push('second factor skipped: the identity provider says the user is on the corporate network');
        needed = 1;
      } else if (ctx.trustedNetwork || subject?.intranetClaim === true) {
        reasons.push('a trusted network does not skip it: mfa_methods does not list trusted_network');
      }
      break;
  }
  if (subject === null) {
    reasons.push('the user has not signed in');
    return { result: 'sign_in', reasons };
  }
  const accepts = required?.filter((m) => m !== 'trusted_network' && m !== 'remembered_browser');
  if (subject.level < needed) {
    reasons.push(`user ${subject.user} has signed in with the password only`);
    return { result: 'second_factor', reasons, ...(accepts ? { accepts } : {}) };
  }
  if (needed === 2 && required !== null && !(subject.factors ?? []).some((f) => required.includes(f as RuleMfaMethod))) {
    const had = (subject.factors ?? []).join(', ') || 'none that the rule names';
    reasons.push(`user ${subject.user}'s second factor (${had}) is not one of them: a step up is needed`);
    return { result: 'second_factor', reasons, ...(accepts ? { accepts } : {}) };
  }
  if (groups.length > 0 && !groups.some((g) => subject.groups.includes(g))) {
    reasons.push(`user ${subject.user} is not in any of the groups: ${groups.join(', ')}`);
    return { result: 'forbidden', reasons };
  }
  const maxAge = decision.rule?.mfaMaxAge ?? null;
  if (maxAge !== null && !stepUpFresh(decision.rule!.key, maxAge, decision.rule!.stepUpGrantMs, subject, ctx.now)) {
    reasons.push(
      maxAge === 0
        ? `its mfa_max_age is 0: a code entered for this rule within ${decision.rule!.stepUpGrantMs / 1000} s is needed, even on a ` +
            `trusted network or a remembered browser`
        : `its mfa_max_age is ${maxAge / 1000} s: ${lastCode(subject, ctx.now)}; ` +
            'a fresh one is needed, even on a trusted network or a remembered browser',
    );
    return { result: 'step_up', reasons };
  }
  if (maxAge !== null) reasons.push('a fresh enough second factor was entered in this session (mfa_max_age)');
  reasons.push(
    subject.level === 2
      ? `user ${subject.user} has signed in with the password and a second factor` +
          (required === null ? '' : ` (${(subject.factors ?? []).join(', ')})`)
      : `user ${subject.user} has signed in with the password`,
  );
  return { result: 'allow', reasons };
}

/**
 * Step-up (`mfa_max_age`): a code entered within `maxAge` in this session, or, with 0, a code
 * entered for this very rule within its grant. A code from the future (a clock set back) counts
 * as missing.
 */
function stepUpFresh(key: string, maxAge: number, grant: number, subject: Subject, now: number | undefined): boolean {
  if (now === undefined) return false;
  if (maxAge > 0) {
    const at = subject.mfaAt;
    return at !== undefined && at <= now && now - at <= maxAge;
  }
  const g = subject.stepUp;
  return g !== undefined && g.rule === key && g.at <= now && now - g.at <= grant;
}

/** When the session's last code was entered, in words, for `reasons`. */
function lastCode(subject: Subject, now: number | undefined): string {
  if (subject.mfaAt === undefined) return 'no code was entered in this session';
  return `the last code was entered ${Math.floor(((now ?? subject.mfaAt) - subject.mfaAt) / 1000)} s ago`;
}

const WOULD: Readonly<Record<Access['result'], ReportOnlyOutcome | null>> = {
  allow: null,
  sign_in: 'would_require_sign_in',
  second_factor: 'would_require_second_factor',
  step_up: 'would_require_second_factor',
  forbidden: 'would_deny',
};

/** What a report-only rule whose access result is `result` would have done; null: it would have let the request pass. */
export function wouldHave(result: Access['result']): ReportOnlyOutcome | null {
  return WOULD[result];
}
