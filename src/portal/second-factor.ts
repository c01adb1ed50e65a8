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
 *
 * "Use another method" (`use=other`, a link: no script) lists every way in the user has, each a
 * link to the page asking for that one (`use=<method id>` or `use=key`), takes a recovery code,
 * and says what to ask the IT team for when everything is lost. Any of the user's codes is
 * accepted whichever method the page names: naming one only tells the user what to reach for.
 */
import { ruleTextsIn, type RuleTexts } from '../policy/compile.ts';
import type { SessionData } from '../session/session.ts';
import type { SessionsLimited } from '../session/sign-in-notice.ts';
import { appendSetCookie } from '../session/cookies.ts';
import { lockedUntil, lockoutPolicy } from '../regulation/lockout.ts';
import { typedKind } from '../factors/fallback/codes.ts';
import type { MessageRef } from './i18n.ts';
import { definePage, hidden, pageView, sessionsLimitedText, withError, type CodeForm, type ViewKit } from './page.ts';
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
import type { SecretMethodKind } from '../store/types.ts';

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

/** One of the user's code methods (an authenticator app or a hardware token), which the page asks for by name. */
interface CodeMethod {
  id: string;
  kind: SecretMethodKind;
  name: string;
}

/**
 * What the page tells a user who lost every method and their recovery codes, by what the
 * config allows after an admin's MFA reset: `pass` (a first method needs a trusted network or
 * a temporary access pass), `reset` (a first method may be set up anywhere), `office` (security
 * keys only, from a trusted network: the enrollment page takes an access pass only where apps may
 * be set up), `token` (hardware tokens only: an admin hands out a new one).
 */
type LostAllAdvice = 'pass' | 'reset' | 'office' | 'token';

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
  /** The sign-in just before this page ended older sessions (`session.max_per_user`). */
  sessionsLimited?: SessionsLimited;
  /** The user's active code methods, the one the page asks for first (the last used), named in its intro. */
  methods?: readonly CodeMethod[];
  /**
   * What the page asks for: a code method's id (that method alone, named), `key` (the security
   * key alone) or `other` (every way in as links, the recovery code and `lostAll`). Omitted: the
   * security key and the first method's code.
   */
  use?: string;
  /** What the `other` page says to a user who lost everything. */
  lostAll?: LostAllAdvice;
}

/** "Authenticator app “Phone”", or the kind alone for a method still named after its kind. */
function methodTitle(lang: string, m: CodeMethod, v: ViewKit): string {
  const kind = v.tr(lang, `method_kind_${m.kind}`);
  return namedAfterKind(m, v) ? kind : v.tr(lang, 'method_named', { kind, name: m.name });
}

/** The method still has the name it got at setup, its kind's ("Authenticator app"), in any language. */
function namedAfterKind(m: CodeMethod, v: ViewKit): boolean {
  const name = m.name.trim().toLowerCase();
  return name === '' || ['en', 'de'].some((l) => v.tr(l, `method_kind_${m.kind}`).toLowerCase() === name);
}

