/**
 * @module config/semantic
 * Checks the schema cannot express: addresses and networks that must parse, URLs that must
 * be usable as upstreams, names that must refer to something, and settings that only make
 * sense together. Pure: takes the parsed (possibly still invalid) config data, returns
 * findings. Every check tolerates values of the wrong type, which the schema reports.
 */

import { isIP } from 'node:net';
import { durationKeys, durationMinimums } from './schema.ts';
import { parseDuration } from './duration.ts';
import { parseListen } from './listen.ts';
import { parseNetwork } from './network.ts';
import type { Finding, KeyPath } from './key-path.ts';

type Obj = Record<string, unknown>;

/** Node timers cap at 2^31-1 ms; a longer timeout would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs every semantic check over the config data. */
export function checkSemantics(data: unknown): Finding[] {
  const out: Finding[] = [];
  const add = (path: KeyPath, message: string, at: Finding['at'] = 'value'): void => {
    out.push({ path, at, message });
  };
  const root = obj(data);
  const server = obj(root.server);
  const session = obj(root.session);
  const store = obj(root.store);
  const mfa = obj(root.mfa);
  const upstreams = obj(root.upstreams);
  const oidc = optionalObj(obj(root.federation).oidc);
  const smtp = optionalObj(obj(root.notifications).smtp);
  const ldap = optionalObj(obj(root.users).ldap);

  tryParse(['server', 'listen'], server.listen, parseListen, add);
  const metrics = optionalObj(server.metrics);
  if (metrics) tryParse(['server', 'metrics', 'listen'], metrics.listen, parseListen, add);
  ifString(server.public_url, (s) => {
    const why = urlProblem(s, 'origin');
    if (why) add(['server', 'public_url'], why);
  });
  ifString(server.path_prefix, (s) => {
    if (s.split('/').some((seg) => seg === '.' || seg === '..')) add(['server', 'path_prefix'], 'must not contain . or .. segments');
  });

  for (const [path, value] of listItems(['server', 'trusted_proxies'], server.trusted_proxies)) tryParse(path, value, parseNetwork, add);
  for (const [path, value] of listItems(['mfa', 'trusted_ips', 'ranges'], obj(mfa.trusted_ips).ranges))
    tryParse(path, value, parseNetwork, add);

  checkUpstreamUrl(['upstream', 'url'], obj(root.upstream).url, add);
  for (const [name, up] of Object.entries(upstreams)) checkUpstreamUrl(['upstreams', name, 'url'], obj(up).url, add);

  const enabled = Array.isArray(mfa.methods) ? (mfa.methods as unknown[]) : ['totp'];
  for (const [rulePath, rule] of listItems(['rules'], root.rules)) {
    checkRule(rulePath as KeyPath, obj(rule), upstreams, add);
    checkRuleMfaMethods(rulePath as KeyPath, obj(rule), enabled, add);
  }

  checkDurations(root, add);

  const jwt = obj(obj(root.identity).jwt);
  if (jwt.enabled === true) {
    if (jwt.audience === undefined) add(['identity', 'jwt'], 'needs audience when enabled (the aud claim the app checks)', 'key');
    if (jwt.key_file === undefined) add(['identity', 'jwt'], 'needs key_file when enabled (a PEM Ed25519 or P-256 private key)', 'key');
  }

  ifString(session.domain, (domain) => {
    const bare = domain.replace(/^\./, '').toLowerCase();
    const host = hostOf(server.public_url);
    if (host !== undefined && host !== bare && !host.endsWith(`.${bare}`)) {
      add(['session', 'domain'], `must be the host of server.public_url (${host}) or a parent domain of it`);
    }
  });

  checkWebAuthn(mfa, hostOf(server.public_url), add);

  if (store.postgres !== undefined && store.encryption_key === undefined) {
    add(
      ['store', 'encryption_key'],
      'required key "encryption_key" is missing (PostgreSQL needs it: every gateway instance must share one key)',
      'parent',
    );
  }

  if (oidc !== undefined) {
    ifString(oidc.issuer, (s) => {
      const why = urlProblem(s, 'path');
      if (why) add(['federation', 'oidc', 'issuer'], why);
    });
  }
  if (obj(mfa.trusted_ips).federated_intranet_claim === true && oidc === undefined) {
    add(['mfa', 'trusted_ips', 'federated_intranet_claim'], 'needs federation.oidc (the intranet claim comes from its ID tokens)');
  }

  const notify = obj(mfa.fraud_alert).notify;
  if (Array.isArray(notify) && notify.length > 0 && smtp === undefined) {
    add(['mfa', 'fraud_alert', 'notify'], 'lists addresses but notifications.smtp is not configured, so no e-mail could be sent');
  }
  if (smtp !== undefined) {
    ifString(smtp.from, (s) => {
      if (!isSender(s))
        add(['notifications', 'smtp', 'from'], 'must be an e-mail address or Name <address>, such as MFA Gateway <mfa@example.com>');
    });
    const hasPassword = smtp.password !== undefined || smtp.password_file !== undefined;
    if ((smtp.username === undefined) === hasPassword) {
      const missing = hasPassword ? 'username' : 'password';
      add(['notifications', 'smtp', missing], `required key "${missing}" is missing (username and password go together)`, 'parent');
    }
  }
  if (ldap !== undefined) checkLdap(ldap, add);
  return out;
}

