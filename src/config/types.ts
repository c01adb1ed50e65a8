/**
 * @module config/types
 * The validated, defaulted and frozen shape of `gateway.yaml`. The JSON Schema in
 * `config/schema.json` is the source of truth (defaults, descriptions, limits);
 * these types mirror it so the rest of the code can rely on every default being set.
 *
 * Durations are strings such as `30s`, `15m`, `12h`, `14d` (see `parseDuration`);
 * the Azure-style lockout numbers are plain minutes, as Azure names them.
 */

type Duration = string;

export type PolicyName = 'bypass' | 'one_factor' | 'two_factor' | 'deny';

export type MethodKind = 'totp' | 'oath_token' | 'webauthn';

interface ServerConfig {
  /** `host:port`, `[v6]:port` or `:port`. */
  listen: string;
  /** The URL users reach the gateway at; decides cookie security and the sign-in links. */
  public_url: string;
  /** CIDRs of hops allowed to set X-Forwarded-For / Forwarded. */
  trusted_proxies: string[];
  /** Further origins whose pages may open signed-in WebSockets (the protected hosts always may). */
  allowed_origins: string[];
  /** The reserved prefix of the gateway's own pages, with leading and trailing slash. */
  path_prefix: string;
  /** `auto` (one per core) or a count; 1 runs in-process without node:cluster. */
  workers: number | 'auto';
  /** Prometheus metrics on a listener of their own; omitted = none. */
  metrics?: { listen: string };
  timeouts: {
    /** Time to open a connection to the upstream before answering 502. */
    upstream_connect: Duration;
    /** Time to wait for the upstream's response headers (and between body chunks) before answering 504. */
    upstream_response: Duration;
    /** Time a client has to send its request headers. */
    request_headers: Duration;
    /** Keep-alive idle time of client connections. */
    keep_alive: Duration;
  };
  limits: {
    /** Largest request header block in bytes; larger answers 431. */
    max_header_bytes: number;
    /** Longest request target in bytes; longer answers 414. */
    max_url_bytes: number;
  };
}

interface UpstreamConfig {
  url: string;
  /** Paths Java or IIS servers read differently (`/admin;x/`, `/admin./`): refused, or rewritten into that reading. */
  legacy_paths: 'refuse' | 'rewrite';
}

export interface SessionConfig {
  cookie_name: string;
  /** At least 32 characters. Several secrets: the first seals, all unseal (rotation). */
  secret: string;
  previous_secrets: string[];
  idle_timeout: Duration;
  absolute_timeout: Duration;
  /** Most sessions one user may have at once (the oldest are ended); 0 = no limit. */
  max_per_user: number;
  /** Domain attribute for sharing the session across subdomains; omitted = host-only. */
  domain?: string;
}

export interface StoreConfig {
  sqlite?: { path: string };
  postgres?: { url: string };
  /**
   * Encrypts second-factor secrets at rest (AES-256-GCM); 32 bytes as 64 hex characters or
   * base64. Optional with SQLite: a key file `<sqlite path>.key` (mode 0600) is created on
   * first start. Required with PostgreSQL, where every instance must share it.
   */
  encryption_key?: string;
  /** Older keys still accepted for decryption while secrets are re-encrypted. */
  previous_encryption_keys: string[];
}

interface UsersConfig {
  file: string;
  /** The group whose members may use the admin pages and commands. */
  admin_group: string;
  /** A directory as a second source of users (after the users file, which wins on equal names). */
  ldap?: LdapConfig;
}

/** `users.ldap`: sign-in against Active Directory or OpenLDAP (see `factors/ldap`). */
export interface LdapConfig {
  /** One URL or a list tried in order (failover); `ldap://` or `ldaps://`. */
  url: string | string[];
  start_tls: boolean;
  tls: { ca_file?: string; server_name?: string; min_version: 'TLSv1.2' | 'TLSv1.3' };
  /** The service account that searches users and groups; omitted = anonymous search. */
  bind_dn?: string;
  bind_password?: string;
  base_dn: string;
  implementation: 'activedirectory' | 'openldap' | 'custom';
  user_filter?: string;
  username_attribute?: string;
  mail_attribute?: string;
  display_name_attribute?: string;
  /** `filter`: search groups with `group_filter`; `memberof`: read the user's `memberOf`. */
  group_search: 'filter' | 'memberof';
  group_base_dn?: string;
  group_filter?: string;
  group_name_attribute?: string;
  /** Bound of each connect and each directory operation. */
  timeout: Duration;
  /** Service-account connections kept open. */
  pool_size: number;
  /** How long a user's entry and groups are used before they are read again. */
  cache_ttl: Duration;
  /** How long past `cache_ttl` signed-in sessions keep working while the directory cannot be reached. */
  outage_grace: Duration;
}

/** `identity.jwt`: the signed assertion for the app (see `proxy/assertion`). */
export interface JwtAssertionConfig {
  enabled: boolean;
  header: string;
  ttl: Duration;
  audience?: string;
  key_file?: string;
  previous_key_files: string[];
}

export interface FederationConfig {
  oidc?: {
    issuer: string;
    client_id: string;
    client_secret: string;
    display_name: string;
    scopes: string[];
    claims: { username: string; email: string; name: string; groups: string };
    intranet_claim: { name: string; value: string | boolean };
    /** Treat an `amr` claim containing `mfa` as the second factor. */
    trust_amr_mfa: boolean;
    /** Create a gateway user on first federated sign-in. */
    create_users: boolean;
    /** Offer the local password form next to the provider button. */
    local_passwords: boolean;
    /** Sign-out goes on to the provider's `end_session_endpoint` (RP-initiated logout). */
    end_session: boolean;
    /** How often a federated session's user is confirmed at the provider (a duration); absent: never. */
    revalidate_every?: string;
  };
}

