/**
 * @module factors/ldap/directory
 * Sign-in against the directory: find the user with the service account (the typed name
 * escaped into the filter, so it can never change the filter), bind as the user to check the
 * password, then read the groups, with where each came from. The directory compares names by
 * its own rules; the gateway then uses the directory's spelling (the canonical name) for
 * everything, and only when it is the same user key as the typed name, so lockout counters,
 * methods and sessions can never be split between two spellings.
 */
import { randomBytes } from 'node:crypto';
import type { Client, Entry } from 'ldapts';
import type { LdapConfig } from '../../config/types.ts';
import { userKey } from '../../store/types.ts';
import { GROUP_NAME_PATTERN } from '../password/users-file.ts';
import type { UserRecord } from '../password/users-file.ts';
import { connectionSettings, createConnector, createServicePool, DirectoryUnavailableError, isDirectoryAnswer } from './connection.ts';
import type { Connector, ServicePool } from './connection.ts';
import {
  accountState,
  allValues,
  bindFailure,
  fillFilter,
  firstValue,
  groupNameFromDn,
  isPlausibleName,
  settingsOf,
  stateAttributes,
} from './presets.ts';
import type { AccountState, BindFailure, LdapSettings } from './presets.ts';

/**
 * Names from the directory travel in `Remote-User` and log lines: no controls, no commas, no
 * leading or trailing space, at most 256 characters. An entry whose name is not one is not
 * signed in (and the log says why).
 */
const DIRECTORY_NAME_PATTERN = /^[^\s,\p{C}](?:[^,\p{C}]{0,254}[^\s,\p{C}])?$/u;

/** Nested groups are followed this deep on servers without an in-chain rule. */
const MAX_GROUP_DEPTH = 10;

/** A group and how the user came to be in it, for `users test-ldap`. */
interface GroupOrigin {
  name: string;
  dn: string;
  /** `memberOf`, `direct member`, `in-chain rule (direct or nested)` or `nested through <group>`. */
  via: string;
}

export interface DirectoryUser {
  record: UserRecord;
  dn: string;
  state: AccountState;
  groups: readonly GroupOrigin[];
  /** Groups the directory returned that the gateway cannot use as group names. */
  ignoredGroups: readonly string[];
}

export type DirectoryAuth =
  | { ok: true; user: DirectoryUser }
  | { ok: false; reason: 'unknown_user'; user: undefined; detail: string }
  | { ok: false; reason: BindFailure | AccountState; user: DirectoryUser; detail: string };

export interface LdapDirectory {
  readonly settings: LdapSettings;
  /** The user typed as `name`, or null when the directory has no such user. Throws DirectoryUnavailableError. */
  find(name: string): Promise<DirectoryUser | null>;
  /** Checks the password; throws DirectoryUnavailableError when the directory cannot answer. */
  authenticate(name: string, password: string): Promise<DirectoryAuth>;
  /** The URLs in the order they are tried now. */
  urls(): string[];
  close(): Promise<void>;
}

function attributesOf(entry: Entry): Record<string, unknown> {
  // ldapts keys attributes as the server spells them; look them up case-insensitively.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) out[k.toLowerCase()] = v;
  return out;
}

