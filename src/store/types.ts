/**
 * @module store/types
 * The contracts of the shared store, one narrow interface per consumer: the second-factor
 * code sees only {@link MethodStore}, the enrollment page only {@link PendingEnrollmentStore},
 * the session check only {@link RevocationStore}, the sign-in log only {@link AuditStore}.
 * One implementation (`store/sql/`) serves SQLite and PostgreSQL as one {@link Store}; both
 * must pass the conformance suite in `test/store/conformance.ts`.
 *
 * Every method returns a Promise even where SQLite answers synchronously, so a networked
 * backend fits the same contracts. Times are epoch milliseconds from the injected clock.
 * User names are keyed case-insensitively through {@link userKey}; callers may pass the name
 * as typed or the canonical name from the users file.
 */

/** Hash algorithms a TOTP/OATH method may use (RFC 6238 section 1.2). */
export type OtpAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** Second-factor methods whose secret lives in this store. */
export type SecretMethodKind = 'totp' | 'oath_token';

/** A second-factor method as listed on the account page; never carries the secret. */
export interface MethodInfo {
  id: string;
  /** The user key ({@link userKey}) the method belongs to. */
  user: string;
  kind: SecretMethodKind;
  label: string;
  createdAt: number;
  lastUsedAt: number | null;
  /** Imported hardware tokens stay inactive until their first code is entered. */
  active: boolean;
  period: 30 | 60;
  digits: 6 | 8;
  algorithm: OtpAlgorithm;
  /** The last time step (RFC 6238 `T`) accepted for this method; replay protection. */
  lastStep: number | null;
}

export interface NewMethod {
  user: string;
  kind: SecretMethodKind;
  label: string;
  /** The raw shared secret; the store seals it before it touches disk. */
  secret: Buffer;
  period: 30 | 60;
  digits: 6 | 8;
  algorithm: OtpAlgorithm;
  active: boolean;
  /** A step already used (the enrollment confirmation code), so it cannot be replayed. */
  lastStep?: number | null;
}

export type AddMethodResult = { ok: true; method: MethodInfo } | { ok: false; reason: 'limit_reached' };

/** A security key or passkey (WebAuthn) as stored; the public key is not a secret. */
export interface WebAuthnCredentialInfo {
  id: string;
  /** The authenticator's credential id, base64url. */
  credentialId: string;
  /** The user key ({@link userKey}) the credential belongs to. */
  user: string;
  label: string;
  /** COSE public key, base64url. */
  publicKey: string;
  signCount: number;
  transports: string[];
  /** The authenticator model's id (all zeros when the authenticator does not say). */
  aaguid: string;
  /** Backup eligible (a synced passkey) and backed up, from the authenticator data flags. */
  backupEligible: boolean;
  backedUp: boolean;
  /** Registered as a discoverable credential (a passkey that can sign in without a user name). */
  discoverable: boolean;
  createdAt: number;
  lastUsedAt: number | null;
}

type NewWebAuthnCredential = Omit<WebAuthnCredentialInfo, 'id' | 'createdAt' | 'lastUsedAt'>;

export type AddCredentialResult =
  | { ok: true; credential: WebAuthnCredentialInfo }
  | { ok: false; reason: 'limit_reached' | 'credential_taken' };

export type WebAuthnChallengePurpose = 'register' | 'authenticate' | 'passwordless';

/** Security keys and passkeys, and the one-time challenges of their ceremonies. */
export interface WebAuthnStore {
  listCredentials(user: string): Promise<WebAuthnCredentialInfo[]>;
  /** Adds a credential unless the user has `maxPerUser` methods of any kind, or the credential id is registered already. */
  addCredential(credential: NewWebAuthnCredential, maxPerUser: number): Promise<AddCredentialResult>;
  credentialById(credentialId: string): Promise<WebAuthnCredentialInfo | null>;
  /**
   * Records a use: the new signature counter, backup state and time, only if the counter
   * moved forward (or both are 0, for authenticators without a counter). False = refused
   * (a counter that went backwards or a parallel use of the same value: a cloned authenticator).
   */
  claimSignCount(id: string, signCount: number, backedUp: boolean, now: number): Promise<boolean>;
  removeCredential(user: string, id: string): Promise<boolean>;
  renameCredential(user: string, id: string, label: string): Promise<boolean>;
  /** Every credential of the user, removed (MFA reset); returns what was removed. */
  removeAllCredentials(user: string): Promise<WebAuthnCredentialInfo[]>;
  /** Keeps a challenge until `expiresAt`; `user` is empty for a passkey sign-in. Prunes expired ones. */
  saveChallenge(input: { challenge: string; purpose: WebAuthnChallengePurpose; user: string; expiresAt: number }): Promise<void>;
  /** Uses a challenge once: its user when it existed for this purpose and had not expired, else null. */
  takeChallenge(challenge: string, purpose: WebAuthnChallengePurpose, now: number): Promise<{ user: string } | null>;
}

