/**
 * @module portal/enrollment
 * First enrollment: a user without an active method sets up an authenticator app right
 * after the password. This is where a stolen password could enroll an attacker's phone, so
 * `mfa.first_enrollment` may limit it to trusted networks; elsewhere the page refuses and
 * offers a temporary access pass (issued by an admin), which opens enrollment and nothing
 * else. The confirming code grants the second factor.
 */
import type { SessionData } from '../session/session.ts';
import type { SessionsLimited } from '../session/sign-in-notice.ts';
import { appendSetCookie } from '../session/cookies.ts';
import { lockedUntil, lockoutPolicy } from '../regulation/lockout.ts';
import { confirmTotpEnrollment, startTotpEnrollment } from '../factors/totp/verify.ts';
import {
  definePage,
  pageView,
  sessionsLimitedText,
  totpSetupOf,
  totpSetupView,
  hidden,
  withError,
  type CodeForm,
  type TotpSetup,
} from './page.ts';
import {
  hasActiveMethod,
  queryParam,
  retryAfter,
  SIGNED_IN_FORMS,
  type PortalContext,
  type PortalDeps,
  type PortalKit,
  type PortalModule,
} from './kit.ts';
import { PORTAL_PATHS } from './paths.ts';
import { ruleTextsIn, type RuleTexts } from '../policy/compile.ts';

/** How long an enrollment secret shown on the page waits for its confirming code. */
const ENROLLMENT_TTL_MS = 15 * 60_000;

/** `enroll`: POST `{prefix}enroll` with `code`, `csrf`, `rd` (and `rule`, see {@link FormFields}). */
export interface EnrollPage extends TotpSetup {
  /** The texts of the rule that sent the user here (looked up by the `rule` parameter's key). */
  rule?: RuleTexts | null;
  /** The sign-in just before this page ended older sessions (`session.max_per_user`). */
  sessionsLimited?: SessionsLimited;
}

export const enrollPage = definePage({
  name: 'enroll',
  build: (lang, d: EnrollPage, v) =>
    withError(
      pageView(
        v.tr(lang, 'enroll_title'),
        { user: d.user, account: d.account, period: d.period },
        {
          ...totpSetupView(lang, d, v),
          ruleTexts: d.rule ? ruleTextsIn(d.rule, lang) : null,
          sessionsLimited: sessionsLimitedText(lang, d.sessionsLimited, v),
        },
        'medium',
      ),
      d.error,
    ),
});

/**
 * `enroll-refused`: the first method can only be enrolled from a trusted network, or with a
 * temporary access pass: POST `accessPassUrl` with `pass`, `csrf`, `rd`. The CSRF token is
 * for the sign-out button and the access-pass form; `error` is tied to the pass field (e.g.
 * `enroll_pass_invalid`) and `lockedUntil` replaces the pass form.
 */
export interface EnrollRefusedPage extends CodeForm {
  /** Where "Try again" leads; omitted hides the link. */
  retryUrl?: string;
  /** Where the access-pass form posts; omitted hides the form. */
  accessPassUrl?: string;
  /** The texts of the rule that sent the user here. */
  rule?: RuleTexts | null;
  /** The sign-in just before this page ended older sessions (`session.max_per_user`). */
  sessionsLimited?: SessionsLimited;
}

export const enrollRefusedPage = definePage({
  name: 'enroll-refused',
  build(lang, d: EnrollRefusedPage, v) {
    const error = d.error && v.tr(lang, d.error);
    const page = pageView(
      v.tr(lang, 'enroll_refused_title'),
      { user: d.user, until: d.lockedUntil === undefined ? '' : v.date(d.lockedUntil, lang) },
      {
        ...hidden(d),
        retryUrl: d.retryUrl,
        accessPassUrl: d.lockedUntil === undefined ? d.accessPassUrl : undefined,
        locked: d.lockedUntil !== undefined,
        error,
        passDescribedBy: error ? 'pass-hint pass-error' : 'pass-hint',
        ruleTexts: d.rule ? ruleTextsIn(d.rule, lang) : null,
        sessionsLimited: sessionsLimitedText(lang, d.sessionsLimited, v),
      },
    );
    return withError(page, error);
  },
});

/** A temporary access pass accepted in this session opens first enrollment (an app or a security key) for {@link ENROLLMENT_TTL_MS}. */
export function accessPassOpen(session: SessionData, now: number): boolean {
  return typeof session.tapAt === 'number' && session.tapAt <= now && now - session.tapAt < ENROLLMENT_TTL_MS;
}

