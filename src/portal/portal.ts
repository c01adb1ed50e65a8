/**
 * @module portal/portal
 * The gateway's own pages and endpoints under the reserved prefix: health, static
 * assets, sign-in (password), second factor (TOTP code or first enrollment), sign-out
 * and the account page. Every form is CSRF-protected (sign-in too, against login CSRF),
 * every failure looks the same to the user while the sign-in log records exactly why,
 * and every change of level issues a new session cookie.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import type { NetworkSet } from '../client-ip/cidr.ts';
import type { Portal, RequestScope } from '../server/chain.ts';
import type { NewSession, SessionData, SessionManager } from '../session/session.ts';
import type { LiveRevocationView } from '../session/revocations.ts';
import type { Store, AuditEvent } from '../store/types.ts';
import type { UserDirectory, UserRecord } from '../factors/password/index.ts';
import type { Renderer, PageName, PageData, AccountSignIn } from './render.ts';
import type { StaticAssets } from './static.ts';
import { GatewayError, errors } from '../server/errors.ts';
import type { StoreOutage } from '../server/store-outage.ts';
import { appendSetCookie, readCookie, serializeCookie } from '../session/cookies.ts';
import { createCsrf } from '../session/csrf.ts';
import { createHostMatcher, safeReturnUrl } from '../session/return-url.ts';
import type { RegulatedPasswordCheck } from '../factors/password/index.ts';
import { lockedUntil, lockoutPolicy, type LockoutFactor } from '../regulation/lockout.ts';
import { qrCodeSvg, base32Encode } from '../factors/totp/totp.ts';
import { confirmTotpEnrollment, startTotpEnrollment } from '../factors/totp/verify.ts';
import { checkSecondFactor, type SecondFactorInput, type SecondFactorResult } from '../factors/second-factor.ts';
import { typedKind } from '../factors/fallback/codes.ts';
import { PORTAL_PATHS } from './render.ts';
import { pickLanguage } from './i18n.ts';
import { describeUserAgent } from './user-agent.ts';

export interface PortalDeps {
  config: GatewayConfig;
  publicUrl: URL;
  sessions: SessionManager;
  users: UserDirectory;
  store: Store;
  renderer: Renderer;
  /** The page languages (the catalog's, `en` first); a stable array so language picks are cached. */
  languages: readonly string[];
  assets: StaticAssets;
  trustedIps: NetworkSet;
  revocations: LiveRevocationView;
  clock: () => number;
  log: Logger;
  /** Extra route sets (fraud reports, federation, admin pages), each built from the kit. */
  modules?: ReadonlyArray<(kit: PortalKit) => PortalModule>;
  /** Told of every request refused because the store is unreachable (logs the outage once). */
  storeOutage?: Pick<StoreOutage, 'refused'>;
  /** The regulated password check (`factors/password/regulated`), shared with HTTP Basic. */
  passwordCheck: RegulatedPasswordCheck;
  /**
   * Called once when a denied second-factor code locks an account (password lockouts are
   * told by `passwordCheck`). Must not throw; may send mail later.
   */
  onLockout?: (user: string, until: number, details: { factor: LockoutFactor; clientIp: string }) => void;
}

/** One request to a portal page, as handlers and modules see it. */
export interface PortalContext {
  scope: RequestScope;
  req: IncomingMessage;
  res: ServerResponse;
  lang: string;
  /** The caller's valid session, if any (password done at least). */
  session: SessionData | null;
}

/** What the portal lends its modules: responses, forms, CSRF, sessions and the sign-in log. */
export interface PortalKit {
  readonly prefix: string;
  readonly publicUrl: URL;
  page<N extends PageName>(ctx: PortalContext, status: number, name: N, data: PageData[N]): void;
  redirect(res: ServerResponse, location: string, status?: number): void;
  sendError(req: IncomingMessage, res: ServerResponse, err: GatewayError): void;
  readForm(req: IncomingMessage): Promise<URLSearchParams>;
  /** `{prefix}path?rd=...` */
  withRd(path: string, rd: string | null): string;
  /** `rd` if it may be followed, else null. */
  returnTo(value: unknown): string | null;
  csrfToken(binding: string, purpose: string): string;
  csrfValid(token: unknown, binding: string, purpose: string): boolean;
  /** The CSRF binding of a signed-out browser (set as a cookie when missing). */
  anonymousBinding(ctx: PortalContext): string;
  /** Issues a new session cookie on the response (a change of level). */
  issueSession(ctx: PortalContext, data: NewSession): Promise<SessionData>;
  audit(ctx: PortalContext, event: Omit<AuditEvent, 'clientIp' | 'userAgent' | 'rule'>): Promise<void>;
  /**
   * The one regulated second-factor check (`factors/second-factor`) with the portal's lockout
   * policy, clock, lockout listener and this request's log context: every page that asks for
   * a code uses it, so lockout, log entries and notifications are the same everywhere.
   */
  checkSecondFactor(ctx: PortalContext, input: Omit<SecondFactorInput, 'context'>): Promise<SecondFactorResult>;
  /** Where users land when there is no return URL. */
  readonly defaultLanding: string;
}

