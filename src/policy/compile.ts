/**
 * @module policy/compile
 * Turns the `rules` section of the config into matchers once, at start and on reload, so
 * that `decide` only runs precompiled RegExps, Set lookups and network checks per request.
 * A rule that cannot be compiled throws here, which refuses the config as a whole: a rule
 * the gateway cannot evaluate must never be skipped silently.
 */
import type { LocalizedText, PolicyName, RuleConfig, RuleMfaMethod } from '../config/types.ts';
import type { NetworkSet } from '../client-ip/cidr.ts';
import { createNetworkSet } from '../client-ip/cidr.ts';
import { normalizeHost } from './host.ts';
import { normalizePath } from './path.ts';
import { originKey } from './origin-key.ts';
import { parseDuration } from '../config/duration.ts';

/** Hosts of one rule: exact names, and `*.example.com` stored as the suffix `.example.com`. */
export interface HostMatcher {
  readonly exact: ReadonlySet<string>;
  readonly suffixes: readonly string[];
}

/** What the policy decided for one request: the outcome, the rule behind it, and why. */
export interface Decision {
  outcome: PolicyName;
  /** The matched rule; null when none matched. */
  rule: CompiledRule | null;
  /** A sentence for logs and `explain`: `rule 2 (paths /admin/**) matched`. */
  reason: string;
}

export interface CompiledRule {
  /** Position in the config's `rules` list, from 0 (`rules[index]` in config errors). */
  readonly index: number;
  readonly name: string | undefined;
  /** For people, counted from 1: `rule 2 "admin area" (paths /admin/**, groups admins)`. */
  readonly description: string;
  readonly policy: PolicyName;
  /** Who may pass once signed in; empty = every signed-in user. Not part of matching. */
  readonly groups: readonly string[];
  /** A named upstream or a URL; undefined = the default upstream. */
  readonly upstream: string | undefined;
  readonly appPasswords: boolean;
  /** `mfa_methods`: the second factors (and skips) that satisfy this two_factor rule; null = any. */
  readonly mfaMethods: readonly RuleMfaMethod[] | null;
  /** Normalized origins whose pages may open WebSockets on this rule's routes (see `policy/origin`). */
  readonly allowedOrigins: readonly string[];
  /** null = any host. Hosts are compared after `normalizeHost`. */
  readonly hosts: HostMatcher | null;
  /** Anchored; null = any path. */
  readonly paths: RegExp | null;
  /** Uppercase; null = any method. */
  readonly methods: ReadonlySet<string> | null;
  /** null = any client address. */
  readonly networks: NetworkSet | null;
  /**
   * Names this rule in a session's step-up grant and in reports: its `name`, else `rule N`.
   * A reload that renumbers unnamed rules makes their grants ask again, which fails closed.
   */
  readonly key: string;
  /**
   * Step-up (`mfa_max_age`) in ms: a second factor entered within this long in this session;
   * 0 = a code entered for this rule, within `stepUpGrantMs`; null = no step-up.
   */
  readonly mfaMaxAge: number | null;
  /** With `mfaMaxAge` 0: how long a code entered for this rule keeps it open. */
  readonly stepUpGrantMs: number;
  /** `mode: report_only`: evaluated and reported (`policy/report`), never enforced. */
  readonly reportOnly: boolean;
  /** What `decide` returns when this rule matches: shared and frozen, so matching allocates nothing. */
  readonly decision: Decision;
  /** `explanation` and `remediation` for the pages this rule causes; null when it has neither. */
  readonly texts: RuleTexts | null;
}

/** A rule's texts for people, by language; `en` is always there and is the fallback. */
export interface RuleTexts {
  readonly explanation: Readonly<Record<string, string>> | null;
  readonly remediation: Readonly<Record<string, string>> | null;
}

/** The rule's texts in `lang` (else English), each null when the rule has none. */
export function ruleTextsIn(texts: RuleTexts, lang: string): { explanation: string | null; remediation: string | null } {
  const pick = (t: Readonly<Record<string, string>> | null) => (t === null ? null : (t[lang] ?? t.en ?? null));
  return { explanation: pick(texts.explanation), remediation: pick(texts.remediation) };
}

