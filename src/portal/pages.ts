/**
 * @module portal/pages
 * Every page the portal can show, collected from where each is declared (next to its
 * handler), plus the two that belong to no handler: the error page and the generic notice.
 * A page's name, data type and builder come from its {@link definePage}; its template is
 * `views/pages/<name>.mustache`. Adding a page: declare it, list it here, write the template.
 */
import type { MessageKey } from './messages.ts';
import type { MessageRef } from './i18n.ts';
import { isMessageKey } from './messages.ts';
import { definePage, pageView, withError, type PageDefinition } from './page.ts';
import { ruleTextsIn, type RuleTexts } from '../policy/compile.ts';
import { signInPage } from './sign-in.ts';
import { secondFactorPage } from './second-factor.ts';
import { enrollPage, enrollRefusedPage } from './enrollment.ts';
import { signOutPage, signedOutPage } from './sign-out.ts';
import { signedInPage } from './signed-in.ts';
import { accountPage } from './account.ts';
import { fraudReportPage, fraudReportedPage } from './fraud.ts';
import { methodAddPage, methodRemovePage, methodVerifyPage, recoveryCodesPage } from './methods.ts';
import { securityKeyAddPage } from './security-keys.ts';
import {
  adminConfirmPage,
  adminLogPage,
  adminTokensPage,
  adminUserPage,
  adminUsersPage,
  adminVerifyPage,
  appPasswordsPage,
} from './admin-views.ts';

/** `error`: see `Renderer.errorPage`. */
interface ErrorPage {
  status: number;
  /** Shown in small print so users can quote it. */
  requestId?: string;
  /** A message key replacing the status's sentence (an `error_NNN` key shows `error_NNN_text`). */
  detailKey?: string;
  /** Defaults to `/`. */
  homeUrl?: string;
  /** The refusing rule's texts, from the compiled policy (never from the request). */
  rule?: RuleTexts | null;
  /**
   * A 403 for a signed-in user: "Signed in as …" and a button that POSTs `{prefix}sign-out`
   * with `csrf` (the session's) and `rd`, to sign in as someone else and come back.
   */
  signOut?: { user: string; csrf: string; rd?: string };
  /** "Try again" instead of the start page (502, 503, 504 of a page load): a path on this origin, never `//host`. */
  retryUrl?: string;
}

/** A path on the page's own origin: one `/`, then anything but a second `/` or a backslash. */
const SAME_ORIGIN_PATH = /^\/(?![/\\])/;

const errorPage = definePage({
  name: 'error',
  build(lang, d: ErrorPage, v) {
    const own = `error_${d.status}`;
    const titleKey: MessageKey = isMessageKey(own) ? own : d.status >= 500 ? 'error_500' : 'error_400';
    let textKey: MessageKey = `${titleKey}_text` as MessageKey;
    if (d.detailKey !== undefined && isMessageKey(d.detailKey)) {
      const sentence = `${d.detailKey}_text`;
      textKey = isMessageKey(sentence) ? sentence : d.detailKey;
    }
    const page = pageView(
      v.tr(lang, titleKey),
      { status: d.status, id: d.requestId ?? '', user: d.signOut?.user ?? '' },
      {
        status: d.status,
        text: v.tr(lang, textKey),
        requestId: d.requestId,
        homeUrl: d.homeUrl ?? '/',
        ruleTexts: d.rule ? ruleTextsIn(d.rule, lang) : null,
        signOut: d.signOut ?? null,
        retryUrl: d.retryUrl !== undefined && SAME_ORIGIN_PATH.test(d.retryUrl) ? d.retryUrl : null,
      },
    );
    return withError(page, true);
  },
});

/** `message`: a generic notice. */
interface MessagePage {
  title: MessageRef;
  text: MessageRef;
  link?: { href: string; label: MessageRef };
  /** The notice is an error (e.g. an invalid link): the document title says so. */
  error?: boolean;
}

const messagePage = definePage({
  name: 'message',
  build: (lang, d: MessagePage, v) =>
    withError(
      pageView(
        v.tr(lang, d.title),
        {},
        {
          text: v.tr(lang, d.text),
          link: d.link && { href: d.link.href, label: v.tr(lang, d.link.label) },
        },
      ),
      d.error,
    ),
});

/** Every page, in the order the render tests list them. */
export const PAGES = [
  signInPage,
  secondFactorPage,
  enrollPage,
  enrollRefusedPage,
  signOutPage,
  signedOutPage,
  signedInPage,
  accountPage,
  errorPage,
  messagePage,
  fraudReportPage,
  fraudReportedPage,
  methodAddPage,
  methodVerifyPage,
  methodRemovePage,
  recoveryCodesPage,
  securityKeyAddPage,
  appPasswordsPage,
  adminVerifyPage,
  adminUsersPage,
  adminUserPage,
  adminConfirmPage,
  adminTokensPage,
  adminLogPage,
] as const;

type Page = (typeof PAGES)[number];

/** The data each page's handler passes, by page name. */
export type PageData = { [P in Page as P['name']]: P extends PageDefinition<string, infer D> ? D : never };

export type PageName = keyof PageData;

export const PAGE_NAMES: readonly PageName[] = Object.freeze(PAGES.map((p) => p.name));
