/**
 * @module portal/render
 * Turns a page name, a language and the page's typed data into HTML. Templates under
 * views/ are read and parsed once when the renderer is created; every value is
 * HTML-escaped by mustache's `{{ }}`, except the QR code SVG (`qrSvgTrusted`), which
 * the server itself produces. The handlers decide what to show; this module only
 * translates message keys, formats dates and numbers, and fills the templates.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Mustache from 'mustache';
import type { MethodKind } from '../config/types.ts';
import { countKey, format, formatDate, translate } from './i18n.ts';
import type { Catalog, MessageParams, MessageRef } from './i18n.ts';
import { isMessageKey } from './messages.ts';
import type { MessageKey } from './messages.ts';
import { loadStaticAssets } from './static.ts';
import { ADMIN_PAGE_NAMES, adminPageBuilders } from './admin-views.ts';
import type { AdminPageData } from './admin-views.ts';
import type { StaticAssets } from './static.ts';

/** Paths of the portal's pages and form targets, relative to the path prefix. */
export const PORTAL_PATHS = Object.freeze({
  signIn: 'sign-in',
  secondFactor: 'second-factor',
  enroll: 'enroll',
  enrollAccessPass: 'enroll/access-pass',
  signOut: 'sign-out',
  account: 'account',
  forgetBrowsers: 'account/forget-browsers',
  signOutEverywhere: 'account/sign-out-everywhere',
  methodAdd: 'account/methods/add',
  methodVerify: 'account/methods/verify',
  methodRename: 'account/methods/rename',
  methodRemove: 'account/methods/remove',
  recoveryCodes: 'account/recovery-codes',
  appPasswords: 'account/app-passwords',
  admin: 'admin',
  static: 'static/',
});

/** Hidden fields every form carries. `rd` is the return URL, echoed only when given. */
export interface FormFields {
  csrf: string;
  rd?: string;
}

/** `sign-in`: POST `{prefix}sign-in` with `username`, `password`, `csrf`, `rd`. */
export interface SignInPage extends FormFields {
  /** Prefilled on retry. */
  username?: string;
  /** Shown above the form as an alert, e.g. `sign_in_error_failed`. */
  formError?: MessageRef;
  /** Shown under the field, tied with aria-describedby, e.g. `field_required_password`. */
  fieldErrors?: { username?: MessageRef; password?: MessageRef };
  /** A federated sign-in button; `url` is where the handler starts the provider flow. */
  provider?: { name: string; url: string };
  /** Show only the provider button (federation without local passwords). */
  hideLocalForm?: boolean;
}

/** `second-factor`: POST `{prefix}second-factor` with `code`, `remember` (`1`), `csrf`, `rd`. */
export interface SecondFactorPage extends FormFields {
  /** Who passed the password step; shown with a "Not you? Sign out" button (POST `{prefix}sign-out`). */
  user: string;
  /** Offer "Don't ask again on this browser for N days"; omitted hides the checkbox. */
  rememberDays?: number;
  /** Keep the checkbox ticked on retry. */
  remember?: boolean;
  /** Tied to the code field, e.g. `second_factor_error_invalid`. */
  error?: MessageRef;
  /** Locked out: the form is replaced by a notice naming this time. */
  lockedUntil?: Date | number;
}

