/**
 * @module portal/methods
 * Managing one's own second-factor methods from the account page, as a {@link PortalModule}:
 * add another authenticator app (the shared-mailbox case: a second person scans a second QR
 * code; it counts only once a code from it is entered), rename a method, remove one.
 *
 * Adding and removing need a fresh second factor: a code entered within the last
 * {@link FRESH_SECOND_FACTOR_MS} in this session (`SessionData.mfaAt`). Otherwise the user is
 * asked for a current code first, regulated and logged like the sign-in code. A remembered
 * browser or a trusted network never counts as fresh. Removing the last active method is
 * allowed after a warning: the next sign-in then enrolls again under `mfa.first_enrollment`
 * (so where first enrollment is limited to trusted networks, so is the way back in).
 * Every change goes to the sign-in log (`enrollment`, `method_removed`).
 *
 * A user without an active method has no code to give: "add" then leads to first enrollment
 * (under `mfa.first_enrollment`, or with a temporary access pass) instead of asking for one.
 * Recovery codes live here too: a new set of ten needs a fresh code like adding a method,
 * is shown once on a printable page, and voids the previous set.
 */
import type { GatewayConfig, MethodKind } from '../config/types.ts';
import type { SessionData } from '../session/session.ts';
import type { AuditStore, LockoutStore, MethodStore, PendingEnrollmentStore, RecoveryCodeStore, WebAuthnStore } from '../store/types.ts';
import type { MessageRef } from './i18n.ts';
import type { PortalContext, PortalKit, PortalModule } from './kit.ts';
import {
  definePage,
  hidden,
  pageView,
  totpSetupOf,
  totpSetupView,
  withError,
  type CodeForm,
  type FormFields,
  type TotpSetup,
} from './page.ts';
import { errors } from '../errors/errors.ts';
import { lockedUntil, lockoutPolicy } from '../regulation/lockout.ts';
import { confirmTotpEnrollment, startTotpEnrollment } from '../factors/totp/verify.ts';
import { newRecoveryCodes } from '../factors/fallback/codes.ts';
import { PORTAL_PATHS } from './paths.ts';

/** How long after a code a method may be added or removed without entering another one. */
export const FRESH_SECOND_FACTOR_MS = 10 * 60_000;
/** How long a secret shown on the add page waits for its confirming code. */
const PENDING_TTL_MS = 15 * 60_000;
const MAX_NAME = 64;
/** Same purpose as the portal's signed-in forms: one token per session for every form. */
const SIGNED_IN_FORMS = 'signed-in';
const NEXT = /^(add|recovery|webauthn|(webauthn-)?remove:[A-Za-z0-9-]{1,64})$/;

export interface MethodsModuleDeps {
  config: GatewayConfig;
  store: MethodStore &
    PendingEnrollmentStore &
    LockoutStore &
    RecoveryCodeStore &
    Pick<AuditStore, 'record'> &
    Pick<WebAuthnStore, 'listCredentials'>;
  clock: () => number;
}

/** A method name as typed: trimmed, inner whitespace collapsed; null when empty, too long or with control characters. */
function cleanMethodName(value: string | null): string | null {
  const name = (value ?? '').replace(/\s+/g, ' ').trim();
  return name.length === 0 || name.length > MAX_NAME || /\p{C}/u.test(name) ? null : name;
}

/** Whether the session's last second-factor code is recent enough to add or remove a method. */
export function isFresh(session: SessionData, now: number): boolean {
  return typeof session.mfaAt === 'number' && now - session.mfaAt < FRESH_SECOND_FACTOR_MS && session.mfaAt <= now;
}

/** `method-add`: another authenticator app; POST `{prefix}account/methods/add` with `name`, `code`, `csrf`. */
export interface MethodAddPage extends TotpSetup {
  /** The name field's value, e.g. "Authenticator app 2". */
  name: string;
  /** Tied to the name field, e.g. `method_name_invalid`. */
  nameError?: MessageRef;
  /** Shown at the top, e.g. `method_add_after_recovery` after a recovery-code sign-in. */
  notice?: MessageRef;
}

