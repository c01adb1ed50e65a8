/**
 * @module portal/security-keys
 * Security keys and passkeys (WebAuthn) in the portal, as a {@link PortalModule}: the JSON
 * endpoint the WebAuthn script asks for a ceremony's options, registering a key from the
 * account page, removing one, and the passkey sign-in (`mfa.webauthn.passwordless`).
 *
 * Registering and removing follow the methods' rule: a fresh second factor in this session
 * (`portal/methods`), else the user is asked for one first. A user without any method may
 * register a first key where first enrollment is open to them (`mfa.first_enrollment`, a
 * trusted network, or a temporary access pass), or right after a recovery code (fresh).
 * Checking what the browser sent is `factors/webauthn/ceremony`'s; using a key goes through
 * the one regulated second-factor check (`kit.checkSecondFactor`, `checkPasskeySignIn`).
 */
import type { SessionData } from '../session/session.ts';
import type { SessionsLimited } from '../session/sign-in-notice.ts';
import type { UserDirectory } from '../factors/password/index.ts';
import type { MessageRef } from './i18n.ts';
import type { PortalContext, PortalKit, PortalModule, PortalDeps } from './kit.ts';
import { definePage, hidden, pageView, sessionsLimitedText, withError, type FormFields } from './page.ts';
import { errors } from '../errors/errors.ts';
import { readCookie } from '../session/cookies.ts';
import { lockoutPolicy } from '../regulation/lockout.ts';
import { authenticationOptions, finishRegistration, registrationOptions } from '../factors/webauthn/ceremony.ts';
import { checkPasskeySignIn } from '../factors/second-factor.ts';
import { hasActiveMethod, SIGNED_IN_FORMS } from './kit.ts';
import { accessPassOpen } from './enrollment.ts';
import { isFresh } from './methods.ts';
import { parseCredential } from './second-factor.ts';
import { PORTAL_PATHS } from './paths.ts';

const MAX_NAME = 64;

/** `security-key-add`: POST `{prefix}account/security-keys/add` with `name`, `credential` (the script fills it), `csrf`. */
export interface SecurityKeyAddPage extends FormFields {
  user: string;
  name: string;
  nameError?: MessageRef;
  /** Why the last attempt was refused, e.g. `security_key_refused_synced`. */
  refused?: MessageRef;
  /** The sign-in that led to this first key ended older sessions (`session.max_per_user`). */
  sessionsLimited?: SessionsLimited;
}

export const securityKeyAddPage = definePage({
  name: 'security-key-add',
  build(lang, d: SecurityKeyAddPage, v) {
    const nameError = d.nameError && v.tr(lang, d.nameError);
    const page = pageView(
      v.tr(lang, 'security_key_add_title'),
      { user: d.user, reason: d.refused ? v.tr(lang, d.refused) : '' },
      {
        ...hidden(d),
        name: d.name,
        nameError,
        refused: d.refused !== undefined,
        sessionsLimited: sessionsLimitedText(lang, d.sessionsLimited, v),
      },
    );
    return withError({ ...page, script: true }, nameError || d.refused);
  },
});

const REFUSAL: Readonly<Record<string, MessageRef>> = {
  aaguid: 'security_key_refused_aaguid',
  synced: 'security_key_refused_synced',
  limit_reached: 'security_key_refused_limit',
};