export const secondFactorPage = definePage({
  name: 'second-factor',
  build(lang, d: SecondFactorPage, v) {
    const locked = d.lockedUntil !== undefined;
    const error = d.error && v.tr(lang, d.error);
    const recoveryError = d.recoveryError && v.tr(lang, d.recoveryError);
    const securityKeyError = d.securityKeyError && v.tr(lang, d.securityKeyError);
    const accepts = (kind: string) => d.need === undefined || d.need.includes(kind);
    const methods = (d.methods ?? []).filter((m) => accepts(m.kind));
    const other = d.use === 'other';
    const keyOnly = d.use === 'key' && d.securityKey === true;
    const pinned = methods.find((m) => m.id === d.use);
    const current = pinned ?? methods[0];
    const codes = !other && !keyOnly && (accepts('totp') || accepts('oath_token'));
    const securityKey = d.securityKey === true && !other && pinned === undefined;
    /** This page asking for something else, with what it must keep asking for (`rd`, `need`, `step_up`). */
    const askFor = (use: string) => {
      const q = new URLSearchParams({ use });
      if (d.rd) q.set('rd', d.rd);
      if (d.need) q.set('need', d.need.join(','));
      if (d.stepUp) q.set('step_up', d.stepUp.rule);
      return `${v.paths.secondFactor}?${q}`;
    };
    const ways = other
      ? [
          ...methods.map((m) => ({ href: askFor(m.id), label: methodTitle(lang, m, v) })),
          ...(d.securityKey === true && accepts('webauthn') ? [{ href: askFor('key'), label: v.tr(lang, 'method_kind_webauthn') }] : []),
        ]
      : [];
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
        codeIntro:
          current === undefined || namedAfterKind(current, v)
            ? v.tr(lang, 'second_factor_intro')
            : v.tr(lang, `second_factor_intro_${current.kind}`, { method: current.name }),
        useValue: pinned?.id ?? (keyOnly ? 'key' : undefined),
        securityKey,
        securityKeyError,
        other,
        ways,
        otherUrl: other ? undefined : askFor('other'),
        lostAll: other && d.lostAll !== undefined ? v.tr(lang, `second_factor_lost_${d.lostAll}`) : undefined,
        stepUp: d.need !== undefined,
        needValue: d.need?.join(','),
        addKeyUrl: d.addKeyUrl,
        stepUpRule: d.stepUp?.rule,
        ruleTexts: d.rule ? ruleTextsIn(d.rule, lang) : null,
        sessionsLimited: sessionsLimitedText(lang, d.sessionsLimited, v),
      },
    );
    return withError(securityKey && !locked ? { ...page, script: true } : page, error || recoveryError || securityKeyError);
  },
});

