/**
 * @module portal/fraud
 * The fraud-alert part of the portal, as a {@link PortalModule}: after a password step it
 * recognizes the browser (a random id cookie, Path limited to the gateway's prefix so no
 * app ever sees it) and, when `mfa.fraud_alert` says so, mails the user a sign-in notice
 * with a signed, single-use report link. `GET {prefix}fraud-report?t=...` only shows what
 * would be reported; the CSRF-protected POST from that page acts (see `regulation/fraud`).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import type { UserLookup } from '../factors/password/index.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { AuditStore, FraudStore, RevocationStore } from '../store/types.ts';
import type { PortalContext, PortalKit, PortalModule } from './kit.ts';
import { definePage, pageView } from './page.ts';
import { errors } from '../errors/errors.ts';
import { appendSetCookie, gatewayCookieNames, readCookie, serializeCookie } from '../session/cookies.ts';
import { createFraudLinks } from '../regulation/fraud-link.ts';
import { browserIdHash, REPORT_LINK_TTL_MS, reportFraud, wantsSignInNotice, type BlockUser } from '../regulation/fraud.ts';
import { describeUserAgent } from '../audit/user-agent.ts';
import { PORTAL_PATHS } from './paths.ts';
import { MAIL_TEXTS, mailLanguage } from '../notify/texts.ts';

/** The report page, relative to the path prefix. */
const FRAUD_REPORT_PATH = 'fraud-report';
/** Browsers cap cookie lifetimes at 400 days (RFC 6265bis §5.5). */
const BROWSER_ID_MAX_AGE_S = 400 * 86_400;
const BROWSER_ID = /^[A-Za-z0-9_-]{32}$/;
const MAX_USER_AGENT = 512;

/** The browser of a User-Agent header in the words of the mail language nearest to `lang`. */
const mailBrowser = (userAgent: string, lang: string): string =>
  describeUserAgent(userAgent, MAIL_TEXTS[mailLanguage(lang)]!.browser_on_system) || '—';

export interface FraudModuleDeps {
  config: GatewayConfig;
  store: FraudStore & Pick<RevocationStore, 'revokeSessions' | 'revokeDevices'> & Pick<AuditStore, 'record'>;
  users: UserLookup;
  notifier: Notifier;
  blockUser: BlockUser;
  /** Applies revocations in this process at once (`LiveRevocationView.refresh`). */
  refreshRevocations: () => Promise<void>;
  clock: () => number;
  log: Logger;
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
  /** The User-Agent header of the reported sign-in, described in the page's language. */
  userAgent: string;
  /** Reporting blocks the account (`mfa.fraud_alert.auto_block`); changes the explanation. */
  autoBlock: boolean;
  /** Reporting e-mails `mfa.fraud_alert.notify`; without addresses the page says the report goes to the sign-in log. */
  adminsTold: boolean;
}

export const fraudReportPage = definePage({
  name: 'fraud-report',
  build(lang, d: FraudReportPage, v) {
    return pageView(
      v.tr(lang, 'fraud_report_title'),
      { user: d.user },
      {
        csrf: d.csrf,
        token: d.token,
        action: `${v.prefix}fraud-report`,
        at: v.date(d.at, lang),
        ip: d.ip,
        browser: describeUserAgent(d.userAgent, v.tr(lang, 'browser_on_system')) || '—',
        note: v.tr(
          lang,
          d.autoBlock
            ? d.adminsTold
              ? 'fraud_report_block_note'
              : 'fraud_report_block_note_logged'
            : d.adminsTold
              ? 'fraud_report_note'
              : 'fraud_report_note_logged',
        ),
      },
    );
  },
});

/**
 * `fraud-reported`: what the report did (see `regulation/fraud`) and what the user should do
 * now, with a link to sign in again unless the report blocked the account.
 */
export interface FraudReportedPage {
  /** Until when the report blocked the account (`mfa.fraud_alert.auto_block`); null when it did not. */
  blockedUntil: number | null;
  /** The `mfa.fraud_alert.notify` addresses were sent a fraud alert (none are listed: the sign-in log only). */
  adminsTold: boolean;
  signInUrl: string;
}

export const fraudReportedPage = definePage({
  name: 'fraud-reported',
  build: (lang, d: FraudReportedPage, v) =>
    pageView(
      v.tr(lang, 'fraud_reported_title'),
      { until: d.blockedUntil === null ? '' : v.date(d.blockedUntil, lang) },
      { blocked: d.blockedUntil !== null, adminsTold: d.adminsTold, signInUrl: d.signInUrl },
    ),
});