/** What the second-factor check and the account page need. */
export interface MethodStore {
  listMethods(user: string): Promise<MethodInfo[]>;
  /** Adds a method unless the user already has `maxPerUser` methods (checked atomically). */
  addMethod(method: NewMethod, maxPerUser: number): Promise<AddMethodResult>;
  /** Removes a method of this user; false when the user has no such method. */
  removeMethod(user: string, id: string): Promise<boolean>;
  renameMethod(user: string, id: string, label: string): Promise<boolean>;
  countMethods(user: string): Promise<number>;
  /** The decrypted secret, or null when no such method exists. Throws if the ciphertext was tampered with. */
  secretOf(id: string): Promise<Buffer | null>;
  /**
   * Atomically accepts time step `step` for a method: succeeds only if `step` is greater than
   * the last accepted step, then records it (and `lastUsedAt`). Of two parallel verifications
   * of the same code exactly one gets `true`; a code from an earlier step after a later one
   * succeeded gets `false`. This is the replay protection of RFC 6238 section 5.2.
   * An inactive method (an imported token not yet activated) never claims a step.
   */
  claimStep(methodId: string, step: number): Promise<boolean>;
}

/** A TOTP secret shown on the enrollment page and not yet confirmed with a code. */
export interface PendingEnrollment {
  id: string;
  user: string;
  secret: Buffer;
  period: 30 | 60;
  digits: 6 | 8;
  algorithm: OtpAlgorithm;
  createdAt: number;
  expiresAt: number;
}

export type CompleteEnrollmentResult = { ok: true; method: MethodInfo } | { ok: false; reason: 'expired' | 'limit_reached' };

/** What the enrollment page needs. A user has at most one pending enrollment. */
export interface PendingEnrollmentStore {
  /** Stores a new pending secret for the user, replacing any earlier one; purges expired ones. */
  createPending(input: {
    user: string;
    secret: Buffer;
    period: 30 | 60;
    digits: 6 | 8;
    algorithm: OtpAlgorithm;
    ttlMs: number;
  }): Promise<PendingEnrollment>;
  /** The user's unexpired pending enrollment, or null. */
  getPending(user: string): Promise<PendingEnrollment | null>;
  /**
   * Turns the pending enrollment `pendingId` into an active `totp` method in one transaction,
   * with `step` (the confirmation code's step) already claimed. Fails with `expired` when
   * the pending enrollment is gone, expired or was replaced, and with `limit_reached` when
   * the user already has `maxPerUser` methods (the pending enrollment then stays).
   */
  completeEnrollment(input: {
    user: string;
    pendingId: string;
    label: string;
    step: number;
    maxPerUser: number;
  }): Promise<CompleteEnrollmentResult>;
  cancelPending(user: string): Promise<void>;
}

/** What the per-request session check and the "sign out everywhere" actions need. */
export interface RevocationStore {
  /** Sessions issued at or before this time (epoch ms) are invalid; null when never revoked. */
  sessionsRevokedAt(user: string): Promise<number | null>;
  /** Remembered browsers ("don't ask again") issued at or before this time are invalid. */
  devicesRevokedAt(user: string): Promise<number | null>;
  /** Sets the revocation time to now and bumps {@link changeSeq}; returns the time set. */
  revokeSessions(user: string): Promise<number>;
  revokeDevices(user: string): Promise<number>;
  /**
   * A global counter that grows on every revocation (and, in later versions, block change).
   * Reading it is one indexed row, cheap enough to poll every few hundred milliseconds so a
   * change made by an admin command in another process reaches every gateway within a second.
   */
  changeSeq(): Promise<number>;
  /**
   * The revocation records changed after change counter value `seq` (all of them for 0),
   * with the counter value they are current as of: a poller keeps `seq` and asks again when
   * {@link changeSeq} moved. Read as one snapshot, so no change falls between the two.
   */
  revocationsSince(seq: number): Promise<{ seq: number; entries: RevocationRecord[] }>;
}

interface RevocationRecord {
  /** The user key ({@link userKey}). */
  user: string;
  sessionsRevokedAt: number | null;
  devicesRevokedAt: number | null;
  /** When the user's current block ends (it may lie in the past: blocks expire by the clock); null when unblocked or never blocked. */
  blockedUntil: number | null;
}

/** One session ended on the server by its id (sign-out), kept until it would have expired anyway. */
interface RevokedSession {
  /** The session id (`SessionData.sid`). */
  sid: string;
  /** The user key ({@link userKey}). */
  user: string;
  revokedAt: number;
  /** The session's absolute timeout: after this no copy of its cookie works anyway, so the record may go. */
  expiresAt: number;
}