export const methodAddPage = definePage({
  name: 'method-add',
  build(lang, d: MethodAddPage, v) {
    const nameError = d.nameError && v.tr(lang, d.nameError);
    const page = pageView(
      v.tr(lang, 'method_add_title'),
      { user: d.user, account: d.account, period: d.period },
      {
        ...totpSetupView(lang, d, v),
        name: d.name,
        notice: d.notice && v.tr(lang, d.notice),
        nameError,
        // The first field in error takes the focus (the code field's own autofocus waits for a correct name).
        codeFocus: Boolean(d.error) && !nameError,
      },
      'medium',
    );
    return withError(page, nameError || d.error);
  },
});

/**
 * `method-verify`: a current code before a method is added or removed (the last second factor
 * is too old). POST `{prefix}account/methods/verify` with `code`, `next`, `csrf`.
 */
export interface MethodVerifyPage extends CodeForm {
  /** What to continue with after the code: `add` or `remove:<id>`. */
  next: string;
}

export const methodVerifyPage = definePage({
  name: 'method-verify',
  build(lang, d: MethodVerifyPage, v) {
    const locked = d.lockedUntil !== undefined;
    const error = d.error && v.tr(lang, d.error);
    const page = pageView(
      v.tr(lang, 'method_verify_title'),
      {
        user: d.user,
        until: d.lockedUntil === undefined ? '' : v.date(d.lockedUntil, lang),
      },
      { ...hidden(d), next: d.next, locked, error, codeDescribedBy: error ? 'code-hint code-error' : 'code-hint' },
    );
    return withError(page, error);
  },
});

/** `method-remove`: confirms removing one method; POST `{prefix}account/methods/remove` with `id`, `csrf`. */
export interface MethodRemovePage extends FormFields {
  id: string;
  name: string;
  kind: MethodKind;
  /** It is the user's only active method: warn that the next sign-in sets one up again. */
  last: boolean;
}

export const methodRemovePage = definePage({
  name: 'method-remove',
  build(lang, d: MethodRemovePage, v) {
    return pageView(
      v.tr(lang, 'method_remove_title'),
      { name: d.name, kind: v.tr(lang, `method_kind_${d.kind}`) },
      {
        ...hidden(d),
        id: d.id,
        last: d.last,
      },
    );
  },
});

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

export const recoveryCodesPage = definePage({
  name: 'recovery-codes',
  build(lang, d: RecoveryCodesPage, v) {
    return pageView(
      v.tr(lang, 'recovery_title'),
      {
        user: d.user,
        unused: d.unused,
        total: d.total,
        created: d.createdAt === null ? '' : v.date(d.createdAt, lang),
      },
      {
        csrf: d.csrf,
        codes: d.codes,
        shown: d.codes !== undefined,
        hasSet: d.total > 0,
      },
    );
  },
});