/** A set of extra portal routes and hooks, mounted next to the built-in pages. */
export interface PortalModule {
  /** Handles the request and returns true, or returns false when `sub` is not one of its routes. */
  handle(ctx: PortalContext, sub: string, method: string): Promise<boolean>;
  /** Runs after a successful password step, before the redirect (e.g. sign-in notices). Must not throw. */
  afterPassword?(ctx: PortalContext, user: UserRecord): Promise<void>;
  /** Extra data for the sign-in page (e.g. a provider button). */
  signInPage?(ctx: PortalContext, rd: string | null): Partial<PageData['sign-in']>;
}

/**
 * CSRF purpose of every form a signed-in user posts. The token is bound to the session id,
 * which changes at every change of level, so one purpose is enough: a page with several
 * forms (the account page: sign out, sign out everywhere, forget browsers) shares one token.
 */
const SIGNED_IN_FORMS = 'signed-in';

/** The sign-in log's words for a remember grant; the account page counts grants by them. */
const BROWSER_REMEMBERED = 'browser remembered';

/** Largest form body accepted; the gateway's forms are a few hundred bytes. */
const MAX_FORM_BYTES = 16 * 1024;
/** How long an enrollment secret shown on the page waits for its confirming code. */
const ENROLLMENT_TTL_MS = 15 * 60_000;

/** Security headers on every page the gateway itself serves. */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

type Session = SessionData | null;
type Ctx = PortalContext;