/**
 * Sessions ended one by one (sign-out): every copy of that session's cookie is refused on
 * every instance, while the user's other sessions go on. Every change bumps
 * {@link RevocationStore.changeSeq}, so the change feed carries it to every gateway.
 */
export interface SessionRevocationStore {
  /** Records the session id as ended (idempotent: a second call keeps the first record). */
  revokeSession(input: { sid: string; user: string; expiresAt: number }): Promise<void>;
  /**
   * Session ids ended after change counter value `seq` (all for 0) that have not expired, with the counter they are current as of (one
   * snapshot).
   */
  revokedSessionsSince(seq: number): Promise<{ seq: number; entries: RevokedSession[] }>;
  /** Deletes the records whose `expiresAt` is at or before `now`; returns how many. */
  pruneRevokedSessions(now: number): Promise<number>;
}

/** How the second factor was skipped, when it was: a remembered browser or a trusted network. */
export type SessionSkip = 'remembered' | 'trusted_network';

/** One live session as the session index records it (see {@link SessionIndexStore}). */
export interface IndexedSession {
  /** The stable session id (`SessionData.sid`), the same for the session's whole life. */
  sid: string;
  /** The user name as it signed in. */
  user: string;
  createdAt: number;
  /** Coarse: moves at most once per renewal interval (a quarter of the idle timeout). */
  lastSeen: number;
  /** The absolute timeout. */
  expiresAt: number;
  createdIp: string;
  createdUserAgent: string;
  lastIp: string;
  lastUserAgent: string;
  /** How each factor was satisfied, as RFC 8176 `amr` values (`pwd`, `otp`, `mfa`, ...). */
  amr: string[];
  skip: SessionSkip | null;
  /** Signed in through the identity provider (`federation.oidc`) rather than locally. */
  federated: boolean;
  /** The identity provider's session id (`sid` claim of the ID token), for back-channel logout. */
  providerSid: string | null;
  /** The identity provider's subject (`sub`), for back-channel logout. */
  providerSub: string | null;
}

/**
 * The session index: a record per live session, so sessions can be listed and ended one by
 * one. Requests never read it (the in-memory revocation view decides); it is written when a
 * session starts or changes level, touched at most once per renewal interval, and read by
 * the account and admin pages, the CLI and back-channel logout. Ending a session records its
 * id as revoked ({@link SessionRevocationStore}) and removes its row in one transaction.
 */
export interface SessionIndexStore {
  /**
   * Creates or replaces the record of `sid` (a change of level keeps `createdAt`, `createdIp` and
   * `createdUserAgent`, and the provider's `sid`/`sub` when the new record has none). With
   * `revalidation`, a federated session keeps what it is revalidated with ({@link RevalidationStore});
   * a change of level without it keeps what the session had.
   */
  indexSession(session: IndexedSession, revalidation?: RevalidationStart): Promise<void>;
  /** Moves `lastSeen`, address and browser of a live record; a missing record stays missing. */
  touchSession(sid: string, seen: { at: number; ip: string; userAgent: string }): Promise<void>;
  /** The user's live sessions (any spelling of the name), oldest first. */
  listSessions(user: string): Promise<IndexedSession[]>;
  /** The live sessions of a provider subject or provider session (at least one given). */
  providerSessions(match: { sid?: string; sub?: string }): Promise<IndexedSession[]>;
  /**
   * Ends the user's session `sid`: its id is recorded as revoked until its absolute timeout
   * and its record goes, in one transaction. False when the user has no such live session.
   */
  endSession(user: string, sid: string): Promise<boolean>;
  /** Records a logout token's `jti` until `expiresAt`; false when it was already used (a replay). */
  useLogoutToken(jti: string, expiresAt: number): Promise<boolean>;
  /** Deletes expired session records and logout-token ids; returns how many. */
  pruneSessionIndex(now: number): Promise<number>;
}

/**
 * What a federated session asks the identity provider with (`federation.oidc.revalidate_every`).
 * The store seals both tokens before they touch disk, bound to the session's id.
 */
export interface ProviderTokens {
  refreshToken: string | null;
  accessToken: string | null;
  /** When the access token expires (epoch ms); null when the provider did not say. */
  accessExpiresAt: number | null;
}

/** A federated session's revalidation as it starts: its tokens, and when it is first due. */
export interface RevalidationStart {
  tokens: ProviderTokens;
  dueAt: number;
}

