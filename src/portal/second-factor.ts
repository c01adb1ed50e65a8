/**
 * @module portal/second-factor
 * The code step after the password: a TOTP or hardware-token code, or a recovery code (a
 * way back in for a user who lost their method; it never remembers the browser and leads to
 * setting up a new method). Denials count towards the lockout; a locked account sees when
 * it may try again. Success issues a level-2 session and may remember the browser.
 */
import { ruleTextsIn, type RuleTexts } from '../policy/compile.ts';
import type { SessionData } from '../session/session.ts';
import { appendSetCookie } from '../session/cookies.ts';
import { lockedUntil, lockoutPolicy } from '../regulation/lockout.ts';
import { typedKind } from '../factors/fallback/codes.ts';
import type { MessageRef } from './i18n.ts';
import { definePage, hidden, pageView, type CodeForm } from './page.ts';
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

/** The sign-in log's words for a remember grant; the account page counts grants by them. */
export const BROWSER_REMEMBERED = 'browser remembered';

/**
 * `second-factor`: POST `{prefix}second-factor` with `code`, `remember` (`1`), `csrf`, `rd`.
 * `user` passed the password step; shown with a "Not you? Sign out" button (POST `{prefix}sign-out`).
 */
export interface SecondFactorPage extends CodeForm {
  /** Offer "Don't ask again on this browser for N days"; omitted hides the checkbox. */
  rememberDays?: number;
  /** Keep the checkbox ticked on retry. */
  remember?: boolean;
  /** Tied to the recovery-code field, which is then shown open and focused. */
  recoveryError?: MessageRef;
  /**
   * Step-up: the key of the rule whose `mfa_max_age` asks for a fresh code (carried in the
   * form as `step_up`), and the path it guards, named in "Confirm it's you to open /admin".
   */
  stepUp?: { rule: string; path: string };
  /** The texts of the rule that sent the user here (looked up by its key in `step_up` or `rule`). */
  rule?: RuleTexts | null;
}

export const secondFactorPage = definePage({
  name: 'second-factor',
  build(lang, d: SecondFactorPage, v) {
    const locked = d.lockedUntil !== undefined;
    const error = d.error && v.tr(lang, d.error);
    const recoveryError = d.recoveryError && v.tr(lang, d.recoveryError);
    return pageView(
      v.tr(lang, locked ? 'second_factor_locked_title' : 'second_factor_title'),
      {
        user: d.user,
        days: d.rememberDays ?? '',
        until: d.lockedUntil === undefined ? '' : v.date(d.lockedUntil, lang),
        path: d.stepUp?.path ?? '',
      },
      {
        ...hidden(d),
        locked,
        error,
        codeDescribedBy: error ? 'code-hint code-error' : 'code-hint',
        recoveryError,
        recoveryDescribedBy: recoveryError ? 'recovery-hint recovery-error' : 'recovery-hint',
        stepUp: d.stepUp?.rule,
        rememberOffered: d.rememberDays !== undefined,
        remember: Boolean(d.remember),
        ruleTexts: d.rule ? ruleTextsIn(d.rule, lang) : null,
      },
    );
  },
});