export interface MfaConfig {
  methods: MethodKind[];
  /** Where a user without any method may enroll their first one. */
  first_enrollment: 'anywhere' | 'trusted_networks';
  /** `issuer` defaults to `portal.organization`, else `MFA Gateway` (filled at load). */
  totp: { issuer: string; period: 30 | 60; skew_steps: number };
  lockout: { denials: number; counter_reset_minutes: number; auto_unblock_minutes: number };
  password_lockout: { denials: number; counter_reset_minutes: number; auto_unblock_minutes: number };
  source_throttle: { enabled: boolean; failures: number; window_minutes: number; ipv4_prefix: number; ipv6_prefix: number };
  block: { days: number };
  fraud_alert: {
    enabled: boolean;
    auto_block: boolean;
    notify: string[];
    sign_in_notice: 'new_browser' | 'always' | 'never';
  };
  trusted_ips: { ranges: string[]; federated_intranet_claim: boolean };
  remember_device: { enabled: boolean; days: number };
  max_methods_per_user: number;
  app_passwords: { enabled: boolean };
  webauthn: WebAuthnConfig;
}

interface WebAuthnConfig {
  /** Default: the host of `server.public_url`. */
  rp_id?: string;
  /** Default: `portal.organization`, else `MFA Gateway` (filled at load). */
  rp_name: string;
  user_verification: 'preferred' | 'required';
  attestation: 'none' | 'direct';
  allowed_aaguids: string[];
  allow_synced_passkeys: boolean;
  timeout: Duration;
  passwordless: boolean;
}

export interface NotificationsConfig {
  /** The language of the mails to the admin addresses. */
  language: 'en' | 'de';
  smtp?: {
    host: string;
    port: number;
    /** `starttls` upgrades a plain connection; `tls` connects with TLS; `none` for loopback relays. */
    security: 'starttls' | 'tls' | 'none';
    username?: string;
    password?: string;
    from: string;
  };
}

/** The gateway's own pages. */
/** Per language (`en`, `de`, ...), message key to text. */
export type MessagesConfig = Record<string, Record<string, string>>;

/** A text for people: one string, or one per language (`en` required, `de`). */
export type LocalizedText = string | { en: string; de?: string };

/** `portal.help`: whom users contact, in the footer of every page. */
export interface HelpContact {
  text: LocalizedText;
  /** Shown as written, linked as `tel:` with only its digits and `+`. */
  phone?: string;
  email?: string;
  /** A help page. */
  url?: string;
}

/** `portal`: the gateway's own pages. */
interface PortalConfig {
  /** The organization's name: the default TOTP issuer and WebAuthn relying party name. */
  organization?: string;
  /** Absent: the footer's `footer_help` text. */
  help?: HelpContact;
}

export interface RuleConfig {
  /** Optional label shown by `explain` and in logs. */
  name?: string;
  hosts?: string[];
  paths?: string[];
  methods?: string[];
  networks?: string[];
  groups?: string[];
  /** Path globs match case-insensitively unless this is true. */
  case_sensitive?: boolean;
  /** Accept HTTP Basic with an app password on this rule. */
  app_passwords?: boolean;
  /** Further origins whose pages may open signed-in WebSockets on this rule's routes. */
  allowed_origins?: string[];
  /** A named upstream from `upstreams`, or a URL. */
  upstream?: string;
  /** On a two_factor rule: the second factors (and skips) that satisfy it; absent = any. */
  mfa_methods?: RuleMfaMethod[];
  policy: PolicyName;
  /**
   * Step-up: a second factor entered within this long in this session (`15m`), or `0` for a
   * code at every new visit (kept for `step_up_grant`, for this rule only). Overrides the
   * trusted-network skip and remembered browsers on this rule.
   */
  mfa_max_age?: string | 0;
  /** With `mfa_max_age: 0`: how long the code entered for this rule opens it. Default 5m. */
  step_up_grant?: string;
  /** `report_only`: evaluated and reported (metrics, `mfa-gateway impact`), never enforced. Default `enforce`. */
  mode?: 'enforce' | 'report_only';
  /** Why the rule refuses or asks for more; shown on the pages it causes. */
  explanation?: LocalizedText;
  /** What an affected user can do about it. */
  remediation?: LocalizedText;
}

/** What a rule's `mfa_methods` may list: a method kind, or a way of skipping the second factor. */
export type RuleMfaMethod = MethodKind | 'trusted_network' | 'remembered_browser';

interface LogConfig {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** Sign-in log retention. */
  sign_in_retention: Duration;
}

export interface GatewayConfig {
  server: ServerConfig;
  upstream: UpstreamConfig;
  /** Named upstreams a rule may pick with `upstream: NAME`. */
  upstreams: Record<string, UpstreamConfig>;
  session: SessionConfig;
  store: StoreConfig;
  users: UsersConfig;
  identity: { jwt: JwtAssertionConfig };
  federation: FederationConfig;
  mfa: MfaConfig;
  notifications: NotificationsConfig;
  portal: PortalConfig;
  messages: MessagesConfig;
  log: LogConfig;
  rules: RuleConfig[];
}

/** One problem found while loading a config file. */
export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem has no place in the file (a missing file, a missing env var's key still has one). */
  line: number;
  column: number;
  /** Dotted key path such as `mfa.lockout.denials` or `rules[2].policy`; empty for the whole file. */
  path: string;
  message: string;
}