/** A session claimed for revalidation by {@link RevalidationStore.claimRevalidations}. */
export interface DueRevalidation {
  sid: string;
  /** The user name as it signed in. */
  user: string;
  /** The provider's subject (`sub`) of the session. */
  providerSub: string | null;
  /** The tokens as kept; a token that no longer opens (its key is gone) reads as null. */
  tokens: ProviderTokens;
  /** When the provider last vouched for the user (the sign-in at first). */
  revalidatedAt: number;
  /** The claim: pass it back to {@link RevalidationStore.finishRevalidation}. */
  claim: number;
}

/**
 * Federated sessions revalidated at the identity provider, in the session index's rows. A due
 * session is claimed by one conditional update that moves its due time to the end of a lease, so
 * of several gateways on one database exactly one asks the provider about it (a refresh token
 * used twice would make the provider revoke the grant). Ending the session (the session index)
 * removes what it kept.
 */
export interface RevalidationStore {
  /**
   * Claims up to `limit` live sessions due at `now` (the soonest due; returned in no order): each one's due time becomes
   * `leaseUntil`, the claim. Of parallel claims, across processes too, exactly one gets a session;
   * another gets it again only after the lease, if the claimer never finished.
   */
  claimRevalidations(now: number, leaseUntil: number, limit: number): Promise<DueRevalidation[]>;
  /**
   * Finishes a claim: next due at `dueAt`; with `confirmed`, the provider vouched for the user at
   * `confirmed.at` and these are the tokens now. False when the claim was lost (the session ended,
   * or the lease ran out and another process claimed it).
   */
  finishRevalidation(
    sid: string,
    claim: number,
    next: { dueAt: number; confirmed?: { at: number; tokens: ProviderTokens } },
  ): Promise<boolean>;
}

/** The two lockout counters a user has: denied passwords and denied second-factor codes. */
export type LockoutFactor = 'password' | 'second_factor';

/** Azure MFA's three lockout numbers, in milliseconds where they are times. */
export interface LockoutPolicy {
  /** Denials that lock the account. */
  denials: number;
  /** A denial stops counting this long after it happened (a sliding window). */
  counterResetMs: number;
  /** How long a lock lasts before it lifts by itself. */
  autoUnblockMs: number;
}

/** One lockout counter as stored. */
export interface LockoutCounter {
  /** Times (epoch ms) of the denials on record, oldest first; may include ones that no longer count. */
  denials: readonly number[];
  /** When the lock set by the last counted denial ends; null when none was set. */
  lockedUntil: number | null;
}

/**
 * The verdict on one attempt (see `regulation/lockout`): refused because the account is
 * locked, or allowed with the attempt already counted as a denial (`next` is the counter
 * as stored now; `next.lockedUntil` is set when a denial of this attempt locks the account).
 */
export type Regulation = { allowed: true; next: LockoutCounter } | { allowed: false; until: number };

/** What account lockout needs: counters that reserve an attempt before it is evaluated. */
export interface LockoutStore {
  /**
   * Decides an attempt and, when allowed, counts it as a denial in the same transaction,
   * before the caller evaluates the password or code. Of fifty parallel attempts with one
   * left, across processes too, exactly one is allowed. A success then calls {@link clearLockout}.
   * `user` is the name as typed; counters are keyed by {@link userKey}, unknown names included.
   */
  regulateAttempt(user: string, factor: LockoutFactor, policy: LockoutPolicy): Promise<Regulation>;
  /** Forgets the counter and any lock (a successful attempt). */
  clearLockout(user: string, factor: LockoutFactor): Promise<void>;
  /** The counter as stored (empty when none), for showing a lock without counting anything. */
  lockoutCounter(user: string, factor: LockoutFactor): Promise<LockoutCounter>;
}

/** `mfa.source_throttle` in milliseconds: `failures` failed attempts within `windowMs` refuse the source. */
export interface SourceThrottlePolicy {
  failures: number;
  /** A failure stops counting this long after it happened (a sliding window). */
  windowMs: number;
}

/**
 * The verdict on one attempt from a source (see `regulation/source-throttle`): refused until
 * `retryAt`, or allowed with the attempt already counted as a failure at `next.at(-1)`.
 */
export type SourceVerdict = { allowed: true; next: readonly number[] } | { allowed: false; retryAt: number };

/** What the per-source throttle needs: failure windows shared by every gateway on the store. */
export interface SourceThrottleStore {
  /**
   * Decides an attempt from `source` (an address or a network, as `sourceKey` spells it) and,
   * when allowed, counts it as a failure in the same transaction, before the password is
   * checked. Of many parallel attempts with one left, across processes, exactly one is allowed.
   */
  throttleSource(source: string, policy: SourceThrottlePolicy): Promise<SourceVerdict>;
  /** Takes back the failure counted at `at` (the password was right). */
  forgiveSourceFailure(source: string, at: number): Promise<void>;
  /** The failure times on record for `source`, oldest first (empty when none). */
  sourceFailures(source: string): Promise<number[]>;
}

