/**
 * @module portal/signed-in
 * The short page between a sign-in and the app, shown once when that sign-in ended older
 * sessions of the user (`session.max_per_user`) and would otherwise lead straight into the app
 * (see `PortalKit.redirectAfterSignIn`): it says how many ended and the limit, with a plain link on to the
 * return URL (no script, no automatic redirect) and one to the account page's sessions. Without
 * the sign-in's note (reloaded, bookmarked, another session's) it sends the browser on at once.
 *
 *   GET {prefix}signed-in?rd=...
 */
import type { SessionsLimited } from '../session/sign-in-notice.ts';
import { definePage, pageView, sessionsLimitedText } from './page.ts';
import { queryParam, type PortalContext, type PortalKit, type PortalModule } from './kit.ts';
import { PORTAL_PATHS } from './paths.ts';

/** `signed-in`: the note of a sign-in that ended older sessions, and a link on. */
export interface SignedInPage {
  /** The return URL: where "Continue to ..." leads. */
  continueUrl: string;
  sessionsLimited: SessionsLimited;
}

export const signedInPage = definePage({
  name: 'signed-in',
  build(lang, d: SignedInPage, v) {
    return pageView(
      v.tr(lang, 'signed_in_title'),
      { app: appName(d.continueUrl) },
      {
        sessionsLimited: sessionsLimitedText(lang, d.sessionsLimited, v),
        continueUrl: d.continueUrl,
        sessionsUrl: `${v.paths.account}#sessions-heading`,
      },
    );
  },
});

/** What "Continue to ..." names: the return URL's host (and port, when it has one). */
function appName(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function signedInModule(): (kit: PortalKit) => PortalModule {
  return (kit) => {
    async function show(ctx: PortalContext): Promise<void> {
      const rd = kit.returnTo(queryParam(ctx, 'rd')) ?? kit.defaultLanding;
      const limited = await kit.signInNotice(ctx);
      if (limited === null) return kit.redirect(ctx.res, rd, 302);
      kit.page(ctx, 200, 'signed-in', { continueUrl: rd, sessionsLimited: limited });
    }

    return {
      async handle(ctx, sub, method) {
        if (sub !== PORTAL_PATHS.signedIn || method !== 'GET') return false;
        await show(ctx);
        return true;
      },
    };
  };
}
