// The sign-in log read back for people (issue 17 item 5): every detail the gateway writes, as
// its code writes it, is said in English and German without the ids kept for operators; what
// led to it and what followed (a lockout) are split off; an unknown detail is shown as stored.
import t from 'tap';
import { buildCatalog, translate } from '../../src/portal/i18n.ts';
import { detailText, kindText, readDetail } from '../../src/portal/log-details.ts';
import type { LogMessageKey } from '../../src/portal/log-messages.ts';
import { ENGLISH_WORDS } from './german-words.ts';

const catalog = buildCatalog({});
const tr = (lang: string, ref: Parameters<typeof translate>[2], params?: Parameters<typeof translate>[3]) =>
  translate(catalog, lang, ref, params);

const ISO = '2026-11-23T09:15:00.000Z';
const UUID = '3f1c2b9e-8d4a-4c61-9a0e-5b7d2f6e1a44';

/** Details as the gateway's code writes them (see each producer), and the text each must read as. */
const SAMPLES: ReadonlyArray<readonly [string, LogMessageKey]> = [
  [`source 203.0.113.0/24 throttled until ${ISO}: too many failed attempts`, 'log_source_throttled'],
  ['directory unavailable', 'log_directory_unavailable'],
  [`locked out until ${ISO}`, 'log_locked'],
  [`blocked until ${ISO}`, 'log_blocked'],
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
  ['passkey sign-in: the user is unknown or disabled', 'log_unknown_or_disabled'],
  ['malformed Basic credentials', 'log_basic_malformed'],
  ['app password "Mail on my laptop" accepted', 'log_app_password_accepted'],
  ['account password refused: the user has created app passwords', 'log_account_password_refused'],
  ['account password accepted over HTTP Basic (the user has no app password yet)', 'log_account_password_basic'],
  [`app password "Mail" created (${UUID})`, 'log_app_password_created'],
  [`app password "Mail" revoked (${UUID})`, 'log_app_password_revoked'],
  ['2 app passwords revoked by admin alice', 'log_app_passwords_revoked'],
  ['security key not accepted here', 'log_key_not_here'],
  ['security key refused: unknown, used or expired challenge', 'log_key_challenge'],
  ['security key refused: unknown credential', 'log_key_unknown'],
  ['security key refused: the credential belongs to another user', 'log_key_other_user'],
  [`security key "Blue key" refused: its model ${UUID} is no longer in allowed_aaguids`, 'log_key_model'],
  ['security key "Blue key" refused: a synced passkey and allow_synced_passkeys is false', 'log_key_synced'],
  ['security key "Blue key" refused: it became a synced passkey and allow_synced_passkeys is false', 'log_key_became_synced'],
  ['security key "Blue key" refused: signature counter went backwards (cloned authenticator?): Response counter 3 <= 7', 'log_key_cloned'],
  ['security key "Blue key" refused: signature counter 7 was used already (cloned authenticator?)', 'log_key_counter_reused'],
  ['security key "Blue key" refused: the signature did not verify', 'log_key_signature'],
  ['security key "Blue key" refused: Unexpected authentication response origin', 'log_key_refused'],
  ['security key accepted ("Blue key", user verified)', 'log_key_accepted_uv'],
  ['security key accepted ("Blue key")', 'log_key_accepted'],
  ['totp code accepted (Authenticator-App)', 'log_totp_accepted'],
  ['oath_token code accepted (Feitian c200 TK-100)', 'log_oath_accepted'],
  ['no second-factor method', 'log_no_method'],
  ['malformed code', 'log_malformed_code'],
  ['wrong code', 'log_wrong_code'],
  ['code already used', 'log_replayed_code'],
  ['recovery code accepted (now used)', 'log_recovery_accepted'],
  ['wrong or already used recovery code', 'log_recovery_wrong'],
  ['first enrollment: temporary access pass accepted for first enrollment (1 use left)', 'log_pass_accepted_one'],
  ['first enrollment: temporary access pass accepted for first enrollment (2 uses left)', 'log_pass_accepted_many'],
  ['first enrollment: access pass refused: none issued', 'log_pass_none'],
  [`first enrollment: access pass refused: the pass expired at ${ISO}`, 'log_pass_expired'],
  ['first enrollment: access pass refused: the pass is used up', 'log_pass_used_up'],
  ['first enrollment: access pass refused: wrong pass', 'log_pass_wrong'],
  ['first enrollment: access pass refused: not a first enrollment', 'log_pass_not_first'],
  ['recovery code not accepted here', 'log_recovery_not_here'],
  ['access pass not accepted here', 'log_pass_not_here'],
  ['first enrollment: code not accepted here', 'log_code_not_here'],
  ['passkey sign-in: unknown credential', 'log_passkey_unknown'],
  ['passkey sign-in: passkey "Laptop" accepted (user verified)', 'log_passkey_accepted'],
  ['totp enrollment expired or replaced', 'log_totp_setup_expired'],
  ['totp enrollment: expired', 'log_totp_setup_expired'],
  ['totp enrollment: malformed code', 'log_totp_setup_malformed'],
  ['totp enrollment: wrong code', 'log_totp_setup_wrong'],
  ['totp enrollment: limit_reached', 'log_totp_setup_limit'],
  [`totp method ${UUID} enrolled (Authenticator-App)`, 'log_totp_enrolled'],
  ['first enrollment refused: not on a trusted network and no access pass', 'log_first_enrollment_refused'],
  ['10 recovery codes created; any earlier codes are void', 'log_recovery_created'],
  [`totp method ${UUID} renamed from "Authenticator-App" to "Diensthandy"`, 'log_totp_renamed'],
  [`oath_token method ${UUID} renamed from "Token" to "Schlüsselbund"`, 'log_oath_renamed'],
  ['registration refused: unknown, used or expired challenge', 'log_register_challenge'],
  ['registration refused: the attestation did not verify', 'log_register_attestation'],
  [`registration refused: authenticator model ${UUID} is not in allowed_aaguids`, 'log_register_model'],
  ['registration refused: a synced passkey (backup eligible) and allow_synced_passkeys is false', 'log_register_synced'],
  ['registration refused: the method limit is reached', 'log_register_limit'],
  ['registration refused: the credential is registered already', 'log_register_duplicate'],
  ['registration refused: no credential posted', 'log_register_none'],
  ['registration refused: Unexpected registration response origin', 'log_register_refused'],
  [`webauthn credential ${UUID} registered (Blue key; model ${UUID}; synced passkey, discoverable)`, 'log_key_registered'],
  [`webauthn credential ${UUID} registered (Blue key; model ${UUID}; device-bound)`, 'log_key_registered'],
  ['oath token TK-100 imported, inactive until activated (Feitian c200 TK-100) by alice', 'log_token_imported'],
  ['oath token TK-100 imported, inactive until activated (Feitian c200 TK-100) by command line', 'log_token_imported'],
  ['oath token TK-9 activation: no such token for this user (by alice)', 'log_token_unknown'],
  ['oath token TK-100 activation: already active (by alice)', 'log_token_already_active'],
  ['oath token TK-100 activation: malformed code (by alice)', 'log_token_malformed'],
  ['oath token TK-100 activation: wrong code (by alice)', 'log_token_wrong'],
  ['oath token TK-100 activated (Feitian c200 TK-100) (by alice)', 'log_token_activated'],
  [`totp method ${UUID} removed by the user (Diensthandy)`, 'log_totp_removed'],
  [`oath_token method ${UUID} removed by the user (Token); no active method left, the next sign-in enrolls again`, 'log_oath_removed'],
  [`webauthn credential ${UUID} removed by the user (Blue key)`, 'log_key_removed'],
  [`webauthn credential ${UUID} removed by admin alice (Blue key)`, 'log_key_removed_by'],
  [`MFA reset by alice: totp method ${UUID} removed (Diensthandy; added ${ISO})`, 'log_reset_totp'],
  [`MFA reset by alice: oath_token method ${UUID} removed (Token; added ${ISO})`, 'log_reset_oath'],
  [`MFA reset by alice: oath_token method ${UUID} removed (Token; added ${ISO}; never activated)`, 'log_reset_oath_inactive'],
  [`MFA reset by alice: webauthn credential ${UUID} removed (Blue key; added ${ISO})`, 'log_reset_key'],
  [
    'MFA reset by alice: 2 methods removed; 10 recovery codes and the temporary access pass revoked; sessions and remembered browsers ' +
      'revoked; the user enrolls again at the next sign-in',
    'log_reset_done',
  ],
  [
    'MFA reset by root: 1 method removed; 0 recovery codes and no temporary access pass revoked; sessions and remembered browsers ' +
      'revoked; the user enrolls again at the next sign-in',
    'log_reset_done',
  ],
  ['user ended session Q3xa9KfZ', 'log_user_ended_session'],
  ['user ended 2 other sessions', 'log_user_ended_others'],
  ['user signed out everywhere', 'log_user_signed_out_everywhere'],
  ['user forgot remembered browsers', 'log_user_forgot_browsers'],
  ['user signed out', 'log_user_signed_out'],
  ['sessions ended by admin alice', 'log_sessions_ended'],
  ['remembered browsers forgotten by admin alice', 'log_browsers_forgotten'],
  ['sessions ended and remembered browsers forgotten by admin alice', 'log_sessions_and_browsers'],
  ['sessions ended, remembered browsers forgotten by root', 'log_sessions_and_browsers'],
  ['session Q3xa9KfZ (Firefox on Windows, 192.0.2.10) ended by admin alice', 'log_session_ended'],
  ['session Q3xa9KfZ (Chrome on Android, 2001:db8::1) ended by root', 'log_session_ended'],
  ['session Q3xa9KfZ ended by Contoso ID (back-channel logout)', 'log_backchannel_ended'],
  ['signing in (session Q3xa9KfZ) ended 1 older session: session.max_per_user is 2', 'log_sessions_limited_one'],
  ['signing in (session Q3xa9KfZ) ended 3 older sessions: session.max_per_user is 2', 'log_sessions_limited_many'],
  ['back-channel logout refused: the jti was already used (replayed logout token)', 'log_backchannel_refused'],
  [`blocked by alice until ${ISO}: laptop stolen`, 'log_blocked_by'],
  ['unblocked by alice: laptop found', 'log_unblocked_by'],
  ['fraud reported', 'log_fraud_reported'],
  ['federated sign-in via Contoso ID', 'log_federated'],
  ['federated sign-in via Contoso ID; second factor done at the provider (amr contains mfa)', 'log_federated_mfa'],
  ['federated sign-in via Contoso ID; second factor skipped: intranet claim', 'log_federated_intranet'],
  [
    'federated sign-in via Contoso ID; intranet claim present but mfa.trusted_ips.federated_intranet_claim is off',
    'log_federated_intranet_off',
  ],
  ['federated sign-in refused: the sign-in took longer than 10 minutes', 'log_federated_refused'],
  ['made an admin (group admins) by admin alice', 'log_made_admin'],
  ['already an admin; make-admin by admin alice changed nothing', 'log_already_admin'],
  [`temporary access pass issued by alice: valid until ${ISO}, 1 use; any earlier pass is void`, 'log_pass_issued'],
  [`temporary access pass issued by alice: valid until ${ISO}, 3 uses; any earlier pass is void`, 'log_pass_issued'],
  ['temporary access pass revoked by admin alice', 'log_pass_revoked'],
  ['token import by admin alice: 1 imported, 0 unchanged, 2 rows refused', 'log_tokens_imported'],
];