export function secondFactorModule(deps: PortalDeps): (kit: PortalKit) => PortalModule {
  const { config, sessions, store, clock } = deps;
  const remember = config.mfa.remember_device;
  const codePolicy = lockoutPolicy(config.mfa.lockout);
  const { methods: kinds, first_enrollment: firstEnrollment } = config.mfa;
  const lostAll: LostAllAdvice =
    !kinds.includes('totp') && !kinds.includes('webauthn')
      ? 'token'
      : firstEnrollment === 'anywhere'
        ? 'reset'
        : kinds.includes('totp')
          ? 'pass'
          : 'office';

  return (kit) => {
    const url = (path: string) => `${kit.prefix}${path}`;

    /** What one request's page offers: the user's keys, and a step up's accepted kinds. */
    interface Offer {
      keys: boolean;
      need?: string[];
      /** The key of the rule whose `mfa_max_age` asks for a fresh code (see `policy/access`). */
      stepUp?: string;
      /** The key of the rule (one with texts) that sent the user here, carried through the form and on to enrollment. */
      rule?: string;
      /** The user's active code methods, last used first. */
      methods: CodeMethod[];
      /** What the page asks for (see {@link SecondFactorPage.use}); only what the user has. */
      use?: string;
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
        methods: offer.methods,
        ...(offer.use !== undefined ? { use: offer.use } : {}),
        lostAll,
        ...(offer.need?.includes('webauthn') && !offer.keys && kit.webauthn ? { addKeyUrl: url(PORTAL_PATHS.securityKeyAdd) } : {}),
        rule: kit.ruleTexts(offer.stepUp ?? offer.rule),
        ...(offer.rule !== undefined ? { ruleKey: offer.rule } : {}),
      };
    }

    async function offerFor(
      session: SessionData,
      needParam: string | null,
      stepUpParam: string | null,
      ruleParam: string | null,
      useParam: string | null = null,
    ): Promise<Offer> {
      const keys = kit.webauthn !== null && (await store.listCredentials(session.user)).length > 0;
      const methods = (await store.listMethods(session.user))
        .filter((m) => m.active)
        .sort((a, b) => (b.lastUsedAt ?? -1) - (a.lastUsedAt ?? -1) || a.createdAt - b.createdAt)
        .map((m): CodeMethod => ({ id: m.id, kind: m.kind, name: m.label }));
      const use =
        useParam === 'other' || (useParam === 'key' && keys) || methods.some((m) => m.id === useParam) ? (useParam as string) : undefined;
      const need = (needParam ?? '').split(',').filter((k) => k === 'totp' || k === 'oath_token' || k === 'webauthn');
      // The `step_up` value only decides which rule a freshly entered code opens: it grants nothing by itself.
      const stepUp = typeof stepUpParam === 'string' && stepUpParam.length > 0 && stepUpParam.length <= 210 ? stepUpParam : undefined;
      // A step up names its rule itself; otherwise only a key the policy has is carried on.
      const rule = stepUp === undefined ? kit.explainedRule(ruleParam)?.key : undefined;
      return {
        keys,
        methods,
        ...(need.length > 0 ? { need } : {}),
        ...(stepUp !== undefined ? { stepUp } : {}),
        ...(rule !== undefined ? { rule } : {}),
        ...(use !== undefined ? { use } : {}),
      };
    }

    /** A level-2 session asked to step up: a rule wants a fresher code, or its factors are none of the accepted kinds. */
    function needsStepUp(session: SessionData, offer: Offer): boolean {
      if (offer.stepUp !== undefined) return true;
      return offer.need !== undefined && !sessionFactors(session.amr).some((f) => offer.need!.includes(f));
    }

    /** The page with the form replaced by "locked until"; 429 with Retry-After after a POST. */
    function lockedPage(
      ctx: PortalContext,
      session: SessionData,
      rd: string | null,
      until: number,
      status: number,
      offer: Offer,
      extra: Pick<SecondFactorPage, 'sessionsLimited'> = {},
    ): void {
      if (status === 429) ctx.res.setHeader('retry-after', retryAfter(until, clock()));
      kit.page(ctx, status, 'second-factor', { ...codePage(session, rd, offer), lockedUntil: until, ...extra });
    }

    async function show(ctx: PortalContext): Promise<void> {
      const rd = kit.returnTo(queryParam(ctx, 'rd'));
      const session = kit.requireSession(ctx, rd);
      if (!session) return;
      const offer = await offerFor(
        session,
        queryParam(ctx, 'need'),
        queryParam(ctx, 'step_up'),
        queryParam(ctx, 'rule'),
        queryParam(ctx, 'use'),
      );
      if (session.level === 2 && !needsStepUp(session, offer)) return kit.redirect(ctx.res, rd ?? kit.defaultLanding, 302);
      if (!(await hasActiveMethod(store, session.user))) return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, rd, offer.rule), 302);
      const until = lockedUntil(await store.lockoutCounter(session.user, 'second_factor'), codePolicy, clock());
      // The page right after a sign-in that ended older sessions says so (once).
      const limited = await kit.signInNotice(ctx);
      const told = limited ? { sessionsLimited: limited } : {};
      if (until !== null) return lockedPage(ctx, session, rd, until, 200, offer, told);
      kit.page(ctx, 200, 'second-factor', { ...codePage(session, rd, offer), ...told });
    }

    async function post(ctx: PortalContext): Promise<void> {
      const form = await kit.readForm(ctx.req);
      const rd = kit.returnTo(form.get('rd'));
      const session = kit.requireSession(ctx, rd);
      if (!session) return;
      const offer = await offerFor(session, form.get('need'), form.get('step_up'), form.get('rule'), form.get('use'));
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
      if (!(await hasActiveMethod(store, session.user))) return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, rd, offer.rule));
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
            return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, rd, offer.rule));
          default:
            if (result.lockedUntil !== null) return lockedPage(ctx, session, rd, result.lockedUntil, 429, offer);
            if (assertion !== undefined)
              return kit.page(ctx, 401, 'second-factor', { ...codePage(session, rd, offer), securityKeyError: 'security_key_failed' });
            // A refused recovery code is answered next to the recovery field, on the page that has it.
            if (typedKind(code) === 'recovery_code')
              return kit.page(ctx, 401, 'second-factor', {
                ...codePage(session, rd, { ...offer, use: 'other' }),
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
