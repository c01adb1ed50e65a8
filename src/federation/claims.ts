/**
 * @module federation/claims
 * From the claims of a verified ID token to who signed in and what the provider vouches for:
 * the user name, e-mail, display name and groups (`federation.oidc.claims`), whether the
 * intranet claim is present with the value that counts, and whether `amr` says `mfa`.
 * Pure: the callback hands in claims that openid-client has already verified, and nothing
 * else (no header, cookie or query parameter) ever reaches this module.
 */
import { GROUP_NAME_PATTERN, USER_NAME_PATTERN } from '../factors/password/index.ts';

/** The `federation.oidc` settings this module reads. */
export interface ClaimSettings {
  claims: { username: string; email: string; name: string; groups: string };
  intranet_claim: { name: string; value: string | boolean };
}

export interface FederatedIdentity {
  /** The user name as the provider spells it; matched case-insensitively. */
  username: string;
  email: string | null;
  displayName: string | null;
  /** Valid group names only; see `dropped`. */
  groups: string[];
  /** The ID token carried the intranet claim with the configured value. */
  intranet: boolean;
  /** The ID token's `amr` contains `mfa`. */
  amrMfa: boolean;
  issuer: string;
  subject: string;
  /** Group names that could not travel in `Remote-Groups` (commas, controls, too long). */
  dropped: string[];
}

export type ClaimsResult = { ok: true; identity: FederatedIdentity } | { ok: false; reason: string };

const EMAIL_PATTERN = /^[^\s@,<>"]+@[^\s@,<>"]+$/;
const MAX_GROUPS = 256;

/**
 * Maps verified ID token claims to an identity, or says why it cannot.
 *
 * @example
 *   mapClaims({ iss: 'https://idp', sub: '42', preferred_username: 'carol', groups: ['staff'],
 *     'http://schemas.microsoft.com/ws/2012/01/insidecorporatenetwork': true }, settings)
 *   // { ok: true, identity: { username: 'carol', groups: ['staff'], intranet: true, amrMfa: false, ... } }
 */
export function mapClaims(claims: Readonly<Record<string, unknown>>, settings: ClaimSettings): ClaimsResult {
  const names = settings.claims;
  const username = claims[names.username];
  if (typeof username !== 'string' || username === '') return { ok: false, reason: `the ID token has no ${names.username} claim` };
  if (!USER_NAME_PATTERN.test(username)) {
    return { ok: false, reason: `the ${names.username} claim ${JSON.stringify(username.slice(0, 140))} is not a valid user name` };
  }
  if (typeof claims.iss !== 'string' || typeof claims.sub !== 'string') return { ok: false, reason: 'the ID token has no iss or sub' };

  const email = claims[names.email];
  const displayName = claims[names.name];
  const { groups, dropped } = groupsOf(claims[names.groups]);
  const amr = claims.amr;
  return {
    ok: true,
    identity: {
      username,
      email: typeof email === 'string' && EMAIL_PATTERN.test(email) ? email : null,
      displayName: typeof displayName === 'string' && displayName.trim() !== '' ? displayName.trim().slice(0, 200) : null,
      groups,
      intranet: intranetClaimMatches(claims[settings.intranet_claim.name], settings.intranet_claim.value),
      amrMfa: Array.isArray(amr) && amr.includes('mfa'),
      issuer: claims.iss,
      subject: claims.sub,
      dropped,
    },
  };
}

/**
 * Whether a claim value says "inside the corporate network". A configured `true` accepts the
 * JSON boolean and the string `true` in any case (AD FS issues the claim as a string in some
 * setups); a configured string must match exactly. A list counts when one element does.
 */
export function intranetClaimMatches(value: unknown, expected: string | boolean): boolean {
  if (Array.isArray(value)) return value.some((v) => intranetClaimMatches(v, expected));
  if (typeof expected === 'boolean') {
    if (typeof value === 'boolean') return value === expected;
    return typeof value === 'string' && value.toLowerCase() === String(expected);
  }
  return typeof value === 'string' && value === expected;
}

function groupsOf(value: unknown): { groups: string[]; dropped: string[] } {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  const groups: string[] = [];
  const dropped: string[] = [];
  for (const g of list.slice(0, MAX_GROUPS)) {
    if (typeof g === 'string' && GROUP_NAME_PATTERN.test(g)) {
      if (!groups.includes(g)) groups.push(g);
    } else dropped.push(String(g).slice(0, 80));
  }
  return { groups, dropped };
}
