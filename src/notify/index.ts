/**
 * @module notify
 * E-mail from a config: the mailer over `notifications.smtp` (a no-op without it) and the
 * notifier whose admin addresses are `mfa.fraud_alert.notify`. The gateway builds one at
 * start; a command that changes state in another process (`block`) builds its own, hands
 * {@link blockNoticeHook} to `blockUser`, and waits for `mailer.idle()` before it exits.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import type { BlockEvent } from '../regulation/block.ts';
import { createDateFormatter } from './compose.ts';
import { createMailer, smtpTransport, type Mailer, type Scheduler } from './mailer.ts';
import { createNotifier, type Notifier } from './notifier.ts';

export type { Mailer } from './mailer.ts';
export type { Notifier } from './notifier.ts';

export interface Notifications {
  mailer: Mailer;
  notifier: Notifier;
}

export interface NotificationOptions {
  /** The current `mfa.fraud_alert.notify` (a getter, so a config reload applies); default: the given config's. */
  admins?: () => readonly string[];
  /** The current `notifications.language` of the mails to `admins` (a getter, as `admins`); default: the given config's. */
  adminLanguage?: () => string;
  retryDelaysMs?: readonly number[];
  scheduler?: Scheduler;
  /** IANA time zone for times in mails; default the process's. */
  timeZone?: string;
  productName?: string;
}

export function createNotifications(config: Readonly<GatewayConfig>, log: Logger, options: NotificationOptions = {}): Notifications {
  const smtp = config.notifications.smtp;
  const mailer = createMailer({
    transport: smtp === undefined ? null : smtpTransport(smtp),
    log,
    ...(options.retryDelaysMs ? { retryDelaysMs: options.retryDelaysMs } : {}),
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
  });
  const notifier = createNotifier({
    mailer,
    admins: options.admins ?? (() => config.mfa.fraud_alert.notify),
    adminLanguage: options.adminLanguage ?? (() => config.notifications.language),
    log,
    productName: options.productName ?? 'MFA Gateway',
    formatDate: createDateFormatter(options.timeZone),
  });
  return { mailer, notifier };
}

/** The `onBlock` listener for `blockUser`: tells the admin addresses. */
export function blockNoticeHook(notifier: Notifier): (event: BlockEvent) => void {
  return ({ user, block }) => notifier.block({ user, reason: block.reason, until: block.until, actor: block.actor });
}
