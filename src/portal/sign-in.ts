/**
 * @module portal/sign-in
 * The password step: GET shows the form (or sends a signed-in user on), POST runs the one
 * regulated password check and issues a level-1 session (level 2 for a remembered browser).
 * The form is CSRF-protected against login CSRF; every failure looks the same to the user
 * except those only the right password can reach, while the sign-in log records exactly why.
 * A locked name answers 429 "try again after" for every attempt, right or wrong, known or not.
 * A user without an active method is led into first enrollment before the return URL.
 */
import type { MessageRef } from './i18n.ts';
import { SIGN_IN_RETRY_AFTER_S } from '../errors/errors.ts';
import { readCookie } from '../session/cookies.ts';
import { definePage, hidden, pageView, withError, type FormFields } from './page.ts';
import { hasActiveMethod, queryParam, retryAfter, type PortalContext, type PortalDeps, type PortalKit, type PortalModule } from './kit.ts';
import { PORTAL_PATHS } from './paths.ts';
import { ruleTextsIn, type RuleTexts } from '../policy/compile.ts';

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
  /** "Sign in with a passkey" (`mfa.webauthn.passwordless`): the page then loads the WebAuthn script. */
  passkey?: boolean;
  /** The texts of the rule that sent the user here (looked up by the `rule` parameter's key). */
  rule?: RuleTexts | null;
  /** The typed name is locked: the alert says until when (`until`, shown in the server's time zone; `now` for the day). */
  locked?: { until: number; now: number };
}

export const signInPage = definePage({
  name: 'sign-in',
  build(lang, d: SignInPage, v) {
    const usernameError = d.fieldErrors?.username && v.tr(lang, d.fieldErrors.username);
    const passwordError = d.fieldErrors?.password && v.tr(lang, d.fieldErrors.password);
    const focusPassword = !usernameError && (Boolean(passwordError) || Boolean(d.username));
    const formError = d.locked
      ? v.tr(lang, 'sign_in_error_locked', { until: v.timeAfter(d.locked.until, d.locked.now, lang) })
      : d.formError && v.tr(lang, d.formError, { provider: d.provider?.name ?? '' });
    const page = pageView(
      v.tr(lang, 'sign_in_title'),
      { provider: d.provider?.name ?? '' },
      {
        ...hidden(d),
        username: d.username ?? '',
        formError,
        usernameError,
        passwordError,
        focusUsername: !focusPassword,
        focusPassword,
        provider: d.provider,
        localForm: !d.hideLocalForm,
        passkey: d.passkey === true,
        ruleTexts: d.rule ? ruleTextsIn(d.rule, lang) : null,
      },
    );
    return withError(d.passkey === true ? { ...page, script: true } : page, formError || usernameError || passwordError);
  },
});