export function createPortal(deps: PortalDeps): Portal {
  const { config, publicUrl, sessions, users, store, renderer, assets, trustedIps, revocations, clock, log, passwordCheck } = deps;
  const prefix = config.server.path_prefix;
  const csrf = createCsrf(config.session.secret);
  const csrfCookie = sessions.csrfCookieName;
  const hosts = createHostMatcher(publicUrl, config.rules.flatMap((r) => r.hosts ?? []));
  const languages = deps.languages;
  const remember = config.mfa.remember_device;
  const url = (path: string) => `${prefix}${path}`;
  const defaultLanding = new URL('/', publicUrl).href;
  const codePolicy = lockoutPolicy(config.mfa.lockout);
  const iso = (ms: number) => new Date(ms).toISOString();

  // ---- responses ------------------------------------------------------------------

  function page<N extends PageName>(ctx: Ctx, status: number, name: N, data: PageData[N]): void {
    const body = renderer.page(name, ctx.lang, data);
    ctx.res.writeHead(status, { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(body) });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
  }

  function redirect(res: ServerResponse, location: string, status = 303): void {
    res.writeHead(status, { location, 'cache-control': 'no-store' });
    res.end();
  }

  function withRd(path: string, rd: string | null): string {
    return rd ? `${url(path)}?rd=${encodeURIComponent(rd)}` : url(path);
  }

  function sendError(req: IncomingMessage, res: ServerResponse, err: GatewayError): void {
    const requestId = randomBytes(6).toString('hex');
    // A store outage is logged once when it starts and once when it ends (see `server/store-outage`), not per request.
    if (err.code === 'GW_STORE_UNAVAILABLE') deps.storeOutage?.refused(err);
    else if (err.status >= 500) log.warn({ requestId, code: err.code }, err.detail ?? err.message);
    const retry = err.retryAfter === undefined ? {} : { 'retry-after': String(err.retryAfter) };
    const accept = req.headers.accept ?? '';
    if (accept.includes('application/json') && !accept.includes('text/html')) {
      const body = JSON.stringify({ error: err.code, status: err.status, request_id: requestId });
      res.writeHead(err.status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...retry });
      res.end(body);
      return;
    }
    const lang = pickLanguage(req.headers['accept-language'], languages);
    const body = renderer.errorPage(err.status, lang, err.status >= 500 ? { requestId } : {});
    res.writeHead(err.status, { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(body), ...retry });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  // ---- request helpers ------------------------------------------------------------

  async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') throw errors.badRequest(`form posted as ${JSON.stringify(type)}`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) throw errors.badRequest('form body too large');
      chunks.push(chunk);
    }
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  }

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

  async function currentSession(req: IncomingMessage): Promise<Session> {
    const read = await sessions.read(readCookie(req.headers.cookie, sessions.cookieName));
    if (read.state === 'unavailable') throw errors.storeUnavailable('revocation records are not current');
    if (read.state !== 'valid') return null;
    const user = users.get(read.data.user);
    return user && !user.disabled && !revocations.blocked(user.name) ? read.data : null;
  }

  /** The browser-bound value signed-out forms' CSRF tokens hang on; set when missing. */
  function anonymousBinding(ctx: Ctx): string {
    const existing = readCookie(ctx.req.headers.cookie, csrfCookie);
    if (existing && existing.length >= 16) return existing;
    const fresh = csrf.newBinding();
    appendSetCookie(ctx.res, serializeCookie(csrfCookie, fresh, { secure: publicUrl.protocol === 'https:', sameSite: 'Strict' }));
    return fresh;
  }

  function returnTo(value: unknown): string | null {
    return safeReturnUrl(value, publicUrl, hosts);
  }

  function audit(ctx: Ctx, event: Omit<AuditEvent, 'clientIp' | 'userAgent' | 'rule'>): Promise<void> {
    return store
      .record({ ...event, clientIp: ctx.scope.clientIp, userAgent: String(ctx.req.headers['user-agent'] ?? '').slice(0, 512), rule: null })
      .catch((err: unknown) => log.error({ err, event }, 'could not write the sign-in log'));
  }

  function auditContext(ctx: Ctx) {
    return { clientIp: ctx.scope.clientIp, userAgent: String(ctx.req.headers['user-agent'] ?? '').slice(0, 512), rule: null };
  }

  async function issue(ctx: Ctx, data: NewSession): Promise<SessionData> {
    const issued = await sessions.issue(data);
    appendSetCookie(ctx.res, issued.setCookie);
    return issued.data;
  }

  const onTrustedNetwork = (ctx: Ctx) => trustedIps.has(ctx.scope.clientAddr);

  // ---- pages ------------------------------------------------------------------------

  async function signInPage(ctx: Ctx): Promise<void> {
    const rd = returnTo(new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('rd'));
    if (ctx.session) return redirect(ctx.res, ctx.session.level === 2 ? (rd ?? defaultLanding) : withRd(PORTAL_PATHS.secondFactor, rd), 302);
    page(ctx, 200, 'sign-in', { ...signInExtras(ctx, rd), csrf: csrf.token(anonymousBinding(ctx), 'sign-in'), ...(rd ? { rd } : {}) });
  }

  function signInExtras(ctx: Ctx, rd: string | null): Partial<PageData['sign-in']> {
    return Object.assign({}, ...modules.map((m) => m.signInPage?.(ctx, rd) ?? {}));
  }

  async function signIn(ctx: Ctx): Promise<void> {
    const form = await readForm(ctx.req);
    const rd = returnTo(form.get('rd'));
    const username = (form.get('username') ?? '').trim();
    const password = form.get('password') ?? '';
    const binding = readCookie(ctx.req.headers.cookie, csrfCookie) ?? '';
    const again = (status: number, extra: Partial<PageData['sign-in']>) =>
      page(ctx, status, 'sign-in', { ...signInExtras(ctx, rd), csrf: csrf.token(anonymousBinding(ctx), 'sign-in'), ...(rd ? { rd } : {}), username, ...extra });

    if (!csrf.verify(form.get('csrf'), binding, 'sign-in')) return again(400, { formError: 'sign_in_error_expired' });
    if (!username || !password) {
      return again(400, {
        fieldErrors: { ...(username ? {} : { username: 'field_required_username' }), ...(password ? {} : { password: 'field_required_password' }) },
      });
    }
    // Throttle, lockout, argon2, sign-in log and lockout notice: the one regulated check.
    const check = await passwordCheck({
      name: username,
      password,
      kind: 'password',
      clientIp: ctx.scope.clientIp,
      clientAddr: ctx.scope.clientAddr,
      userAgent: String(ctx.req.headers['user-agent'] ?? '').slice(0, 512),
      rule: null,
    });
    if (!check.ok) {
      if (check.reason === 'throttled') {
        ctx.res.setHeader('retry-after', String(Math.max(1, Math.ceil((check.retryAt - clock()) / 1000))));
        return again(429, { formError: 'sign_in_error_throttled' });
      }
      return check.reason === 'blocked' ? again(403, { formError: 'sign_in_error_blocked' }) : again(401, { formError: 'sign_in_error_failed' });
    }
    const user = check.user;
    // A user without an active method is led into first enrollment before the return URL, and
    // the session says so: a trusted network does not let them in with the password alone.
    const methodless = (await activeMethods(user.name)).length === 0;
    const remembered = !methodless && remember.enabled && (await sessions.rememberedDevice(readCookie(ctx.req.headers.cookie, sessions.deviceCookieName), user.name));
    await issue(ctx, { user: user.name, level: remembered ? 2 : 1, amr: remembered ? ['pwd', 'remembered'] : ['pwd'], ic: false, auth: clock(), ...(methodless ? { enroll: true as const } : {}) });
    const detail = remembered
      ? 'password ok; second factor skipped: remembered browser'
      : methodless
        ? 'password ok; no second-factor method yet: led into enrollment'
        : onTrustedNetwork(ctx)
        ? 'password ok; second factor skipped: trusted network'
        : 'password ok';
    await audit(ctx, { kind: 'password', user: user.name, outcome: 'success', detail });
    for (const m of modules) await m.afterPassword?.(ctx, user);
    redirect(ctx.res, methodless ? withRd(PORTAL_PATHS.enroll, rd) : (rd ?? defaultLanding));
  }

  /** Logs a lockout and tells the `onLockout` listener; called once, by the denial that locks. */
  function lockedOut(ctx: Ctx, user: string, until: number, factor: LockoutFactor): void {
    log.warn({ user, factor, until: iso(until), ip: ctx.scope.clientIp }, 'account locked out');
    try {
      deps.onLockout?.(user, until, { factor, clientIp: ctx.scope.clientIp });
    } catch (err) {
      log.error({ err }, 'lockout listener failed');
    }
  }

  /** The second-factor page with the form replaced by "locked until"; 429 with Retry-After after a POST. */
  function lockedPage(ctx: Ctx, session: SessionData, rd: string | null, until: number, status: number): void {
    if (status === 429) ctx.res.setHeader('retry-after', String(Math.max(1, Math.ceil((until - clock()) / 1000))));
    page(ctx, status, 'second-factor', { ...codePage(session, rd), lockedUntil: until });
  }

  /** Signed in with a password? Otherwise off to the sign-in page, keeping the return URL. */
  function requireSession(ctx: Ctx, rd: string | null): SessionData | null {
    if (ctx.session) return ctx.session;
    redirect(ctx.res, withRd(PORTAL_PATHS.signIn, rd), ctx.req.method === 'GET' ? 302 : 303);
    return null;
  }

  async function activeMethods(user: string) {
    return (await store.listMethods(user)).filter((m) => m.active);
  }

  async function secondFactorPage(ctx: Ctx): Promise<void> {
    const rd = returnTo(new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('rd'));
    const session = requireSession(ctx, rd);
    if (!session) return;
    if (session.level === 2) return redirect(ctx.res, rd ?? defaultLanding, 302);
    if ((await activeMethods(session.user)).length === 0) return redirect(ctx.res, withRd(PORTAL_PATHS.enroll, rd), 302);
    const until = lockedUntil(await store.lockoutCounter(session.user, 'second_factor'), codePolicy, clock());
    if (until !== null) return lockedPage(ctx, session, rd, until, 200);
    page(ctx, 200, 'second-factor', codePage(session, rd));
  }

  function codePage(session: SessionData, rd: string | null): PageData['second-factor'] {
    return {
      csrf: csrf.token(session.sid, SIGNED_IN_FORMS),
      user: session.user,
      ...(rd ? { rd } : {}),
      ...(remember.enabled ? { rememberDays: remember.days } : {}),
    };
  }

  async function secondFactor(ctx: Ctx): Promise<void> {
    const form = await readForm(ctx.req);
    const rd = returnTo(form.get('rd'));
    const session = requireSession(ctx, rd);
    if (!session) return;
    if (!csrf.verify(form.get('csrf'), session.sid, SIGNED_IN_FORMS)) {
      return page(ctx, 400, 'second-factor', { ...codePage(session, rd), error: 'error_form_expired' });
    }
    const code = form.get('code') ?? '';
    // A recovery code never remembers the browser: its user has just lost their method.
    const wantsRemember = remember.enabled && form.get('remember') === '1' && typedKind(code) === 'code';
    if ((await activeMethods(session.user)).length === 0) return redirect(ctx.res, withRd(PORTAL_PATHS.enroll, rd));
    const result = await secondFactorCheck(ctx, {
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
          return page(ctx, 403, 'sign-in', { ...signInExtras(ctx, rd), csrf: csrf.token(anonymousBinding(ctx), 'sign-in'), ...(rd ? { rd } : {}), formError: 'sign_in_error_blocked' });
        case 'locked':
          return lockedPage(ctx, session, rd, result.until, 429);
        case 'no_method':
          return redirect(ctx.res, withRd(PORTAL_PATHS.enroll, rd));
        default:
          if (result.lockedUntil !== null) return lockedPage(ctx, session, rd, result.lockedUntil, 429);
          return page(ctx, 401, 'second-factor', { ...codePage(session, rd), remember: wantsRemember, error: 'second_factor_error_invalid' });
      }
    }
    await issue(ctx, { user: session.user, level: 2, amr: ['pwd', result.amr], ic: session.ic, auth: session.auth, mfaAt: clock() });
    if (wantsRemember) appendSetCookie(ctx.res, await sessions.rememberDeviceCookie(session.user, remember.days));
    // A recovery code is a way back in, not a method: the user sets up a new one next.
    if (result.via === 'recovery_code') {
      return redirect(ctx.res, config.mfa.methods.includes('totp') ? `${url(PORTAL_PATHS.methodAdd)}?after=recovery` : `${url(PORTAL_PATHS.account)}?done=recovery`);
    }
    redirect(ctx.res, rd ?? defaultLanding);
  }

  /**
   * First enrollment is where a stolen password could enroll an attacker's phone; see
   * `mfa.first_enrollment`. A temporary access pass accepted in this session opens it from
   * anywhere for {@link ENROLLMENT_TTL_MS}.
   */
  function enrollmentAllowed(ctx: Ctx, session: SessionData): boolean {
    return config.mfa.first_enrollment === 'anywhere' || onTrustedNetwork(ctx) || accessPassOpen(session);
  }

  function accessPassOpen(session: SessionData): boolean {
    const now = clock();
    return typeof session.tapAt === 'number' && session.tapAt <= now && now - session.tapAt < ENROLLMENT_TTL_MS;
  }

  function secondFactorCheck(ctx: Ctx, input: Omit<SecondFactorInput, 'context'>): Promise<SecondFactorResult> {
    return checkSecondFactor(
      { store, policy: codePolicy, skewSteps: config.mfa.totp.skew_steps, clock, onLockout: (user, until) => lockedOut(ctx, user, until, 'second_factor') },
      { ...input, context: auditContext(ctx) },
    );
  }

  /** The page that refuses first enrollment here and offers the access-pass field. */
  function refusedPage(ctx: Ctx, session: SessionData, rd: string | null, status: number, extra: Pick<PageData['enroll-refused'], 'error' | 'lockedUntil'> = {}): void {
    if (status === 429 && extra.lockedUntil !== undefined) ctx.res.setHeader('retry-after', String(Math.max(1, Math.ceil((Number(extra.lockedUntil) - clock()) / 1000))));
    page(ctx, status, 'enroll-refused', {
      csrf: csrf.token(session.sid, SIGNED_IN_FORMS),
      user: session.user,
      retryUrl: withRd(PORTAL_PATHS.enroll, rd),
      accessPassUrl: url(PORTAL_PATHS.enrollAccessPass),
      ...(rd ? { rd } : {}),
      ...extra,
    });
  }

  async function enrollPage(ctx: Ctx, session: SessionData, rd: string | null, status = 200, error?: PageData['enroll']['error']): Promise<void> {
    const view = await startTotpEnrollment(store, {
      user: session.user,
      account: session.user,
      issuer: config.mfa.totp.issuer,
      period: config.mfa.totp.period,
      ttlMs: ENROLLMENT_TTL_MS,
    });
    page(ctx, status, 'enroll', {
      csrf: csrf.token(session.sid, SIGNED_IN_FORMS),
      ...(rd ? { rd } : {}),
      user: session.user,
      qrSvgTrusted: await qrCodeSvg(view.uri),
      secret: base32Encode(view.pending.secret),
      account: session.user,
      issuer: config.mfa.totp.issuer,
      period: view.pending.period,
      ...(error ? { error } : {}),
    });
  }

  async function enrollGuard(ctx: Ctx, rd: string | null): Promise<SessionData | null> {
    const session = requireSession(ctx, rd);
    if (!session) return null;
    if ((await activeMethods(session.user)).length > 0) {
      redirect(ctx.res, session.level === 2 ? (rd ?? defaultLanding) : withRd(PORTAL_PATHS.secondFactor, rd), 303);
      return null;
    }
    // Only the listed kinds may be enrolled: without `totp` a first method is a hardware token an admin hands out.
    if (!config.mfa.methods.includes('totp')) {
      page(ctx, 200, 'message', { title: 'enroll_token_title', text: 'enroll_token_text', link: { href: url(PORTAL_PATHS.account), label: 'back_to_account' } });
      return null;
    }
    if (!enrollmentAllowed(ctx, session)) {
      await audit(ctx, { kind: 'enrollment', user: session.user, outcome: 'denied', detail: 'first enrollment refused: not on a trusted network and no access pass' });
      const until = lockedUntil(await store.lockoutCounter(session.user, 'second_factor'), codePolicy, clock());
      refusedPage(ctx, session, rd, 403, until === null ? {} : { lockedUntil: until });
      return null;
    }
    return session;
  }

  /** POST `enroll/access-pass`: a temporary access pass opens first enrollment from anywhere, and nothing else. */
  async function accessPassPost(ctx: Ctx): Promise<void> {
    const form = await readForm(ctx.req);
    const rd = returnTo(form.get('rd'));
    const session = requireSession(ctx, rd);
    if (!session) return;
    if (!csrf.verify(form.get('csrf'), session.sid, SIGNED_IN_FORMS)) return refusedPage(ctx, session, rd, 400, { error: 'error_form_expired' });
    if ((await activeMethods(session.user)).length > 0 || !config.mfa.methods.includes('totp')) {
      // A pass is for enrolling a first method only; a user with a method signs in with it.
      await audit(ctx, { kind: 'second_factor', user: session.user, outcome: 'denied', detail: 'first enrollment: access pass refused: not a first enrollment' });
      return redirect(ctx.res, withRd(PORTAL_PATHS.enroll, rd));
    }
    const result = await secondFactorCheck(ctx, {
      user: session.user,
      code: form.get('pass') ?? '',
      accept: { codes: false, recoveryCode: false, accessPass: true },
      purpose: 'first enrollment',
    });
    if (!result.ok) {
      if (result.reason === 'blocked') {
        appendSetCookie(ctx.res, sessions.clearCookie());
        return page(ctx, 403, 'sign-in', { ...signInExtras(ctx, rd), csrf: csrf.token(anonymousBinding(ctx), 'sign-in'), ...(rd ? { rd } : {}), formError: 'sign_in_error_blocked' });
      }
      const locks = result.reason === 'locked' ? result.until : result.lockedUntil;
      if (locks !== null) return refusedPage(ctx, session, rd, 429, { lockedUntil: locks });
      return refusedPage(ctx, session, rd, 401, { error: 'enroll_pass_invalid' });
    }
    // Still level 1: the pass opens enrollment; the enrollment's confirming code grants access.
    await issue(ctx, { user: session.user, level: 1, amr: ['pwd', result.amr], ic: session.ic, auth: session.auth, enroll: true, tapAt: clock() });
    redirect(ctx.res, withRd(PORTAL_PATHS.enroll, rd));
  }

  async function enrollGet(ctx: Ctx): Promise<void> {
    const rd = returnTo(new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('rd'));
    const session = await enrollGuard(ctx, rd);
    if (session) await enrollPage(ctx, session, rd);
  }

  async function enrollPost(ctx: Ctx): Promise<void> {
    const form = await readForm(ctx.req);
    const rd = returnTo(form.get('rd'));
    const session = await enrollGuard(ctx, rd);
    if (!session) return;
    if (!csrf.verify(form.get('csrf'), session.sid, SIGNED_IN_FORMS)) return enrollPage(ctx, session, rd, 400, 'error_form_expired');
    const pending = await store.getPending(session.user);
    const result = await confirmTotpEnrollment(
      { pending: store, audit: store },
      {
        user: session.user,
        pendingId: pending?.id ?? '',
        code: form.get('code') ?? '',
        label: 'Authenticator app',
        now: clock(),
        skewSteps: config.mfa.totp.skew_steps,
        maxPerUser: config.mfa.max_methods_per_user,
        context: auditContext(ctx),
      },
    );
    if (!result.ok) return enrollPage(ctx, session, rd, 400, 'enroll_error_invalid');
    await issue(ctx, { user: session.user, level: 2, amr: accessPassOpen(session) ? ['pwd', 'tap', 'totp'] : ['pwd', 'totp'], ic: session.ic, auth: session.auth, mfaAt: clock() });
    redirect(ctx.res, rd ?? defaultLanding);
  }

  /**
   * GET shows a signed-in user a sign-out button (a link, an image or a prefetch must not
   * sign anyone out); POST with the session's CSRF token ends THIS session on the server,
   * by its id, through the change feed: every copy of its cookie is refused on every
   * instance and its WebSockets close, while the user's other sessions go on.
   */
  async function signOut(ctx: Ctx, viaForm: boolean): Promise<void> {
    const session = ctx.session;
    if (!viaForm) {
      if (session) return page(ctx, 200, 'sign-out', { csrf: csrf.token(session.sid, SIGNED_IN_FORMS), user: session.user });
      return page(ctx, 200, 'signed-out', { signInUrl: url(PORTAL_PATHS.signIn) });
    }
    const form = await readForm(ctx.req);
    if (session) {
      if (!csrf.verify(form.get('csrf'), session.sid, SIGNED_IN_FORMS)) {
        return sendError(ctx.req, ctx.res, errors.forbidden('sign-out form with a bad CSRF token'));
      }
      await store.revokeSession({ sid: session.sid, user: session.user, expiresAt: sessions.absoluteExpiry(session) });
      await revocations.refresh();
      await audit(ctx, { kind: 'revocation', user: session.user, outcome: 'success', detail: 'user signed out' });
    }
    appendSetCookie(ctx.res, sessions.clearCookie());
    page(ctx, 200, 'signed-out', { signInUrl: url(PORTAL_PATHS.signIn) });
  }

  /** The account page needs what a `two_factor` rule needs: the second factor, or a trusted network. */
  function requireStrongSession(ctx: Ctx): SessionData | null {
    const here = new URL(url(PORTAL_PATHS.account), publicUrl).href;
    const session = requireSession(ctx, here);
    if (!session) return null;
    if (session.level === 2 || onTrustedNetwork(ctx)) return session;
    redirect(ctx.res, withRd(PORTAL_PATHS.secondFactor, here), ctx.req.method === 'GET' ? 302 : 303);
    return null;
  }

  async function accountPage(ctx: Ctx, session: SessionData, notice?: PageData['account']['notice']): Promise<void> {
    const user = users.get(session.user) as UserRecord;
    const methods = await store.listMethods(session.user);
    const active = methods.some((m) => m.active);
    const recent = await store.query({ user: session.user, limit: 10 });
    const signIns: AccountSignIn[] = recent
      .filter((e) => e.kind === 'password' || e.kind === 'second_factor')
      .map((e) => ({ at: e.at, result: e.outcome === 'success' ? 'success' : 'denied', ip: e.clientIp, client: describeUserAgent(e.userAgent) }));
    page(ctx, 200, 'account', {
      csrf: csrf.token(session.sid, SIGNED_IN_FORMS),
      user: { username: user.name, ...(user.displayName ? { name: user.displayName } : {}), ...(user.email ? { email: user.email } : {}) },
      methods: methods.map((m) => ({
        id: m.id,
        name: m.label,
        kind: m.kind,
        addedAt: m.createdAt,
        ...(m.lastUsedAt ? { lastUsedAt: m.lastUsedAt } : {}),
        ...(m.active ? {} : { inactive: true }),
      })),
      maxMethods: config.mfa.max_methods_per_user,
      ...(config.mfa.app_passwords.enabled ? { appPasswordsUrl: url(PORTAL_PATHS.appPasswords) } : {}),
      manage: true,
      // Without an active method "Add a method" is first enrollment: no code is asked for that the user cannot have.
      ...(!active
        ? { addMethodUrl: withRd(PORTAL_PATHS.enroll, new URL(url(PORTAL_PATHS.account), publicUrl).href) }
        : config.mfa.methods.includes('totp') && methods.length < config.mfa.max_methods_per_user
          ? { addMethodUrl: url(PORTAL_PATHS.methodAdd) }
          : {}),
      ...(active ? { recoveryCodes: { ...(await store.recoveryCodeSummary(session.user)), url: url(PORTAL_PATHS.recoveryCodes) } } : {}),
      signIns,
      ...(remember.enabled ? { rememberedBrowsers: await rememberedBrowsers(session.user) } : {}),
      ...(notice ? { notice } : {}),
    });
  }

  /**
   * Browsers that still skip the code: remember grants in the sign-in log within the last
   * `remember_device.days` and after the user's last "forget remembered browsers". The
   * cookies themselves are stateless; the log is where each grant is recorded.
   */
  async function rememberedBrowsers(user: string): Promise<number> {
    const forgotten = revocations.devicesRevokedAt(user);
    const since = Math.max(clock() - remember.days * 86_400_000, forgotten === undefined ? 0 : forgotten + 1);
    const entries = await store.query({ user, since, limit: 1000 });
    return entries.filter((e) => e.kind === 'second_factor' && e.outcome === 'success' && e.detail.includes(BROWSER_REMEMBERED)).length;
  }

  /** `?done=` after a change made by the methods module (see `portal/methods`). */
  function accountNotice(ctx: Ctx): PageData['account']['notice'] | undefined {
    const done = new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('done');
    const notices = {
      added: 'account_notice_method_added',
      removed: 'account_notice_method_removed',
      renamed: 'account_notice_method_renamed',
      recovery: 'account_notice_recovery_used',
    } as const;
    return done !== null && Object.hasOwn(notices, done) ? notices[done as keyof typeof notices] : undefined;
  }

  async function accountAction(ctx: Ctx, action: 'sign-out-everywhere' | 'forget-browsers'): Promise<void> {
    const session = requireStrongSession(ctx);
    if (!session) return;
    const form = await readForm(ctx.req);
    if (!csrf.verify(form.get('csrf'), session.sid, SIGNED_IN_FORMS)) return sendError(ctx.req, ctx.res, errors.forbidden('account form with a bad CSRF token'));
    if (action === 'sign-out-everywhere') {
      await store.revokeSessions(session.user);
      await revocations.refresh();
      await audit(ctx, { kind: 'revocation', user: session.user, outcome: 'success', detail: 'user signed out everywhere' });
      appendSetCookie(ctx.res, sessions.clearCookie());
      return page(ctx, 200, 'message', {
        title: 'signed_out_everywhere_title',
        text: 'signed_out_everywhere_text',
        link: { href: url(PORTAL_PATHS.signIn), label: 'signed_out_again' },
      });
    }
    await store.revokeDevices(session.user);
    await revocations.refresh();
    await audit(ctx, { kind: 'revocation', user: session.user, outcome: 'success', detail: 'user forgot remembered browsers' });
    appendSetCookie(ctx.res, sessions.clearDeviceCookie());
    return accountPage(ctx, session, 'account_notice_browsers_forgotten');
  }

  async function health(ctx: Ctx): Promise<void> {
    const ok = revocations.current() && (await store.health().catch(() => false));
    const body = JSON.stringify({ status: ok ? 'ok' : 'unavailable' });
    ctx.res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
  }

  function staticAsset(ctx: Ctx, name: string): void {
    const asset = assets.get(name);
    if (!asset) return sendError(ctx.req, ctx.res, errors.notFound(`no static asset ${JSON.stringify(name)}`));
    const headers = { 'content-type': asset.type, etag: asset.etag, 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' };
    if (ctx.req.headers['if-none-match'] === asset.etag) {
      ctx.res.writeHead(304, headers);
      ctx.res.end();
      return;
    }
    ctx.res.writeHead(200, { ...headers, 'content-length': asset.body.length });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : asset.body);
  }

  // ---- routing --------------------------------------------------------------------------

  async function route(ctx: Ctx, sub: string): Promise<void> {
    const method = ctx.req.method === 'HEAD' ? 'GET' : (ctx.req.method ?? 'GET');
    if (sub.startsWith(PORTAL_PATHS.static)) {
      if (method !== 'GET') throw errors.notFound(`${method} ${sub}`);
      return staticAsset(ctx, sub.slice(PORTAL_PATHS.static.length));
    }
    if (method === 'POST' && !sameOrigin(ctx.req)) throw errors.forbidden(`cross-origin POST from ${ctx.req.headers.origin}`);
    for (const m of modules) if (await m.handle(ctx, sub, method)) return;
    switch (`${method} ${sub}`) {
      case 'GET health':
        return health(ctx);
      case `GET ${PORTAL_PATHS.signIn}`:
        return signInPage(ctx);
      case `POST ${PORTAL_PATHS.signIn}`:
        return signIn(ctx);
      case `GET ${PORTAL_PATHS.secondFactor}`:
        return secondFactorPage(ctx);
      case `POST ${PORTAL_PATHS.secondFactor}`:
        return secondFactor(ctx);
      case `GET ${PORTAL_PATHS.enroll}`:
        return enrollGet(ctx);
      case `POST ${PORTAL_PATHS.enroll}`:
        return enrollPost(ctx);
      case `POST ${PORTAL_PATHS.enrollAccessPass}`:
        return accessPassPost(ctx);
      case `GET ${PORTAL_PATHS.signOut}`:
        return signOut(ctx, false);
      case `POST ${PORTAL_PATHS.signOut}`:
        return signOut(ctx, true);
      case `GET ${PORTAL_PATHS.account}`: {
        const session = requireStrongSession(ctx);
        return session ? accountPage(ctx, session, accountNotice(ctx)) : undefined;
      }
      case `POST ${PORTAL_PATHS.signOutEverywhere}`:
        return accountAction(ctx, 'sign-out-everywhere');
      case `POST ${PORTAL_PATHS.forgetBrowsers}`:
        return accountAction(ctx, 'forget-browsers');
      default:
        throw errors.notFound(`${method} ${prefix}${sub}`);
    }
  }

  const kit: PortalKit = {
    prefix,
    publicUrl,
    page,
    redirect,
    sendError,
    readForm,
    withRd,
    returnTo,
    csrfToken: csrf.token,
    csrfValid: csrf.verify,
    anonymousBinding,
    issueSession: issue,
    audit,
    checkSecondFactor: secondFactorCheck,
    defaultLanding,
  };
  const modules = (deps.modules ?? []).map((build) => build(kit));

  return {
    async handle(scope, res) {
      const req = scope.req;
      const sub = scope.path.length > prefix.length ? scope.path.slice(prefix.length) : '';
      const lang = pickLanguage(req.headers['accept-language'], languages);
      try {
        const session = sub === 'health' || sub.startsWith(PORTAL_PATHS.static) ? null : await currentSession(req);
        await route({ scope, req, res, lang, session }, sub);
      } catch (err) {
        const error = err instanceof GatewayError ? err : errors.internal(String(err), err);
        if (error.status >= 500 && error.code !== 'GW_STORE_UNAVAILABLE') log.error({ err, code: error.code }, 'portal request failed');
        if (res.headersSent) res.destroy();
        else sendError(req, res, error);
      }
    },
    signInUrl(returnToUrl, step) {
      const target = new URL(withRd(step === 'sign_in' ? PORTAL_PATHS.signIn : PORTAL_PATHS.secondFactor, returnToUrl), publicUrl);
      return target.href;
    },
    sendError,
  };
}