export function fraudModule(deps: FraudModuleDeps): (kit: PortalKit) => PortalModule {
  const { config, store, users, notifier, clock, log } = deps;
  const settings = config.mfa.fraud_alert;
  const links = createFraudLinks([config.session.secret, ...config.session.previous_secrets]);

  return (kit) => {
    const secure = kit.publicUrl.protocol === 'https:';
    // `__Host-` needs Path=/; this cookie is confined to the prefix, so `__Secure-` it is.
    const browserCookie = gatewayCookieNames(config.session.cookie_name, secure, config.session.domain).browser;
    const userAgentOf = (ctx: PortalContext) => String(ctx.req.headers['user-agent'] ?? '').slice(0, MAX_USER_AGENT);
    const signInUrl = `${kit.prefix}${PORTAL_PATHS.signIn}`;
    /** The link on from the "already reported" and "link not valid" notices. */
    const onToSignIn = { href: signInUrl, label: 'go_to_sign_in' } as const;

    /** This browser's id, set (or its lifetime renewed) on the response. */
    function browserId(ctx: PortalContext): string {
      const existing = readCookie(ctx.req.headers.cookie, browserCookie);
      const id = existing !== undefined && BROWSER_ID.test(existing) ? existing : randomBytes(24).toString('base64url');
      appendSetCookie(
        ctx.res,
        serializeCookie(browserCookie, id, { secure, path: kit.prefix, maxAge: BROWSER_ID_MAX_AGE_S, sameSite: 'Lax' }),
      );
      return id;
    }

    async function afterPassword(ctx: PortalContext, user: Parameters<NonNullable<PortalModule['afterPassword']>>[1]): Promise<void> {
      if (!settings.enabled || settings.sign_in_notice === 'never') return;
      try {
        const now = clock();
        const newBrowser = await store.seeBrowser(user.name, browserIdHash(browserId(ctx)), now);
        if (!wantsSignInNotice(settings, { hasEmail: user.email !== undefined, newBrowser })) return;
        const id = links.newId();
        const expiresAt = now + REPORT_LINK_TTL_MS;
        const userAgent = userAgentOf(ctx);
        await store.createFraudReport({ id, user: user.name, createdAt: now, expiresAt, clientIp: ctx.scope.clientIp, userAgent });
        const reportUrl = new URL(`${kit.prefix}${FRAUD_REPORT_PATH}?t=${links.sign(id, expiresAt)}`, kit.publicUrl).href;
        notifier.signInNotice({
          to: user.email!,
          lang: ctx.lang,
          user: user.name,
          ...(user.displayName ? { name: user.displayName } : {}),
          at: now,
          clientIp: ctx.scope.clientIp,
          browser: mailBrowser(userAgent, ctx.lang),
          reportUrl,
          reportExpiresAt: expiresAt,
          autoBlock: settings.auto_block,
        });
      } catch (err) {
        // A notice that cannot be prepared must not fail the sign-in.
        log.error({ err, user: user.name }, 'could not prepare the sign-in notice');
      }
    }

    function invalid(ctx: PortalContext): void {
      kit.page(ctx, 400, 'message', { title: 'fraud_link_invalid_title', text: 'fraud_link_invalid_text', link: onToSignIn, error: true });
    }

    function already(ctx: PortalContext): void {
      kit.page(ctx, 200, 'message', { title: 'fraud_already_title', text: 'fraud_already_text', link: onToSignIn });
    }

    async function confirmPage(ctx: PortalContext, token: string, status: number): Promise<void> {
      const check = links.verify(token, clock());
      if (!check.ok) return invalid(ctx);
      const report = await store.getFraudReport(check.id);
      if (!report) return invalid(ctx);
      if (report.consumedAt !== null) return already(ctx);
      kit.page(ctx, status, 'fraud-report', {
        csrf: kit.csrfToken(kit.anonymousBinding(ctx), 'fraud-report'),
        token,
        user: users.get(report.user)?.name ?? report.user,
        at: report.createdAt,
        ip: report.clientIp,
        userAgent: report.userAgent,
        autoBlock: settings.auto_block,
        adminsTold: settings.notify.length > 0,
      });
    }

    async function report(ctx: PortalContext): Promise<void> {
      const form = await kit.readForm(ctx.req);
      const token = form.get('t') ?? '';
      if (!kit.csrfValid(form.get('csrf'), kit.anonymousBinding(ctx), 'fraud-report')) return confirmPage(ctx, token, 400);
      const now = clock();
      const check = links.verify(token, now);
      if (!check.ok) return invalid(ctx);
      const result = await reportFraud(
        { store, blockUser: deps.blockUser, refreshRevocations: deps.refreshRevocations },
        { id: check.id, now, autoBlock: settings.auto_block, blockDays: config.mfa.block.days },
      );
      if (result.state === 'already') return already(ctx);
      if (result.state !== 'reported') return invalid(ctx);
      const r = result.report;
      const name = users.get(r.user)?.name ?? r.user;
      log.warn(
        { user: name, signInFrom: r.clientIp, reportedFrom: ctx.scope.clientIp, blockedUntil: result.blockedUntil },
        'fraud reported',
      );
      notifier.fraudAlert({
        user: name,
        at: r.createdAt,
        clientIp: r.clientIp,
        browser: mailBrowser(r.userAgent, config.notifications.language),
        reportedAt: now,
        reportedFrom: ctx.scope.clientIp,
        blockedUntil: result.blockedUntil,
      });
      kit.page(ctx, 200, 'fraud-reported', { blockedUntil: result.blockedUntil, adminsTold: settings.notify.length > 0, signInUrl });
    }

    return {
      async handle(ctx, sub, method) {
        if (sub !== FRAUD_REPORT_PATH) return false;
        if (!settings.enabled) throw errors.notFound(`${method} ${sub}: mfa.fraud_alert.enabled is off`);
        if (method === 'GET') await confirmPage(ctx, new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('t') ?? '', 200);
        else if (method === 'POST') await report(ctx);
        else throw errors.notFound(`${method} ${sub}`);
        return true;
      },
      afterPassword,
    };
  };
}