/** A user's current block. */
export interface BlockRecord {
  /** The user key ({@link userKey}). */
  user: string;
  blockedAt: number;
  until: number;
  reason: string;
  /** Who blocked: the OS user running the CLI, an admin's name, or `fraud report`. */
  actor: string;
}

export interface BlockHistoryEntry {
  id: number;
  user: string;
  action: 'block' | 'unblock';
  at: number;
  /** The end of the block for `block`; null for `unblock`. */
  until: number | null;
  reason: string;
  actor: string;
}

/** The block list. Every change is kept in the history and bumps {@link RevocationStore.changeSeq}. */
export interface BlockStore {
  /** Blocks the user from now for `durationMs`, replacing any current block. */
  block(input: { user: string; durationMs: number; reason: string; actor: string }): Promise<BlockRecord>;
  /** Ends a current block; false (and nothing recorded) when the user is not blocked. */
  unblock(input: { user: string; reason: string; actor: string }): Promise<boolean>;
  /** The user's block if it has not expired, else null. */
  blockOf(user: string): Promise<BlockRecord | null>;
  /** Blocks and unblocks of the user, newest first. */
  blockHistory(user: string): Promise<BlockHistoryEntry[]>;
}

/**
 * Kinds of sign-in log entries. New kinds may be added without a schema change. `report_only`:
 * what a report-only rule would have done, one entry per rule, outcome, user and address per
 * minute and gateway process (see `audit/report-only`).
 */