/** Values a detail carries that are not words to translate (names, reasons typed by people, library messages). */
const DATA =
  /Mail on my laptop|Mail|Blue key|Laptop|Diensthandy|Schlüsselbund|Token|Feitian c200 TK-100|laptop stolen|laptop found|Contoso ID|Response counter 3 <= 7|Unexpected \w+ response origin|the sign-in took longer than 10 minutes|the jti was already used \(replayed logout token\)|alice|root|admins/g;

/** English words left in `text`, after the data values. */
function englishIn(text: string): string[] {
  const plain = text.replace(DATA, ' ');
  return ENGLISH_WORDS.filter((w) => new RegExp(`(?<![\\p{L}\\-])${w}(?![\\p{L}\\-])`, 'iu').test(plain));
}

t.test('every detail the gateway writes reads back as its text, in English and German, without ids', async (t) => {
  for (const [detail, key] of SAMPLES) {
    const read = readDetail(detail);
    t.equal(read?.main.key, key, detail);
    const de = detailText(detail, 'de', tr);
    const en = detailText(detail, 'en', tr);
    t.not(de, detail, `${detail}: said in German`);
    t.same(englishIn(de), [], `${detail}: no English left in "${de}"`);
    t.notMatch(de, /Passwort/, `${detail}: German says Kennwort`);
    for (const text of [de, en]) {
      t.notMatch(text, UUID, `${detail}: no id in "${text}"`);
      t.notMatch(text, /Q3xa9KfZ|\d{4}-\d\d-\d\dT/, `${detail}: no session id or raw time in "${text}"`);
      t.notMatch(text, /\{\w+\}/, `${detail}: every placeholder filled in "${text}"`);
    }
  }
});

