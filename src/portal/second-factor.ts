/**
 * @module portal/second-factor
 * The code step after the password: a TOTP or hardware-token code, or a recovery code (a
 * way back in for a user who lost their method; it never remembers the browser and leads to
 * setting up a new method). Denials count towards the lockout; a locked account sees when
 * it may try again. Success issues a level-2 session and may remember the browser.
 *
 * A user with a security key or passkey may use it instead of a code (the page then loads the
 * WebAuthn script; the code form stays for users who have both, and works without script).
 * A step up (`need=webauthn` from a rule's `mfa_methods`) is this page for a level-2 session
 * whose second factor was another kind: it offers only the accepted kinds, or says how to add one.
 */
import { ruleTextsIn, type RuleTexts } from '../policy/compile.ts';
import type { SessionData } from '../session/session.ts';
import { appendSetCookie } from '../session/cookies.ts';
import { lockedUntil, lockoutPolicy } from '../regulation/lockout.ts';
import { typedKind } from '../factors/fallback/codes.ts';
import type { MessageRef } from './i18n.ts';
import { definePage, hidden, pageView, withError, type CodeForm } from './page.ts';
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
import { sessionFactors } from '../policy/access.ts';

/** The `credential` field the WebAuthn script posts: parsed JSON, or undefined when absent or not an object. */
export function parseCredential(value: string | null): unknown {
  if (value === null || value === '' || value.length > 16_384) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

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
  /** The user has a security key or passkey: offer "Use your security key or passkey" (loads the WebAuthn script). */
  securityKey?: boolean;
  /** Tied to the security-key button. */
  securityKeyError?: MessageRef;
  /** A step up for a rule that accepts only these kinds (`need`); the code form is shown only if a code kind is among them. */
  need?: string[];
  /** Step up needs a kind the user has not set up: where to add one. */
  addKeyUrl?: string;
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
    const securityKeyError = d.securityKeyError && v.tr(lang, d.securityKeyError);
    const codes = d.need === undefined || d.need.includes('totp') || d.need.includes('oath_token');
    const page = pageView(
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
        rememberOffered: d.rememberDays !== undefined,
        remember: Boolean(d.remember),
        codes,
        securityKey: d.securityKey === true,
        securityKeyError,
        stepUp: d.need !== undefined,
        needValue: d.need?.join(','),
        addKeyUrl: d.addKeyUrl,
        stepUpRule: d.stepUp?.rule,
        ruleTexts: d.rule ? ruleTextsIn(d.rule, lang) : null,
      },
    );
    return withError(d.securityKey === true && !locked ? { ...page, script: true } : page, error || recoveryError || securityKeyError);
  },
});

