/**
 * @module notify/mailer
 * Sends the gateway's e-mail without ever holding up a request: `send` only queues. One
 * worker delivers the queue in order over SMTP (nodemailer); a failed delivery is logged and
 * tried again after each of `retryDelaysMs` in turn, then given up with an error log. The
 * queue is bounded, so an unreachable mail server costs memory only up to `maxQueued` mails.
 * Timers come from an injected scheduler so tests run the retries without sleeping.
 */
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { NotificationsConfig } from '../config/types.ts';

type MailKind = 'sign_in_notice' | 'fraud_alert' | 'lockout' | 'block';

/** One e-mail, already rendered; every part is plain data. */
export interface Mail {
  kind: MailKind;
  to: readonly string[];
  subject: string;
  text: string;
  html: string;
}

/** Delivers one mail or rejects; the mailer owns retrying. */
export interface MailTransport {
  send(mail: Mail): Promise<void>;
  close(): void;
}

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface Mailer {
  /** Queues the mail and returns at once; never throws. */
  send(mail: Mail): void;
  /** Resolves once nothing is queued, sending or waiting for a retry. */
  idle(): Promise<void>;
  /** Stops retry timers, lets a delivery in flight finish and drops the rest (logged). */
  close(): Promise<void>;
}

export interface MailerOptions {
  /** null when `notifications.smtp` is not configured: mails are dropped with a debug log. */
  transport: MailTransport | null;
  log: Logger;
  /** Waits before the 2nd, 3rd, ... attempt; its length bounds the retries. */
  retryDelaysMs?: readonly number[];
  maxQueued?: number;
  scheduler?: Scheduler;
}

/** About 1 h 20 min of retries in six attempts: rides out a mail server restart or a short outage. */
const DEFAULT_RETRY_DELAYS_MS: readonly number[] = Object.freeze([10_000, 60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000]);
const DEFAULT_MAX_QUEUED = 1000;
/** A stuck SMTP peer must not stall the queue for long. */
const SMTP_TIMEOUT_MS = 15_000;

const realScheduler: Scheduler = {
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * The nodemailer transport for `notifications.smtp`. nodemailer itself is loaded by the
 * first mail rather than at every start (it is the heaviest module of the gateway to load).
 */
export function smtpTransport(smtp: NonNullable<NotificationsConfig['smtp']>): MailTransport {
  let transporter: Promise<Transporter> | undefined;
  const open = (): Promise<Transporter> =>
    (transporter ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.security === 'tls',
        requireTLS: smtp.security === 'starttls',
        ignoreTLS: smtp.security === 'none',
        ...(smtp.username !== undefined && smtp.password !== undefined ? { auth: { user: smtp.username, pass: smtp.password } } : {}),
        connectionTimeout: SMTP_TIMEOUT_MS,
        greetingTimeout: SMTP_TIMEOUT_MS,
        socketTimeout: SMTP_TIMEOUT_MS,
      }),
    ));
  return {
    async send(mail) {
      await (await open()).sendMail({ from: smtp.from, to: [...mail.to], subject: mail.subject, text: mail.text, html: mail.html });
    },
    close: () => {
      void transporter?.then((t) => t.close());
    },
  };
}

interface Item {
  mail: Mail;
  /** Deliveries tried so far. */
  attempts: number;
}

export function createMailer(options: MailerOptions): Mailer {
  const { transport, log } = options;
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
  const scheduler = options.scheduler ?? realScheduler;
  const ready: Item[] = [];
  const waiting = new Map<unknown, Item>();
  let sending: Promise<void> | null = null;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const held = () => ready.length + waiting.size + (sending ? 1 : 0);

  function settleIdle(): void {
    if (held() > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  function pump(): void {
    if (sending || closed) return settleIdle();
    const item = ready.shift();
    if (!item) return settleIdle();
    sending = deliver(item).finally(() => {
      sending = null;
      pump();
    });
  }

  async function deliver(item: Item): Promise<void> {
    item.attempts += 1;
    const about = { kind: item.mail.kind, to: item.mail.to, attempt: item.attempts };
    try {
      await transport!.send(item.mail);
      log.info(about, 'e-mail sent');
    } catch (err) {
      const delay = delays[item.attempts - 1];
      if (delay === undefined || closed) {
        log.error({ ...about, err }, 'e-mail not sent; giving up');
        return;
      }
      log.warn({ ...about, err, retryInMs: delay }, 'e-mail not sent; will retry');
      const handle = scheduler.setTimeout(() => {
        waiting.delete(handle);
        ready.push(item);
        pump();
      }, delay);
      waiting.set(handle, item);
    }
  }

  return {
    send(mail) {
      if (transport === null) {
        log.debug({ kind: mail.kind }, 'e-mail not sent: notifications.smtp is not configured');
        return;
      }
      if (closed) return;
      if (held() >= maxQueued) {
        log.error({ kind: mail.kind, to: mail.to, queued: held() }, 'e-mail dropped: the mail queue is full');
        return;
      }
      ready.push({ mail, attempts: 0 });
      pump();
    },
    idle() {
      if (held() === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      closed = true;
      for (const handle of waiting.keys()) scheduler.clearTimeout(handle);
      const dropped = ready.length + waiting.size;
      if (dropped > 0) log.warn({ dropped }, 'e-mails dropped at shutdown');
      ready.length = 0;
      waiting.clear();
      await sending;
      transport?.close();
      settleIdle();
    },
  };
}