t.test('what led to a code and what followed it are said around it', async (t) => {
  t.match(
    detailText(`admin pages: wrong code; locked out until ${ISO}`, 'de', tr),
    /^Verwaltungsseiten: Falscher Code; gesperrt bis \d\d\.11\.2026, /,
  );
  t.equal(
    detailText('method change confirmation: totp code accepted (Diensthandy)', 'en', tr),
    'Before a method change: Code of the authenticator app “Diensthandy” accepted',
  );
  t.equal(
    detailText('totp code accepted (iPhone); browser remembered for 14 days', 'de', tr),
    'Code der Authenticator-App „iPhone“ akzeptiert; Browser für 14 Tage gespeichert',
  );
  // A general form must not swallow what followed: the lockout is split off first.
  t.match(readDetail(`security key "K" refused: the signature did not verify; locked out until ${ISO}`), {
    main: { key: 'log_key_signature', params: { name: 'K' } },
    after: [{ key: 'log_then_locked' }],
  });
  t.match(readDetail(`wrong password or app password; locked out until ${ISO}`), {
    main: { key: 'log_wrong_password_or_app_password' },
    after: [{ key: 'log_then_locked', params: { until: new Date(ISO) } }],
  });
});

t.test('names: the admin without "admin", the command line and the browser in the reader’s words', async (t) => {
  t.equal(detailText('sessions ended by admin alice', 'de', tr), 'Sitzungen beendet durch alice');
  t.equal(
    detailText('oath token TK-1 imported, inactive until activated (x) by command line', 'de', tr),
    'Hardware-Token TK-1 importiert durch die Kommandozeile, inaktiv bis zur Aktivierung',
  );
  t.equal(
    detailText('session Q3xa9KfZ (Firefox on Windows, 192.0.2.10) ended by admin alice', 'de', tr),
    'Sitzung von 192.0.2.10 (Firefox unter Windows) beendet durch alice',
  );
});

t.test('an unknown detail is shown as stored, and each event kind has a name', async (t) => {
  t.equal(readDetail('attempt 3'), null);
  t.equal(detailText('attempt 3', 'de', tr), 'attempt 3');
  const kinds = [
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
  ];
  for (const kind of kinds) {
    const de = kindText(kind, 'de', tr);
    t.not(de, kind, `${kind} has a German name`);
    t.same(englishIn(de), [], `${kind}: ${de}`);
  }
  t.equal(kindText('something_new', 'de', tr), 'something_new');
});