export const AUDIT_KINDS = [
  'password',
  'second_factor',
  'enrollment',
  'method_removed',
  'revocation',
  'block',
  'unblock',
  'fraud_report',
  'federated',
  'app_password',
  'admin',
  'report_only',
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** `success` or `denied`; a `report_only` entry has the outcome its rule would have had (nothing was enforced). */
type AuditOutcome = 'success' | 'denied' | ReportOnlyOutcome;

export interface AuditEvent {
  kind: AuditKind;
  /** The user name as typed (possibly unknown); queries match it case-insensitively. */
  user: string;
  clientIp: string;
  userAgent: string;
  /** The policy rule's name or index that led here, or null outside a rule. */
  rule: string | null;
  outcome: AuditOutcome;
  /** The exact reason for the operator, e.g. `wrong_password`, `replayed`, `method m-1 enrolled`. */
  detail: string;
}

export interface AuditEntry extends AuditEvent {
  id: number;
  /** Epoch ms, stamped by the store's clock. */
  at: number;
}

interface AuditQuery {
  user?: string;
  /** Entries at or after this time (epoch ms). */
  since?: number;
  kind?: AuditKind;
  limit: number;
}

/** The sign-in log. */
export interface AuditStore {
  record(event: AuditEvent): Promise<void>;
  /** Records several events at once, in this order, all stamped now (the report-only summaries of a minute). */
  recordAll(events: readonly AuditEvent[]): Promise<void>;
  /** Newest first. */
  query(query: AuditQuery): Promise<AuditEntry[]>;
  /** Deletes entries older than `before` (epoch ms); returns how many (retention, `log.sign_in_retention`). */
  pruneAudit(before: number): Promise<number>;
}

/** What a report-only rule (`mode: report_only`) would have done to a request. */
export type ReportOnlyOutcome = 'would_deny' | 'would_require_second_factor' | 'would_require_sign_in';

/** Report-only hits of one minute with the same rule, outcome, user, address and path. */
export interface ReportOnlyHit {
  /** Start of the minute, epoch ms. */
  minute: number;
  /** The rule's key: its `name`, else `rule N`. */
  rule: string;
  outcome: ReportOnlyOutcome;
  /** The signed-in user, '' when anonymous. */
  user: string;
  address: string;
  path: string;
  count: number;
}

/** Report-only rule hits, aggregated per minute (`mfa-gateway impact`). */
export interface ReportOnlyStore {
  /** Adds the counts (rows with the same minute and keys add up, also across processes). */
  addReportOnlyHits(hits: readonly ReportOnlyHit[]): Promise<void>;
  /** Counts since `since` (epoch ms), summed over minutes, optionally of one rule. */
  reportOnlyHits(query: { since: number; rule?: string }): Promise<Omit<ReportOnlyHit, 'minute'>[]>;
  /** Deletes minutes before `before`; returns how many rows. */
  pruneReportOnly(before: number): Promise<number>;
}

/** How the gateway decided to refuse or redirect one request (`mfa-gateway explain --request ID`). */
export interface DecisionTrace {
  /** The short id shown on the error page. */
  requestId: string;
  /** Epoch ms. */
  at: number;
  method: string;
  host: string;
  path: string;
  clientIp: string;
  /** Where the address came from: the socket, or a trusted proxy's forwarding header. */
  clientFrom: 'socket' | 'proxy_header';
  /** The address is in `mfa.trusted_ips.ranges`. */
  trustedNetwork: boolean;
  /** The matched rule's key; null when no rule matched. */
  rule: string | null;
  /** How far the caller had got: no session, password only, or the second factor too. */
  session: 'none' | 'password' | 'second_factor';
  user: string | null;
  /** What the request lacked, in words (`member of group admins`, `a second factor`). */
  missing: string;
  /** `deny` (a deny rule or none), `forbidden`, `sign_in`, `second_factor`, `step_up` or `challenge`. */
  outcome: string;
}

/** Decision traces of refused or redirected requests, kept for `log.sign_in_retention`. */
export interface DecisionTraceStore {
  /** Adds traces (an id seen before is kept as first written). */
  addDecisionTraces(traces: readonly DecisionTrace[]): Promise<void>;
  decisionTrace(requestId: string): Promise<DecisionTrace | null>;
  /** Deletes traces older than `before` (epoch ms); returns how many. */
  pruneDecisionTraces(before: number): Promise<number>;
}

/** A sign-in notice's "this wasn't me" link, as stored: single use, with the attempt it reports. */
export interface FraudReport {
  /** Random id carried (signed) in the link. */
  id: string;
  /** The user key ({@link userKey}). */
  user: string;
  /** When the reported sign-in passed the password step. */
  createdAt: number;
  expiresAt: number;
  /** Client address and User-Agent of the reported sign-in. */
  clientIp: string;
  userAgent: string;
  /** When the link was used; null while unused. */
  consumedAt: number | null;
}

/** What fraud alerts need: report links and the browsers each user signed in from before. */
export interface FraudStore {
  createFraudReport(report: Omit<FraudReport, 'consumedAt'>): Promise<void>;
  getFraudReport(id: string): Promise<FraudReport | null>;
  /**
   * Marks the report used, atomically: of two parallel calls exactly one gets `true`, and an
   * expired (`expiresAt <= now`) or already used report gets `false`.
   */
  consumeFraudReport(id: string, now: number): Promise<boolean>;
  /** Records that `user` signed in from the browser with id hash `browser`; true when it was not known before. */
  seeBrowser(user: string, browser: string, now: number): Promise<boolean>;
  /** Deletes reports expired before `now` and browsers last seen before `browsersSeenBefore`. */
  pruneFraud(now: number, browsersSeenBefore: number): Promise<void>;
}

/** A user recorded on first sign-in through the identity provider (`federation.oidc.create_users`). */
export interface FederatedUser {
  /** The canonical name, spelled as the provider's user-name claim had it at first sign-in. */
  name: string;
  email: string | null;
  displayName: string | null;
  /** From the provider's groups claim at the last sign-in. */
  groups: string[];
  /** The provider's `iss` and `sub` at the last sign-in. */
  issuer: string;
  subject: string;
  createdAt: number;
  lastSignInAt: number;
}

/** What federated sign-in needs: recorded users and single-use sign-in states. */
export interface FederationStore {
  /** Records the user (keyed by {@link userKey} of `name`) or refreshes the record; the first spelling of the name stays. */
  saveFederatedUser(user: Omit<FederatedUser, 'createdAt' | 'lastSignInAt'>, now: number): Promise<FederatedUser>;
  listFederatedUsers(): Promise<FederatedUser[]>;
  /** Changes whenever a federated user is recorded or refreshed, by any process; cheap to poll. */
  federatedUsersVersion(): Promise<string>;
  /**
   * Marks an authorization request's state used, atomically: of two calls with the same id
   * (across processes too) exactly one gets `true`. Entries past `expiresAt` are purged.
   */
  consumeOidcState(id: string, expiresAt: number, now: number): Promise<boolean>;
}

/** An imported OATH hardware token as `tokens list` and the admin pages show it; never carries the secret. */
export interface TokenInfo extends MethodInfo {
  kind: 'oath_token';
  serial: string;
  manufacturer: string;
  model: string;
}

/** One good row of a token CSV, ready to store (the importer has validated it). */
export interface NewToken {
  /** The canonical user name from the users file. */
  user: string;
  serial: string;
  secret: Buffer;
  period: 30 | 60;
  manufacturer: string;
  model: string;
  /** `<manufacturer> <model> <serial>`. */
  label: string;
}

/**
 * What happened to one {@link NewToken}: stored (inactive), already stored for the same user
 * with the same secret (nothing changed), or refused because the serial belongs to another
 * user or another secret, or because the user already has `maxPerUser` methods.
 */
export type TokenImportOutcome = 'imported' | 'unchanged' | 'serial_taken' | 'limit_reached';

/** What OATH token import, activation and MFA reset need. */
export interface TokenStore {
  /**
   * Stores the tokens in one transaction, in order, each inactive; returns one outcome per
   * token. Rows refused for `serial_taken` or `limit_reached` are skipped, the others stay.
   */
  importTokens(tokens: readonly NewToken[], maxPerUser: number): Promise<TokenImportOutcome[]>;
  /** The token with this serial (exact match), or null. */
  tokenBySerial(serial: string): Promise<TokenInfo | null>;
  /** Every imported token, by user then serial. */
  listTokens(): Promise<TokenInfo[]>;
  /**
   * Activates an inactive token with `step` (the activation code's step) claimed, so that code
   * cannot sign in afterwards. False when the token is unknown or already active.
   */
  activateToken(methodId: string, step: number): Promise<boolean>;
  /** Removes every method and the pending enrollment of the user in one transaction; returns what was removed. */
  removeAllMethods(user: string): Promise<MethodInfo[]>;
}

/** An app password as listed on the account page; never carries the hash. */
export interface AppPasswordInfo {
  id: string;
  /** The user key ({@link userKey}). */
  user: string;
  name: string;
  createdAt: number;
  /** Updated when a verification (not a cache hit) accepts it, so at most a minute behind. */
  lastUsedAt: number | null;
}

/** An active app password as the HTTP Basic check needs it. */
export interface AppPasswordCredential extends AppPasswordInfo {
  /** The argon2id PHC string of the whole app password. */
  hash: string;
}

export type AddAppPasswordResult = { ok: true; appPassword: AppPasswordInfo } | { ok: false; reason: 'limit_reached' };

/**
 * App passwords (`mfa.app_passwords`): argon2id hashes, each with a short non-secret `hint`
 * (the first characters of the password) so a check verifies one hash, not all of a user's.
 * Revoked ones are kept (marked) so the store still knows the user once created one; every
 * change bumps {@link RevocationStore.changeSeq}.
 */
export interface AppPasswordStore {
  /** Adds one unless the user already has `maxPerUser` active ones (checked atomically). */
  addAppPassword(input: { user: string; name: string; hint: string; hash: string }, maxPerUser: number): Promise<AddAppPasswordResult>;
  /** The user's active app passwords, oldest first. */
  listAppPasswords(user: string): Promise<AppPasswordInfo[]>;
  /** Active app passwords of the user whose hint is `hint`. */
  appPasswordCandidates(user: string, hint: string): Promise<AppPasswordCredential[]>;
  /** Whether the user ever created an app password (revoked ones count). */
  hasCreatedAppPassword(user: string): Promise<boolean>;
  /** Revokes one of the user's active app passwords; false when there is no such one. */
  revokeAppPassword(user: string, id: string): Promise<boolean>;
  /** Revokes all of the user's app passwords; returns how many were active. */
  revokeAllAppPasswords(user: string): Promise<number>;
  touchAppPassword(id: string, now: number): Promise<void>;
  /**
   * Users whose app passwords changed after change counter value `seq`, with the counter
   * value they are current as of (one snapshot), for the in-memory verification cache.
   */
  appPasswordChangesSince(seq: number): Promise<{ seq: number; users: string[] }>;
}

/**
 * A temporary access pass as stored (`users access-pass`): one per user, issuing a new one
 * replaces it. The store keeps only a hash of the pass; this never carries the pass.
 */
export interface AccessPassInfo {
  /** The user key ({@link userKey}). */
  user: string;
  createdAt: number;
  expiresAt: number;
  /** Uses granted when issued, and those not yet spent. */
  uses: number;
  usesLeft: number;
  /** Who issued it: the OS user running the CLI, or an admin's name. */
  actor: string;
}

/**
 * Temporary access passes: the way a user outside trusted networks sets up a first method.
 * Issuing, spending and revoking each bump nothing else; the pass is checked at enrollment only.
 */
export interface AccessPassStore {
  /** Stores the hash of a new pass for the user, replacing any earlier one (used, expired or not). */
  issueAccessPass(input: { user: string; hash: string; expiresAt: number; uses: number; actor: string }): Promise<AccessPassInfo>;
  /** The user's pass as stored (possibly expired or used up), or null. */
  accessPassOf(user: string): Promise<AccessPassInfo | null>;
  /**
   * Spends one use of the user's pass, atomically: only when `hash` is the current pass's,
   * it has not expired at `now` and a use is left. Of parallel spends of the last use (across
   * processes too) exactly one gets `true`.
   */
  useAccessPass(user: string, hash: string, now: number): Promise<boolean>;
  /** Deletes the user's pass; false when there was none. */
  revokeAccessPass(user: string): Promise<boolean>;
}

/** What the account page shows about a user's recovery codes. */
interface RecoveryCodeSummary {
  /** Codes in the current set, and those not used yet; both 0 when the user has none. */
  total: number;
  unused: number;
  /** When the current set was created; null when there is none. */
  createdAt: number | null;
}

/** One-time recovery codes, kept as hashes; a new set replaces the old one. */
export interface RecoveryCodeStore {
  /** Replaces the user's codes with these hashes in one transaction (the old set is void). */
  replaceRecoveryCodes(user: string, hashes: readonly string[], now: number): Promise<void>;
  /** Marks an unused code used; of parallel uses of one code (across processes too) exactly one gets `true`. */
  useRecoveryCode(user: string, hash: string, now: number): Promise<boolean>;
  recoveryCodeSummary(user: string): Promise<RecoveryCodeSummary>;
  /** Deletes the user's codes (MFA reset); returns how many there were. */
  removeRecoveryCodes(user: string): Promise<number>;
}

interface AuditPageQuery {
  user?: string;
  since?: number;
  kind?: AuditKind;
  outcome?: AuditOutcome;
  /** Entries with an id below this one (keyset paging, newest first). */
  beforeId?: number;
  limit: number;
}

/** What the admin pages read and keep beyond the other interfaces. */
export interface AdminStore {
  /** The sign-in log filtered and paged by id, newest first. */
  auditPage(query: AuditPageQuery): Promise<AuditEntry[]>;
  /** The time of the user's last successful sign-in (password, federated or app password), or null. */
  lastSignIn(user: string): Promise<number | null>;
  /** Keeps a token import's error CSV for download by the admin who ran it; purges expired ones. */
  saveImportReport(report: { id: string; actor: string; csv: string; createdAt: number; expiresAt: number }): Promise<void>;
  /** The error CSV of report `id` if `actor` ran it and it has not expired, else null. */
  importReport(id: string, actor: string, now: number): Promise<string | null>;
}

/** Key rotation: used by `mfa-gateway store rekey`. */
interface SecretMaintenance {
  /**
   * Re-encrypts every stored secret that is not sealed with the current key (the key list
   * must still contain the old key as a previous key). Afterwards the old key can be dropped.
   * Returns how many secrets were rewritten.
   */
  rekey(): Promise<number>;
}

/** One backend, all interfaces; hand each consumer only the interface it needs. */
export interface Store
  extends MethodStore,
    PendingEnrollmentStore,
    RevocationStore,
    SessionRevocationStore,
    SessionIndexStore,
    RevalidationStore,
    LockoutStore,
    SourceThrottleStore,
    BlockStore,
    AuditStore,
    FraudStore,
    FederationStore,
    TokenStore,
    SecretMaintenance,
    AppPasswordStore,
    AdminStore,
    AccessPassStore,
    RecoveryCodeStore,
    ReportOnlyStore,
    WebAuthnStore,
    DecisionTraceStore {
  /** True when the store answers a trivial query; used by `/.gateway/health`. */
  health(): Promise<boolean>;
  close(): Promise<void>;
}

export interface StoreDeps {
  /** Epoch milliseconds. */
  clock: () => number;
  /** The pure lockout decision (`regulation/lockout`'s `lockoutRules`), run inside the transaction that counts an attempt. */
  lockout: LockoutRules;
  /**
   * The pure per-source decision (`regulation/source-throttle`'s `sourceThrottleRules`), run inside the transaction that counts an
   * attempt.
   */
  sourceThrottle: SourceThrottleRules;
}

/** How an attempt is decided on a stored counter, and when the counter stops mattering. */
export interface LockoutRules {
  regulate(counter: LockoutCounter, policy: LockoutPolicy, now: number): Regulation;
  /** When a stored counter may be deleted: its lock is over and no denial counts any more. */
  expiresAt(counter: LockoutCounter, policy: LockoutPolicy): number;
}

/** How an attempt from a source is decided on its stored failure times, one taken back, and when they stop mattering. */
export interface SourceThrottleRules {
  throttle(failures: readonly number[], policy: SourceThrottlePolicy, now: number): SourceVerdict;
  forgive(failures: readonly number[], at: number): number[];
  expiresAt(failures: readonly number[], policy: SourceThrottlePolicy): number;
}

/**
 * The key under which a user's rows are stored: user names are case-insensitive
 * (`Alice` and `alice` are one user), compared after Unicode NFC normalization.
 */
export function userKey(name: string): string {
  // Runs several times per signed-in request; an ASCII name is already in NFC.
  return ASCII.test(name) ? name.toLowerCase() : name.normalize('NFC').toLowerCase();
}

const ASCII = /^[\x00-\x7f]*$/;