/** The texts of the rule with this key (see `CompiledRule.key`), or null: what pages look up from a key in their URL. */
export function ruleTextsByKey(policy: CompiledPolicy, key: string | null | undefined): RuleTexts | null {
  if (key === null || key === undefined) return null;
  return policy.rules.find((r) => r.key === key)?.texts ?? null;
}

export interface CompiledPolicy {
  /** Every rule, in config order (report-only ones included). */
  readonly rules: readonly CompiledRule[];
  /** The rules `decide` matches: those that are enforced. */
  readonly enforced: readonly CompiledRule[];
  /** `mode: report_only` rules in config order; null when there are none, so requests pay nothing for them. */
  readonly reportOnly: readonly CompiledRule[] | null;
}

/**
 * Compiles rules in order; the first that matches a request wins (see `decide`).
 *
 * Path globs: `*` matches within one segment, a whole segment `**` matches any depth
 * including none (`/admin/**` matches `/admin`, `/admin/` and everything below). Globs
 * are normalized like request paths (so `/%7Euser/**` and `/~user/**` are one glob) and
 * match case-insensitively unless the rule says `case_sensitive: true`, because legacy
 * IIS apps serve `/ADMIN` and `/admin` alike.
 *
 * Hosts: exact, or `*.example.com` for any depth of subdomain but not `example.com`
 * itself; lowercased, with a port or trailing dot ignored. Methods: uppercased.
 *
 * @throws Error naming `rules[i]` and the bad value (an empty list, a glob that is not a
 *   normalizable path or uses `**` inside a segment, a malformed host or network).
 */
export function compilePolicy(rules: readonly RuleConfig[]): CompiledPolicy {
  const compiled = Object.freeze(rules.map((rule, index) => compileRule(rule, index)));
  const reportOnly = compiled.filter((r) => r.reportOnly);
  return Object.freeze({
    rules: compiled,
    enforced: Object.freeze(compiled.filter((r) => !r.reportOnly)),
    reportOnly: reportOnly.length === 0 ? null : Object.freeze(reportOnly),
  });
}

function compileRule(rule: RuleConfig, index: number): CompiledRule {
  const where = `rules[${index}]`;
  const listOf = (key: 'hosts' | 'paths' | 'methods' | 'networks' | 'groups'): string[] | null => {
    const list = rule[key];
    if (list === undefined) return null;
    if (list.length === 0) throw new Error(`${where}.${key} is empty; leave it out to match any`);
    return list;
  };
  const hosts = listOf('hosts');
  const paths = listOf('paths');
  const methods = listOf('methods');
  const networks = listOf('networks');
  const groups = listOf('groups') ?? [];

  let networkSet: NetworkSet | null = null;
  if (networks !== null) {
    try {
      networkSet = createNetworkSet(networks);
    } catch (err) {
      throw new Error(`${where}.networks: ${(err as Error).message}`);
    }
  }

  let mfaMaxAge: number | null = null;
  if (rule.mfa_max_age !== undefined) {
    if (rule.policy === 'bypass' || rule.policy === 'deny')
      throw new Error(`${where}.mfa_max_age cannot be used with policy ${rule.policy} (step-up needs a signed-in user)`);
    mfaMaxAge = rule.mfa_max_age === 0 ? 0 : parseDuration(rule.mfa_max_age);
  }
  const stepUpGrantMs = parseDuration(rule.step_up_grant ?? '5m');
  if (stepUpGrantMs === 0) throw new Error(`${where}.step_up_grant must be longer than zero`);

  const description = describe(rule, index);
  const decision: { outcome: PolicyName; rule: CompiledRule | null; reason: string } = {
    outcome: rule.policy,
    rule: null,
    reason: `${description} matched`,
  };
  const compiled: CompiledRule = Object.freeze({
    index,
    name: rule.name,
    description,
    policy: rule.policy,
    groups: Object.freeze([...groups]),
    upstream: rule.upstream,
    appPasswords: rule.app_passwords ?? false,
    mfaMethods: rule.mfa_methods === undefined ? null : Object.freeze([...rule.mfa_methods]),
    allowedOrigins: Object.freeze(compileOrigins(rule.allowed_origins ?? [], where)),
    hosts: hosts === null ? null : compileHosts(hosts, where),
    paths: paths === null ? null : compilePaths(paths, rule.case_sensitive ?? false, where),
    methods: methods === null ? null : new Set(methods.map((m) => m.toUpperCase())),
    networks: networkSet,
    key: rule.name ?? `rule ${index + 1}`,
    mfaMaxAge,
    stepUpGrantMs,
    reportOnly: rule.mode === 'report_only',
    decision,
    texts: compileTexts(rule),
  });
  decision.rule = compiled;
  Object.freeze(decision);
  return compiled;
}