export function secondFactorModule(deps: PortalDeps): (kit: PortalKit) => PortalModule {
  const { config, sessions, store, clock } = deps;
  const remember = config.mfa.remember_device;
  const codePolicy = lockoutPolicy(config.mfa.lockout);

  return (kit) => {
    const url = (path: string) => `${kit.prefix}${path}`;

    function codePage(session: SessionData, rd: string | null, stepUp: string | null = null): SecondFactorPage {
      return {
        csrf: kit.csrfToken(session.sid, SIGNED_IN_FORMS),
        user: session.user,
        ...(rd ? { rd } : {}),
        // A remembered browser is what step-up looks past: offering to remember would promise nothing.
        ...(stepUp !== null
          ? { stepUp: { rule: stepUp, path: rd === null ? '/' : new URL(rd).pathname } }
          : remember.enabled
            ? { rememberDays: remember.days }
            : {}),
      };
    }

    /** The `step_up` parameter: the key of a rule asking for a fresh code (see `policy/access`). */
    function stepUpOf(value: string | null | undefined): string | null {
      return typeof value === 'string' && value.length > 0 && value.length <= 210 ? value : null;
    }

    /** The page with the form replaced by "locked until"; 429 with Retry-After after a POST. */
    function lockedPage(
      ctx: PortalContext,
      session: SessionData,
      rd: string | null,
      until: number,
      status: number,
      stepUp: string | null,
    ): void {
      if (status === 429) ctx.res.setHeader('retry-after', retryAfter(until, clock()));
      kit.page(ctx, status, 'second-factor', { ...codePage(session, rd, stepUp), lockedUntil: until });
    }

    async function show(ctx: PortalContext): Promise<void> {
      const rd = kit.returnTo(queryParam(ctx, 'rd'));
      const stepUp = stepUpOf(queryParam(ctx, 'step_up'));
      const session = kit.requireSession(ctx, rd);
      if (!session) return;
      // A level-2 session comes here only when a rule asks for a fresher code (`step_up`).
      if (session.level === 2 && stepUp === null) return kit.redirect(ctx.res, rd ?? kit.defaultLanding, 302);
      if (!(await hasActiveMethod(store, session.user))) return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, rd), 302);
      const until = lockedUntil(await store.lockoutCounter(session.user, 'second_factor'), codePolicy, clock());
      if (until !== null) return lockedPage(ctx, session, rd, until, 200, stepUp);
      kit.page(ctx, 200, 'second-factor', { ...codePage(session, rd, stepUp), rule: kit.ruleTexts(stepUp ?? queryParam(ctx, 'rule')) });
    }

    async function post(ctx: PortalContext): Promise<void> {
      const form = await kit.readForm(ctx.req);
      const rd = kit.returnTo(form.get('rd'));
      const stepUp = stepUpOf(form.get('step_up'));
      const session = kit.requireSession(ctx, rd);
      if (!session) return;
      if (!kit.csrfValid(form.get('csrf'), session.sid, SIGNED_IN_FORMS)) {
        return kit.page(ctx, 400, 'second-factor', { ...codePage(session, rd, stepUp), error: 'error_form_expired' });
      }
      const code = form.get('code') ?? '';
      // A recovery code never remembers the browser: its user has just lost their method.
      const wantsRemember = remember.enabled && stepUp === null && form.get('remember') === '1' && typedKind(code) === 'code';
      if (!(await hasActiveMethod(store, session.user))) return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, rd));
      const result = await kit.checkSecondFactor(ctx, {
        user: session.user,
        code,
        accept: { codes: true, recoveryCode: true, accessPass: false },
        purpose: '',
        ...(wantsRemember ? { successNote: `${BROWSER_REMEMBERED} for ${remember.days} days` } : {}),
      });
      if (!result.ok) {
        switch (result.reason) {
          case 'blocked':
            appendSetCookie(ctx.res, sessions.clearCookie());
            return kit.page(ctx, 403, 'sign-in', { ...kit.signInForm(ctx, rd), formError: 'sign_in_error_blocked' });
          case 'locked':
            return lockedPage(ctx, session, rd, result.until, 429, stepUp);
          case 'no_method':
            return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, rd));
          default:
            if (result.lockedUntil !== null) return lockedPage(ctx, session, rd, result.lockedUntil, 429, stepUp);
            // A refused recovery code is answered next to the recovery field, not the code field.
            if (typedKind(code) === 'recovery_code')
              return kit.page(ctx, 401, 'second-factor', {
                ...codePage(session, rd, stepUp),
                recoveryError: 'second_factor_recovery_error',
              });
            return kit.page(ctx, 401, 'second-factor', {
              ...codePage(session, rd, stepUp),
              remember: wantsRemember,
              error: 'second_factor_error_invalid',
            });
        }
      }
      await kit.issueSession(ctx, {
        user: session.user,
        level: 2,
        amr: ['pwd', result.amr],
        ic: session.ic,
        auth: session.auth,
        mfaAt: clock(),
        ...(stepUp !== null ? { su: stepUp } : {}),
      });
      if (wantsRemember) appendSetCookie(ctx.res, await sessions.rememberDeviceCookie(session.user, remember.days));
      // A recovery code is a way back in, not a method: the user sets up a new one next.
      if (result.via === 'recovery_code') {
        return kit.redirect(
          ctx.res,
          config.mfa.methods.includes('totp')
            ? `${url(PORTAL_PATHS.methodAdd)}?after=recovery`
            : `${url(PORTAL_PATHS.account)}?done=recovery`,
        );
      }
      kit.redirect(ctx.res, rd ?? kit.defaultLanding);
    }

    return {
      async handle(ctx, sub, method) {
        if (sub !== PORTAL_PATHS.secondFactor) return false;
        if (method === 'GET') await show(ctx);
        else if (method === 'POST') await post(ctx);
        else return false;
        return true;
      },
    };
  };
}