export function securityKeysModule(deps: PortalDeps & { users: UserDirectory }): (kit: PortalKit) => PortalModule {
  const { config, store, sessions, users, clock } = deps;
  const passwordless = config.mfa.webauthn.passwordless;
  const codePolicy = lockoutPolicy(config.mfa.lockout);

  return (kit) => {
    const path = (p: string) => `${kit.prefix}${p}`;
    const accountUrl = () => new URL(path(PORTAL_PATHS.account), kit.publicUrl).href;

    /** May this session register a key now? Otherwise answers (verify first, or sign in) and returns false. */
    async function mayRegister(ctx: PortalContext, session: SessionData): Promise<boolean> {
      if (await hasActiveMethod(store, session.user)) {
        if (isFresh(session, clock())) return true;
        kit.redirect(ctx.res, `${path(PORTAL_PATHS.methodVerify)}?next=webauthn`, ctx.req.method === 'GET' ? 302 : 303);
        return false;
      }
      if (config.mfa.first_enrollment === 'anywhere' || kit.onTrustedNetwork(ctx) || accessPassOpen(session, clock())) return true;
      kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.enroll, accountUrl()), ctx.req.method === 'GET' ? 302 : 303);
      return false;
    }

    function signedIn(ctx: PortalContext): SessionData | null {
      if (ctx.session) return ctx.session;
      kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.signIn, accountUrl()), ctx.req.method === 'GET' ? 302 : 303);
      return null;
    }

    function addPage(ctx: PortalContext, session: SessionData, status: number, extra: Partial<SecurityKeyAddPage> = {}) {
      kit.page(ctx, status, 'security-key-add', {
        csrf: kit.csrfToken(session.sid, SIGNED_IN_FORMS),
        user: session.user,
        name: extra.name ?? kit.text(ctx.lang, 'security_key_default_name'),
        ...extra,
      });
    }

    /** POST `webauthn/options` (`purpose`, `csrf`): the options JSON for the WebAuthn script. */
    async function options(ctx: PortalContext): Promise<void> {
      const form = await kit.readForm(ctx.req);
      const purpose = form.get('purpose');
      const ceremony = kit.webauthn!;
      let body: unknown;
      if (purpose === 'passwordless') {
        if (!passwordless) throw errors.notFound('passkey sign-in is off');
        const binding = readCookie(ctx.req.headers.cookie, sessions.csrfCookieName) ?? '';
        if (!kit.csrfValid(form.get('csrf'), binding, 'sign-in')) throw errors.forbidden('passkey options with a bad CSRF token');
        body = await authenticationOptions(ceremony, null);
      } else if (purpose === 'register' || purpose === 'authenticate') {
        const session = ctx.session;
        if (!session || !kit.csrfValid(form.get('csrf'), session.sid, SIGNED_IN_FORMS))
          throw errors.forbidden('security key options without a session or with a bad CSRF token');
        if (purpose === 'register') {
          if (!(await mayRegister(ctx, session))) return;
          body = await registrationOptions(ceremony, session.user);
        } else body = await authenticationOptions(ceremony, session.user);
      } else throw errors.badRequest(`bad purpose ${JSON.stringify(purpose)}`);
      const json = JSON.stringify(body);
      ctx.res.writeHead(200, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'content-length': Buffer.byteLength(json),
      });
      ctx.res.end(json);
    }

    async function addPost(ctx: PortalContext): Promise<void> {
      const session = signedIn(ctx);
      if (!session) return;
      const form = await kit.readForm(ctx.req);
      if (!kit.csrfValid(form.get('csrf'), session.sid, SIGNED_IN_FORMS)) throw errors.forbidden('security key form with a bad CSRF token');
      if (!(await mayRegister(ctx, session))) return;
      const raw = form.get('name') ?? '';
      const name = raw.replace(/\s+/g, ' ').trim();
      if (name.length === 0 || name.length > MAX_NAME || /\p{C}/u.test(name))
        return addPage(ctx, session, 400, { name: raw, nameError: 'method_name_invalid' });
      const credential = parseCredential(form.get('credential'));
      const result =
        credential === undefined
          ? ({ ok: false, reason: 'invalid', detail: 'registration refused: no credential posted' } as const)
          : await finishRegistration(kit.webauthn!, {
              user: session.user,
              response: credential as never,
              label: name,
              maxPerUser: config.mfa.max_methods_per_user,
            });
      if (!result.ok) {
        await kit.audit(ctx, { kind: 'enrollment', user: session.user, outcome: 'denied', detail: result.detail });
        return addPage(ctx, session, result.reason === 'limit_reached' ? 409 : 400, {
          name,
          refused: REFUSAL[result.reason] ?? 'security_key_refused_other',
        });
      }
      const c = result.credential;
      await kit.audit(ctx, {
        kind: 'enrollment',
        user: session.user,
        outcome: 'success',
        detail:
          `webauthn credential ${c.id} registered (${c.label}; model ${c.aaguid}; ` +
          `${c.backupEligible ? 'synced passkey' : 'device-bound'}${c.discoverable ? ', discoverable' : ''})`,
      });
      // A first key ends first enrollment: the session now holds a second factor (the key's own proof).
      if (session.level === 1) {
        await kit.issueSession(ctx, {
          user: session.user,
          level: 2,
          amr: ['pwd', 'hwk'],
          ic: session.ic,
          auth: session.auth,
          mfaAt: clock(),
        });
      }
      kit.redirect(ctx.res, `${path(PORTAL_PATHS.account)}?done=security_key_added`);
    }

    async function removePost(ctx: PortalContext): Promise<void> {
      const session = signedIn(ctx);
      if (!session) return;
      const form = await kit.readForm(ctx.req);
      if (!kit.csrfValid(form.get('csrf'), session.sid, SIGNED_IN_FORMS)) throw errors.forbidden('security key form with a bad CSRF token');
      const id = form.get('id') ?? '';
      if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw errors.badRequest('bad credential id');
      if (!isFresh(session, clock())) return kit.redirect(ctx.res, `${path(PORTAL_PATHS.methodVerify)}?next=webauthn-remove:${id}`);
      const c = (await store.listCredentials(session.user)).find((x) => x.id === id);
      if (!c || !(await store.removeCredential(session.user, id)))
        throw errors.notFound(`no security key ${JSON.stringify(id)} of this user`);
      const left = await hasActiveMethod(store, session.user);
      await kit.audit(ctx, {
        kind: 'method_removed',
        user: session.user,
        outcome: 'success',
        detail:
          `webauthn credential ${c.id} removed by the user ` +
          `(${c.label})${left ? '' : '; no active method left, the next sign-in enrolls again'}`,
      });
      kit.redirect(ctx.res, `${path(PORTAL_PATHS.account)}?done=security_key_removed`);
    }

    /** POST `sign-in/passkey`: a discoverable credential with user verification signs in with both factors. */
    async function passkeySignIn(ctx: PortalContext): Promise<void> {
      const form = await kit.readForm(ctx.req);
      const rd = kit.returnTo(form.get('rd'));
      const binding = readCookie(ctx.req.headers.cookie, sessions.csrfCookieName) ?? '';
      const again = (status: number, formError: MessageRef) => kit.page(ctx, status, 'sign-in', { ...kit.signInForm(ctx, rd), formError });
      if (!kit.csrfValid(form.get('csrf'), binding, 'sign-in')) return again(400, 'sign_in_error_expired');
      const assertion = parseCredential(form.get('credential'));
      if (assertion === undefined) return again(400, 'security_key_failed');
      const result = await checkPasskeySignIn(
        { store, policy: codePolicy, skewSteps: config.mfa.totp.skew_steps, clock, webauthn: kit.webauthn! },
        { assertion, context: kit.auditContext(ctx) },
      );
      if (!result.ok)
        return again(
          result.reason === 'blocked' ? 403 : result.reason === 'locked' ? 429 : 401,
          result.reason === 'blocked' ? 'sign_in_error_blocked' : 'security_key_failed',
        );
      const user = await users.lookup(result.user);
      if (!user || user.disabled) {
        await kit.audit(ctx, {
          kind: 'password',
          user: result.user,
          outcome: 'denied',
          detail: 'passkey sign-in: the user is unknown or disabled',
        });
        return again(401, 'security_key_failed');
      }
      const issued = await kit.issueSession(ctx, { user: user.name, level: 2, amr: result.amr, ic: false, auth: clock(), mfaAt: clock() });
      await kit.afterPassword(ctx, user);
      await kit.redirectAfterSignIn(ctx, issued, rd ?? kit.defaultLanding);
    }

    return {
      async handle(ctx, sub, method) {
        if (kit.webauthn === null) return false;
        switch (`${method} ${sub}`) {
          case `POST ${PORTAL_PATHS.webauthnOptions}`:
            await options(ctx);
            return true;
          case `GET ${PORTAL_PATHS.securityKeyAdd}`: {
            const session = signedIn(ctx);
            if (session && (await mayRegister(ctx, session))) {
              const limited = await kit.signInNotice(ctx);
              addPage(ctx, session, 200, limited ? { sessionsLimited: limited } : {});
            }
            return true;
          }
          case `POST ${PORTAL_PATHS.securityKeyAdd}`:
            await addPost(ctx);
            return true;
          case `POST ${PORTAL_PATHS.securityKeyRemove}`:
            await removePost(ctx);
            return true;
          case `POST ${PORTAL_PATHS.passkeySignIn}`:
            if (!passwordless) return false;
            await passkeySignIn(ctx);
            return true;
          default:
            return false;
        }
      },
      signInPage: () => (passwordless && kit.webauthn !== null ? { passkey: true } : {}),
    };
  };
}