export function enrollmentModule(deps: PortalDeps): (kit: PortalKit) => PortalModule {
  const { config, sessions, store, clock } = deps;
  const codePolicy = lockoutPolicy(config.mfa.lockout);

  return (kit) => {
    const url = (path: string) => `${kit.prefix}${path}`;
    /** The rule that sent the user here (one with texts): shown on these pages and carried to the next. */
    type Explained = ReturnType<PortalKit['explainedRule']>;
    const shown = (rule: Explained) => (rule === null ? {} : { rule: rule.texts, ruleKey: rule.key });

    /** See `mfa.first_enrollment`: anywhere, or on a trusted network, or with an access pass. */
    function enrollmentAllowed(ctx: PortalContext, session: SessionData): boolean {
      return config.mfa.first_enrollment === 'anywhere' || kit.onTrustedNetwork(ctx) || accessPassOpen(session, clock());
    }

    /** The page that refuses first enrollment here and offers the access-pass field. */
    function refusedPage(
      ctx: PortalContext,
      session: SessionData,
      rd: string | null,
      rule: Explained,
      status: number,
      extra: Pick<EnrollRefusedPage, 'error' | 'lockedUntil' | 'sessionsLimited'> = {},
    ): void {
      if (status === 429 && extra.lockedUntil !== undefined)
        ctx.res.setHeader('retry-after', retryAfter(Number(extra.lockedUntil), clock()));
      kit.page(ctx, status, 'enroll-refused', {
        csrf: kit.csrfToken(session.sid, SIGNED_IN_FORMS),
        user: session.user,
        retryUrl: kit.withRd(PORTAL_PATHS.enroll, rd, rule?.key),
        accessPassUrl: url(PORTAL_PATHS.enrollAccessPass),
        ...(rd ? { rd } : {}),
        ...shown(rule),
        ...extra,
      });
    }

    async function setupPage(
      ctx: PortalContext,
      session: SessionData,
      rd: string | null,
      rule: Explained,
      status = 200,
      extra: Pick<EnrollPage, 'error' | 'sessionsLimited'> = {},
    ): Promise<void> {
      const view = await startTotpEnrollment(store, {
        user: session.user,
        account: session.user,
        issuer: config.mfa.totp.issuer,
        period: config.mfa.totp.period,
        ttlMs: ENROLLMENT_TTL_MS,
      });
      kit.page(ctx, status, 'enroll', {
        csrf: kit.csrfToken(session.sid, SIGNED_IN_FORMS),
        ...(rd ? { rd } : {}),
        ...(await totpSetupOf(view, session.user, config.mfa.totp.issuer)),
        ...shown(rule),
        ...extra,
      });
    }

    /** The session that may enroll a first method here, or null after answering otherwise. */
    async function guard(ctx: PortalContext, rd: string | null, rule: Explained): Promise<SessionData | null> {
      const session = kit.requireSession(ctx, rd);
      if (!session) return null;
      if (await hasActiveMethod(store, session.user)) {
        kit.redirect(ctx.res, session.level === 2 ? (rd ?? kit.defaultLanding) : kit.withRd(PORTAL_PATHS.secondFactor, rd, rule?.key), 303);
        return null;
      }
      // Only the listed kinds may be enrolled: without `totp` a first method is a security key
      // (registered on its own page, under the same first-enrollment rule) or a hardware token an admin hands out.
      if (!config.mfa.methods.includes('totp') && config.mfa.methods.includes('webauthn')) {
        if (!enrollmentAllowed(ctx, session)) return refuseFirstEnrollment(ctx, session, rd, rule);
        kit.redirect(ctx.res, url(PORTAL_PATHS.securityKeyAdd), ctx.req.method === 'GET' ? 302 : 303);
        return null;
      }
      if (!config.mfa.methods.includes('totp')) {
        kit.page(ctx, 200, 'message', {
          title: 'enroll_token_title',
          text: 'enroll_token_text',
          link: { href: url(PORTAL_PATHS.account), label: 'back_to_account' },
        });
        return null;
      }
      if (!enrollmentAllowed(ctx, session)) return refuseFirstEnrollment(ctx, session, rd, rule);
      return session;
    }

    /** Refuses first enrollment here (logged) with the access-pass field; null for the guard. */
    async function refuseFirstEnrollment(ctx: PortalContext, session: SessionData, rd: string | null, rule: Explained): Promise<null> {
      await kit.audit(ctx, {
        kind: 'enrollment',
        user: session.user,
        outcome: 'denied',
        detail: 'first enrollment refused: not on a trusted network and no access pass',
      });
      const until = lockedUntil(await store.lockoutCounter(session.user, 'second_factor'), codePolicy, clock());
      // Shown by the page a sign-in leads to, not by a refused form.
      const limited = ctx.req.method === 'POST' ? null : await kit.signInNotice(ctx);
      refusedPage(ctx, session, rd, rule, 403, {
        ...(until === null ? {} : { lockedUntil: until }),
        ...(limited ? { sessionsLimited: limited } : {}),
      });
      return null;
    }

    /** POST `enroll/access-pass`: a temporary access pass opens first enrollment from anywhere, and nothing else. */
    async function accessPass(ctx: PortalContext): Promise<void> {
      const form = await kit.readForm(ctx.req);
      const rd = kit.returnTo(form.get('rd'));
      const rule = kit.explainedRule(form.get('rule'));
      const session = kit.requireSession(ctx, rd);
      if (!session) return;
      if (!kit.csrfValid(form.get('csrf'), session.sid, SIGNED_IN_FORMS))
        return refusedPage(ctx, session, rd, rule, 400, { error: 'error_form_expired' });
      if ((await hasActiveMethod(store, session.user)) || !config.mfa.methods.includes('totp')) {
        // A pass is for enrolling a first method only; a user with a method signs in with it.
        await kit.audit(ctx, {
          kind: 'second_factor',
          user: session.user,
          outcome: 'denied',
          detail: 'first enrollment: access pass refused: not a first enrollment',
        });
        return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, rd, rule?.key));
      }
      const result = await kit.checkSecondFactor(ctx, {
        user: session.user,
        code: form.get('pass') ?? '',
        accept: { codes: false, recoveryCode: false, accessPass: true },
        purpose: 'first enrollment',
      });
      if (!result.ok) {
        if (result.reason === 'blocked') {
          appendSetCookie(ctx.res, sessions.clearCookie());
          return kit.page(ctx, 403, 'sign-in', { ...kit.signInForm(ctx, rd), formError: 'sign_in_error_blocked' });
        }
        const locks = result.reason === 'locked' ? result.until : result.lockedUntil;
        if (locks !== null) return refusedPage(ctx, session, rd, rule, 429, { lockedUntil: locks });
        return refusedPage(ctx, session, rd, rule, 401, { error: 'enroll_pass_invalid' });
      }
      // Still level 1: the pass opens enrollment; the enrollment's confirming code grants access.
      await kit.issueSession(ctx, {
        user: session.user,
        level: 1,
        amr: ['pwd', result.amr],
        ic: session.ic,
        auth: session.auth,
        enroll: true,
        tapAt: clock(),
      });
      kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, rd, rule?.key));
    }

    async function show(ctx: PortalContext): Promise<void> {
      const rd = kit.returnTo(queryParam(ctx, 'rd'));
      const rule = kit.explainedRule(queryParam(ctx, 'rule'));
      const session = await guard(ctx, rd, rule);
      if (!session) return;
      // The page right after a sign-in that ended older sessions says so (once).
      const limited = await kit.signInNotice(ctx);
      await setupPage(ctx, session, rd, rule, 200, limited ? { sessionsLimited: limited } : {});
    }

    async function confirm(ctx: PortalContext): Promise<void> {
      const form = await kit.readForm(ctx.req);
      const rd = kit.returnTo(form.get('rd'));
      const rule = kit.explainedRule(form.get('rule'));
      const session = await guard(ctx, rd, rule);
      if (!session) return;
      if (!kit.csrfValid(form.get('csrf'), session.sid, SIGNED_IN_FORMS))
        return setupPage(ctx, session, rd, rule, 400, { error: 'error_form_expired' });
      const pending = await store.getPending(session.user);
      const result = await confirmTotpEnrollment(
        { pending: store, audit: store },
        {
          user: session.user,
          pendingId: pending?.id ?? '',
          code: form.get('code') ?? '',
          // A name in the user's language; they may rename it on the account page.
          label: kit.text(ctx.lang, 'method_kind_totp'),
          now: clock(),
          skewSteps: config.mfa.totp.skew_steps,
          maxPerUser: config.mfa.max_methods_per_user,
          context: kit.auditContext(ctx),
        },
      );
      if (!result.ok) return setupPage(ctx, session, rd, rule, 400, { error: 'enroll_error_invalid' });
      await kit.issueSession(ctx, {
        user: session.user,
        level: 2,
        amr: accessPassOpen(session, clock()) ? ['pwd', 'tap', 'totp'] : ['pwd', 'totp'],
        ic: session.ic,
        auth: session.auth,
        mfaAt: clock(),
      });
      kit.redirect(ctx.res, rd ?? kit.defaultLanding);
    }

    return {
      async handle(ctx, sub, method) {
        const route = `${method} ${sub}`;
        if (route === `GET ${PORTAL_PATHS.enroll}`) await show(ctx);
        else if (route === `POST ${PORTAL_PATHS.enroll}`) await confirm(ctx);
        else if (route === `POST ${PORTAL_PATHS.enrollAccessPass}`) await accessPass(ctx);
        else return false;
        return true;
      },
    };
  };
}