function compileTexts(rule: RuleConfig): RuleTexts | null {
  const byLanguage = (t: LocalizedText | undefined) =>
    t === undefined ? null : Object.freeze(typeof t === 'string' ? { en: t } : { ...t });
  const explanation = byLanguage(rule.explanation);
  const remediation = byLanguage(rule.remediation);
  return explanation === null && remediation === null ? null : Object.freeze({ explanation, remediation });
}

function compileOrigins(origins: readonly string[], where: string): string[] {
  return origins.map((o, i) => {
    try {
      return originKey(o);
    } catch (err) {
      throw new Error(`${where}.allowed_origins[${i}]: ${(err as Error).message}`);
    }
  });
}

function compileHosts(hosts: readonly string[], where: string): HostMatcher {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const host of hosts) {
    const wildcard = host.startsWith('*.');
    const normalized = normalizeHost(wildcard ? host.slice(2) : host);
    if (normalized === null) {
      throw new Error(`${where}.hosts: ${JSON.stringify(host)} is not a host name, an IP address or *.domain`);
    }
    if (wildcard) suffixes.push(`.${normalized}`);
    else exact.add(normalized);
  }
  return Object.freeze({ exact, suffixes: Object.freeze(suffixes) });
}

function compilePaths(globs: readonly string[], caseSensitive: boolean, where: string): RegExp {
  const sources = globs.map((glob) => {
    const normalized = glob.startsWith('/') && !glob.includes('?') ? normalizePath(glob) : null;
    if (normalized === null || !normalized.ok) {
      const why = normalized === null ? 'a path glob starts with / and has no ?' : normalized.reason;
      throw new Error(`${where}.paths: ${JSON.stringify(glob)} is not a usable path glob (${why})`);
    }
    return globSource(normalized.path, glob, where);
  });
  return new RegExp(`^(?:${sources.join('|')})$`, caseSensitive ? '' : 'i');
}

/** One normalized glob as a RegExp source, unanchored. */
function globSource(glob: string, original: string, where: string): string {
  const segments = glob.split('/');
  let source = '';
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === '**') {
      // `/**` = nothing, or a slash and anything after it: `/a/**` meets `/a`, `/a/`, `/a/b/c`.
      source += '(?:/.*)?';
      continue;
    }
    if (segment.includes('**'))
      throw new Error(`${where}.paths: ${JSON.stringify(original)} uses ** inside a segment; ** must be a whole segment`);
    source += `/${segment.split('*').map(escapeRegExp).join('[^/]*')}`;
  }
  return source;
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** `rule 2 "name" (hosts a or b, paths /x/**, methods GET, networks 10.0.0.0/8, groups admins)`. */
function describe(rule: RuleConfig, index: number): string {
  const parts: string[] = [];
  for (const key of ['hosts', 'paths', 'methods', 'networks', 'groups'] as const) {
    const list = rule[key];
    if (list !== undefined && list.length > 0)
      parts.push(`${key} ${(key === 'methods' ? list.map((m) => m.toUpperCase()) : list).join(' or ')}`);
  }
  if (rule.case_sensitive === true && rule.paths !== undefined) parts.push('case-sensitive paths');
  if (rule.mode === 'report_only') parts.push('report only');
  if (rule.mfa_max_age !== undefined)
    parts.push(rule.mfa_max_age === 0 || parseDuration(rule.mfa_max_age) === 0 ? 'step-up at every visit' : `step-up ${rule.mfa_max_age}`);
  if (rule.mfa_methods !== undefined) parts.push(`second factor ${rule.mfa_methods.join(' or ')}`);
  const name = rule.name === undefined ? '' : ` ${JSON.stringify(rule.name)}`;
  return `rule ${index + 1}${name} (${parts.length === 0 ? 'any request' : parts.join(', ')})`;
}