export function methodsModule(deps: MethodsModuleDeps): (kit: PortalKit) => PortalModule {
  const { config, store, clock } = deps;
  const codePolicy = lockoutPolicy(config.mfa.lockout);
  const max = config.mfa.max_methods_per_user;
  const canAdd = config.mfa.methods.includes('totp');

  return (kit) => {
    const path = (p: string) => `${kit.prefix}${p}`;
    const csrf = (s: SessionData) => kit.csrfToken(s.sid, SIGNED_IN_FORMS);
    const accountDone = (ctx: PortalContext, done: string) => kit.redirect(ctx.res, `${path(PORTAL_PATHS.account)}?done=${done}`);

    /** Signed in? Otherwise to the sign-in page, returning to the account page. */
    function requireSession(ctx: PortalContext): SessionData | null {
      if (ctx.session) return ctx.session;
      kit.redirect(
        ctx.res,
        kit.withRd(PORTAL_PATHS.signIn, new URL(path(PORTAL_PATHS.account), kit.publicUrl).href),
        ctx.req.method === 'GET' ? 302 : 303,
      );
      return null;
    }

    async function verifyPage(ctx: PortalContext, session: SessionData, next: string, status = 200, extra: Partial<MethodVerifyPage> = {}) {
      const until =
        extra.lockedUntil ?? lockedUntil(await store.lockoutCounter(session.user, 'second_factor'), codePolicy, clock()) ?? undefined;
      kit.page(ctx, status, 'method-verify', {
        csrf: csrf(session),
        user: session.user,
        next,
        ...extra,
        ...(until === undefined ? {} : { lockedUntil: until }),
      });
    }

    /** No active method: "add" is first enrollment, which asks for no code (see the portal's enroll page). */
    async function toFirstEnrollment(ctx: PortalContext, session: SessionData): Promise<boolean> {
      if ((await store.listMethods(session.user)).some((m) => m.active) || (await store.listCredentials(session.user)).length > 0)
        return false;
      kit.redirect(
        ctx.res,
        kit.withRd(PORTAL_PATHS.enroll, new URL(path(PORTAL_PATHS.account), kit.publicUrl).href),
        ctx.req.method === 'GET' ? 302 : 303,
      );
      return true;
    }

    async function recoveryPage(ctx: PortalContext, session: SessionData, codes?: string[]) {
      const summary = await store.recoveryCodeSummary(session.user);
      kit.page(ctx, 200, 'recovery-codes', { csrf: csrf(session), user: session.user, ...summary, ...(codes ? { codes } : {}) });
    }

    async function recoveryPost(ctx: PortalContext) {
      const posted = await signedInForm(ctx);
      if (!posted) return;
      const { session } = posted;
      if (await toFirstEnrollment(ctx, session)) return;
      if (!isFresh(session, clock())) return verifyPage(ctx, session, 'recovery');
      const { codes, hashes } = newRecoveryCodes(session.user);
      await store.replaceRecoveryCodes(session.user, hashes, clock());
      await kit.audit(ctx, {
        kind: 'enrollment',
        user: session.user,
        outcome: 'success',
        detail: `${codes.length} recovery codes created; any earlier codes are void`,
      });
      await recoveryPage(ctx, session, codes);
    }

    async function addPage(ctx: PortalContext, session: SessionData, status = 200, extra: Partial<MethodAddPage> = {}) {
      const count = await store.countMethods(session.user);
      if (count >= max) {
        return kit.page(ctx, 409, 'message', {
          title: 'method_limit_title',
          text: 'method_limit_text',
          link: { href: path(PORTAL_PATHS.account), label: 'back_to_account' },
        });
      }
      const view = await startTotpEnrollment(store, {
        user: session.user,
        account: session.user,
        issuer: config.mfa.totp.issuer,
        period: config.mfa.totp.period,
        ttlMs: PENDING_TTL_MS,
      });
      kit.page(ctx, status, 'method-add', {
        csrf: csrf(session),
        ...(await totpSetupOf(view, session.user, config.mfa.totp.issuer)),
        name: extra.name ?? kit.text(ctx.lang, 'method_add_default_name', { n: count + 1 }),
        ...extra,
      });
    }

    async function removePage(ctx: PortalContext, session: SessionData, id: string) {
      const methods = await store.listMethods(session.user);
      const m = methods.find((x) => x.id === id);
      if (!m) throw errors.notFound(`no method ${JSON.stringify(id)} of this user`);
      const last = m.active && methods.filter((x) => x.active).length === 1;
      kit.page(ctx, 200, 'method-remove', { csrf: csrf(session), id: m.id, name: m.label, kind: m.kind, last });
    }

    /** Reads a posted form of a signed-in user and checks its CSRF token; null after answering. */
    async function signedInForm(ctx: PortalContext): Promise<{ session: SessionData; form: URLSearchParams } | null> {
      const session = requireSession(ctx);
      if (!session) return null;
      const form = await kit.readForm(ctx.req);
      if (!kit.csrfValid(form.get('csrf'), session.sid, SIGNED_IN_FORMS)) throw errors.forbidden('methods form with a bad CSRF token');
      return { session, form };
    }

    async function addPost(ctx: PortalContext) {
      const posted = await signedInForm(ctx);
      if (!posted) return;
      const { session, form } = posted;
      if (await toFirstEnrollment(ctx, session)) return;
      if (!isFresh(session, clock())) return verifyPage(ctx, session, 'add');
      const name = cleanMethodName(form.get('name'));
      if (name === null) return addPage(ctx, session, 400, { name: form.get('name') ?? '', nameError: 'method_name_invalid' });
      const pending = await store.getPending(session.user);
      const result = await confirmTotpEnrollment(
        { pending: store, audit: store },
        {
          user: session.user,
          pendingId: pending?.id ?? '',
          code: form.get('code') ?? '',
          label: name,
          now: clock(),
          skewSteps: config.mfa.totp.skew_steps,
          maxPerUser: max,
          context: { clientIp: ctx.scope.clientIp, userAgent: String(ctx.req.headers['user-agent'] ?? '').slice(0, 512), rule: null },
        },
      );
      if (!result.ok) return addPage(ctx, session, result.reason === 'limit_reached' ? 409 : 400, { name, error: 'enroll_error_invalid' });
      accountDone(ctx, 'added');
    }

    async function verifyPost(ctx: PortalContext) {
      const posted = await signedInForm(ctx);
      if (!posted) return;
      const { session, form } = posted;
      const next = form.get('next') ?? '';
      if (!NEXT.test(next)) throw errors.badRequest(`bad next ${JSON.stringify(next)}`);
      if (await toFirstEnrollment(ctx, session)) return;
      const result = await kit.checkSecondFactor(ctx, {
        user: session.user,
        code: form.get('code') ?? '',
        accept: { codes: true, recoveryCode: false, accessPass: false },
        purpose: 'method change confirmation',
      });
      if (!result.ok) {
        if (result.reason === 'blocked') throw errors.forbidden(`${session.user} is blocked`);
        const locks = result.reason === 'locked' ? result.until : result.lockedUntil;
        if (locks !== null) ctx.res.setHeader('retry-after', String(Math.max(1, Math.ceil((locks - clock()) / 1000))));
        return verifyPage(
          ctx,
          session,
          next,
          locks === null ? 401 : 429,
          locks === null ? { error: 'second_factor_error_invalid' } : { lockedUntil: locks },
        );
      }
      await kit.issueSession(ctx, {
        user: session.user,
        level: 2,
        amr: ['pwd', result.amr],
        ic: session.ic,
        auth: session.auth,
        mfaAt: clock(),
      });
      if (next === 'recovery') return kit.redirect(ctx.res, path(PORTAL_PATHS.recoveryCodes));
      if (next === 'webauthn') return kit.redirect(ctx.res, path(PORTAL_PATHS.securityKeyAdd));
      // A key's removal is a POST: back to the account page, where the button now works at once.
      if (next.startsWith('webauthn-remove:')) return kit.redirect(ctx.res, path(PORTAL_PATHS.account));
      kit.redirect(
        ctx.res,
        next === 'add'
          ? path(PORTAL_PATHS.methodAdd)
          : `${path(PORTAL_PATHS.methodRemove)}?id=${encodeURIComponent(next.slice('remove:'.length))}`,
      );
    }

    async function removePost(ctx: PortalContext) {
      const posted = await signedInForm(ctx);
      if (!posted) return;
      const { session, form } = posted;
      const id = form.get('id') ?? '';
      if (!isFresh(session, clock())) {
        if (!NEXT.test(`remove:${id}`)) throw errors.badRequest('bad method id');
        return verifyPage(ctx, session, `remove:${id}`);
      }
      const m = (await store.listMethods(session.user)).find((x) => x.id === id);
      if (!m || !(await store.removeMethod(session.user, id))) throw errors.notFound(`no method ${JSON.stringify(id)} of this user`);
      const left = (await store.listMethods(session.user)).filter((x) => x.active).length;
      await kit.audit(ctx, {
        kind: 'method_removed',
        user: session.user,
        outcome: 'success',
        detail:
          `${m.kind} method ${m.id} removed by the user ` +
          `(${m.label})${left === 0 ? '; no active method left, the next sign-in enrolls again' : ''}`,
      });
      accountDone(ctx, 'removed');
    }

    async function renamePost(ctx: PortalContext) {
      const posted = await signedInForm(ctx);
      if (!posted) return;
      const { session, form } = posted;
      if (session.level !== 2) {
        return kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.secondFactor, new URL(path(PORTAL_PATHS.account), kit.publicUrl).href));
      }
      const id = form.get('id') ?? '';
      const name = cleanMethodName(form.get('name'));
      // Back to the account page with that method's rename field open, its error said and focused.
      if (name === null) return kit.redirect(ctx.res, `${path(PORTAL_PATHS.account)}?rename-error=${encodeURIComponent(id)}`);
      const m = (await store.listMethods(session.user)).find((x) => x.id === id);
      if (!m || !(await store.renameMethod(session.user, id, name))) throw errors.notFound(`no method ${JSON.stringify(id)} of this user`);
      await kit.audit(ctx, {
        kind: 'enrollment',
        user: session.user,
        outcome: 'success',
        detail: `${m.kind} method ${m.id} renamed from ${JSON.stringify(m.label)} to ${JSON.stringify(name)}`,
      });
      accountDone(ctx, 'renamed');
    }

    return {
      async handle(ctx, sub, method) {
        switch (`${method} ${sub}`) {
          case `GET ${PORTAL_PATHS.methodAdd}`: {
            const session = requireSession(ctx);
            if (!session || (await toFirstEnrollment(ctx, session))) return true;
            if (!canAdd) return false;
            const afterRecovery = new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('after') === 'recovery';
            await (isFresh(session, clock())
              ? addPage(ctx, session, 200, afterRecovery ? { notice: 'method_add_after_recovery' } : {})
              : verifyPage(ctx, session, 'add'));
            return true;
          }
          case `POST ${PORTAL_PATHS.methodAdd}`:
            if (!canAdd) return false;
            await addPost(ctx);
            return true;
          case `GET ${PORTAL_PATHS.recoveryCodes}`: {
            const session = requireSession(ctx);
            if (!session || (await toFirstEnrollment(ctx, session))) return true;
            await (isFresh(session, clock()) ? recoveryPage(ctx, session) : verifyPage(ctx, session, 'recovery'));
            return true;
          }
          case `POST ${PORTAL_PATHS.recoveryCodes}`:
            await recoveryPost(ctx);
            return true;
          case `POST ${PORTAL_PATHS.methodVerify}`:
            await verifyPost(ctx);
            return true;
          case `GET ${PORTAL_PATHS.methodVerify}`: {
            // Other page sets (security keys) send a stale session here to give a fresh code first.
            const session = requireSession(ctx);
            if (!session) return true;
            const next = new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('next') ?? '';
            if (!NEXT.test(next)) throw errors.notFound('bad next');
            await verifyPage(ctx, session, next);
            return true;
          }
          case `GET ${PORTAL_PATHS.methodRemove}`: {
            const session = requireSession(ctx);
            if (!session) return true;
            const id = new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
            if (!NEXT.test(`remove:${id}`)) throw errors.notFound('bad method id');
            await (isFresh(session, clock()) ? removePage(ctx, session, id) : verifyPage(ctx, session, `remove:${id}`));
            return true;
          }
          case `POST ${PORTAL_PATHS.methodRemove}`:
            await removePost(ctx);
            return true;
          case `POST ${PORTAL_PATHS.methodRename}`:
            await renamePost(ctx);
            return true;
          default:
            return false;
        }
      },
    };
  };
}