/** `users.ldap`: settings that go together, and filters that can find a user at all. */
function checkLdap(ldap: Obj, add: (p: KeyPath, m: string, at?: Finding['at']) => void): void {
  const at = (key: string): KeyPath => ['users', 'ldap', key];
  const hasPassword = ldap.bind_password !== undefined || ldap.bind_password_file !== undefined;
  if ((ldap.bind_dn === undefined) === hasPassword) {
    const missing = hasPassword ? 'bind_dn' : 'bind_password';
    add(
      at(missing),
      `required key "${missing}" is missing (bind_dn and bind_password go together; omit both for an anonymous search)`,
      'parent',
    );
  }
  const urls = typeof ldap.url === 'string' ? [ldap.url] : Array.isArray(ldap.url) ? ldap.url : [];
  if (ldap.start_tls === true && urls.some((u) => typeof u === 'string' && /^ldaps:/i.test(u))) {
    add(
      at('start_tls'),
      'cannot be used with an ldaps:// URL (that connection is TLS from the start); use ldap:// URLs with start_tls, or ldaps:// ' +
        'without it',
    );
  }
  if (ldap.implementation === 'custom') {
    if (ldap.user_filter === undefined)
      add(at('user_filter'), 'required key "user_filter" is missing (implementation: custom has no preset)', 'parent');
    if (ldap.username_attribute === undefined)
      add(at('username_attribute'), 'required key "username_attribute" is missing (implementation: custom has no preset)', 'parent');
    if (ldap.group_search !== 'memberof' && ldap.group_filter === undefined) {
      add(
        at('group_filter'),
        'required key "group_filter" is missing (implementation: custom has no preset; or set group_search: memberof)',
        'parent',
      );
    }
  }
  ifString(ldap.user_filter, (s) => {
    if (!s.includes('{username}')) add(at('user_filter'), 'must contain {username} (where the typed name goes, escaped)');
    else if (!balancedFilter(s))
      add(
        at('user_filter'),
        'must be an LDAP filter in parentheses with balanced parentheses, such as (&(objectClass=person)(uid={username}))',
      );
  });
  ifString(ldap.group_filter, (s) => {
    if (!s.includes('{dn}')) add(at('group_filter'), "must contain {dn} (where the user's DN goes, escaped)");
    else if (!balancedFilter(s))
      add(
        at('group_filter'),
        'must be an LDAP filter in parentheses with balanced parentheses, such as (&(objectClass=groupOfNames)(member={dn}))',
      );
  });
}

/** A filter string that starts with `(` and whose parentheses balance (escaped ones are `\28`/`\29`). */
function balancedFilter(s: string): boolean {
  if (!s.startsWith('(') || !s.endsWith(')')) return false;
  let depth = 0;
  for (const c of s) {
    depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    if (depth < 0) return false;
  }
  return depth === 0;
}

function checkRule(path: KeyPath, rule: Obj, upstreams: Obj, add: (p: KeyPath, m: string) => void): void {
  for (const [p, v] of listItems([...path, 'networks'], rule.networks)) tryParse(p, v, parseNetwork, add);
  if (rule.groups !== undefined && (rule.policy === 'bypass' || rule.policy === 'deny')) {
    add(
      [...path, 'groups'],
      `cannot be used with policy ${String(rule.policy)} (groups need a signed-in user; use one_factor or two_factor)`,
    );
  }
  ifString(rule.upstream, (s) => {
    if (s.includes('://')) {
      checkUpstreamUrl([...path, 'upstream'], s, add);
    } else if (!Object.hasOwn(upstreams, s)) {
      const known = Object.keys(upstreams);
      const list = known.length === 0 ? 'upstreams is empty' : `known: ${known.join(', ')}`;
      add([...path, 'upstream'], `names no upstream: "${s}" is not an entry of upstreams (${list}) nor an http(s) URL`);
    }
  });
}

function checkUpstreamUrl(path: KeyPath, value: unknown, add: (p: KeyPath, m: string) => void): void {
  ifString(value, (s) => {
    const why = urlProblem(s, 'path');
    if (why) add(path, why);
  });
}

