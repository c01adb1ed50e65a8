/**
 * @module notify/texts
 * The texts of the gateway's e-mails in English and German (formal "Sie"). `{name}`
 * placeholders are filled by `notify/compose`, which escapes every value for the HTML part.
 * A user's mail is in the language of the browser whose request caused it; the mails to the
 * admin addresses are in `notifications.language`.
 */

const en = {
  greeting: 'Hello {name},',
  sign_in_subject: 'New sign-in to your account {user}',
  sign_in_intro: 'Someone signed in to your account {user} with the correct password.',
  sign_in_yours: 'If this was you, you don’t need to do anything.',
  sign_in_not_yours: 'If it wasn’t you, report it with the link below. Your IT team will be told at once.',
  sign_in_not_yours_block:
    'If it wasn’t you, report it with the link below. Your account is then blocked to protect it, and your IT team is told at once.',
  sign_in_report: 'Report this sign-in',
  sign_in_link_expires: 'The link works once, until {expires}.',
  label_user: 'Account',
  label_time: 'Time',
  label_address: 'IP address',
  label_browser: 'Browser',
  browser_on_system: '{browser} on {system}',
  label_reported_at: 'Reported',
  label_reported_from: 'Reported from',
  label_reason: 'Reason',
  label_until: 'Until',
  label_by: 'By',
  label_attempts: 'Failed step',
  fraud_subject: 'Fraud alert: {user} reported a sign-in they did not start',
  fraud_intro: 'The user {user} reported a sign-in to their account as not theirs.',
  fraud_blocked: 'The account is blocked until {until}. Its sessions and remembered browsers were ended.',
  fraud_not_blocked: 'The account was not blocked (mfa.fraud_alert.auto_block is off). Its sessions and remembered browsers were ended.',
  fraud_todo: 'Check the sign-in log (mfa-gateway log --user {user}) and reset the password before you unblock the account.',
  lockout_subject: 'Account locked: {user}',
  lockout_intro: 'The account {user} was locked after too many failed attempts.',
  lockout_step_password: 'password',
  lockout_step_second_factor: 'second factor',
  block_subject: 'Account blocked: {user}',
  block_intro: 'The account {user} was blocked. Every sign-in is denied until the block ends or an admin unblocks it.',
  footer: 'This message was sent by {product}. Please do not reply.',
} as const satisfies Record<string, string>;

export type MailTextKey = keyof typeof en;

const de: Record<MailTextKey, string> = {
  greeting: 'Guten Tag {name},',
  sign_in_subject: 'Neue Anmeldung bei Ihrem Konto {user}',
  sign_in_intro: 'Jemand hat sich mit dem richtigen Kennwort bei Ihrem Konto {user} angemeldet.',
  sign_in_yours: 'Wenn Sie das waren, müssen Sie nichts tun.',
  sign_in_not_yours: 'Wenn nicht, melden Sie die Anmeldung über den Link unten. Ihre IT-Abteilung wird sofort informiert.',
  sign_in_not_yours_block:
    'Wenn nicht, melden Sie die Anmeldung über den Link unten. Ihr Konto wird dann zu seinem Schutz gesperrt, und Ihre IT-Abteilung ' +
    'wird sofort informiert.',
  sign_in_report: 'Diese Anmeldung melden',
  sign_in_link_expires: 'Der Link funktioniert einmal, bis {expires}.',
  label_user: 'Konto',
  label_time: 'Zeit',
  label_address: 'IP-Adresse',
  label_browser: 'Browser',
  browser_on_system: '{browser} unter {system}',
  label_reported_at: 'Gemeldet',
  label_reported_from: 'Gemeldet von',
  label_reason: 'Grund',
  label_until: 'Bis',
  label_by: 'Durch',
  label_attempts: 'Fehlgeschlagener Schritt',
  fraud_subject: 'Betrugswarnung: {user} hat eine fremde Anmeldung gemeldet',
  fraud_intro: 'Der Benutzer {user} hat eine Anmeldung bei seinem Konto als nicht von ihm stammend gemeldet.',
  fraud_blocked: 'Das Konto ist bis {until} gesperrt. Seine Sitzungen und gemerkten Browser wurden beendet.',
  fraud_not_blocked:
    'Das Konto wurde nicht gesperrt (mfa.fraud_alert.auto_block ist aus). Seine Sitzungen und gemerkten Browser wurden beendet.',
  fraud_todo:
    'Prüfen Sie das Anmeldeprotokoll (mfa-gateway log --user {user}) und setzen Sie das Kennwort zurück, bevor Sie das Konto entsperren.',
  lockout_subject: 'Konto gesperrt: {user}',
  lockout_intro: 'Das Konto {user} wurde nach zu vielen Fehlversuchen vorübergehend gesperrt.',
  lockout_step_password: 'Kennwort',
  lockout_step_second_factor: 'zweiter Faktor',
  block_subject: 'Konto blockiert: {user}',
  block_intro: 'Das Konto {user} wurde blockiert. Jede Anmeldung wird abgelehnt, bis die Sperre endet oder ein Administrator sie aufhebt.',
  footer: 'Diese Nachricht wurde von {product} gesendet. Bitte antworten Sie nicht darauf.',
};

export const MAIL_TEXTS: Readonly<Record<string, Readonly<Record<MailTextKey, string>>>> = Object.freeze({ en, de });

/** The mail language for a page language tag (`de-CH` -> `de`); English when there are no texts for it. */
export function mailLanguage(lang: string | undefined): string {
  const base = (lang ?? '').toLowerCase().split('-')[0] ?? '';
  return Object.hasOwn(MAIL_TEXTS, base) ? base : 'en';
}
