/**
 * @module portal/log-details
 * Reads the sign-in log's details (exact English sentences for operators, written where each
 * event happens) back into message keys, so the admin log and the account page say them in
 * the reader's language and without the ids operators need. One table, {@link FORMS}, pairs
 * each stored sentence with its text: `{name}` is any text, `{name:n}` a number, `{name:t}` an
 * ISO time (shown in the page's format), `{-}` a part left out (an id). A detail the table
 * does not know is shown as stored.
 */
import type { MessageParams } from './i18n.ts';
import type { ViewKit } from './page.ts';
import { logMessagesEn, type LogMessageKey } from './log-messages.ts';

/** One sentence of a detail: its text's key and its placeholder values. */
interface DetailPart {
  readonly key: LogMessageKey;
  readonly params: MessageParams;
}

/** A detail read back: what led to it (`purpose`), the sentence itself, and what followed. */
interface ReadDetail {
  readonly purpose?: DetailPart;
  readonly main: DetailPart;
  readonly after: readonly DetailPart[];
}

const BY = ' by {actor}';

/** Stored sentence -> its text. Specific forms come before general ones that would also match. */
const FORMS: ReadonlyArray<readonly [string, LogMessageKey]> = [
  // password and HTTP Basic (factors/password/regulated, factors/app-passwords/basic, portal/sign-in)
  ['source {source} throttled until {until:t}: too many failed attempts', 'log_source_throttled'],
  ['directory unavailable', 'log_directory_unavailable'],
  ['locked out until {until:t}', 'log_locked'],
  ['blocked until {until:t}', 'log_blocked'],
  ['password expired', 'log_password_expired'],
  ['must change password', 'log_must_change_password'],
  ['account expired', 'log_account_expired'],
  ['unknown user', 'log_unknown_user'],
  ['user disabled', 'log_user_disabled'],
  ['wrong password', 'log_wrong_password'],
  ['wrong password or app password', 'log_wrong_password_or_app_password'],
  ['password ok', 'log_password_ok'],
  ['password ok; second factor skipped: remembered browser', 'log_password_ok_remembered'],
  ['password ok; no second-factor method yet: led into enrollment', 'log_password_ok_enroll'],
  ['password ok; second factor skipped: trusted network', 'log_password_ok_trusted'],
  ['the user is unknown or disabled', 'log_unknown_or_disabled'],
  ['malformed Basic credentials', 'log_basic_malformed'],
  ['app password "{name}" accepted', 'log_app_password_accepted'],
  ['account password refused: the user has created app passwords', 'log_account_password_refused'],
  ['account password accepted over HTTP Basic (the user has no app password yet)', 'log_account_password_basic'],
  ['app password "{name}" created ({-})', 'log_app_password_created'],
  ['app password "{name}" revoked ({-})', 'log_app_password_revoked'],
  [`{count:n} app passwords revoked${BY}`, 'log_app_passwords_revoked'],
  // second factor (factors/second-factor, factors/webauthn/ceremony)
  ['security key not accepted here', 'log_key_not_here'],
  ['security key refused: unknown, used or expired challenge', 'log_key_challenge'],
  ['security key refused: unknown credential', 'log_key_unknown'],
  ['security key refused: the credential belongs to another user', 'log_key_other_user'],
  ['security key "{name}" refused: its model {-} is no longer in allowed_aaguids', 'log_key_model'],
  ['security key "{name}" refused: a synced passkey and allow_synced_passkeys is false', 'log_key_synced'],
  ['security key "{name}" refused: it became a synced passkey and allow_synced_passkeys is false', 'log_key_became_synced'],
  ['security key "{name}" refused: signature counter went backwards (cloned authenticator?): {-}', 'log_key_cloned'],
  ['security key "{name}" refused: signature counter {-} was used already (cloned authenticator?)', 'log_key_counter_reused'],
  ['security key "{name}" refused: the signature did not verify', 'log_key_signature'],
  ['security key "{name}" refused: {reason}', 'log_key_refused'],
  ['security key accepted ("{name}", user verified)', 'log_key_accepted_uv'],
  ['security key accepted ("{name}")', 'log_key_accepted'],
  ['totp code accepted ({name})', 'log_totp_accepted'],
  ['oath_token code accepted ({name})', 'log_oath_accepted'],
  ['no second-factor method', 'log_no_method'],
  ['malformed code', 'log_malformed_code'],
  ['wrong code', 'log_wrong_code'],
  ['code already used', 'log_replayed_code'],
  ['recovery code accepted (now used)', 'log_recovery_accepted'],
  ['wrong or already used recovery code', 'log_recovery_wrong'],
  ['temporary access pass accepted for first enrollment (1 use left)', 'log_pass_accepted_one'],
  ['temporary access pass accepted for first enrollment ({left:n} uses left)', 'log_pass_accepted_many'],
  ['access pass refused: none issued', 'log_pass_none'],
  ['access pass refused: the pass expired at {at:t}', 'log_pass_expired'],
  ['access pass refused: the pass is used up', 'log_pass_used_up'],
  ['access pass refused: wrong pass', 'log_pass_wrong'],
  ['access pass refused: not a first enrollment', 'log_pass_not_first'],
  ['recovery code not accepted here', 'log_recovery_not_here'],
  ['access pass not accepted here', 'log_pass_not_here'],
  ['code not accepted here', 'log_code_not_here'],
  ['unknown credential', 'log_passkey_unknown'],
  ['passkey "{name}" accepted (user verified)', 'log_passkey_accepted'],
  // enrollment (factors/totp/verify, portal/enrollment, portal/methods, portal/security-keys, factors/oath/import)
  ['totp enrollment expired or replaced', 'log_totp_setup_expired'],
  ['totp enrollment: expired', 'log_totp_setup_expired'],
  ['totp enrollment: malformed code', 'log_totp_setup_malformed'],
  ['totp enrollment: wrong code', 'log_totp_setup_wrong'],
  ['totp enrollment: limit_reached', 'log_totp_setup_limit'],
  ['totp method {-} enrolled ({name})', 'log_totp_enrolled'],
  ['first enrollment refused: not on a trusted network and no access pass', 'log_first_enrollment_refused'],
  ['{count:n} recovery codes created; any earlier codes are void', 'log_recovery_created'],
  ['totp method {-} renamed from "{from}" to "{to}"', 'log_totp_renamed'],
  ['oath_token method {-} renamed from "{from}" to "{to}"', 'log_oath_renamed'],
  ['registration refused: unknown, used or expired challenge', 'log_register_challenge'],
  ['registration refused: the attestation did not verify', 'log_register_attestation'],
  ['registration refused: authenticator model {-} is not in allowed_aaguids', 'log_register_model'],
  ['registration refused: a synced passkey (backup eligible) and allow_synced_passkeys is false', 'log_register_synced'],
  ['registration refused: the method limit is reached', 'log_register_limit'],
  ['registration refused: the credential is registered already', 'log_register_duplicate'],
  ['registration refused: no credential posted', 'log_register_none'],
  ['registration refused: {reason}', 'log_register_refused'],
  ['webauthn credential {-} registered ({name}; model {-})', 'log_key_registered'],
  [`oath token {serial} imported, inactive until activated ({-})${BY}`, 'log_token_imported'],
  ['oath token {serial} activation: no such token for this user (by {actor})', 'log_token_unknown'],
  ['oath token {serial} activation: already active (by {actor})', 'log_token_already_active'],
  ['oath token {serial} activation: malformed code (by {actor})', 'log_token_malformed'],
  ['oath token {serial} activation: wrong code (by {actor})', 'log_token_wrong'],
  ['oath token {serial} activated ({-}) (by {actor})', 'log_token_activated'],
  // methods removed (portal/methods, portal/security-keys, portal/admin, factors/methods/reset)
  ['totp method {-} removed by the user ({name})', 'log_totp_removed'],
  ['oath_token method {-} removed by the user ({name})', 'log_oath_removed'],
  ['webauthn credential {-} removed by the user ({name})', 'log_key_removed'],
  [`webauthn credential {-} removed${BY} ({name})`, 'log_key_removed_by'],
  ['MFA reset by {actor}: totp method {-} removed ({name}; added {at:t})', 'log_reset_totp'],
  ['MFA reset by {actor}: oath_token method {-} removed ({name}; added {at:t})', 'log_reset_oath'],
  ['MFA reset by {actor}: oath_token method {-} removed ({name}; added {at:t}; never activated)', 'log_reset_oath_inactive'],
  ['MFA reset by {actor}: webauthn credential {-} removed ({name}; added {at:t})', 'log_reset_key'],
  [
    'MFA reset by {actor}: {total:n} method{-} removed; {codes:n} recovery code{-} and {-} temporary access pass revoked; sessions and ' +
      'remembered browsers revoked; the user enrolls again at the next sign-in',
    'log_reset_done',
  ],
  // sessions (portal/account, portal/sign-out, portal/admin, portal/kit, portal/federation, cli)
  ['user ended session {-}', 'log_user_ended_session'],
  ['user ended {count:n} other sessions', 'log_user_ended_others'],
  ['user signed out everywhere', 'log_user_signed_out_everywhere'],
  ['user forgot remembered browsers', 'log_user_forgot_browsers'],
  ['user signed out', 'log_user_signed_out'],
  [`sessions ended${BY}`, 'log_sessions_ended'],
  [`remembered browsers forgotten${BY}`, 'log_browsers_forgotten'],
  [`sessions ended and remembered browsers forgotten${BY}`, 'log_sessions_and_browsers'],
  [`sessions ended, remembered browsers forgotten${BY}`, 'log_sessions_and_browsers'],
  ['session {-} ended by {provider} (back-channel logout)', 'log_backchannel_ended'],
  [`session {-} ({browser}, {ip}) ended${BY}`, 'log_session_ended'],
  ['signing in (session {-}) ended 1 older session: session.max_per_user is {max:n}', 'log_sessions_limited_one'],
  ['signing in (session {-}) ended {count:n} older sessions: session.max_per_user is {max:n}', 'log_sessions_limited_many'],
  ['back-channel logout refused: {reason}', 'log_backchannel_refused'],
  // blocks, fraud, federation, admin actions (regulation/*, portal/federation, portal/admin, factors/fallback/access-pass)
  ['blocked by {actor} until {until:t}: {reason}', 'log_blocked_by'],
  ['unblocked by {actor}: {reason}', 'log_unblocked_by'],
  ['fraud reported', 'log_fraud_reported'],
  ['federated sign-in via {provider}; second factor done at the provider (amr contains mfa)', 'log_federated_mfa'],
  ['federated sign-in via {provider}; second factor skipped: intranet claim', 'log_federated_intranet'],
  [
    'federated sign-in via {provider}; intranet claim present but mfa.trusted_ips.federated_intranet_claim is off',
    'log_federated_intranet_off',
  ],
  ['federated sign-in via {provider}', 'log_federated'],
  ['federated sign-in refused: {reason}', 'log_federated_refused'],
  [`made an admin (group {group})${BY}`, 'log_made_admin'],
  [`already an admin; make-admin${BY} changed nothing`, 'log_already_admin'],
  ['temporary access pass issued by {actor}: valid until {until:t}, {uses:n} use{-}; any earlier pass is void', 'log_pass_issued'],
  [`temporary access pass revoked${BY}`, 'log_pass_revoked'],
  [`token import${BY}: {imported:n} imported, {unchanged:n} unchanged, {refused:n} rows refused`, 'log_tokens_imported'],
];