/** `enroll`: POST `{prefix}enroll` with `code`, `csrf`, `rd`. */
export interface EnrollPage extends FormFields {
  user: string;
  /** SVG markup from the `qrcode` package; inserted without escaping, never user input. */
  qrSvgTrusted: string;
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

/**
 * `enroll-refused`: the first method can only be enrolled from a trusted network, or with a
 * temporary access pass: POST `accessPassUrl` with `pass`, `csrf`, `rd`.
 */
export interface EnrollRefusedPage {
  /** For the sign-out button and the access-pass form. */
  csrf: string;
  rd?: string;
  user: string;
  /** Where "Try again" leads; omitted hides the link. */
  retryUrl?: string;
  /** Where the access-pass form posts; omitted hides the form. */
  accessPassUrl?: string;
  /** Tied to the pass field, e.g. `enroll_pass_invalid`. */
  error?: MessageRef;
  /** Locked out: the pass form is replaced by a notice naming this time. */
  lockedUntil?: Date | number;
}

/**
 * `sign-out`: what GET `{prefix}sign-out` shows a signed-in user: a button that POSTs
 * `{prefix}sign-out` with `csrf`. A link or an image alone never signs anyone out.
 */
export interface SignOutPage {
  csrf: string;
  user: string;
}

/** `signed-out`: a confirmation with a link to sign in again. */
export interface SignedOutPage {
  /** Defaults to `{prefix}sign-in`. */
  signInUrl?: string;
}

export interface AccountMethod {
  name: string;
  kind: MethodKind;
  addedAt: Date | number;
  lastUsedAt?: Date | number;
  /** The method's id; with `AccountPage.manage`, rename and remove forms post it. */
  id?: string;
  /** An imported hardware token not activated yet (shown as such; it cannot sign in). */
  inactive?: boolean;
}

export type SignInResult = 'success' | 'denied' | 'locked' | 'blocked' | 'fraud';

export interface AccountSignIn {
  at: Date | number;
  result: SignInResult;
  ip: string;
  /** A short browser description such as "Firefox on Windows". */
  client?: string;
}

/**
 * `account`: the user's security page. Forms: POST `{prefix}account/forget-browsers` and
 * `{prefix}account/sign-out-everywhere`, each with `csrf`; arrays may be empty.
 */
export interface AccountPage {
  csrf: string;
  user: { username: string; name?: string; email?: string };
  methods: readonly AccountMethod[];
  /** Shows "n of max in use". */
  maxMethods?: number;
  /** Where "Add a method" leads; omitted hides the link (e.g. at the limit). */
  addMethodUrl?: string;
  /** Where "App passwords" leads; omitted hides the link (`mfa.app_passwords.enabled` off). */
  appPasswordsUrl?: string;
  /** Browsers that skip the second factor; omitted hides the section (remember_device off). */
  rememberedBrowsers?: number;
  signIns: readonly AccountSignIn[];
  /** A confirmation shown at the top, e.g. `account_notice_browsers_forgotten`. */
  notice?: MessageRef;
  /**
   * Show a rename form and a remove button per method (methods need `id`): POST
   * `{prefix}account/methods/rename` with `id`, `name`, `csrf`; GET `{prefix}account/methods/remove?id=`.
   */
  manage?: boolean;
  /** The recovery-code section (users with an active method): how many are left, and the page to create them. */
  recoveryCodes?: { total: number; unused: number; createdAt: number | null; url: string };
}

/**
 * `recovery-codes`: with `codes`, a new set shown once (printable); without, the summary and
 * a form: POST `{prefix}account/recovery-codes` with `csrf` creates a new set.
 */
export interface RecoveryCodesPage {
  csrf: string;
  user: string;
  codes?: readonly string[];
  total: number;
  unused: number;
  createdAt: number | null;
}

/** `method-add`: another authenticator app; POST `{prefix}account/methods/add` with `name`, `code`, `csrf`. */
export interface MethodAddPage extends FormFields {
  user: string;
  qrSvgTrusted: string;
  secret: string;
  account: string;
  issuer: string;
  period: number;
  /** The name field's value, e.g. "Authenticator app 2". */
  name: string;
  /** Tied to the code field, e.g. `enroll_error_invalid`. */
  error?: MessageRef;
  /** Tied to the name field, e.g. `method_name_invalid`. */
  nameError?: MessageRef;
  /** Shown at the top, e.g. `method_add_after_recovery` after a recovery-code sign-in. */
  notice?: MessageRef;
}

/**
 * `method-verify`: a current code before a method is added or removed (the last second factor
 * is too old). POST `{prefix}account/methods/verify` with `code`, `next`, `csrf`.
 */
export interface MethodVerifyPage extends FormFields {
  user: string;
  /** What to continue with after the code: `add` or `remove:<id>`. */
  next: string;
  error?: MessageRef;
  /** Locked out: the form is replaced by a notice naming this time. */
  lockedUntil?: Date | number;
}

/** `method-remove`: confirms removing one method; POST `{prefix}account/methods/remove` with `id`, `csrf`. */
export interface MethodRemovePage extends FormFields {
  id: string;
  name: string;
  kind: MethodKind;
  /** It is the user's only active method: warn that the next sign-in sets one up again. */
  last: boolean;
}

/** `error`: see `Renderer.errorPage`. */
export interface ErrorPage {
  status: number;
  /** Shown in small print so users can quote it. */
  requestId?: string;
  /** A message key replacing the status's sentence (an `error_NNN` key shows `error_NNN_text`). */
  detailKey?: string;
  /** Defaults to `/`. */
  homeUrl?: string;
}

/** `message`: a generic notice. */
export interface MessagePage {
  title: MessageRef;
  text: MessageRef;
  link?: { href: string; label: MessageRef };
}

/** `fraud-report`: confirms a sign-in notice's report link; POST `{prefix}fraud-report` with `t` and `csrf`. */
export interface FraudReportPage {
  csrf: string;
  /** The signed report token from the link, posted back. */
  token: string;
  user: string;
  /** The reported sign-in. */
  at: Date | number;
  ip: string;
  browser: string;
  /** Reporting blocks the account (`mfa.fraud_alert.auto_block`); changes the explanation. */
  autoBlock: boolean;
}

/** The data each page's template expects (the app-password and admin pages' in `portal/admin-views`). */
export interface PageData extends AdminPageData {
  'sign-in': SignInPage;
  'second-factor': SecondFactorPage;
  enroll: EnrollPage;
  'enroll-refused': EnrollRefusedPage;
  'sign-out': SignOutPage;
  'signed-out': SignedOutPage;
  account: AccountPage;
  error: ErrorPage;
  message: MessagePage;
  'fraud-report': FraudReportPage;
  'method-add': MethodAddPage;
  'method-verify': MethodVerifyPage;
  'method-remove': MethodRemovePage;
  'recovery-codes': RecoveryCodesPage;
}

export type PageName = keyof PageData;

export const PAGE_NAMES: readonly PageName[] = Object.freeze([
  'sign-in', 'second-factor', 'enroll', 'enroll-refused', 'sign-out', 'signed-out', 'account', 'error', 'message', 'fraud-report', 'method-add', 'method-verify', 'method-remove', 'recovery-codes',
  ...ADMIN_PAGE_NAMES,
]);

export interface Renderer {
  /** The full HTML document of a page in `lang` (an unknown language renders English). */
  page<N extends PageName>(name: N, lang: string, data: PageData[N]): string;
  /** The error page for an HTTP status; unknown statuses use their class's (400/500) texts. */
  errorPage(status: number, lang: string, opts?: { requestId?: string; detailKey?: string }): string;
}

export interface RendererOptions {
  /** Folder with layout.mustache, pages/, partials/ and static/; defaults to the package's views/. */
  viewsDir?: string;
  catalog: Catalog;
  /** The reserved path prefix with both slashes, e.g. `/.gateway/`. */
  prefix: string;
  /** Replaces the `product_name` text in every language. */
  productName?: string;
  /** The loaded static files, for the stylesheet's cache-busting hash; read from `viewsDir/static` when omitted. */
  assets?: StaticAssets;
}

const DEFAULT_VIEWS = fileURLToPath(new URL('../../views/', import.meta.url));

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
const MUSTACHE_CONFIG = { escape: escapeHtml };

type View = Record<string, unknown>;

/**
 * Reads and parses the templates once and returns the page renderer.
 *
 * @example
 * const render = createRenderer({ catalog: buildCatalog(config.messages), prefix: '/.gateway/' });
 * res.end(render.page('sign-in', pickLanguage(req.headers['accept-language'], catalog.languages), { csrf, rd }));
 */
export function createRenderer(opts: RendererOptions): Renderer {
  const viewsDir = opts.viewsDir ?? DEFAULT_VIEWS;
  const { catalog, prefix } = opts;
  const assets = opts.assets ?? loadStaticAssets(join(viewsDir, 'static'));
  const writer = new Mustache.Writer();
  const read = (file: string): string => {
    const text = readFileSync(file, 'utf8');
    writer.parse(text);
    return text;
  };

  const layout = read(join(viewsDir, 'layout.mustache'));
  const shared: Record<string, string> = {};
  const partialsDir = join(viewsDir, 'partials');
  for (const file of readdirSync(partialsDir)) {
    if (file.endsWith('.mustache')) shared[basename(file, '.mustache')] = read(join(partialsDir, file));
  }
  const partialsFor = new Map<PageName, Readonly<Record<string, string>>>();
  for (const name of PAGE_NAMES) {
    partialsFor.set(name, Object.freeze({ ...shared, content: read(join(viewsDir, 'pages', `${name}.mustache`)) }));
  }

  const versioned = (file: string): string => {
    const asset = assets.get(file);
    return `${prefix}${PORTAL_PATHS.static}${file}${asset ? `?v=${asset.hash}` : ''}`;
  };
  const site = Object.freeze({
    cssHref: versioned('gateway.css'),
    iconHref: versioned('favicon.svg'),
    paths: Object.freeze(Object.fromEntries(Object.entries(PORTAL_PATHS).map(([k, p]) => [k, prefix + p]))),
  });

  // Per language: the texts with the product name applied, and which of them still hold placeholders.
  // `base` stays unfrozen: each render shadows the templated keys on an object inheriting from it.
  const texts = new Map<string, { base: Readonly<Record<string, string>>; templated: readonly string[] }>();
  for (const lang of catalog.languages) {
    const base: Record<string, string> = { ...catalog.messages[lang] };
    if (opts.productName !== undefined) base.product_name = opts.productName;
    texts.set(lang, { base, templated: Object.keys(base).filter((k) => base[k]!.includes('{')) });
  }
  const langOf = (lang: string): string => (texts.has(lang) ? lang : catalog.languages[0]!);

  const tr = (lang: string, ref: MessageRef, params?: MessageParams): string => translate(catalog, lang, ref, params);

  function render(name: PageName, lang: string, title: string, params: MessageParams, view: View, width: 'narrow' | 'medium' | 'wide' = 'narrow'): string {
    const { base, templated } = texts.get(lang)!;
    const t: Record<string, string> = Object.create(base);
    for (const key of templated) t[key] = format(base[key]!, params, lang);
    const full = { ...site, ...view, lang, t, title, productName: base.product_name, width };
    return writer.render(layout, full, partialsFor.get(name), MUSTACHE_CONFIG);
  }

  const hidden = (d: FormFields) => ({ csrf: d.csrf, rd: d.rd || undefined });

  const builders: { [N in PageName]: (lang: string, d: PageData[N]) => string } = {
    ...adminPageBuilders({ render, tr, date: formatDate, prefix }),
    'sign-in'(lang, d) {
      const usernameError = d.fieldErrors?.username && tr(lang, d.fieldErrors.username);
      const passwordError = d.fieldErrors?.password && tr(lang, d.fieldErrors.password);
      const focusPassword = !usernameError && (Boolean(passwordError) || Boolean(d.username));
      return render('sign-in', lang, tr(lang, 'sign_in_title'), { provider: d.provider?.name ?? '' }, {
        ...hidden(d),
        username: d.username ?? '',
        formError: d.formError && tr(lang, d.formError, { provider: d.provider?.name ?? '' }),
        usernameError,
        passwordError,
        focusUsername: !focusPassword,
        focusPassword,
        provider: d.provider,
        localForm: !d.hideLocalForm,
      });
    },
    'second-factor'(lang, d) {
      const locked = d.lockedUntil !== undefined;
      const error = d.error && tr(lang, d.error);
      return render('second-factor', lang, tr(lang, locked ? 'second_factor_locked_title' : 'second_factor_title'), {
        user: d.user,
        days: d.rememberDays ?? '',
        until: d.lockedUntil === undefined ? '' : formatDate(d.lockedUntil, lang),
      }, {
        ...hidden(d),
        locked,
        error,
        codeDescribedBy: error ? 'code-hint code-error' : 'code-hint',
        rememberOffered: d.rememberDays !== undefined,
        remember: Boolean(d.remember),
      });
    },
    enroll(lang, d) {
      const error = d.error && tr(lang, d.error);
      return render('enroll', lang, tr(lang, 'enroll_title'), { user: d.user, account: d.account, period: d.period }, {
        ...hidden(d),
        qrSvgTrusted: d.qrSvgTrusted,
        secretGroups: d.secret.replace(/[\s=]/g, '').match(/.{1,4}/g) ?? [],
        account: d.account,
        issuer: d.issuer,
        error,
        codeDescribedBy: error ? 'code-help code-error' : 'code-help',
      }, 'medium');
    },
    'enroll-refused'(lang, d) {
      const error = d.error && tr(lang, d.error);
      return render('enroll-refused', lang, tr(lang, 'enroll_refused_title'), { user: d.user, until: d.lockedUntil === undefined ? '' : formatDate(d.lockedUntil, lang) }, {
        ...hidden(d),
        retryUrl: d.retryUrl,
        accessPassUrl: d.lockedUntil === undefined ? d.accessPassUrl : undefined,
        locked: d.lockedUntil !== undefined,
        error,
        passDescribedBy: error ? 'pass-hint pass-error' : 'pass-hint',
      });
    },
    'recovery-codes'(lang, d) {
      return render('recovery-codes', lang, tr(lang, 'recovery_title'), {
        user: d.user,
        unused: d.unused,
        total: d.total,
        created: d.createdAt === null ? '' : formatDate(d.createdAt, lang),
      }, {
        csrf: d.csrf,
        codes: d.codes,
        shown: d.codes !== undefined,
        hasSet: d.total > 0,
      });
    },
    'sign-out'(lang, d) {
      return render('sign-out', lang, tr(lang, 'sign_out_title'), { user: d.user }, {
        csrf: d.csrf,
        action: site.paths.signOut,
      });
    },
    'signed-out'(lang, d) {
      return render('signed-out', lang, tr(lang, 'signed_out_title'), {}, {
        signInUrl: d.signInUrl ?? site.paths.signIn,
      });
    },
    account(lang, d) {
      const date = (v: Date | number) => formatDate(v, lang);
      const browsers = d.rememberedBrowsers;
      const browsersKey = countKey(browsers ?? 0, lang, { none: 'account_browsers_none', one: 'account_browsers_one', many: 'account_browsers_many' });
      return render('account', lang, tr(lang, 'account_title'), {
        user: d.user.username,
        count: d.methods.length,
        max: d.maxMethods ?? '',
      }, {
        csrf: d.csrf,
        user: d.user,
        notice: d.notice && tr(lang, d.notice),
        methods: d.methods.map((m) => ({
          id: m.id,
          name: m.name,
          kind: tr(lang, `method_kind_${m.kind}`),
          added: date(m.addedAt),
          lastUsed: m.lastUsedAt === undefined ? tr(lang, 'account_method_never') : date(m.lastUsedAt),
          inactive: Boolean(m.inactive),
          renameLabel: tr(lang, 'method_rename_label', { name: m.name }),
          removeLabel: tr(lang, 'method_remove_label', { name: m.name }),
        })),
        manage: Boolean(d.manage),
        hasMethods: d.methods.length > 0,
        methodsCount: d.maxMethods !== undefined,
        addMethodUrl: d.addMethodUrl,
        appPasswordsUrl: d.appPasswordsUrl,
        recovery: d.recoveryCodes && {
          url: d.recoveryCodes.url,
          text: d.recoveryCodes.total === 0
            ? tr(lang, 'account_recovery_none')
            : tr(lang, 'account_recovery_some', { unused: d.recoveryCodes.unused, total: d.recoveryCodes.total, created: d.recoveryCodes.createdAt === null ? '' : formatDate(d.recoveryCodes.createdAt, lang) }),
        },
        browsers: browsers === undefined ? undefined : { text: tr(lang, browsersKey, { count: browsers }), any: browsers > 0 },
        signIns: d.signIns.map((s) => ({
          at: date(s.at),
          result: tr(lang, `sign_in_result_${s.result}`),
          ok: s.result === 'success',
          ip: s.ip,
          client: s.client ?? '',
        })),
        hasSignIns: d.signIns.length > 0,
      }, 'wide');
    },
    error(lang, d) {
      const own = `error_${d.status}`;
      const titleKey: MessageKey = isMessageKey(own) ? own : d.status >= 500 ? 'error_500' : 'error_400';
      let textKey: MessageKey = `${titleKey}_text` as MessageKey;
      if (d.detailKey !== undefined && isMessageKey(d.detailKey)) {
        const sentence = `${d.detailKey}_text`;
        textKey = isMessageKey(sentence) ? sentence : d.detailKey;
      }
      return render('error', lang, tr(lang, titleKey), { status: d.status, id: d.requestId ?? '' }, {
        status: d.status,
        text: tr(lang, textKey),
        requestId: d.requestId,
        homeUrl: d.homeUrl ?? '/',
      });
    },
    'fraud-report'(lang, d) {
      return render('fraud-report', lang, tr(lang, 'fraud_report_title'), { user: d.user }, {
        csrf: d.csrf,
        token: d.token,
        action: `${prefix}fraud-report`,
        at: formatDate(d.at, lang),
        ip: d.ip,
        browser: d.browser,
        autoBlock: d.autoBlock,
      });
    },
    'method-add'(lang, d) {
      const error = d.error && tr(lang, d.error);
      const nameError = d.nameError && tr(lang, d.nameError);
      return render('method-add', lang, tr(lang, 'method_add_title'), { user: d.user, account: d.account, period: d.period }, {
        ...hidden(d),
        qrSvgTrusted: d.qrSvgTrusted,
        secretGroups: d.secret.replace(/[\s=]/g, '').match(/.{1,4}/g) ?? [],
        account: d.account,
        issuer: d.issuer,
        name: d.name,
        notice: d.notice && tr(lang, d.notice),
        error,
        nameError,
        codeDescribedBy: error ? 'code-help code-error' : 'code-help',
      }, 'medium');
    },
    'method-verify'(lang, d) {
      const locked = d.lockedUntil !== undefined;
      const error = d.error && tr(lang, d.error);
      return render('method-verify', lang, tr(lang, 'method_verify_title'), {
        user: d.user,
        until: d.lockedUntil === undefined ? '' : formatDate(d.lockedUntil, lang),
      }, { ...hidden(d), next: d.next, locked, error, codeDescribedBy: error ? 'code-hint code-error' : 'code-hint' });
    },
    'method-remove'(lang, d) {
      return render('method-remove', lang, tr(lang, 'method_remove_title'), { name: d.name, kind: tr(lang, `method_kind_${d.kind}`) }, {
        ...hidden(d),
        id: d.id,
        last: d.last,
      });
    },
    message(lang, d) {
      return render('message', lang, tr(lang, d.title), {}, {
        text: tr(lang, d.text),
        link: d.link && { href: d.link.href, label: tr(lang, d.link.label) },
      });
    },
  };

  return {
    page(name, lang, data) {
      return builders[name](langOf(lang), data);
    },
    errorPage(status, lang, o = {}) {
      return builders.error(langOf(lang), { status, ...o });
    },
  };
}
