/**
 * @module notify/compose
 * Turns each kind of notice into a {@link Mail}: a plain-text part and a simple HTML part
 * built from the same lines. Every value is escaped for HTML; header-bound values (the
 * subject) have line breaks removed. Pure functions of their input, so tests read the
 * result without a mail server.
 */
import type { Mail } from './mailer.ts';
import { MAIL_TEXTS, mailLanguage, type MailTextKey } from './texts.ts';

/** Formats times for mails, with the time zone named (a mail is read far from the server). */
export type DateFormatter = (epochMs: number, lang: string) => string;

export function createDateFormatter(timeZone?: string): DateFormatter {
  const cache = new Map<string, Intl.DateTimeFormat>();
  return (epochMs, lang) => {
    let f = cache.get(lang);
    if (!f) {
      f = new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeStyle: 'long', ...(timeZone ? { timeZone } : {}) });
      cache.set(lang, f);
    }
    return f.format(epochMs);
  };
}

export interface ComposeContext {
  productName: string;
  formatDate: DateFormatter;
}

export interface SignInNotice {
  to: string;
  /** Page language of the sign-in (`Accept-Language`); English when unknown. */
  lang?: string;
  user: string;
  /** The person's display name, else the user name. */
  name?: string;
  at: number;
  clientIp: string;
  browser: string;
  reportUrl: string;
  reportExpiresAt: number;
  /** Whether reporting blocks the account (`mfa.fraud_alert.auto_block`). */
  autoBlock: boolean;
}

export interface FraudAlert {
  to: readonly string[];
  /** The mail's language (`notifications.language`); English when unknown. */
  lang?: string;
  user: string;
  at: number;
  clientIp: string;
  browser: string;
  reportedAt: number;
  reportedFrom: string;
  /** End of the automatic block, or null when `auto_block` is off. */
  blockedUntil: number | null;
}

export interface LockoutNotice {
  to: readonly string[];
  /** The mail's language (`notifications.language`); English when unknown. */
  lang?: string;
  user: string;
  step: 'password' | 'second_factor';
  until: number;
  clientIp?: string;
}

export interface BlockNotice {
  to: readonly string[];
  /** The mail's language (`notifications.language`); English when unknown. */
  lang?: string;
  user: string;
  reason: string;
  until: number;
  actor: string;
}

type Block = { kind: 'p'; text: string } | { kind: 'rows'; rows: [string, string][] } | { kind: 'link'; label: string; href: string };

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

function texts(lang: string) {
  const table = MAIL_TEXTS[lang]!;
  return (key: MailTextKey, params: Readonly<Record<string, string>> = {}): string =>
    table[key].replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(params, name) ? params[name]! : whole));
}

function build(kind: Mail['kind'], to: readonly string[], lang: string, subject: string, blocks: Block[], footer: string): Mail {
  const text = [
    ...blocks.map((b) => {
      if (b.kind === 'p') return b.text;
      if (b.kind === 'link') return `${b.label}:\n${b.href}`;
      const width = Math.max(...b.rows.map(([k]) => k.length)) + 1;
      return b.rows.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join('\n');
    }),
    '--',
    footer,
  ].join('\n\n');
  const html = [
    `<!doctype html><html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>`,
    '<body style="font-family:system-ui,sans-serif;font-size:15px;line-height:1.5;color:#1f2328;max-width:36rem">',
    ...blocks.map((b) => {
      if (b.kind === 'p') return `<p>${escapeHtml(b.text)}</p>`;
      if (b.kind === 'link') {
        return (
          `<p><a href="${escapeHtml(b.href)}" style="display:inline-block;padding:.5rem ` +
          `1rem;background:#b42318;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(b.label)}</a></p>`
        );
      }
      const rows = b.rows.map(
        ([k, v]) =>
          `<tr><th style="text-align:left;padding:2px 12px 2px 0;font-weight:600">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`,
      );
      return `<table style="border-collapse:collapse">${rows.join('')}</table>`;
    }),
    `<p style="color:#59636e;font-size:13px">${escapeHtml(footer)}</p>`,
    '</body></html>',
  ].join('\n');
  return { kind, to, subject: subject.replace(/[\r\n]+/g, ' '), text, html };
}