export function secondFactorModule(deps: PortalDeps): (kit: PortalKit) => PortalModule {
  const { config, sessions, store, clock } = deps;
  const remember = config.mfa.remember_device;
  const codePolicy = lockoutPolicy(config.mfa.lockout);

  return (kit) => {
    const url = (path: string) => `${kit.prefix}${path}`;

    /** What one request's page offers: the user's keys, and a step up's accepted kinds. */
    interface Offer {
      keys: boolean;
      need?: string[];
      /** The key of the rule whose `mfa_max_age` asks for a fresh code (see `policy/access`). */
      stepUp?: string;
    }

    function codePage(session: SessionData, rd: string | null, offer: Offer): SecondFactorPage {
      return {
        csrf: kit.csrfToken(session.sid, SIGNED_IN_FORMS),
        user: session.user,
        ...(rd ? { rd } : {}),
        // A remembered browser is what step-up looks past: offering to remember would promise nothing.
        ...(offer.stepUp !== undefined
          ? { stepUp: { rule: offer.stepUp, path: rd === null ? '/' : new URL(rd).pathname } }
          : remember.enabled
            ? { rememberDays: remember.days }
            : {}),
        ...(offer.keys ? { securityKey: true } : {}),
        ...(offer.need ? { need: offer.need } : {}),
        ...(offer.need?.includes('webauthn') && !offer.keys && kit.webauthn ? { addKeyUrl: url(PORTAL_PATHS.securityKeyAdd) } : {}),
      };
    }

    async function offerFor(session: SessionData, needParam: string | null, stepUpParam: string | null): Promise<Offer> {
      const keys = kit.webauthn !== null && (await store.listCredentials(session.user)).length > 0;
      const need = (needParam ?? '').split(',').filter((k) => k === 'totp' || k === 'oath_token' || k === 'webauthn');
      // The `step_up` value only decides which rule a freshly entered code opens: it grants nothing by itself.
      const stepUp = typeof stepUpParam === 'string' && stepUpParam.length > 0 && stepUpParam.length <= 210 ? stepUpParam : undefined;
      return { keys, ...(need.length > 0 ? { need } : {}), ...(stepUp !== undefined ? { stepUp } : {}) };
    }

    /** A level-2 session asked to step up: a rule wants a fresher code, or its factors are none of the accepted kinds. */
    function needsStepUp(session: SessionData, offer: Offer): boolean {
      if (offer.stepUp !== undefined) return true;
      return offer.need !== undefined && !sessionFactors(session.amr).some((f) => offer.need!.includes(f));
    }

    /** The page with the form replaced by "locked until"; 429 with Retry-After after a POST. */
    function lockedPage(ctx: PortalContext, session: SessionData, rd: string | null, until: number, status: number, offer: Offer): void {
      if (status === 429) ctx.res.setHeader('retry-after', retryAfter(until, clock()));
      kit.page(ctx, status, 'second-factor', { ...codePage(session, rd, offer), lockedUntil: until });
    }

    async function show(ctx: PortalContext): Promise<void> {
      const rd = kit.returnTo(queryParam(ctx, 'rd'));
      const session = kit.requireSession(ctx, rd);
      if (!session) return;
      const offer = await offerFor(session, queryParam(ctx, 'need'), queryParam(ctx, 'step_up'));
      if (session.level === 2 && !needsStepUp(session, offer)) return kit.redirect(ctx.res, rd ?? kit.defaultLanding, 302);
      if (!(await hasActiveMethod(store, session.user))) return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, rd), 302);
      const until = lockedUntil(await store.lockoutCounter(session.user, 'second_factor'), codePolicy, clock());
      if (until !== null) return lockedPage(ctx, session, rd, until, 200, offer);
      kit.page(ctx, 200, 'second-factor', {
        ...codePage(session, rd, offer),
        rule: kit.ruleTexts(offer.stepUp ?? queryParam(ctx, 'rule')),
      });
    }

    async function post(ctx: PortalContext): Promise<void> {
      const form = await kit.readForm(ctx.req);
      const rd = kit.returnTo(form.get('rd'));
      const session = kit.requireSession(ctx, rd);
      if (!session) return;
      const offer = await offerFor(session, form.get('need'), form.get('step_up'));
      if (!kit.csrfValid(form.get('csrf'), session.sid, SIGNED_IN_FORMS)) {
        return kit.page(ctx, 400, 'second-factor', { ...codePage(session, rd, offer), error: 'error_form_expired' });
      }
      const code = form.get('code') ?? '';
      const assertion = parseCredential(form.get('credential'));
      // A recovery code never remembers the browser: its user has just lost their method.
      const wantsRemember =
        remember.enabled &&
        offer.stepUp === undefined &&
        form.get('remember') === '1' &&
        (assertion !== undefined || typedKind(code) === 'code');
      if (!(await hasActiveMethod(store, session.user))) return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, rd));
      const result = await kit.checkSecondFactor(ctx, {
        user: session.user,
        code,
        ...(assertion !== undefined ? { assertion } : {}),
        accept: { codes: true, recoveryCode: true, accessPass: false, webauthn: true },
        purpose: '',
        ...(wantsRemember ? { successNote: `${BROWSER_REMEMBERED} for ${remember.days} days` } : {}),
      });
      if (!result.ok) {
        switch (result.reason) {
          case 'blocked':
            appendSetCookie(ctx.res, sessions.clearCookie());
            return kit.page(ctx, 403, 'sign-in', { ...kit.signInForm(ctx, rd), formError: 'sign_in_error_blocked' });
          case 'locked':
            return lockedPage(ctx, session, rd, result.until, 429, offer);
          case 'no_method':
            return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, rd));
          default:
            if (result.lockedUntil !== null) return lockedPage(ctx, session, rd, result.lockedUntil, 429, offer);
            if (assertion !== undefined)
              return kit.page(ctx, 401, 'second-factor', { ...codePage(session, rd, offer), securityKeyError: 'security_key_failed' });
            // A refused recovery code is answered next to the recovery field, not the code field.
            if (typedKind(code) === 'recovery_code')
              return kit.page(ctx, 401, 'second-factor', {
                ...codePage(session, rd, offer),
                recoveryError: 'second_factor_recovery_error',
              });
            return kit.page(ctx, 401, 'second-factor', {
              ...codePage(session, rd, offer),
              remember: wantsRemember,
              error: 'second_factor_error_invalid',
            });
        }
      }
      await kit.issueSession(ctx, {
        user: session.user,
        level: 2,
        // A step up adds to what the session had; a first second factor follows the password.
        amr: session.level === 2 ? [...new Set([...session.amr, result.amr])] : ['pwd', result.amr],
        ic: session.ic,
        auth: session.auth,
        mfaAt: clock(),
        ...(offer.stepUp !== undefined ? { su: offer.stepUp } : {}),
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