export function signInModule(deps: PortalDeps): (kit: PortalKit) => PortalModule {
  const { config, sessions, store, clock, passwordCheck } = deps;
  const remember = config.mfa.remember_device;

  return (kit) => {
    /** The texts of the rule that sent the user here, and its key for the next step (see `PortalKit.explainedRule`). */
    const explainedBy = (key: string | null): Pick<SignInPage, 'rule' | 'ruleKey'> => {
      const rule = kit.explainedRule(key);
      return rule === null ? {} : { rule: rule.texts, ruleKey: rule.key };
    };

    async function show(ctx: PortalContext): Promise<void> {
      const rd = kit.returnTo(queryParam(ctx, 'rd'));
      const explained = explainedBy(queryParam(ctx, 'rule'));
      if (ctx.session)
        return kit.redirect(
          ctx.res,
          ctx.session.level === 2 ? (rd ?? kit.defaultLanding) : kit.withRd(PORTAL_PATHS.secondFactor, rd, explained.ruleKey),
          302,
        );
      kit.page(ctx, 200, 'sign-in', { ...kit.signInForm(ctx, rd), ...explained });
    }

    async function post(ctx: PortalContext): Promise<void> {
      const form = await kit.readForm(ctx.req);
      const rd = kit.returnTo(form.get('rd'));
      const username = (form.get('username') ?? '').trim();
      const password = form.get('password') ?? '';
      const binding = readCookie(ctx.req.headers.cookie, sessions.csrfCookieName) ?? '';
      // The rule's texts stay on the page when it is shown again, and its key goes on to the code or enrollment page.
      const explained = explainedBy(form.get('rule'));
      const again = (status: number, extra: Partial<SignInPage>) =>
        kit.page(ctx, status, 'sign-in', { ...kit.signInForm(ctx, rd), ...explained, username, ...extra });

      if (!kit.csrfValid(form.get('csrf'), binding, 'sign-in')) return again(400, { formError: 'sign_in_error_expired' });
      if (!username || !password) {
        return again(400, {
          fieldErrors: {
            ...(username ? {} : { username: 'field_required_username' }),
            ...(password ? {} : { password: 'field_required_password' }),
          },
        });
      }
      // Throttle, lockout, argon2, sign-in log and lockout notice: the one regulated check.
      const check = await passwordCheck({
        name: username,
        password,
        kind: 'password',
        clientAddr: ctx.scope.clientAddr,
        ...kit.auditContext(ctx),
      });
      if (!check.ok) {
        if (check.reason === 'throttled') {
          ctx.res.setHeader('retry-after', retryAfter(check.retryAt, clock()));
          // A paced source with more answers waiting than the bound: this one goes at once, and its connection with it.
          if (check.close) ctx.res.setHeader('connection', 'close');
          return again(429, { formError: 'sign_in_error_throttled' });
        }
        if (check.reason === 'locked') {
          // Every attempt on a locked name gets this answer, right password or not, known name or not.
          const now = clock();
          ctx.res.setHeader('retry-after', retryAfter(check.until, now));
          return again(429, { locked: { until: check.until, now } });
        }
        if (check.reason === 'unavailable') {
          // Nobody is let in while the directory cannot answer; the page says so instead of "wrong password".
          ctx.res.setHeader('retry-after', String(SIGN_IN_RETRY_AFTER_S));
          return again(503, { formError: 'sign_in_error_unavailable' });
        }
        // Only the right password reaches these states (the directory checked it), so saying so reveals nothing to a guesser.
        if (check.reason === 'password_state') return again(401, { formError: `sign_in_error_${check.state}` });
        return check.reason === 'blocked'
          ? again(403, { formError: 'sign_in_error_blocked' })
          : again(401, { formError: 'sign_in_error_failed' });
      }
      const user = check.user;
      // A user without an active method is led into first enrollment before the return URL, and
      // the session says so: a trusted network does not let them in with the password alone.
      const methodless = !(await hasActiveMethod(store, user.name));
      const remembered =
        !methodless &&
        remember.enabled &&
        (await sessions.rememberedDevice(readCookie(ctx.req.headers.cookie, sessions.deviceCookieName), user.name));
      const issued = await kit.issueSession(ctx, {
        user: user.name,
        level: remembered ? 2 : 1,
        amr: remembered ? ['pwd', 'remembered'] : ['pwd'],
        ic: false,
        auth: clock(),
        ...(methodless ? { enroll: true as const } : {}),
      });
      const detail = remembered
        ? 'password ok; second factor skipped: remembered browser'
        : methodless
          ? 'password ok; no second-factor method yet: led into enrollment'
          : kit.onTrustedNetwork(ctx)
            ? 'password ok; second factor skipped: trusted network'
            : 'password ok';
      await kit.audit(ctx, { kind: 'password', user: user.name, outcome: 'success', detail });
      await kit.afterPassword(ctx, user);
      await kit.redirectAfterSignIn(
        ctx,
        issued,
        methodless ? kit.withRd(PORTAL_PATHS.enroll, rd, explained.ruleKey) : (rd ?? kit.defaultLanding),
      );
    }

    return {
      async handle(ctx, sub, method) {
        if (sub !== PORTAL_PATHS.signIn) return false;
        if (method === 'GET') await show(ctx);
        else if (method === 'POST') await post(ctx);
        else return false;
        return true;
      },
    };
  };
}
