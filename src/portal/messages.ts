/**
 * @module portal/messages
 * Every text the gateway's pages show, in English and German (formal "Sie"). Keys are
 * stable: the config's `messages` section overrides them per language, and
 * `GatewayError.messageKey` names the `error_NNN` keys. `{name}` placeholders are filled
 * by the renderer (see `format` in `portal/i18n`); an override may drop a placeholder,
 * while one the page does not supply stays as written.
 */

import { adminMessagesDe, adminMessagesEn } from './admin-messages.ts';
import { logMessagesDe, logMessagesEn } from './log-messages.ts';

const en = {
  ...adminMessagesEn,
  ...logMessagesEn,
  product_name: 'MFA Gateway',
  footer_help: 'Need help? Contact your IT team.',
  footer_help_lead: 'Need help?',
  footer_help_page: 'Help pages',
  back_to_app: 'Back to {app}',
  signed_in_as: 'Signed in as {user}',
  not_you: 'Not you?',
  sign_out: 'Sign out',
  sign_out_switch: 'Sign out and use another account',
  username_label: 'Username',
  password_label: 'Password',
  page_title_error: 'Error: {title}',
  browser_on_system: '{browser} on {system}',

  sign_in_title: 'Sign in',
  sign_in_intro: 'Use your company account to continue.',
  sign_in_submit: 'Sign in',
  sign_in_with_provider: 'Sign in with {provider}',
  sign_in_or: 'or',
  sign_in_error_failed: 'The username or password is incorrect.',
  sign_in_error_locked: 'Too many failed attempts. Try again after {until}.',
  sign_in_error_blocked: 'This account is blocked. Contact your IT team.',
  sign_in_error_throttled: 'Too many failed sign-ins came from your network. Please wait a few minutes, then try again.',
  sign_in_error_unavailable: 'Sign-in is unavailable right now: the company directory does not answer. Please try again in a few minutes.',
  sign_in_error_password_expired:
    'Your password has expired. Change it the way your company changes passwords, then sign in with the new one.',
  sign_in_error_must_change_password:
    'Your password must be changed before you can use it. Change it the way your company changes passwords, then sign in with the new one.',
  sign_in_error_account_expired: 'Your account has expired. Contact your IT team.',
  sign_in_error_expired: 'The page expired. Please sign in again.',
  sign_in_error_provider: 'Signing in with {provider} did not complete. Please try again.',
  field_required_username: 'Enter your username.',
  field_required_password: 'Enter your password.',
  field_required_code: 'Enter the code from your app.',
  field_invalid_code: 'The code consists of 6 to 8 digits.',

  second_factor_title: 'Verify it’s you',
  second_factor_intro: 'Enter the code from your authenticator app or hardware token.',
  second_factor_intro_totp: 'Enter the code from your authenticator app “{method}”.',
  second_factor_intro_oath_token: 'Enter the code shown on your hardware token “{method}”.',
  second_factor_key_needs_script: 'To use your security key or passkey, turn on JavaScript in your browser.',
  second_factor_other: 'Use another method',
  second_factor_other_intro: 'Choose another way to confirm it’s you.',
  method_named: '{kind} “{name}”',
  second_factor_lost_pass:
    'Lost every method and your recovery codes too? Ask your IT team to reset your sign-in methods and to give you a temporary ' +
    'access pass: with it you set up a new method at your next sign-in, from wherever you are.',
  second_factor_lost_reset:
    'Lost every method and your recovery codes too? Ask your IT team to reset your sign-in methods: you then set up a new one at ' +
    'your next sign-in.',
  second_factor_lost_office:
    'Lost every method and your recovery codes too? Ask your IT team to reset your sign-in methods: you then set up a new one at ' +
    'your next sign-in from the office network or VPN.',
  second_factor_lost_token: 'Lost your token and your recovery codes too? Ask your IT team for a new hardware token.',
  second_factor_step_up: 'Confirm it’s you to open {path}: this area asks for a fresh code, even on a remembered browser.',
  second_factor_code: 'Verification code',
  second_factor_code_hint: '6 to 8 digits, no spaces.',
  second_factor_remember: 'Don’t ask again on this browser for {days} days',
  second_factor_submit: 'Verify',
  second_factor_error_invalid: 'That code didn’t work. Check your app and enter the current code.',
  second_factor_locked_title: 'Verification paused',
  second_factor_locked_text: 'Too many wrong codes were entered. For your security, you can try again after {until}.',
  second_factor_locked_help: 'If you did not try to sign in, tell your IT team right away.',

  enroll_title: 'Set up your authenticator app',
  enroll_intro: 'Your account needs a second step when you sign in. Setting it up takes about a minute.',
  enroll_step_install: 'Install an authenticator app',
  enroll_step_install_text: 'Any app for time-based codes works, for example Microsoft Authenticator or Google Authenticator.',
  enroll_step_scan: 'Scan the QR code',
  enroll_step_scan_text: 'In the app, add a new account and scan this code with your phone’s camera.',
  enroll_qr_label: 'QR code that adds {account} to your authenticator app',
  enroll_open_app: 'Open in your authenticator app',
  enroll_manual: 'Can’t scan the code? Enter these details instead:',
  enroll_account: 'Account',
  enroll_issuer: 'Issuer',
  enroll_secret: 'Key',
  enroll_type: 'Type',
  enroll_type_value: 'Time-based, every {period} seconds',
  enroll_step_confirm: 'Enter the code',
  enroll_step_confirm_text: 'Type the 6-digit code your app now shows to finish the setup.',
  enroll_code: 'Code from the app',
  enroll_submit: 'Finish setup',
  enroll_error_invalid: 'That code didn’t match. Make sure your phone sets its time automatically, then enter the current code.',

  enroll_refused_title: 'Setup needs the office network',
  enroll_refused_text:
    'To protect your account, the first sign-in method can only be set up from a trusted network, such as the office network or the ' +
    'company VPN.',
  enroll_refused_todo:
    'Connect to the office network or VPN and open this page again. If that is not possible, contact your IT team; they can help you ' +
    'set up.',
  enroll_refused_retry: 'Try again',
  enroll_token_title: 'Ask for a hardware token',
  enroll_token_text:
    'Your account needs a second step when you sign in, and this gateway uses hardware tokens for it. Ask your IT team for a token; ' +
    'once it is activated you can sign in with its codes.',
  enroll_pass_title: 'Have a temporary access pass?',
  enroll_pass_text: 'If your IT team gave you a temporary access pass, enter it here to set up your first method from where you are.',
  enroll_pass_label: 'Temporary access pass',
  enroll_pass_hint: '16 letters and digits, for example abcd-efgh-jkmn-pqrs.',
  enroll_pass_submit: 'Continue with the pass',
  enroll_pass_invalid: 'That pass didn’t work. It may be mistyped, expired or used up; ask your IT team for a new one.',
  enroll_pass_locked: 'Too many wrong codes or passes were entered. You can try again after {until}.',
  second_factor_recovery_toggle: 'Lost your phone or token? Use a recovery code',
  second_factor_recovery_label: 'Recovery code',
  second_factor_recovery_error: 'That recovery code didn’t work. It may be mistyped or already used: each code works once.',
  second_factor_recovery_hint: '12 letters and digits from your printed list. Each code works once.',
  second_factor_recovery_submit: 'Sign in with recovery code',
  method_add_after_recovery:
    'You signed in with a recovery code, which works only once. Set up a new method now so you can sign in next time.',
  account_notice_recovery_used: 'You signed in with a recovery code, which works only once. Ask your IT team for a new hardware token.',
  account_recovery_title: 'Recovery codes',
  account_recovery_none: 'You have no recovery codes. Create some so you can still sign in if you lose your phone.',
  account_recovery_some: '{unused} of {total} recovery codes unused (created {created}).',
  account_recovery_manage: 'Recovery codes',
  recovery_title: 'Recovery codes',
  recovery_explain:
    'Each recovery code signs you in once if you lose your phone or token. Keep them somewhere safe, away from your devices.',
  recovery_summary: '{unused} of {total} codes unused (created {created}).',
  recovery_summary_none: 'You have no recovery codes yet.',
  recovery_create: 'Create recovery codes',
  recovery_create_new: 'Create new codes',
  recovery_replace_warning: 'New codes replace your current ones: the old codes stop working at once.',
  recovery_shown_once: 'These codes are shown only this once. Print them or write them down now.',
  recovery_intro: 'Each code signs you in once. After using one, set up a new method.',
  recovery_print_hint: 'Use your browser’s print function to print this page; only the codes are printed.',
  recovery_done: 'I have saved my codes',

  sign_out_title: 'Sign out?',
  sign_out_text:
    'You are signed in as {user}. Signing out ends this session on every server, for this browser and for any copy of its cookie.',
  signed_out_title: 'You’re signed out',
  signed_out_text: 'You have been signed out of the applications behind this gateway. On a shared computer, close the browser as well.',
  signed_out_again: 'Sign in again',
  signed_out_everywhere_title: 'Signed out everywhere',
  signed_out_everywhere_text: 'All your sessions have ended, on this device and on every other one.',
  continue: 'Continue',
  signed_in_title: 'You’re signed in',
  signed_in_continue: 'Continue to {app}',
  signed_in_sessions: 'See your sessions',

  account_title: 'Account security',
  account_intro: 'Manage how you sign in and review recent activity.',
  account_name: 'Name',
  account_email: 'Email',
  account_methods: 'Sign-in methods',
  account_methods_count: '{count} of {max} in use',
  account_method_name: 'Name',
  account_method_kind: 'Type',
  account_method_added: 'Added',
  account_method_last_used: 'Last used',
  account_method_never: 'Never',
  account_methods_empty: 'No second-step methods are set up yet.',
  account_add_method: 'Add a method',
  method_kind_totp: 'Authenticator app',
  method_kind_oath_token: 'Hardware token',
  method_kind_webauthn: 'Security key or passkey',
  account_browsers: 'Remembered browsers',
  account_browsers_none: 'No browser skips the second step at the moment.',
  account_browsers_one: 'One browser currently skips the second step.',
  account_browsers_many: '{count} browsers currently skip the second step.',
  account_browsers_forget: 'Forget remembered browsers',
  account_browsers_forget_hint: 'Every browser, including this one, will ask for the second step again.',
  account_sessions: 'Sessions',
  account_sessions_text: 'Lost a device, or signed in on a computer you no longer use? End all your sessions at once.',
  account_sign_out_everywhere: 'Sign out everywhere',
  account_sessions_this: 'This browser',
  account_sessions_started: 'Signed in',
  account_sessions_seen: 'Last seen',
  account_sessions_address: 'Address',
  account_sessions_client: 'Browser',
  account_sessions_end: 'End',
  account_sessions_end_label: 'End the session started {started}',
  account_sessions_end_others: 'End all other sessions',
  account_notice_session_ended: 'The session was ended. That browser has to sign in again.',
  account_notice_sessions_ended: 'Your other sessions were ended.',
  account_sessions_limited_one: 'Signing in on this browser ended your oldest session (the limit is {max} at a time).',
  account_sessions_limited_many: 'Signing in on this browser ended your {count} oldest sessions (the limit is {max} at a time).',
  account_recent: 'Recent sign-ins',
  account_recent_time: 'Time',
  account_recent_result: 'Result',
  account_recent_address: 'IP address',
  account_recent_client: 'Browser',
  account_recent_steps: 'Steps',
  account_recent_empty: 'No sign-ins recorded yet.',
  account_recent_hint: 'Don’t recognize a sign-in? Sign out everywhere and tell your IT team.',
  account_notice_browsers_forgotten: 'Remembered browsers were forgotten. Each one will ask for the second step again.',
  security_key_use: 'Use your security key or passkey',
  security_key_failed: 'Your security key or passkey was not accepted. Try again, or enter a code.',
  security_key_add: 'Add a security key or passkey',
  security_key_add_title: 'Add a security key or passkey',
  security_key_add_intro:
    'Give it a name you will recognize, then follow your browser: insert and touch your key, or confirm with your fingerprint, face or ' +
    'device PIN.',
  security_key_name: 'Name',
  security_key_name_hint: 'For example “Blue YubiKey” or “Work laptop”.',
  security_key_default_name: 'Security key',
  security_key_add_submit: 'Register security key or passkey',
  security_key_needs_script: 'Your browser needs JavaScript and WebAuthn to register a security key or passkey.',
  security_key_refused: 'The security key or passkey was not registered: {reason}',
  security_key_refused_aaguid: 'this model of security key is not allowed here.',
  security_key_refused_synced: 'passkeys synced to a cloud account are not allowed here; use a security key or a device-bound passkey.',
  security_key_refused_limit: 'you already have the most sign-in methods allowed.',
  security_key_refused_other: 'the browser’s answer could not be verified. Try again.',
  security_keys_title: 'Security keys and passkeys',
  security_keys_empty: 'No security key or passkey is registered.',
  security_key_model: 'Model',
  security_key_synced: 'Synced passkey',
  security_key_device_bound: 'This device only',
  security_key_remove: 'Remove',
  account_notice_security_key_added: 'Your security key or passkey is ready to use.',
  account_notice_security_key_removed: 'The security key or passkey was removed. It no longer signs you in.',
  passkey_sign_in: 'Sign in with a passkey',
  step_up_text: 'This app asks for a security key or passkey, even though you have already verified with a code.',
  step_up_no_key: 'You have no security key or passkey yet. Add one on your account page, then try again.',
  account_notice_method_added: 'Your new sign-in method is ready to use.',
  account_notice_method_removed: 'The sign-in method was removed. Its codes no longer work.',
  account_notice_method_renamed: 'The sign-in method was renamed.',
  account_method_actions: 'Actions',
  account_method_inactive: 'Not activated yet',
  method_rename_label: 'New name for {name}',
  method_rename_submit: 'Rename',
  method_remove_label: 'Remove {name}',
  method_remove_submit: 'Remove',
  method_name_label: 'Name',
  method_name_hint: 'Helps you tell your methods apart, for example “Shared mailbox, Anna’s phone”.',
  method_name_invalid: 'Enter a name of 1 to 64 characters.',
  method_add_title: 'Add an authenticator app',
  method_add_intro:
    'Scan this code with the app you want to add, for example on a second phone for a shared mailbox. Your existing methods keep working.',
  method_add_default_name: 'Authenticator app {n}',
  method_add_submit: 'Add app',
  method_verify_title: 'Confirm it’s you',
  method_verify_intro: 'Before you change your sign-in methods, enter a current code from one of your existing methods.',
  method_verify_submit: 'Continue',
  method_remove_title: 'Remove sign-in method',
  method_remove_text: 'Remove “{name}” ({kind})? Its codes stop working at once.',
  method_remove_last:
    'This is your only sign-in method. After removing it you must set up a new one the next time you sign in, and that may only be ' +
    'possible from the office network or VPN.',
  method_remove_confirm: 'Remove method',
  method_limit_title: 'No room for another method',
  method_limit_text: 'You already have the maximum number of sign-in methods. Remove one you no longer use first.',
  back_to_account: 'Back to account security',
  cancel: 'Cancel',
  sign_in_result_success: 'Successful',
  sign_in_result_denied: 'Denied',
  sign_in_result_locked: 'Locked out',
  sign_in_result_blocked: 'Blocked',
  sign_in_result_fraud: 'Fraud reported',
  sign_in_result_incomplete: 'Not completed',

  fraud_report_title: 'Report a sign-in',
  fraud_report_intro: 'Someone signed in to the account {user} with its password. If that was not you, report it here.',
  fraud_report_note: 'Reporting ends every session of your account and tells your IT team.',
  fraud_report_note_logged:
    'Reporting ends every session of your account and records the report in the sign-in log, which your IT team can see.',
  fraud_report_block_note:
    'Reporting blocks your account to protect it and ends every session. Your IT team is told and will help you get back in.',
  fraud_report_block_note_logged:
    'Reporting blocks your account to protect it and ends every session. The report is recorded in the sign-in log; ' +
    'ask your IT team to help you get back in.',
  fraud_report_submit: 'This wasn’t me: report it',
  fraud_report_keep: 'If this was you, close this page; nothing changes.',
  fraud_reported_title: 'Sign-in reported',
  fraud_reported_lead: 'Thank you for reporting it. This is what happened:',
  fraud_reported_sessions:
    'Every session of your account has ended, so whoever signed in with your password is signed out. Remembered browsers must ' +
    'pass the second step again.',
  fraud_reported_blocked:
    'Your account is blocked until {until}: nobody can sign in with it, not even you, unless your IT team unblocks it sooner.',
  fraud_reported_admins_told: 'Your IT team has been sent an e-mail about the report.',
  fraud_reported_logged: 'The report is recorded in the sign-in log, which your IT team can see.',
  fraud_reported_next: 'What to do now',
  fraud_reported_next_password: 'Change your password the way your company changes passwords, then sign in again.',
  fraud_reported_next_blocked: 'Change your password the way your company changes passwords, and ask your IT team to unblock your account.',
  go_to_sign_in: 'Go to sign-in',
  fraud_already_title: 'Already reported',
  fraud_already_text: 'This sign-in has already been reported. Nothing more needs to be done.',
  fraud_link_invalid_title: 'Link not valid',
  fraud_link_invalid_text:
    'This report link is not valid or has expired. If you think someone else signed in to your account, tell your IT team.',

  error_code: 'Error {status}',
  error_home: 'Go to the start page',
  error_retry: 'Try again',
  error_request_id: 'Request ID: {id}',
  rule_remediation_label: 'What you can do:',
  error_form_expired: 'This form has expired. Go back, reload the page and try again.',
  error_400: 'Bad request',
  error_400_text: 'Your browser sent a request this gateway could not understand. Go back and try again.',
  error_403: 'Access denied',
  error_403_text: 'You don’t have permission to open this page. If you think you should, contact your IT team.',
  error_404: 'Page not found',
  error_404_text: 'The address may be mistyped, or the page may have moved.',
  error_414: 'Address too long',
  error_414_text: 'This web address is longer than the gateway accepts. Open the application from its start page instead.',
  error_431: 'Request too large',
  error_431_text:
    'Your browser sent more data than the gateway accepts, often because of too many cookies. Clear the cookies for this site and try ' +
    'again.',
  error_429: 'Too many sign-ins right now',
  error_429_text: 'The gateway is checking many passwords at the moment. Wait a few seconds and try again.',
  error_500: 'Something went wrong',
  error_500_text: 'The gateway ran into an unexpected problem. Try again in a moment; if it keeps happening, contact your IT team.',
  error_502: 'Application not responding',
  error_502_text: 'The application behind this gateway is not answering. It may be restarting; try again in a minute.',
  error_503: 'Temporarily unavailable',
  error_503_text: 'The sign-in service is briefly unavailable. Try again in a minute.',
  error_504: 'Application took too long',
  error_504_text: 'The application behind this gateway did not answer in time. Try again; if it keeps happening, contact your IT team.',
} as const satisfies Record<string, string>;

