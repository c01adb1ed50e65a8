/**
 * @module factors/ldap/presets
 * The pure half of the directory: what to search for and how to read the answer. Presets for
 * Active Directory and OpenLDAP, RFC 4515 escaping of every value put into a filter, and the
 * reading of Active Directory's account flags and bind errors. No I/O here, so each rule is
 * tested in microseconds.
 */
import type { LdapConfig } from '../../config/types.ts';

/** Where the groups of a user come from. */
type GroupSource = 'memberOf' | 'search';

/** `users.ldap` with the preset filled in: every key the directory needs has a value. */
export interface LdapSettings {
  implementation: 'activedirectory' | 'openldap' | 'custom';
  userFilter: string;
  usernameAttribute: string;
  mailAttribute: string;
  displayNameAttribute: string;
  groups: GroupSource;
  groupBaseDn: string;
  groupFilter: string;
  groupNameAttribute: string;
}

/** The attribute an AD user's account flags are in, and its ACCOUNTDISABLE bit (MS-ADTS 2.2.16). */
const UAC = 'userAccountControl';
const ACCOUNTDISABLE = 0x2;

const PRESETS: Readonly<Record<'activedirectory' | 'openldap', Omit<LdapSettings, 'implementation' | 'groupBaseDn'>>> = {
  activedirectory: {
    // Only people (not computers) with a sAMAccountName; 1.2.840.113556.1.4.803 is the bitwise AND rule.
    userFilter: '(&(objectCategory=person)(objectClass=user)(sAMAccountName={username}))',
    usernameAttribute: 'sAMAccountName',
    mailAttribute: 'mail',
    displayNameAttribute: 'displayName',
    groups: 'search',
    // LDAP_MATCHING_RULE_IN_CHAIN: every group the user is in, directly or through nested groups.
    groupFilter: '(&(objectClass=group)(member:1.2.840.113556.1.4.1941:={dn}))',
    groupNameAttribute: 'cn',
  },
  openldap: {
    userFilter: '(&(objectClass=inetOrgPerson)({username_attribute}={username}))',
    usernameAttribute: 'uid',
    mailAttribute: 'mail',
    displayNameAttribute: 'displayName',
    groups: 'search',
    // OpenLDAP has no in-chain rule: nested groups are followed by the directory code, level by level.
    groupFilter: '(&(objectClass=groupOfNames)(member={dn}))',
    groupNameAttribute: 'cn',
  },
};

/** The preset's values, overridden by every key the config sets. */
export function settingsOf(c: LdapConfig): LdapSettings {
  const base = c.implementation === 'custom' ? undefined : PRESETS[c.implementation];
  const usernameAttribute = c.username_attribute ?? base?.usernameAttribute ?? 'uid';
  return {
    implementation: c.implementation,
    userFilter: (c.user_filter ?? base?.userFilter ?? '').replaceAll('{username_attribute}', usernameAttribute),
    usernameAttribute,
    mailAttribute: c.mail_attribute ?? base?.mailAttribute ?? 'mail',
    displayNameAttribute: c.display_name_attribute ?? base?.displayNameAttribute ?? 'displayName',
    groups: c.group_search === 'memberof' ? 'memberOf' : 'search',
    groupBaseDn: c.group_base_dn ?? c.base_dn,
    groupFilter: c.group_filter ?? base?.groupFilter ?? '',
    groupNameAttribute: c.group_name_attribute ?? base?.groupNameAttribute ?? 'cn',
  };
}

/**
 * Escapes a value for an LDAP filter (RFC 4515 section 3): `\ * ( )`, NUL and every other
 * ASCII control as `\XX`, so no value can end the assertion, add a wildcard or smuggle a
 * byte the server might read differently. Other characters stay as they are (the filter is
 * UTF-8, as the RFC's UTF1SUBSET/UTFMB allow).
 */
