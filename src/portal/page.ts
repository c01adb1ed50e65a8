/**
 * @module portal/page
 * How a page is declared: its name (which is also its template, `views/pages/<name>.mustache`),
 * the data its handler passes, and the builder that turns that data into the template's view,
 * all in one {@link definePage} call next to the handler. `portal/pages` collects them.
 */
import type { MessageParams, MessageRef } from './i18n.ts';
import { base32Encode, qrCodeSvg } from '../factors/totp/totp.ts';
import type { TotpEnrollmentView } from '../factors/totp/verify.ts';
import type { PORTAL_PATHS } from './paths.ts';
import type { SessionsLimited } from '../session/sign-in-notice.ts';

/** What a builder hands the renderer: the translated title, the texts' placeholder values and the template's view. */
export interface PageView {
  title: string;
  params: MessageParams;
  view: Record<string, unknown>;
  /** `full`: up to the window's width, for the admin pages' tables. */
  width: 'narrow' | 'medium' | 'wide' | 'full';
  /** The page runs the gateway's one script (`webauthn.js`); only such pages allow `script-src 'self'`. */
  script?: boolean;
  /** The page shows an error (a refused input, an error status): its document title starts with "Error: ". */
  error?: boolean;
}

/** What the renderer lends every builder. */
export interface ViewKit {
  tr(lang: string, ref: MessageRef, params?: MessageParams): string;
  date(value: Date | number, lang: string): string;
  /** A moment soon after `now`: the time alone on the same day, else date and time. */
  timeAfter(value: number, now: number, lang: string): string;
  /** The reserved path prefix with both slashes, e.g. `/.gateway/`. */
  prefix: string;
  /** Every {@link PORTAL_PATHS} entry with the prefix. */
  paths: Readonly<Record<keyof typeof PORTAL_PATHS, string>>;
}

export interface PageDefinition<N extends string, D> {
  readonly name: N;
  build(lang: string, data: D, v: ViewKit): PageView;
}

/**
 * Declares a page; its data type is the builder's `data` parameter.
 *
 * @example
 * export const signedOutPage = definePage({
 *   name: 'signed-out',
 *   build: (lang, d: SignedOutPage, v) => pageView(v.tr(lang, 'signed_out_title'), {}, { signInUrl: d.signInUrl ?? v.paths.signIn }),
 * });
 */
export function definePage<N extends string, D>(def: PageDefinition<N, D>): PageDefinition<N, D> {
  return Object.freeze(def);
}

export function pageView(
  title: string,
  params: MessageParams,
  view: Record<string, unknown>,
  width: PageView['width'] = 'narrow',
): PageView {
  return { title, params, view, width };
}

/** `page` marked as showing an error when `error` is truthy (see {@link PageView.error}). */
export const withError = (page: PageView, error: unknown): PageView => (error ? { ...page, error: true } : page);

/** Hidden fields every form carries. `rd` is the return URL, echoed only when given. */
export interface FormFields {
  csrf: string;
  rd?: string;
  /**
   * The key of the rule whose texts the page shows (posted as `rule`), so the next step shows
   * them too; only a key the policy has (see `PortalKit.explainedRule`).
   */
  ruleKey?: string;
}

/** The hidden fields as the `form-fields` partial expects them. */
export const hidden = (d: FormFields) => ({ csrf: d.csrf, rd: d.rd || undefined, ruleKey: d.ruleKey || undefined });

/**
 * A form that asks for a current second-factor code (the sign-in code, the code before a
 * method change, the admin pages' fresh code): who is asked, the error, or the lockout.
 */
export interface CodeForm extends FormFields {
  /** Who is asked; shown with a "Not you? Sign out" button where the page has one. */
  user: string;
  /** Tied to the code field, e.g. `second_factor_error_invalid`. */
  error?: MessageRef;
  /** Locked out: the form is replaced by a notice naming this time. */
  lockedUntil?: Date | number;
}

/** A new authenticator app's setup: the QR code and secret to scan or type, and the code that confirms it. */
export interface TotpSetup extends FormFields {
  user: string;
  /** SVG markup from the `qrcode` package; inserted without escaping, never user input. */
  qrSvgTrusted: string;
  /** The `otpauth://` URI the QR code holds, also offered as a link for the phone the page is read on. */
  otpUri: string;
  /** Base32 secret; shown in groups of four for manual entry. */
  secret: string;
  /** The account name inside the otpauth URI. */
  account: string;
  issuer: string;
  /** TOTP period in seconds. */
  period: number;
  /** Tied to the code field, e.g. `enroll_error_invalid`. */
  error?: MessageRef;
}

/** What every TOTP setup page shows of a pending enrollment: the QR code, the link and the key. */
export async function totpSetupOf(
  view: TotpEnrollmentView,
  user: string,
  issuer: string,
): Promise<Pick<TotpSetup, 'user' | 'qrSvgTrusted' | 'otpUri' | 'secret' | 'account' | 'issuer' | 'period'>> {
  return {
    user,
    qrSvgTrusted: await qrCodeSvg(view.uri),
    otpUri: view.uri,
    secret: base32Encode(view.pending.secret),
    account: user,
    issuer,
    period: view.pending.period,
  };
}

/** The view fields a {@link TotpSetup} page's template shares. */
export function totpSetupView(lang: string, d: TotpSetup, v: ViewKit) {
  const error = d.error && v.tr(lang, d.error);
  return {
    ...hidden(d),
    qrSvgTrusted: d.qrSvgTrusted,
    otpUri: d.otpUri,
    secretGroups: d.secret.replace(/[\s=]/g, '').match(/.{1,4}/g) ?? [],
    account: d.account,
    issuer: d.issuer,
    error,
    codeDescribedBy: error ? 'code-help code-error' : 'code-help',
  };
}

/**
 * What the `sessions-limited` partial says when a sign-in ended older sessions of the user
 * (`session.max_per_user`): how many, and the limit; undefined shows nothing.
 */
export function sessionsLimitedText(lang: string, limited: SessionsLimited | undefined, v: ViewKit): string | undefined {
  if (limited === undefined) return undefined;
  const key = limited.ended === 1 ? 'account_sessions_limited_one' : 'account_sessions_limited_many';
  return v.tr(lang, key, { count: limited.ended, max: limited.max });
}