function checkDurations(root: Obj, add: (p: KeyPath, m: string) => void): void {
  for (const path of durationKeys()) {
    const value = path.reduce<unknown>((node, key) => obj(node)[key], root);
    let ms: number;
    try {
      ms = parseDuration(value as string);
    } catch {
      continue; // the schema reports malformed durations
    }
    if (ms === 0) add(path, 'must be longer than zero');
    else if (path[0] === 'server' && ms > MAX_TIMER_MS) add(path, 'must be at most 24d');
  }
  for (const { path, min } of durationMinimums()) {
    const value = path.reduce<unknown>((node, key) => obj(node)[key], root);
    try {
      const ms = parseDuration(value as string);
      // Zero is reported above.
      if (ms > 0 && ms < parseDuration(min)) add(path, `must be at least ${min}`);
    } catch {
      // absent, or malformed (the schema reports it)
    }
  }
  const session = obj(root.session);
  try {
    if (parseDuration(session.idle_timeout as string) > parseDuration(session.absolute_timeout as string)) {
      add(['session', 'idle_timeout'], 'must not be longer than session.absolute_timeout');
    }
  } catch {
    // malformed durations are reported by the schema
  }
}

/**
 * Why a URL is unusable, or undefined. `origin` allows no path beyond `/`; `path` allows
 * a path prefix. Neither allows credentials, a query or a fragment.
 */
function urlProblem(s: string, allow: 'origin' | 'path'): string | undefined {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password';
  if (url.search !== '' || s.includes('?')) return 'must not contain a query (?...)';
  if (url.hash !== '' || s.includes('#')) return 'must not contain a fragment (#...)';
  if (allow === 'origin' && url.pathname !== '/') return 'must be an origin such as https://gateway.example.com, without a path';
  return undefined;
}

function hostOf(value: unknown): string | undefined {
  try {
    return new URL(value as string).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function isSender(s: string): boolean {
  const address = /^[^<>]*<([^<>]+)>$/.exec(s)?.[1] ?? s;
  return /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(address.trim());
}

function tryParse(path: KeyPath, value: unknown, parse: (s: string) => unknown, add: (p: KeyPath, m: string) => void): void {
  ifString(value, (s) => {
    try {
      parse(s);
    } catch (err) {
      add(path, (err as Error).message);
    }
  });
}

function listItems(path: KeyPath, value: unknown): [KeyPath, unknown][] {
  return Array.isArray(value) ? value.map((v, i) => [[...path, i], v]) : [];
}

function ifString(value: unknown, then: (s: string) => void): void {
  if (typeof value === 'string') then(value);
}

function optionalObj(value: unknown): Obj | undefined {
  return value === undefined ? undefined : obj(value);
}

function obj(value: unknown): Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : {};
}

/**
 * WebAuthn binds credentials to a relying party id: a domain name (browsers refuse IP
 * addresses) equal to, or a parent of, the host users reach the gateway on.
 */
function checkWebAuthn(mfa: Obj, host: string | undefined, add: (p: KeyPath, m: string) => void): void {
  const rpId = obj(mfa.webauthn).rp_id;
  const methods = Array.isArray(mfa.methods) ? mfa.methods : ['totp'];
  if (typeof rpId === 'string') {
    const id = rpId.toLowerCase();
    if (isIP(id) !== 0) add(['mfa', 'webauthn', 'rp_id'], 'must be a domain name, not an IP address (browsers refuse IP addresses)');
    else if (host !== undefined && host !== id && !host.endsWith(`.${id}`))
      add(['mfa', 'webauthn', 'rp_id'], `must be the host of server.public_url (${host}) or a parent domain of it`);
  } else if (methods.includes('webauthn') && host !== undefined && isIP(host.replace(/^\[|\]$/g, '')) !== 0) {
    add(
      ['mfa', 'methods'],
      `webauthn needs a domain name: server.public_url's host ${host} is an IP address (browsers refuse it); use a name or set ` +
        `mfa.webauthn.rp_id`,
    );
  }
}

/** `mfa_methods` only means something on a two_factor rule, and must leave users a method they can have. */
function checkRuleMfaMethods(path: KeyPath, rule: Obj, enabled: readonly unknown[], add: (p: KeyPath, m: string) => void): void {
  if (!Array.isArray(rule.mfa_methods)) return;
  const where: KeyPath = [...path, 'mfa_methods'];
  if (rule.policy !== 'two_factor') {
    add(where, `cannot be used with policy ${String(rule.policy)} (it says which second factors satisfy a two_factor rule)`);
    return;
  }
  const kinds = rule.mfa_methods.filter((m) => m === 'totp' || m === 'oath_token' || m === 'webauthn');
  if (kinds.length === 0) add(where, 'must name at least one method kind (totp, oath_token, webauthn)');
  for (const kind of kinds) {
    if (!enabled.includes(kind)) add(where, `names ${String(kind)}, which mfa.methods does not enable: no user could set it up`);
  }
}