export function escapeFilterValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\\*()\u0000-\u001f\u007f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Fills `{username}` (and `{dn}`) of a filter template, each value escaped. */
export function fillFilter(template: string, values: { username?: string; dn?: string }): string {
  return template.replace(/\{(username|dn)\}/g, (_, key: 'username' | 'dn') => escapeFilterValue(values[key] ?? ''));
}

/**
 * A name worth asking the directory about: what a person can type as a user name. Longer
 * names, controls and NUL are answered "unknown user" without a query (the check still costs
 * what any other check costs).
 */
export function isPlausibleName(name: string): boolean {
  return name.length >= 1 && name.length <= 256 && !/[\p{C}]/u.test(name);
}

/** Why an account may not sign in even with the right password, read from its attributes. */
export type AccountState = 'ok' | 'disabled' | 'must_change_password';

/** First value of an attribute as text, whatever shape ldapts returned it in. */
export function firstValue(v: unknown): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined || one === null) return undefined;
  return Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

/** Every value of an attribute as text. */
export function allValues(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

/**
 * The account state of an entry. Active Directory: `userAccountControl` with ACCOUNTDISABLE set
 * is disabled; `pwdLastSet` 0 means the user must set a new password first. OpenLDAP (ppolicy):
 * a `pwdAccountLockedTime` is disabled (`000001010000Z` is ppolicy's "locked by an admin");
 * `pwdReset: TRUE` means the password must be changed.
 */
export function accountState(implementation: LdapSettings['implementation'], entry: Record<string, unknown>): AccountState {
  // Attribute names are case-insensitive (RFC 4512 section 2.5); servers spell them as they like.
  const value = (name: string) => firstValue(Object.entries(entry).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]);
  if (implementation === 'activedirectory') {
    const uac = Number(value(UAC) ?? 0);
    if (Number.isInteger(uac) && (uac & ACCOUNTDISABLE) !== 0) return 'disabled';
    if (value('pwdLastSet') === '0') return 'must_change_password';
    return 'ok';
  }
  if (value('pwdAccountLockedTime') !== undefined) return 'disabled';
  if (value('pwdReset')?.toUpperCase() === 'TRUE') return 'must_change_password';
  return 'ok';
}

/** The attributes {@link accountState} reads, asked for with the user's entry. */
export function stateAttributes(implementation: LdapSettings['implementation']): string[] {
  return implementation === 'activedirectory' ? [UAC, 'pwdLastSet'] : ['pwdAccountLockedTime', 'pwdReset'];
}

/** What a failed bind as the user means for the sign-in. */
export type BindFailure = 'wrong_password' | 'password_expired' | 'must_change_password' | 'account_expired' | 'disabled' | 'locked';

/**
 * Reads Active Directory's reason out of a failed bind's diagnostic message, such as
 * `80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 532, v4563`.
 * The data code is the Win32 error: 532 password expired, 773 must change, 701 account
 * expired, 533 disabled, 775 locked. AD sends 532, 773 and 701 only for the right password.
 * Anything else (52e, 525, other servers) is a wrong password.
 */
export function bindFailure(diagnosticMessage: string): BindFailure {
  const code = /\bdata ([0-9a-f]{3,4})\b/i.exec(diagnosticMessage)?.[1]?.toLowerCase();
  switch (code) {
    case '532':
      return 'password_expired';
    case '773':
      return 'must_change_password';
    case '701':
      return 'account_expired';
    case '533':
      return 'disabled';
    case '775':
      return 'locked';
    default:
      return 'wrong_password';
  }
}

/** The name of a group from its DN: the value of the first RDN when it is the name attribute (`cn=Staff,ou=...` -> `Staff`). */
export function groupNameFromDn(dn: string, nameAttribute: string): string | undefined {
  const m = /^\s*([^=,]+)=((?:\\.|[^,\\])*)/.exec(dn);
  if (!m || m[1]!.trim().toLowerCase() !== nameAttribute.toLowerCase()) return undefined;
  return m[2]!.replace(/\\([0-9a-fA-F]{2}|.)/g, (_, e: string) => (e.length === 2 ? String.fromCharCode(parseInt(e, 16)) : e)).trim();
}