/** The notice a user gets after a sign-in passed the password step, with the report link. */
export function signInNoticeMail(ctx: ComposeContext, n: SignInNotice): Mail {
  const lang = mailLanguage(n.lang);
  const t = texts(lang);
  return build(
    'sign_in_notice',
    [n.to],
    lang,
    t('sign_in_subject', { user: n.user }),
    [
      { kind: 'p', text: t('greeting', { name: n.name ?? n.user }) },
      { kind: 'p', text: t('sign_in_intro', { user: n.user }) },
      {
        kind: 'rows',
        rows: [
          [t('label_time'), ctx.formatDate(n.at, lang)],
          [t('label_address'), n.clientIp],
          [t('label_browser'), n.browser],
        ],
      },
      { kind: 'p', text: t('sign_in_yours') },
      { kind: 'p', text: t(n.autoBlock ? 'sign_in_not_yours_block' : 'sign_in_not_yours') },
      { kind: 'link', label: t('sign_in_report'), href: n.reportUrl },
      { kind: 'p', text: t('sign_in_link_expires', { expires: ctx.formatDate(n.reportExpiresAt, lang) }) },
    ],
    t('footer', { product: ctx.productName }),
  );
}

/** Tells the `mfa.fraud_alert.notify` addresses that a user reported a sign-in. */
export function fraudAlertMail(ctx: ComposeContext, a: FraudAlert): Mail {
  const lang = mailLanguage(a.lang);
  const t = texts(lang);
  return build(
    'fraud_alert',
    a.to,
    lang,
    t('fraud_subject', { user: a.user }),
    [
      { kind: 'p', text: t('fraud_intro', { user: a.user }) },
      {
        kind: 'rows',
        rows: [
          [t('label_user'), a.user],
          [t('label_time'), ctx.formatDate(a.at, lang)],
          [t('label_address'), a.clientIp],
          [t('label_browser'), a.browser],
          [t('label_reported_at'), ctx.formatDate(a.reportedAt, lang)],
          [t('label_reported_from'), a.reportedFrom],
        ],
      },
      {
        kind: 'p',
        text: a.blockedUntil === null ? t('fraud_not_blocked') : t('fraud_blocked', { until: ctx.formatDate(a.blockedUntil, lang) }),
      },
      { kind: 'p', text: t('fraud_todo', { user: a.user }) },
    ],
    t('footer', { product: ctx.productName }),
  );
}

/** Tells the admin addresses that an account was locked out. */
export function lockoutMail(ctx: ComposeContext, n: LockoutNotice): Mail {
  const lang = mailLanguage(n.lang);
  const t = texts(lang);
  const rows: [string, string][] = [
    [t('label_user'), n.user],
    [t('label_attempts'), t(n.step === 'password' ? 'lockout_step_password' : 'lockout_step_second_factor')],
    [t('label_until'), ctx.formatDate(n.until, lang)],
  ];
  if (n.clientIp !== undefined) rows.push([t('label_address'), n.clientIp]);
  return build(
    'lockout',
    n.to,
    lang,
    t('lockout_subject', { user: n.user }),
    [
      { kind: 'p', text: t('lockout_intro', { user: n.user }) },
      { kind: 'rows', rows },
    ],
    t('footer', { product: ctx.productName }),
  );
}

/** Tells the admin addresses that an account was blocked. */
export function blockMail(ctx: ComposeContext, n: BlockNotice): Mail {
  const lang = mailLanguage(n.lang);
  const t = texts(lang);
  return build(
    'block',
    n.to,
    lang,
    t('block_subject', { user: n.user }),
    [
      { kind: 'p', text: t('block_intro', { user: n.user }) },
      {
        kind: 'rows',
        rows: [
          [t('label_user'), n.user],
          [t('label_reason'), n.reason],
          [t('label_until'), ctx.formatDate(n.until, lang)],
          [t('label_by'), n.actor],
        ],
      },
    ],
    t('footer', { product: ctx.productName }),
  );
}
