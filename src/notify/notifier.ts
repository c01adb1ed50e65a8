/**
 * @module notify/notifier
 * What the rest of the gateway calls to tell someone something: the sign-in notice to the
 * user, and the fraud alert, lockout and block notices to the `mfa.fraud_alert.notify`
 * addresses. Each call composes the mail and queues it on the mailer; none waits for SMTP
 * or throws, so a notice can never fail or slow down the step that caused it.
 */
import type { Logger } from 'pino';
import type { Mailer } from './mailer.ts';
import {
  blockMail,
  fraudAlertMail,
  lockoutMail,
  signInNoticeMail,
  type BlockNotice,
  type ComposeContext,
  type FraudAlert,
  type LockoutNotice,
  type SignInNotice,
} from './compose.ts';

export interface Notifier {
  signInNotice(notice: SignInNotice): void;
  fraudAlert(alert: Omit<FraudAlert, 'to' | 'lang'>): void;
  lockout(notice: Omit<LockoutNotice, 'to' | 'lang'>): void;
  block(notice: Omit<BlockNotice, 'to' | 'lang'>): void;
}

export interface NotifierDeps extends ComposeContext {
  mailer: Mailer;
  /** `mfa.fraud_alert.notify`; read on every call so a config reload takes effect. */
  admins: () => readonly string[];
  /** The language of the mails to `admins` (`notifications.language`), read on every call; English when omitted. */
  adminLanguage?: () => string;
  log: Logger;
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const { mailer, log } = deps;
  const queue = (what: string, compose: () => Parameters<Mailer['send']>[0] | null) => {
    try {
      const mail = compose();
      if (mail) mailer.send(mail);
    } catch (err) {
      log.error({ err }, `could not compose the ${what} e-mail`);
    }
  };
  const toAdmins = <T>(
    what: string,
    make: (to: readonly string[], lang: string) => T,
    render: (v: T) => ReturnType<typeof fraudAlertMail>,
  ) =>
    queue(what, () => {
      const to = deps.admins();
      return to.length === 0 ? null : render(make(to, deps.adminLanguage?.() ?? 'en'));
    });

  return {
    signInNotice: (notice) => queue('sign-in notice', () => signInNoticeMail(deps, notice)),
    fraudAlert: (alert) =>
      toAdmins(
        'fraud alert',
        (to, lang) => ({ ...alert, to, lang }),
        (a) => fraudAlertMail(deps, a),
      ),
    lockout: (notice) =>
      toAdmins(
        'lockout',
        (to, lang) => ({ ...notice, to, lang }),
        (n) => lockoutMail(deps, n),
      ),
    block: (notice) =>
      toAdmins(
        'block',
        (to, lang) => ({ ...notice, to, lang }),
        (n) => blockMail(deps, n),
      ),
  };
}
