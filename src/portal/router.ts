/**
 * @module portal/router
 * The portal's entry point under the reserved prefix: health and static assets (no
 * session read), the same-origin check on every POST, the caller's session, then each
 * page set in turn (the configured modules first, then the built-in sign-in, second factor,
 * enrollment, sign-out, account, security keys and the page after a sign-in), and one error
 * answer for whatever fails.
 */
import type { ErrorContext, Portal, RequestScope } from '../contracts/request.ts';
import type { IncomingMessage } from 'node:http';
import { GatewayError, errors } from '../errors/errors.ts';
import { readCookie } from '../session/cookies.ts';
import { createHostMatcher } from '../session/return-url.ts';
import type { SessionData } from '../session/session.ts';
import { createKit, type PortalContext, type PortalDeps, type PortalModule } from './kit.ts';
import { PORTAL_PATHS } from './paths.ts';
import { pickLanguage } from './i18n.ts';
import { pickCoding } from './compress.ts';
import { signInModule } from './sign-in.ts';
import { secondFactorModule } from './second-factor.ts';
import { enrollmentModule } from './enrollment.ts';
import { signOutModule } from './sign-out.ts';
import { accountModule } from './account.ts';
import { securityKeysModule } from './security-keys.ts';
import { signedInModule } from './signed-in.ts';

export type { PortalDeps } from './kit.ts';

export function createPortal(deps: PortalDeps): Portal {
  const { config, publicUrl, sessions, users, store, assets, revocations, log } = deps;
  const prefix = config.server.path_prefix;
  const hosts = createHostMatcher(
    publicUrl,
    config.rules.flatMap((r) => r.hosts ?? []),
  );
  let modules: readonly PortalModule[] = [];
  const kit = createKit(deps, hosts, () => modules);
  const builtIn = [
    signInModule(deps),
    secondFactorModule(deps),
    enrollmentModule(deps),
    signOutModule(deps),
    accountModule(deps),
    securityKeysModule(deps),
    signedInModule(),
  ];
  modules = [...(deps.modules ?? []), ...builtIn].map((build) => build(kit));

  /** A POST must come from one of the gateway's own pages (defence in depth beside the token). */
  function sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    try {
      return origin !== 'null' && hosts.has(new URL(origin).hostname);
    } catch {
      return false;
    }
  }

  async function currentSession(req: IncomingMessage): Promise<SessionData | null> {
    const read = await sessions.read(readCookie(req.headers.cookie, sessions.cookieName));
    if (read.state === 'unavailable') throw errors.storeUnavailable('revocation records are not current');
    if (read.state !== 'valid') return null;
    const user = users.get(read.data.user) ?? (await users.lookup(read.data.user));
    return user && !user.disabled && !revocations.blocked(user.name) ? read.data : null;
  }

  async function health(ctx: PortalContext): Promise<void> {
    const ok = revocations.current() && (await store.health().catch(() => false));
    const body = JSON.stringify({ status: ok ? 'ok' : 'unavailable' });
    ctx.res.writeHead(ok ? 200 : 503, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
  }

  function staticAsset(ctx: PortalContext, name: string): void {
    const asset = assets.get(name);
    if (!asset) return kit.sendError(ctx.req, ctx.res, errors.notFound(`no static asset ${JSON.stringify(name)}`));
    // Compressed once at start; the coding the client accepts, else the file as it is.
    const coding = Object.keys(asset.encoded).length > 0 ? pickCoding(ctx.req.headers['accept-encoding']) : null;
    const chosen = (coding !== null ? asset.encoded[coding] : undefined) ?? asset;
    const headers = {
      'content-type': asset.type,
      etag: chosen.etag,
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      ...(Object.keys(asset.encoded).length > 0 ? { vary: 'accept-encoding' } : {}),
    };
    const validators = (ctx.req.headers['if-none-match'] ?? '').split(',').map((v) => v.trim());
    if (validators.includes(chosen.etag) || validators.includes('*')) {
      ctx.res.writeHead(304, headers);
      ctx.res.end();
      return;
    }
    ctx.res.writeHead(200, {
      ...headers,
      ...(chosen !== asset ? { 'content-encoding': coding! } : {}),
      'content-length': chosen.body.length,
    });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : chosen.body);
  }

  /**
   * A page a signed-in user may not open (the admin pages for a non-admin): the 403 names them
   * and offers to sign in as someone else, coming back here. Refused forms (a bad CSRF token)
   * offer nothing: signing out would not help.
   */
  function refusedPageOf(scope: RequestScope, error: GatewayError, session: SessionData | null): ErrorContext {
    if (error.status !== 403 || session === null || (scope.method !== 'GET' && scope.method !== 'HEAD')) return {};
    const returnTo = `${scope.proto}://${scope.hostHeader}${scope.path}${scope.query}`;
    return { signedIn: { user: session.user, sessionId: session.sid, returnTo } };
  }

  async function route(ctx: PortalContext, sub: string): Promise<void> {
    const method = ctx.req.method === 'HEAD' ? 'GET' : (ctx.req.method ?? 'GET');
    if (sub.startsWith(PORTAL_PATHS.static)) {
      if (method !== 'GET') throw errors.notFound(`${method} ${sub}`);
      return staticAsset(ctx, sub.slice(PORTAL_PATHS.static.length));
    }
    if (method === 'POST' && !sameOrigin(ctx.req)) throw errors.forbidden(`cross-origin POST from ${ctx.req.headers.origin}`);
    for (const m of modules) if (await m.handle(ctx, sub, method)) return;
    if (method === 'GET' && sub === 'health') return health(ctx);
    throw errors.notFound(`${method} ${prefix}${sub}`);
  }

  return {
    async handle(scope, res) {
      const req = scope.req;
      const sub = scope.path.length > prefix.length ? scope.path.slice(prefix.length) : '';
      const lang = pickLanguage(req.headers['accept-language'], deps.languages);
      let session: SessionData | null = null;
      try {
        session = sub === 'health' || sub.startsWith(PORTAL_PATHS.static) ? null : await currentSession(req);
        await route({ scope, req, res, lang, session }, sub);
      } catch (err) {
        const error = err instanceof GatewayError ? err : errors.internal(String(err), err);
        if (error.status >= 500 && error.code !== 'GW_STORE_UNAVAILABLE') log.error({ err, code: error.code }, 'portal request failed');
        if (res.headersSent) res.destroy();
        else kit.sendError(req, res, error, refusedPageOf(scope, error, session));
      }
    },
    signInUrl(returnToUrl, step, ask = {}) {
      const page = new URL(kit.withRd(step === 'sign_in' ? PORTAL_PATHS.signIn : PORTAL_PATHS.secondFactor, returnToUrl), publicUrl);
      if (ask.stepUp !== undefined) page.searchParams.set('step_up', ask.stepUp);
      else if (ask.rule !== undefined) page.searchParams.set('rule', ask.rule);
      // Only what the page offers: the chain checks the session's factors again on the way back.
      if (ask.accepts !== undefined && step === 'second_factor') page.searchParams.set('need', ask.accepts.join(','));
      return page.href;
    },
    sendError: kit.sendError,
  };
}