export function createLdapDirectory(config: LdapConfig, clock: () => number = Date.now): LdapDirectory {
  const settings = settingsOf(config);
  const conn = connectionSettings(config);
  const connector: Connector = createConnector(conn, clock);
  const pool: ServicePool = createServicePool(conn, connector);
  const attr = (name: string) => name.toLowerCase();
  const userAttributes = [
    settings.usernameAttribute,
    settings.mailAttribute,
    settings.displayNameAttribute,
    ...stateAttributes(settings.implementation),
    ...(settings.groups === 'memberOf' ? ['memberOf'] : []),
  ];

  async function groupsOf(client: Client, dn: string, entry: Record<string, unknown>): Promise<GroupOrigin[]> {
    if (settings.groups === 'memberOf') {
      return allValues(entry.memberof).flatMap((g) => {
        const name = groupNameFromDn(g, settings.groupNameAttribute);
        return name === undefined ? [] : [{ name, dn: g, via: 'memberOf' }];
      });
    }
    const search = async (memberDn: string) =>
      (
        await client.search(settings.groupBaseDn, {
          scope: 'sub',
          filter: fillFilter(settings.groupFilter, { dn: memberDn }),
          attributes: [settings.groupNameAttribute],
          sizeLimit: 1000,
        })
      ).searchEntries.map((e) => ({ dn: e.dn, name: firstValue(attributesOf(e)[attr(settings.groupNameAttribute)]) }));

    if (settings.implementation === 'activedirectory') {
      return (await search(dn)).flatMap((g) =>
        g.name === undefined ? [] : [{ name: g.name, dn: g.dn, via: 'in-chain rule (direct or nested)' }],
      );
    }
    // Level by level: groups that list the user, then groups that list those groups.
    const found = new Map<string, GroupOrigin>();
    let level: Array<{ dn: string; parent: string | null }> = [{ dn, parent: null }];
    for (let depth = 0; depth < MAX_GROUP_DEPTH && level.length > 0; depth++) {
      const next: Array<{ dn: string; parent: string | null }> = [];
      for (const member of level) {
        for (const g of await search(member.dn)) {
          const key = g.dn.toLowerCase();
          if (found.has(key) || g.name === undefined) continue;
          found.set(key, { name: g.name, dn: g.dn, via: member.parent === null ? 'direct member' : `nested through ${member.parent}` });
          next.push({ dn: g.dn, parent: g.name });
        }
      }
      level = next;
    }
    return [...found.values()];
  }

  async function find(name: string): Promise<DirectoryUser | null> {
    if (!isPlausibleName(name)) return null;
    return pool.run(async (client) => {
      const { searchEntries } = await client.search(config.base_dn, {
        scope: 'sub',
        filter: fillFilter(settings.userFilter, { username: name }),
        attributes: userAttributes,
        sizeLimit: 2,
      });
      // Two entries for one name is a directory problem; signing either in would be a guess.
      if (searchEntries.length !== 1) return null;
      const found = searchEntries[0]!;
      const entry = attributesOf(found);
      const canonical = firstValue(entry[attr(settings.usernameAttribute)]);
      if (canonical === undefined || !DIRECTORY_NAME_PATTERN.test(canonical) || userKey(canonical) !== userKey(name)) return null;
      const origins = await groupsOf(client, found.dn, entry);
      const usable = origins.filter((g) => GROUP_NAME_PATTERN.test(g.name));
      const email = firstValue(entry[attr(settings.mailAttribute)]);
      const displayName = firstValue(entry[attr(settings.displayNameAttribute)]);
      const state = accountState(settings.implementation, entry);
      const record: UserRecord = Object.freeze({
        name: canonical,
        ...(email === undefined ? {} : { email }),
        ...(displayName === undefined ? {} : { displayName }),
        groups: Object.freeze([...new Set(usable.map((g) => g.name))]),
        disabled: state === 'disabled',
      });
      return { record, dn: found.dn, state, groups: usable, ignoredGroups: origins.filter((g) => !usable.includes(g)).map((g) => g.dn) };
    });
  }

  /** One bind as `dn`: true for the right password, the reason from the server's message otherwise. */
  async function bindAs(dn: string, password: string): Promise<true | BindFailure> {
    try {
      const { client } = await connector.open(dn, password);
      void client.unbind().catch(() => undefined);
      return true;
    } catch (err) {
      if (isDirectoryAnswer(err) && err.code === 49) return bindFailure(err.message);
      if (isDirectoryAnswer(err)) return 'wrong_password';
      throw err;
    }
  }

  async function authenticate(name: string, password: string): Promise<DirectoryAuth> {
    const user = await find(name);
    // RFC 4513 5.1.2: a simple bind with an empty password is an unauthenticated bind that
    // many servers accept; it never proves anything, so it is never sent.
    const usable = password.length > 0 && password.length <= 1024;
    if (user === null) {
      // An unknown name costs a bind like a known one, so timing does not tell them apart.
      await bindAs(`cn=${randomBytes(12).toString('hex')},${config.base_dn}`, usable ? password : 'x').catch(() => undefined);
      return { ok: false, reason: 'unknown_user', user: undefined, detail: 'no such user in the directory' };
    }
    const bound = usable ? await bindAs(user.dn, password) : 'wrong_password';
    if (bound !== true)
      return {
        ok: false,
        reason: bound === 'wrong_password' && user.state === 'disabled' ? 'disabled' : bound,
        user,
        detail: `directory bind refused: ${bound}`,
      };
    if (user.state !== 'ok') return { ok: false, reason: user.state, user, detail: `directory account state: ${user.state}` };
    return { ok: true, user };
  }

  return {
    settings,
    find,
    authenticate,
    urls: () => connector.order(),
    close: () => pool.close(),
  };
}

export { DirectoryUnavailableError };