/** What led to a second-factor check, as its detail starts (`SecondFactorInput.purpose`). */
const PURPOSES: ReadonlyArray<readonly [string, LogMessageKey]> = [
  ['method change confirmation: ', 'log_purpose_method_change'],
  ['admin pages: ', 'log_purpose_admin'],
  ['first enrollment: ', 'log_purpose_first_enrollment'],
  ['passkey sign-in: ', 'log_purpose_passkey'],
];

/** What may follow a sentence after `; `, last first. */
const THEN: ReadonlyArray<readonly [string, LogMessageKey]> = [
  ['locked out until {until:t}', 'log_then_locked'],
  ['browser remembered for {days:n} days', 'log_then_remembered'],
  ['no active method left, the next sign-in enrolls again', 'log_then_no_method_left'],
];

type Kind = 'text' | 'n' | 't';
interface Compiled {
  re: RegExp;
  names: readonly { name: string; kind: Kind }[];
  key: LogMessageKey;
}

const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z`;

function compile(form: string, key: LogMessageKey, anchor: 'whole' | 'end'): Compiled {
  const names: { name: string; kind: Kind }[] = [];
  let source = '';
  let last = 0;
  for (const m of form.matchAll(/\{(-|\w+)(?::([nt]))?\}/g)) {
    source += form.slice(last, m.index).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    last = m.index + m[0].length;
    if (m[1] === '-') {
      source += '.*?';
      continue;
    }
    const kind: Kind = m[2] === 'n' ? 'n' : m[2] === 't' ? 't' : 'text';
    names.push({ name: m[1]!, kind });
    source += kind === 'n' ? '(\\d+)' : kind === 't' ? `(${ISO})` : '(.+?)';
  }
  source += form.slice(last).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return { re: new RegExp(anchor === 'whole' ? `^${source}$` : `; ${source}$`, 's'), names, key };
}

const COMPILED_FORMS = FORMS.map(([form, key]) => compile(form, key, 'whole'));
const COMPILED_THEN = THEN.map(([form, key]) => compile(form, key, 'end'));

function paramsOf(c: Compiled, m: RegExpExecArray): MessageParams {
  const params: Record<string, string | number | Date> = {};
  c.names.forEach(({ name, kind }, i) => {
    const value = m[i + 1]!;
    params[name] = kind === 'n' ? Number(value) : kind === 't' ? new Date(value) : value;
  });
  return params;
}

function matchForm(text: string): DetailPart | null {
  for (const c of COMPILED_FORMS) {
    const m = c.re.exec(text);
    if (m) return { key: c.key, params: paramsOf(c, m) };
  }
  return null;
}

/**
 * The detail of a sign-in log entry as message keys, or null for a detail no form matches
 * (then shown as stored). What followed (`; locked out until ...`) is split off first, so a
 * general form cannot swallow it.
 *
 * @example readDetail('admin pages: wrong code; locked out until 2026-11-23T09:15:00.000Z')
 * // { purpose: { key: 'log_purpose_admin' }, main: { key: 'log_wrong_code' }, after: [{ key: 'log_then_locked', params: { until } }] }
 */
export function readDetail(detail: string): ReadDetail | null {
  let rest = detail;
  const found = PURPOSES.find(([prefix]) => rest.startsWith(prefix));
  const purpose: DetailPart | undefined = found && { key: found[1], params: {} };
  if (found) rest = rest.slice(found[0].length);
  // Every way to split what followed off the end, the most split first.
  const splits: { rest: string; after: DetailPart[] }[] = [{ rest, after: [] }];
  for (;;) {
    const last = splits.at(-1)!;
    const next = COMPILED_THEN.map((c) => ({ c, m: c.re.exec(last.rest) })).find((x) => x.m !== null);
    if (!next) break;
    splits.push({
      rest: last.rest.slice(0, next.m!.index),
      after: [{ key: next.c.key, params: paramsOf(next.c, next.m!) }, ...last.after],
    });
  }
  for (const split of splits.reverse()) {
    const main = matchForm(split.rest);
    if (main) return { ...(purpose ? { purpose } : {}), main, after: split.after };
  }
  return null;
}

/** Placeholder values as the reader reads them: an admin by name, the command line and a browser in their language. */
function readable(params: MessageParams, lang: string, tr: Translate): MessageParams {
  const out: Record<string, string | number | Date> = { ...params };
  if (typeof out.actor === 'string') {
    const actor = out.actor.replace(/^admin /, '');
    out.actor = actor === 'command line' ? tr(lang, 'log_actor_command_line') : actor;
  }
  if (typeof out.browser === 'string') {
    const m = /^(.+) on (.+)$/.exec(out.browser);
    if (m) out.browser = tr(lang, 'browser_on_system', { browser: m[1]!, system: m[2]! });
  }
  return out;
}

type Translate = ViewKit['tr'];

/**
 * A sign-in log detail in `lang`: the sentence, what led to it and what followed; as stored
 * when no form matches.
 *
 * @example detailText('user signed out', 'de', v) // 'Der Benutzer hat sich abgemeldet'
 */
export function detailText(detail: string, lang: string, tr: Translate): string {
  const read = readDetail(detail);
  if (!read) return detail;
  const say = (p: DetailPart) => tr(lang, p.key, readable(p.params, lang, tr));
  const main = read.purpose ? `${say(read.purpose)} ${say(read.main)}` : say(read.main);
  return [main, ...read.after.map(say)].join('; ');
}

/** The name of a sign-in log event kind in `lang` (the stored kind when it has no text). */
export function kindText(kind: string, lang: string, tr: Translate): string {
  const key = `log_kind_${kind}`;
  return Object.hasOwn(logMessagesEn, key) ? tr(lang, key as LogMessageKey) : kind;
}