/** A page text's stable key. */
export type MessageKey = keyof typeof en;

/** Every key, in a stable order. */
export const MESSAGE_KEYS: readonly MessageKey[] = Object.freeze(Object.keys(en) as MessageKey[]);

const de: Record<MessageKey, string> = {
  ...adminMessagesDe,
  ...logMessagesDe,
  product_name: 'MFA Gateway',
  footer_help: 'Brauchen Sie Hilfe? Wenden Sie sich an Ihre IT-Abteilung.',
  footer_help_lead: 'Brauchen Sie Hilfe?',
  footer_help_page: 'Hilfeseiten',
  back_to_app: 'Zurück zu {app}',
  signed_in_as: 'Angemeldet als {user}',
  not_you: 'Nicht Sie?',
  sign_out: 'Abmelden',
  sign_out_switch: 'Abmelden und ein anderes Konto verwenden',
  username_label: 'Benutzername',
  password_label: 'Kennwort',
  page_title_error: 'Fehler: {title}',
  browser_on_system: '{browser} unter {system}',

  sign_in_title: 'Anmelden',
  sign_in_intro: 'Melden Sie sich mit Ihrem Firmenkonto an, um fortzufahren.',
  sign_in_submit: 'Anmelden',
  sign_in_with_provider: 'Mit {provider} anmelden',
  sign_in_or: 'oder',
  sign_in_error_failed: 'Benutzername oder Kennwort ist falsch.',
  sign_in_error_locked: 'Zu viele fehlgeschlagene Versuche. Versuchen Sie es ab {until} erneut.',
  sign_in_error_blocked: 'Dieses Konto ist gesperrt. Wenden Sie sich an Ihre IT-Abteilung.',
  sign_in_error_throttled:
    'Aus Ihrem Netzwerk kamen zu viele fehlgeschlagene Anmeldungen. Bitte warten Sie einige Minuten und versuchen Sie es dann erneut.',
  sign_in_error_unavailable:
    'Die Anmeldung ist gerade nicht möglich: Das Firmenverzeichnis antwortet nicht. Bitte versuchen Sie es in einigen Minuten erneut.',
  sign_in_error_password_expired:
    'Ihr Kennwort ist abgelaufen. Ändern Sie es auf dem in Ihrer Firma üblichen Weg und melden Sie sich dann mit dem neuen an.',
  sign_in_error_must_change_password:
    'Ihr Kennwort muss geändert werden, bevor Sie es verwenden können. Ändern Sie es auf dem in Ihrer Firma üblichen Weg und melden ' +
    'Sie sich dann mit dem neuen an.',
  sign_in_error_account_expired: 'Ihr Konto ist abgelaufen. Wenden Sie sich an Ihre IT-Abteilung.',
  sign_in_error_expired: 'Die Seite ist abgelaufen. Bitte melden Sie sich erneut an.',
  sign_in_error_provider: 'Die Anmeldung mit {provider} wurde nicht abgeschlossen. Bitte versuchen Sie es erneut.',
  field_required_username: 'Geben Sie Ihren Benutzernamen ein.',
  field_required_password: 'Geben Sie Ihr Kennwort ein.',
  field_required_code: 'Geben Sie den Code aus Ihrer App ein.',
  field_invalid_code: 'Der Code besteht aus 6 bis 8 Ziffern.',

  second_factor_title: 'Bestätigen Sie Ihre Identität',
  second_factor_intro: 'Geben Sie den Code aus Ihrer Authenticator-App oder von Ihrem Hardware-Token ein.',
  second_factor_intro_totp: 'Geben Sie den Code aus Ihrer Authenticator-App „{method}“ ein.',
  second_factor_intro_oath_token: 'Geben Sie den Code ein, den Ihr Hardware-Token „{method}“ anzeigt.',
  second_factor_key_needs_script: 'Um Ihren Sicherheitsschlüssel oder Passkey zu verwenden, schalten Sie JavaScript in Ihrem Browser ein.',
  second_factor_other: 'Andere Methode verwenden',
  second_factor_other_intro: 'Wählen Sie einen anderen Weg, um zu bestätigen, dass Sie es sind.',
  method_named: '{kind} „{name}“',
  second_factor_lost_pass:
    'Alle Methoden und auch die Wiederherstellungscodes verloren? Bitten Sie Ihre IT-Abteilung, Ihre Anmeldemethoden ' +
    'zurückzusetzen und Ihnen einen befristeten Zugangspass zu geben: Damit richten Sie bei der nächsten Anmeldung von überall ' +
    'aus eine neue Methode ein.',
  second_factor_lost_reset:
    'Alle Methoden und auch die Wiederherstellungscodes verloren? Bitten Sie Ihre IT-Abteilung, Ihre Anmeldemethoden ' +
    'zurückzusetzen: Bei der nächsten Anmeldung richten Sie dann eine neue ein.',
  second_factor_lost_office:
    'Alle Methoden und auch die Wiederherstellungscodes verloren? Bitten Sie Ihre IT-Abteilung, Ihre Anmeldemethoden ' +
    'zurückzusetzen: Bei der nächsten Anmeldung im Firmennetz oder über das VPN richten Sie dann eine neue ein.',
  second_factor_lost_token: 'Token und Wiederherstellungscodes verloren? Fordern Sie bei Ihrer IT-Abteilung ein neues Hardware-Token an.',
  second_factor_step_up:
    'Bestätigen Sie, dass Sie es sind, um {path} zu öffnen: Dieser Bereich verlangt einen frischen Code, auch auf einem gemerkten Browser.',
  second_factor_code: 'Bestätigungscode',
  second_factor_code_hint: '6 bis 8 Ziffern, ohne Leerzeichen.',
  second_factor_remember: 'Auf diesem Browser {days} Tage lang nicht mehr fragen',
  second_factor_submit: 'Bestätigen',
  second_factor_error_invalid: 'Dieser Code ist ungültig. Prüfen Sie Ihre App und geben Sie den aktuellen Code ein.',
  second_factor_locked_title: 'Bestätigung vorübergehend gesperrt',
  second_factor_locked_text: 'Es wurden zu viele falsche Codes eingegeben. Zu Ihrer Sicherheit können Sie es ab {until} erneut versuchen.',
  second_factor_locked_help: 'Falls Sie sich nicht anmelden wollten, informieren Sie bitte umgehend Ihre IT-Abteilung.',

  enroll_title: 'Authenticator-App einrichten',
  enroll_intro: 'Für Ihr Konto ist bei der Anmeldung ein zweiter Schritt erforderlich. Die Einrichtung dauert etwa eine Minute.',
  enroll_step_install: 'Authenticator-App installieren',
  enroll_step_install_text: 'Jede App für zeitbasierte Codes ist geeignet, zum Beispiel Microsoft Authenticator oder Google Authenticator.',
  enroll_step_scan: 'QR-Code scannen',
  enroll_step_scan_text: 'Fügen Sie in der App ein neues Konto hinzu und scannen Sie diesen Code mit der Kamera Ihres Telefons.',
  enroll_qr_label: 'QR-Code, der {account} zu Ihrer Authenticator-App hinzufügt',
  enroll_open_app: 'In Ihrer Authenticator-App öffnen',
  enroll_manual: 'Der Code lässt sich nicht scannen? Geben Sie stattdessen diese Daten ein:',
  enroll_account: 'Konto',
  enroll_issuer: 'Aussteller',
  enroll_secret: 'Schlüssel',
  enroll_type: 'Typ',
  enroll_type_value: 'Zeitbasiert, alle {period} Sekunden',
  enroll_step_confirm: 'Code eingeben',
  enroll_step_confirm_text: 'Geben Sie den 6-stelligen Code ein, den Ihre App jetzt anzeigt, um die Einrichtung abzuschließen.',
  enroll_code: 'Code aus der App',
  enroll_submit: 'Einrichtung abschließen',
  enroll_error_invalid:
    'Der Code stimmt nicht. Stellen Sie sicher, dass Ihr Telefon die Uhrzeit automatisch einstellt, und geben Sie den aktuellen Code ein.',

  enroll_refused_title: 'Einrichtung nur im Firmennetz möglich',
  enroll_refused_text:
    'Zum Schutz Ihres Kontos kann die erste Anmeldemethode nur aus einem vertrauenswürdigen Netz eingerichtet werden, etwa im ' +
    'Firmennetz oder über das Firmen-VPN.',
  enroll_refused_todo:
    'Verbinden Sie sich mit dem Firmennetz oder VPN und öffnen Sie diese Seite erneut. Ist das nicht möglich, wenden Sie sich an Ihre ' +
    'IT-Abteilung; dort hilft man Ihnen bei der Einrichtung.',
  enroll_refused_retry: 'Erneut versuchen',
  enroll_token_title: 'Hardware-Token anfordern',
  enroll_token_text:
    'Für Ihr Konto ist bei der Anmeldung ein zweiter Schritt erforderlich, und dieses Gateway verwendet dafür Hardware-Token. Fordern ' +
    'Sie bei Ihrer IT-Abteilung ein Token an; sobald es aktiviert ist, melden Sie sich mit seinen Codes an.',
  enroll_pass_title: 'Haben Sie einen befristeten Zugangspass?',
  enroll_pass_text:
    'Wenn Ihre IT-Abteilung Ihnen einen befristeten Zugangspass gegeben hat, geben Sie ihn hier ein, um Ihre erste Methode von Ihrem ' +
    'jetzigen Ort aus einzurichten.',
  enroll_pass_label: 'Befristeter Zugangspass',
  enroll_pass_hint: '16 Buchstaben und Ziffern, zum Beispiel abcd-efgh-jkmn-pqrs.',
  enroll_pass_submit: 'Mit dem Pass fortfahren',
  enroll_pass_invalid:
    'Dieser Pass ist ungültig. Er ist möglicherweise falsch eingegeben, abgelaufen oder aufgebraucht; fordern Sie bei Ihrer ' +
    'IT-Abteilung einen neuen an.',
  enroll_pass_locked: 'Es wurden zu viele falsche Codes oder Pässe eingegeben. Sie können es ab {until} erneut versuchen.',
  second_factor_recovery_toggle: 'Telefon oder Token verloren? Wiederherstellungscode verwenden',
  second_factor_recovery_label: 'Wiederherstellungscode',
  second_factor_recovery_error:
    'Dieser Wiederherstellungscode hat nicht funktioniert. Er ist vielleicht falsch eingegeben oder schon verwendet: Jeder Code gilt ' +
    'nur einmal.',
  second_factor_recovery_hint: '12 Buchstaben und Ziffern aus Ihrer ausgedruckten Liste. Jeder Code funktioniert einmal.',
  second_factor_recovery_submit: 'Mit Wiederherstellungscode anmelden',
  method_add_after_recovery:
    'Sie haben sich mit einem Wiederherstellungscode angemeldet, der nur einmal gilt. Richten Sie jetzt eine neue Methode ein, damit ' +
    'Sie sich beim nächsten Mal anmelden können.',
  account_notice_recovery_used:
    'Sie haben sich mit einem Wiederherstellungscode angemeldet, der nur einmal gilt. Fordern Sie bei Ihrer IT-Abteilung ein neues ' +
    'Hardware-Token an.',
  account_recovery_title: 'Wiederherstellungscodes',
  account_recovery_none:
    'Sie haben keine Wiederherstellungscodes. Erstellen Sie welche, damit Sie sich auch nach dem Verlust Ihres Telefons anmelden können.',
  account_recovery_some: '{unused} von {total} Wiederherstellungscodes unbenutzt (erstellt am {created}).',
  account_recovery_manage: 'Wiederherstellungscodes',
  recovery_title: 'Wiederherstellungscodes',
  recovery_explain:
    'Jeder Wiederherstellungscode meldet Sie einmal an, wenn Sie Ihr Telefon oder Token verlieren. Bewahren Sie die Codes sicher und ' +
    'getrennt von Ihren Geräten auf.',
  recovery_summary: '{unused} von {total} Codes unbenutzt (erstellt am {created}).',
  recovery_summary_none: 'Sie haben noch keine Wiederherstellungscodes.',
  recovery_create: 'Wiederherstellungscodes erstellen',
  recovery_create_new: 'Neue Codes erstellen',
  recovery_replace_warning: 'Neue Codes ersetzen Ihre bisherigen: Die alten Codes funktionieren sofort nicht mehr.',
  recovery_shown_once: 'Diese Codes werden nur dieses eine Mal angezeigt. Drucken Sie sie jetzt aus oder schreiben Sie sie auf.',
  recovery_intro: 'Jeder Code meldet Sie einmal an. Richten Sie danach eine neue Methode ein.',
  recovery_print_hint: 'Drucken Sie diese Seite mit der Druckfunktion Ihres Browsers; gedruckt werden nur die Codes.',
  recovery_done: 'Ich habe meine Codes gesichert',

  sign_out_title: 'Abmelden?',
  sign_out_text:
    'Sie sind als {user} angemeldet. Das Abmelden beendet diese Sitzung auf allen Servern, für diesen Browser und für jede Kopie ' +
    'seines Cookies.',
  signed_out_title: 'Sie sind abgemeldet',
  signed_out_text:
    'Sie wurden von den Anwendungen hinter diesem Gateway abgemeldet. Schließen Sie an einem gemeinsam genutzten Computer auch den ' +
    'Browser.',
  signed_out_again: 'Erneut anmelden',
  signed_out_everywhere_title: 'Überall abgemeldet',
  signed_out_everywhere_text: 'Alle Ihre Sitzungen wurden beendet, auf diesem und auf allen anderen Geräten.',
  continue: 'Weiter',
  signed_in_title: 'Sie sind angemeldet',
  signed_in_continue: 'Weiter zu {app}',
  signed_in_sessions: 'Ihre Sitzungen ansehen',

  account_title: 'Kontosicherheit',
  account_intro: 'Verwalten Sie, wie Sie sich anmelden, und prüfen Sie die letzten Aktivitäten.',
  account_name: 'Name',
  account_email: 'E-Mail',
  account_methods: 'Anmeldemethoden',
  account_methods_count: '{count} von {max} in Verwendung',
  account_method_name: 'Name',
  account_method_kind: 'Art',
  account_method_added: 'Hinzugefügt',
  account_method_last_used: 'Zuletzt verwendet',
  account_method_never: 'Nie',
  account_methods_empty: 'Es sind noch keine Methoden für den zweiten Schritt eingerichtet.',
  account_add_method: 'Methode hinzufügen',
  method_kind_totp: 'Authenticator-App',
  method_kind_oath_token: 'Hardware-Token',
  method_kind_webauthn: 'Sicherheitsschlüssel oder Passkey',
  account_browsers: 'Gespeicherte Browser',
  account_browsers_none: 'Derzeit überspringt kein Browser den zweiten Schritt.',
  account_browsers_one: 'Ein Browser überspringt derzeit den zweiten Schritt.',
  account_browsers_many: '{count} Browser überspringen derzeit den zweiten Schritt.',
  account_browsers_forget: 'Gespeicherte Browser vergessen',
  account_browsers_forget_hint: 'Jeder Browser, auch dieser, fragt dann wieder nach dem zweiten Schritt.',
  account_sessions: 'Sitzungen',
  account_sessions_text:
    'Gerät verloren oder an einem Computer angemeldet, den Sie nicht mehr nutzen? Beenden Sie alle Sitzungen auf einmal.',
  account_sign_out_everywhere: 'Überall abmelden',
  account_sessions_this: 'Dieser Browser',
  account_sessions_started: 'Angemeldet',
  account_sessions_seen: 'Zuletzt gesehen',
  account_sessions_address: 'Adresse',
  account_sessions_client: 'Browser',
  account_sessions_end: 'Beenden',
  account_sessions_end_label: 'Die Sitzung vom {started} beenden',
  account_sessions_end_others: 'Alle anderen Sitzungen beenden',
  account_notice_session_ended: 'Die Sitzung wurde beendet. Dieser Browser muss sich neu anmelden.',
  account_notice_sessions_ended: 'Ihre anderen Sitzungen wurden beendet.',
  account_sessions_limited_one: 'Die Anmeldung in diesem Browser hat Ihre älteste Sitzung beendet (höchstens {max} gleichzeitig).',
  account_sessions_limited_many:
    'Die Anmeldung in diesem Browser hat Ihre {count} ältesten Sitzungen beendet (höchstens {max} gleichzeitig).',
  account_recent: 'Letzte Anmeldungen',
  account_recent_time: 'Zeitpunkt',
  account_recent_result: 'Ergebnis',
  account_recent_address: 'IP-Adresse',
  account_recent_client: 'Browser',
  account_recent_steps: 'Schritte',
  account_recent_empty: 'Bisher wurden keine Anmeldungen aufgezeichnet.',
  account_recent_hint: 'Sie erkennen eine Anmeldung nicht? Melden Sie sich überall ab und informieren Sie Ihre IT-Abteilung.',
  account_notice_browsers_forgotten: 'Die gespeicherten Browser wurden vergessen. Jeder fragt wieder nach dem zweiten Schritt.',
  security_key_use: 'Sicherheitsschlüssel oder Passkey verwenden',
  security_key_failed:
    'Ihr Sicherheitsschlüssel oder Passkey wurde nicht akzeptiert. Versuchen Sie es erneut oder geben Sie einen Code ein.',
  security_key_add: 'Sicherheitsschlüssel oder Passkey hinzufügen',
  security_key_add_title: 'Sicherheitsschlüssel oder Passkey hinzufügen',
  security_key_add_intro:
    'Geben Sie einen Namen ein, an dem Sie ihn wiedererkennen, und folgen Sie dann Ihrem Browser: Schlüssel einstecken und berühren ' +
    'oder mit Fingerabdruck, Gesicht oder Geräte-PIN bestätigen.',
  security_key_name: 'Name',
  security_key_name_hint: 'Zum Beispiel „Blauer YubiKey“ oder „Dienstlaptop“.',
  security_key_default_name: 'Sicherheitsschlüssel',
  security_key_add_submit: 'Sicherheitsschlüssel oder Passkey registrieren',
  security_key_needs_script: 'Zum Registrieren eines Sicherheitsschlüssels oder Passkeys braucht Ihr Browser JavaScript und WebAuthn.',
  security_key_refused: 'Der Sicherheitsschlüssel oder Passkey wurde nicht registriert: {reason}',
  security_key_refused_aaguid: 'dieses Schlüsselmodell ist hier nicht erlaubt.',
  security_key_refused_synced:
    'mit einem Cloud-Konto synchronisierte Passkeys sind hier nicht erlaubt; verwenden Sie einen Sicherheitsschlüssel oder einen ' +
    'gerätegebundenen Passkey.',
  security_key_refused_limit: 'Sie haben bereits die höchste erlaubte Zahl an Anmeldemethoden.',
  security_key_refused_other: 'die Antwort des Browsers ließ sich nicht prüfen. Versuchen Sie es erneut.',
  security_keys_title: 'Sicherheitsschlüssel und Passkeys',
  security_keys_empty: 'Kein Sicherheitsschlüssel und kein Passkey ist registriert.',
  security_key_model: 'Modell',
  security_key_synced: 'Synchronisierter Passkey',
  security_key_device_bound: 'Nur dieses Gerät',
  security_key_remove: 'Entfernen',
  account_notice_security_key_added: 'Ihr Sicherheitsschlüssel oder Passkey ist einsatzbereit.',
  account_notice_security_key_removed: 'Der Sicherheitsschlüssel oder Passkey wurde entfernt. Er meldet Sie nicht mehr an.',
  passkey_sign_in: 'Mit einem Passkey anmelden',
  step_up_text:
    'Diese Anwendung verlangt einen Sicherheitsschlüssel oder Passkey, auch wenn Sie sich bereits mit einem Code bestätigt haben.',
  step_up_no_key:
    'Sie haben noch keinen Sicherheitsschlüssel und keinen Passkey. Fügen Sie auf Ihrer Kontoseite einen hinzu und versuchen Sie es ' +
    'dann erneut.',
  account_notice_method_added: 'Ihre neue Anmeldemethode ist einsatzbereit.',
  account_notice_method_removed: 'Die Anmeldemethode wurde entfernt. Ihre Codes funktionieren nicht mehr.',
  account_notice_method_renamed: 'Die Anmeldemethode wurde umbenannt.',
  account_method_actions: 'Aktionen',
  account_method_inactive: 'Noch nicht aktiviert',
  method_rename_label: 'Neuer Name für {name}',
  method_rename_submit: 'Umbenennen',
  method_remove_label: '{name} entfernen',
  method_remove_submit: 'Entfernen',
  method_name_label: 'Name',
  method_name_hint: 'Damit Sie Ihre Methoden unterscheiden können, zum Beispiel „Gemeinsames Postfach, Annas Telefon“.',
  method_name_invalid: 'Geben Sie einen Namen mit 1 bis 64 Zeichen ein.',
  method_add_title: 'Authenticator-App hinzufügen',
  method_add_intro:
    'Scannen Sie diesen Code mit der App, die Sie hinzufügen möchten, zum Beispiel auf einem zweiten Telefon für ein gemeinsames ' +
    'Postfach. Ihre bisherigen Methoden funktionieren weiter.',
  method_add_default_name: 'Authenticator-App {n}',
  method_add_submit: 'App hinzufügen',
  method_verify_title: 'Bestätigen Sie Ihre Identität',
  method_verify_intro: 'Bevor Sie Ihre Anmeldemethoden ändern, geben Sie einen aktuellen Code aus einer Ihrer bisherigen Methoden ein.',
  method_verify_submit: 'Weiter',
  method_remove_title: 'Anmeldemethode entfernen',
  method_remove_text: '„{name}“ ({kind}) entfernen? Ihre Codes funktionieren dann sofort nicht mehr.',
  method_remove_last:
    'Dies ist Ihre einzige Anmeldemethode. Nach dem Entfernen müssen Sie bei der nächsten Anmeldung eine neue einrichten, was ' +
    'möglicherweise nur im Firmennetz oder über das VPN möglich ist.',
  method_remove_confirm: 'Methode entfernen',
  method_limit_title: 'Kein Platz für eine weitere Methode',
  method_limit_text: 'Sie haben bereits die Höchstzahl an Anmeldemethoden. Entfernen Sie zuerst eine, die Sie nicht mehr verwenden.',
  back_to_account: 'Zurück zur Kontosicherheit',
  cancel: 'Abbrechen',
  sign_in_result_success: 'Erfolgreich',
  sign_in_result_denied: 'Abgelehnt',
  sign_in_result_locked: 'Gesperrt',
  sign_in_result_blocked: 'Blockiert',
  sign_in_result_fraud: 'Betrug gemeldet',
  sign_in_result_incomplete: 'Nicht abgeschlossen',

  fraud_report_title: 'Anmeldung melden',
  fraud_report_intro: 'Jemand hat sich mit dem Kennwort beim Konto {user} angemeldet. Wenn Sie das nicht waren, melden Sie es hier.',
  fraud_report_note: 'Die Meldung beendet alle Sitzungen Ihres Kontos und informiert Ihre IT-Abteilung.',
  fraud_report_note_logged:
    'Die Meldung beendet alle Sitzungen Ihres Kontos und wird im Anmeldeprotokoll festgehalten, das Ihre IT-Abteilung einsehen kann.',
  fraud_report_block_note:
    'Die Meldung sperrt Ihr Konto zu seinem Schutz und beendet alle Sitzungen. Ihre IT-Abteilung wird informiert und hilft Ihnen, ' +
    'wieder Zugang zu erhalten.',
  fraud_report_block_note_logged:
    'Die Meldung sperrt Ihr Konto zu seinem Schutz und beendet alle Sitzungen. Sie wird im Anmeldeprotokoll festgehalten; ' +
    'bitten Sie Ihre IT-Abteilung, Ihnen wieder Zugang zu verschaffen.',
  fraud_report_submit: 'Das war ich nicht: melden',
  fraud_report_keep: 'Wenn Sie das waren, schließen Sie diese Seite; es ändert sich nichts.',
  fraud_reported_title: 'Anmeldung gemeldet',
  fraud_reported_lead: 'Danke für Ihre Meldung. Das ist geschehen:',
  fraud_reported_sessions:
    'Alle Sitzungen Ihres Kontos wurden beendet; wer sich mit Ihrem Kennwort angemeldet hat, ist damit abgemeldet. Gespeicherte ' +
    'Browser müssen den zweiten Schritt wieder bestehen.',
  fraud_reported_blocked:
    'Ihr Konto ist bis {until} gesperrt: Niemand kann sich damit anmelden, auch Sie nicht, es sei denn, Ihre IT-Abteilung hebt ' +
    'die Sperre früher auf.',
  fraud_reported_admins_told: 'Ihre IT-Abteilung hat eine E-Mail zu der Meldung erhalten.',
  fraud_reported_logged: 'Die Meldung ist im Anmeldeprotokoll vermerkt, das Ihre IT-Abteilung einsehen kann.',
  fraud_reported_next: 'Was Sie jetzt tun sollten',
  fraud_reported_next_password: 'Ändern Sie Ihr Kennwort auf dem in Ihrer Firma üblichen Weg und melden Sie sich dann erneut an.',
  fraud_reported_next_blocked:
    'Ändern Sie Ihr Kennwort auf dem in Ihrer Firma üblichen Weg und bitten Sie Ihre IT-Abteilung, die Sperre aufzuheben.',
  go_to_sign_in: 'Zur Anmeldung',
  fraud_already_title: 'Bereits gemeldet',
  fraud_already_text: 'Diese Anmeldung wurde bereits gemeldet. Sie müssen nichts weiter tun.',
  fraud_link_invalid_title: 'Link ungültig',
  fraud_link_invalid_text:
    'Dieser Meldelink ist ungültig oder abgelaufen. Wenn Sie glauben, dass sich jemand anderes bei Ihrem Konto angemeldet hat, ' +
    'informieren Sie Ihre IT-Abteilung.',

  error_code: 'Fehler {status}',
  error_home: 'Zur Startseite',
  error_retry: 'Erneut versuchen',
  error_request_id: 'Anfrage-ID: {id}',
  rule_remediation_label: 'Was Sie tun können:',
  error_form_expired: 'Dieses Formular ist abgelaufen. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.',
  error_400: 'Ungültige Anfrage',
  error_400_text:
    'Ihr Browser hat eine Anfrage gesendet, die dieses Gateway nicht verarbeiten kann. Gehen Sie zurück und versuchen Sie es erneut.',
  error_403: 'Zugriff verweigert',
  error_403_text: 'Sie sind nicht berechtigt, diese Seite zu öffnen. Wenn Sie Zugriff haben sollten, wenden Sie sich an Ihre IT-Abteilung.',
  error_404: 'Seite nicht gefunden',
  error_404_text: 'Die Adresse ist möglicherweise falsch geschrieben, oder die Seite wurde verschoben.',
  error_414: 'Adresse zu lang',
  error_414_text: 'Diese Webadresse ist länger, als das Gateway erlaubt. Öffnen Sie die Anwendung stattdessen über ihre Startseite.',
  error_431: 'Anfrage zu groß',
  error_431_text:
    'Ihr Browser hat mehr Daten gesendet, als das Gateway annimmt, häufig wegen zu vieler Cookies. Löschen Sie die Cookies für diese ' +
    'Website und versuchen Sie es erneut.',
  error_429: 'Gerade zu viele Anmeldungen',
  error_429_text: 'Das Gateway prüft im Moment sehr viele Kennwörter. Warten Sie einige Sekunden und versuchen Sie es erneut.',
  error_500: 'Etwas ist schiefgelaufen',
  error_500_text:
    'Im Gateway ist ein unerwarteter Fehler aufgetreten. Versuchen Sie es gleich noch einmal; wenn das Problem bleibt, wenden Sie sich ' +
    'an Ihre IT-Abteilung.',
  error_502: 'Anwendung antwortet nicht',
  error_502_text:
    'Die Anwendung hinter diesem Gateway antwortet nicht. Möglicherweise wird sie gerade neu gestartet; versuchen Sie es in einer ' +
    'Minute erneut.',
  error_503: 'Vorübergehend nicht verfügbar',
  error_503_text: 'Der Anmeldedienst ist kurzzeitig nicht erreichbar. Versuchen Sie es in einer Minute erneut.',
  error_504: 'Zeitüberschreitung der Anwendung',
  error_504_text:
    'Die Anwendung hinter diesem Gateway hat nicht rechtzeitig geantwortet. Versuchen Sie es erneut; wenn das Problem bleibt, wenden ' +
    'Sie sich an Ihre IT-Abteilung.',
};

/** The shipped texts; the config's `messages` section is merged over them by `buildCatalog`. */
export const defaultMessages: Readonly<Record<'en' | 'de', Readonly<Record<MessageKey, string>>>> = Object.freeze({
  en: Object.freeze(en),
  de: Object.freeze(de),
});

/** Whether `key` is a known message key. */
export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}
