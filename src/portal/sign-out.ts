/**
 * @module portal/sign-out
 * GET shows a signed-in user a sign-out button (a link, an image or a prefetch must not
 * sign anyone out); POST with the session's CSRF token ends THIS session on the server, by
 * its id, through the change feed: every copy of its cookie is refused on every instance
 * and its WebSockets close, while the user's other sessions go on. A module may then send
 * the browser on (the identity provider's logout, `federation.oidc.end_session`); otherwise
 * a return URL (`rd`, from a 403 page's "Sign out and use another account") leads to the
 * sign-in page with it, and without one the signed-out page follows.
 */
import { errors } from '../errors/errors.ts';
import { appendSetCookie } from '../session/cookies.ts';
import { definePage, pageView } from './page.ts';
import { SIGNED_IN_FORMS, type PortalContext, type PortalDeps, type PortalKit, type PortalModule } from './kit.ts';
import { PORTAL_PATHS } from './paths.ts';

/** `sign-out`: the button that POSTs `{prefix}sign-out` with `csrf`. */
export interface SignOutPage {
  csrf: string;
  user: string;
}

export const signOutPage = definePage({
  name: 'sign-out',
  build: (lang, d: SignOutPage, v) => pageView(v.tr(lang, 'sign_out_title'), { user: d.user }, { csrf: d.csrf, action: v.paths.signOut }),
});

/** `signed-out`: a confirmation with a link to sign in again. */
export interface SignedOutPage {
  /** Defaults to `{prefix}sign-in`. */
  signInUrl?: string;
}

export const signedOutPage = definePage({
  name: 'signed-out',
  build: (lang, d: SignedOutPage, v) => pageView(v.tr(lang, 'signed_out_title'), {}, { signInUrl: d.signInUrl ?? v.paths.signIn }),
});

export function signOutModule(deps: PortalDeps): (kit: PortalKit) => PortalModule {
  const { sessions, store, revocations } = deps;

  return (kit) => {
    const signedOut = (ctx: PortalContext) => kit.page(ctx, 200, 'signed-out', { signInUrl: `${kit.prefix}${PORTAL_PATHS.signIn}` });

    async function post(ctx: PortalContext): Promise<void> {
      const session = ctx.session;
      const form = await kit.readForm(ctx.req);
      // "Sign out and use another account" (a 403 page) sends the refused URL along: sign-in comes back to it.
      const rd = kit.returnTo(form.get('rd'));
      let next: string | null = null;
      if (session) {
        if (!kit.csrfValid(form.get('csrf'), session.sid, SIGNED_IN_FORMS)) {
          return kit.sendError(ctx.req, ctx.res, errors.forbidden('sign-out form with a bad CSRF token'));
        }
        await store.revokeSession({ sid: session.sid, user: session.user, expiresAt: sessions.absoluteExpiry(session) });
        await revocations.refresh();
        await kit.audit(ctx, { kind: 'revocation', user: session.user, outcome: 'success', detail: 'user signed out' });
        next = await kit.afterSignOut(ctx, session);
      }
      appendSetCookie(ctx.res, sessions.clearCookie());
      if (next) kit.redirect(ctx.res, next, 303);
      else if (rd) kit.redirect(ctx.res, kit.withRd(PORTAL_PATHS.signIn, rd), 303);
      else signedOut(ctx);
    }

    return {
      async handle(ctx, sub, method) {
        if (sub !== PORTAL_PATHS.signOut) return false;
        if (method === 'GET') {
          if (ctx.session)
            kit.page(ctx, 200, 'sign-out', { csrf: kit.csrfToken(ctx.session.sid, SIGNED_IN_FORMS), user: ctx.session.user });
          else signedOut(ctx);
        } else if (method === 'POST') await post(ctx);
        else return false;
        return true;
      },
    };
  };
}
