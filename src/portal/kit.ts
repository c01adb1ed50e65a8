/**
 * @module portal/kit
 * What every portal page is built from, the built-in ones and the modules alike: page,
 * redirect and error responses with the security headers, bounded form reading, CSRF
 * tokens, session issue, the sign-in log and the one regulated second-factor check. Also
 * the contracts a page set implements ({@link PortalModule}) and what it is given.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import type { NetworkSet } from '../client-ip/cidr.ts';
import type { ErrorContext, RequestScope } from '../contracts/request.ts';
import { ruleTextsByKey, type CompiledPolicy, type RuleTexts } from '../policy/compile.ts';
import type { NewSession, SessionData, SessionManager } from '../session/session.ts';
import type { LiveRevocationView } from '../session/revocations.ts';
import type { ProviderSession, SessionRegistry } from '../session/registry.ts';
import type { Store, AuditEvent } from '../store/types.ts';
import type { RegulatedPasswordCheck, UserDirectory, UserRecord } from '../factors/password/index.ts';
import type { PageChrome, Renderer } from './render.ts';
import type { PageData, PageName } from './pages.ts';
import type { StaticAssets } from './static.ts';
import type { StoreOutage } from '../store/outage.ts';
import type { HostMatcher } from '../session/return-url.ts';
import { type GatewayError, errors } from '../errors/errors.ts';
import { appendSetCookie, gatewayCookieNames, readCookie, serializeCookie } from '../session/cookies.ts';
import { createCsrf } from '../session/csrf.ts';
import { safeReturnUrl } from '../session/return-url.ts';
import { passwordMap } from '../session/session.ts';
import { sessionSubject } from '../session/authenticate.ts';
import { SIGN_IN_NOTICE_TTL_MS, sealSignInNotice, unsealSignInNotice, type SessionsLimited } from '../session/sign-in-notice.ts';
import { decide } from '../policy/decide.ts';
import { authorize } from '../policy/access.ts';
import { normalizeHost } from '../policy/host.ts';
import { normalizePath } from '../policy/path.ts';
import { lockoutPolicy, type LockoutFactor } from '../regulation/lockout.ts';
import { checkSecondFactor, type SecondFactorInput, type SecondFactorResult } from '../factors/second-factor.ts';
import { webauthnSettings, type CeremonyDeps } from '../factors/webauthn/ceremony.ts';
import { PORTAL_PATHS } from './paths.ts';
import { pickLanguage, type MessageParams, type MessageRef } from './i18n.ts';
import { userKey } from '../store/types.ts';
import { newRequestId } from '../audit/trace.ts';
import { encodePage } from './compress.ts';

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
  /** The session index: every issued session is recorded there (see `session/registry`). */
  registry: SessionRegistry;
  clock: () => number;
  log: Logger;
  /** Extra route sets (fraud reports, federation, admin pages), each built from the kit. */
  modules?: ReadonlyArray<(kit: PortalKit) => PortalModule>;
  /** Told of every request refused because the store is unreachable (logs the outage once). */
  storeOutage?: Pick<StoreOutage, 'refused'>;
  /** The rules in force: the sign-in and code pages show the texts of the rule that sent the user there. */
  policy?: CompiledPolicy;
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
  /** A page text in `lang`, for values a handler stores or prefills (a method's default name). */
  text(lang: string, ref: MessageRef, params?: MessageParams): string;
  redirect(res: ServerResponse, location: string, status?: number): void;
  sendError(req: IncomingMessage, res: ServerResponse, err: GatewayError, context?: ErrorContext): void;
  /** The texts of the rule named by a page's `rule` or `step_up` parameter, looked up in the policy; null for none or an unknown key. */
  ruleTexts(key: string | null | undefined): RuleTexts | null;
  /**
   * The rule a page's `rule` parameter (or form field) names, when it is a rule with texts: its
   * key, which the page carries to the next step, and its texts; null for anything else, so a
   * page never echoes a value it did not find in the policy.
   */
  explainedRule(key: string | null | undefined): { key: string; texts: RuleTexts } | null;
  readForm(req: IncomingMessage): Promise<URLSearchParams>;
  /** `{prefix}path?rd=...`, with `&rule=KEY` when a rule's texts should show on that page too. */
  withRd(path: string, rd: string | null, rule?: string): string;
  /** `rd` if it may be followed, else null. */
  returnTo(value: unknown): string | null;
  csrfToken(binding: string, purpose: string): string;
  csrfValid(token: unknown, binding: string, purpose: string): boolean;
  /** The CSRF binding of a signed-out browser (set as a cookie when missing). */
  anonymousBinding(ctx: PortalContext): string;
  /**
   * Issues a session cookie on the response and records the session in the index. A change of
   * level of the same user's session keeps its id (so a copy of the earlier cookie ends with
   * it); anything else starts a new session. `provider`: a federated session's handle at the
   * identity provider, for back-channel logout and revalidation. When a new session ends older
   * ones (`session.max_per_user`), the response also leaves a note for the next gateway page.
   */
  issueSession(ctx: PortalContext, data: NewSession, provider?: ProviderSession): Promise<IssuedSession>;
  /**
   * Sends a browser that has just signed in on to `next` (the return URL, or a gateway page such
   * as enrollment). When its sign-in ended older sessions, the page that follows tells the user:
   * a gateway page (the code page, enrollment) shows the note itself ({@link signInNotice}); where
   * `next` leads straight into the app, as the access decision foresees it for this session and
   * address, the `signed-in` page tells it first, with a plain link on to `next`.
   */
  redirectAfterSignIn(ctx: PortalContext, issued: IssuedSession, next: string): Promise<void>;
  /**
   * The note a sign-in of this browser's session left ({@link issueSession}), for a page to show;
   * the note is cleared, so it shows once. Null without one (or one of another session).
   */
  signInNotice(ctx: PortalContext): Promise<SessionsLimited | null>;
  audit(ctx: PortalContext, event: Omit<AuditEvent, 'clientIp' | 'userAgent' | 'rule'>): Promise<void>;
  /** The sign-in log's request fields (client address, browser) for code that records events itself. */
  auditContext(ctx: PortalContext): Pick<AuditEvent, 'clientIp' | 'userAgent' | 'rule'>;
  /**
   * The one regulated second-factor check (`factors/second-factor`) with the portal's lockout
   * policy, clock, lockout listener and this request's log context: every page that asks for
   * a code uses it, so lockout, log entries and notifications are the same everywhere.
   */
  checkSecondFactor(ctx: PortalContext, input: Omit<SecondFactorInput, 'context'>): Promise<SecondFactorResult>;
  /** Signed in with a password? Otherwise redirects to the sign-in page, keeping `rd`, and returns null. */
  requireSession(ctx: PortalContext, rd: string | null): SessionData | null;
  /** The client is on a trusted network (`server.trusted_networks`). */
  onTrustedNetwork(ctx: PortalContext): boolean;
  /** The sign-in page's data for a signed-out browser: its CSRF token, `rd` and every module's extras. */
  signInForm(ctx: PortalContext, rd: string | null): PageData['sign-in'];
  /** Runs the modules' `afterSignOut` hooks in order; the first URL one returns. */
  afterSignOut(ctx: PortalContext, session: SessionData): Promise<string | null>;
  /** Runs every module's `afterPassword` hook, in order. */
  afterPassword(ctx: PortalContext, user: UserRecord): Promise<void>;
  /** Where users land when there is no return URL. */
  readonly defaultLanding: string;
  /** Security key and passkey ceremonies; null when `mfa.methods` does not list webauthn. */
  readonly webauthn: CeremonyDeps | null;
}

/** A session just issued by {@link PortalKit.issueSession}. */
interface IssuedSession {
  data: SessionData;
  /** A new session whose sign-in ended older sessions of the user (`session.max_per_user`): how many, and the limit. */
  limited: SessionsLimited | null;
}

/** A set of portal routes and hooks: each built-in page set is one, and so is every extra. */
export interface PortalModule {
  /** Handles the request and returns true, or returns false when `sub` is not one of its routes. */
  handle(ctx: PortalContext, sub: string, method: string): Promise<boolean>;
  /** Runs after a successful password step, before the redirect (e.g. sign-in notices). Must not throw. */
  afterPassword?(ctx: PortalContext, user: UserRecord): Promise<void>;
  /**
   * Runs after a session was ended by its sign-out; a URL sends the browser on there (e.g. the
   * identity provider's logout) instead of the signed-out page. Must not throw.
   */
  afterSignOut?(ctx: PortalContext, session: SessionData): Promise<string | null>;
  /** Extra data for the sign-in page (e.g. a provider button). */
  signInPage?(ctx: PortalContext, rd: string | null): Partial<PageData['sign-in']>;
}

/**
 * CSRF purpose of every form a signed-in user posts. The token is bound to the session id,
 * which changes at every change of level, so one purpose is enough: a page with several
 * forms (the account page: sign out, sign out everywhere, forget browsers) shares one token.
 */
export const SIGNED_IN_FORMS = 'signed-in';

/** Largest form body accepted; the gateway's forms are a few hundred bytes. */
const MAX_FORM_BYTES = 16 * 1024;

/** Security headers on every page the gateway itself serves. */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

/**
 * Pages with a security key or passkey button load the gateway's one script from its own
 * origin, which fetches the ceremony's options from the portal: nothing inline, nothing else.
 */
const SCRIPTED_PAGE_HEADERS: Readonly<Record<string, string>> = {
  ...PAGE_HEADERS,
  'content-security-policy':
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; " +
    "frame-ancestors 'none'",
};

/** A query parameter of the request, unchecked, or null. */
export const queryParam = (ctx: PortalContext, name: string): string | null =>
  new URL(ctx.req.url ?? '/', 'http://x').searchParams.get(name);

/** Whether `user` has a method that can sign in (imported hardware tokens wait for activation; a security key counts). */
export async function hasActiveMethod(store: Pick<Store, 'listMethods' | 'listCredentials'>, user: string): Promise<boolean> {
  return (await store.listMethods(user)).some((m) => m.active) || (await store.listCredentials(user)).length > 0;
}

/**
 * The sign-in log's entry when a new session's sign-in ended older sessions of the user
 * (`session.max_per_user`), naming the new session by the first 8 characters of its id; the
 * account page reads it back ({@link sessionsLimitedBy}) to tell the user in that session.
 */
function sessionsLimitedDetail(sid: string, ended: number, max: number): string {
  return `signing in (session ${sid.slice(0, 8)}) ended ${ended} older session${ended === 1 ? '' : 's'}: session.max_per_user is ${max}`;
}

/** How many sessions the sign-in of session `sid` ended, and the limit then, from a log entry's detail; null for any other entry. */
export function sessionsLimitedBy(detail: string, sid: string): { ended: number; max: number } | null {
  const m = /^signing in \(session (\S{8})\) ended (\d+) older sessions?: session\.max_per_user is (\d+)$/.exec(detail);
  if (!m || m[1] !== sid.slice(0, 8)) return null;
  return { ended: Number(m[2]), max: Number(m[3]) };
}

/** Statuses whose error page offers "Try again": the app or the store may answer in a moment. */
const RETRYABLE: ReadonlySet<number> = new Set([502, 503, 504]);

/**
 * "Try again" on an error page: the page's own path and query as the gateway normalized them,
 * so the link stays on this origin (runs of `/` are collapsed: never `//host`). Only for a page
 * load (GET, HEAD): a link cannot repeat a form's POST.
 */
function retryPath(req: IncomingMessage): string | null {
  if (req.method !== 'GET' && req.method !== 'HEAD') return null;
  const target = normalizePath(req.url ?? '');
  if (!target.ok) return null;
  const path = target.path + target.query;
  return /^\/(?![/\\])/.test(path) ? path : null;
}

/** The Host header as a label ("Back to app.example.com"), or null when it is not a plain host and port. */
function displayHost(host: string | undefined): string | null {
  return host !== undefined && /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/.test(host)
    ? host.toLowerCase()
    : null;
}

/** Seconds until `until` for a Retry-After header, at least 1. */
export const retryAfter = (until: number, now: number): string => String(Math.max(1, Math.ceil((until - now) / 1000)));

/**
 * The kit over the portal's dependencies. `hosts` are the names a return URL may point at;
 * `modules` is read at request time (the modules are built from this kit).
 */
export function createKit(deps: PortalDeps, hosts: HostMatcher, modules: () => readonly PortalModule[]): PortalKit {
  const { config, publicUrl, sessions, store, renderer, trustedIps, clock, log } = deps;
  const prefix = config.server.path_prefix;
  const csrf = createCsrf(config.session.secret);
  const csrfCookie = sessions.csrfCookieName;
  const secure = publicUrl.protocol === 'https:';
  // The sign-in's note rides in its own cookie, sealed with the session secrets, sent to the portal only.
  const noticeCookie = gatewayCookieNames(config.session.cookie_name, secure, config.session.domain).notice;
  const sealPassword = passwordMap(config.session);
  const codePolicy = lockoutPolicy(config.mfa.lockout);
  const url = (path: string) => `${prefix}${path}`;
  const webauthn: CeremonyDeps | null = config.mfa.methods.includes('webauthn')
    ? { store, settings: webauthnSettings(config), clock }
    : null;

  /** "Back to …" on a page: its return URL (`rd`) when it has one the gateway would follow, else the public URL. */
  function backTo(rd: unknown): PageChrome['back'] {
    const href = safeReturnUrl(rd, publicUrl, hosts) ?? publicUrl.href;
    return { href, host: new URL(href).host };
  }

  function page<N extends PageName>(ctx: PortalContext, status: number, name: N, data: PageData[N]): void {
    const { html, script } = renderer.render(name, ctx.lang, data, { back: backTo((data as { rd?: unknown }).rd) });
    const { payload, headers } = encodePage(html, ctx.req.headers['accept-encoding']);
    ctx.res.writeHead(status, { ...(script ? SCRIPTED_PAGE_HEADERS : PAGE_HEADERS), ...headers });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : payload);
  }

  function redirect(res: ServerResponse, location: string, status = 303): void {
    res.writeHead(status, { location, 'cache-control': 'no-store' });
    res.end();
  }

  function withRd(path: string, rd: string | null, rule?: string): string {
    const params = [...(rd ? [`rd=${encodeURIComponent(rd)}`] : []), ...(rule !== undefined ? [`rule=${encodeURIComponent(rule)}`] : [])];
    return params.length === 0 ? url(path) : `${url(path)}?${params.join('&')}`;
  }

  function ruleTexts(key: string | null | undefined): RuleTexts | null {
    return deps.policy === undefined ? null : ruleTextsByKey(deps.policy, key);
  }

  function sendError(req: IncomingMessage, res: ServerResponse, err: GatewayError, context: ErrorContext = {}): void {
    const requestId = context.requestId ?? newRequestId();
    // A store outage is logged once when it starts and once when it ends (see `store/outage`), not per request.
    if (err.code === 'GW_STORE_UNAVAILABLE') deps.storeOutage?.refused(err);
    else if (err.status >= 500) log.warn({ requestId, code: err.code }, err.detail ?? err.message);
    const retry = {
      'x-request-id': requestId,
      ...(err.retryAfter === undefined ? {} : { 'retry-after': String(err.retryAfter) }),
      ...(err.closeConnection ? { connection: 'close' } : {}),
    };
    const accept = req.headers.accept ?? '';
    if (accept.includes('application/json') && !accept.includes('text/html')) {
      const body = JSON.stringify({ error: err.code, status: err.status, request_id: requestId });
      res.writeHead(err.status, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'content-length': Buffer.byteLength(body),
        ...retry,
      });
      res.end(body);
      return;
    }
    const lang = pickLanguage(req.headers['accept-language'], deps.languages);
    const signedIn = err.status === 403 ? context.signedIn : undefined;
    const rd = signedIn === undefined ? null : safeReturnUrl(signedIn.returnTo, publicUrl, hosts);
    const retryUrl = RETRYABLE.has(err.status) ? retryPath(req) : null;
    const html = renderer.errorPage(
      err.status,
      lang,
      {
        requestId,
        rule: context.texts ?? null,
        ...(signedIn
          ? { signOut: { user: signedIn.user, csrf: csrf.token(signedIn.sessionId, SIGNED_IN_FORMS), ...(rd ? { rd } : {}) } }
          : {}),
        ...(retryUrl === null ? {} : { retryUrl }),
      },
      // An error page stands at the address that failed: "Back to" leads to the start page of that host.
      { back: { href: '/', host: displayHost(req.headers.host) ?? publicUrl.host } },
    );
    const { payload, headers } = encodePage(html, req.headers['accept-encoding']);
    res.writeHead(err.status, { ...PAGE_HEADERS, ...headers, ...retry });
    res.end(req.method === 'HEAD' ? undefined : payload);
  }

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

  /** The browser-bound value signed-out forms' CSRF tokens hang on; set when missing. */
  function anonymousBinding(ctx: PortalContext): string {
    const existing = readCookie(ctx.req.headers.cookie, csrfCookie);
    if (existing && existing.length >= 16) return existing;
    const fresh = csrf.newBinding();
    appendSetCookie(ctx.res, serializeCookie(csrfCookie, fresh, { secure, sameSite: 'Strict' }));
    return fresh;
  }

  function auditContext(ctx: PortalContext) {
    return { clientIp: ctx.scope.clientIp, userAgent: String(ctx.req.headers['user-agent'] ?? '').slice(0, 512), rule: null };
  }

  function audit(ctx: PortalContext, event: Omit<AuditEvent, 'clientIp' | 'userAgent' | 'rule'>): Promise<void> {
    return store
      .record({ ...event, ...auditContext(ctx) })
      .catch((err: unknown) => log.error({ err, event }, 'could not write the sign-in log'));
  }

  async function issueSession(ctx: PortalContext, data: NewSession, provider?: ProviderSession): Promise<IssuedSession> {
    const previous = ctx.session !== null && userKey(ctx.session.user) === userKey(data.user) ? ctx.session : null;
    const issued = await sessions.issue(previous ? { ...data, sid: previous.sid } : data);
    const skip = data.amr.includes('remembered')
      ? 'remembered'
      : data.level === 1 && data.enroll !== true && trustedIps.has(ctx.scope.clientAddr)
        ? 'trusted_network'
        : null;
    const from = { ip: ctx.scope.clientIp, userAgent: String(ctx.req.headers['user-agent'] ?? '').slice(0, 512) };
    // Recorded before the cookie is sent: a session the index does not know could not be listed or ended.
    const ended = await deps.registry.record(issued.data, from, { isNew: previous === null, skip, provider });
    appendSetCookie(ctx.res, issued.setCookie);
    if (ended === 0) return { data: issued.data, limited: null };
    const limited = { ended, max: config.session.max_per_user };
    await audit(ctx, {
      kind: 'revocation',
      user: issued.data.user,
      outcome: 'success',
      detail: sessionsLimitedDetail(issued.data.sid, ended, limited.max),
    });
    const note = await sealSignInNotice(issued.data.sid, limited, sealPassword);
    appendSetCookie(ctx.res, serializeCookie(noticeCookie, note, { secure, path: prefix, maxAge: SIGN_IN_NOTICE_TTL_MS / 1000 }));
    return { data: issued.data, limited };
  }

  /** Whether a browser with session `data`, from this address, would reach the app at `next` without a gateway page. */
  async function leadsIntoApp(ctx: PortalContext, data: SessionData, next: string): Promise<boolean> {
    // Without the policy there is no telling: the user is told on the interstitial page.
    if (deps.policy === undefined) return true;
    const target = new URL(next, publicUrl);
    const path = normalizePath(`${target.pathname}${target.search}`);
    const host = normalizeHost(target.host);
    if (!path.ok || host === null || path.path === prefix.slice(0, -1) || path.path.startsWith(prefix)) return false;
    const user = deps.users.get(data.user) ?? (await deps.users.lookup(data.user));
    if (user === undefined || user.disabled) return false;
    // The chain's own steps, on the request the browser is about to make (`server/chain`).
    const decision = decide(deps.policy, { host, path: path.path, method: 'GET', addr: ctx.scope.clientAddr });
    const access = authorize(decision, sessionSubject(data, user), { trustedNetwork: trustedIps.has(ctx.scope.clientAddr), now: clock() });
    // A refusal is the app's error page, not a step of the sign-in: the note is shown before it.
    return access.result === 'allow' || access.result === 'forbidden';
  }

  async function redirectAfterSignIn(ctx: PortalContext, issued: IssuedSession, next: string): Promise<void> {
    if (issued.limited !== null && (await leadsIntoApp(ctx, issued.data, next)))
      return redirect(ctx.res, `${url(PORTAL_PATHS.signedIn)}?rd=${encodeURIComponent(next)}`);
    redirect(ctx.res, next);
  }

  async function signInNotice(ctx: PortalContext): Promise<SessionsLimited | null> {
    const value = readCookie(ctx.req.headers.cookie, noticeCookie);
    if (value === undefined || ctx.session === null) return null;
    // Shown once: cleared with the page that shows it (a HEAD request shows nothing).
    if (ctx.req.method !== 'HEAD') appendSetCookie(ctx.res, serializeCookie(noticeCookie, '', { secure, path: prefix, maxAge: 0 }));
    return unsealSignInNotice(value, sealPassword, ctx.session.sid);
  }

  /** Logs a lockout and tells the `onLockout` listener; called once, by the denial that locks. */
  function lockedOut(ctx: PortalContext, user: string, until: number, factor: LockoutFactor): void {
    log.warn({ user, factor, until: new Date(until).toISOString(), ip: ctx.scope.clientIp }, 'account locked out');
    try {
      deps.onLockout?.(user, until, { factor, clientIp: ctx.scope.clientIp });
    } catch (err) {
      log.error({ err }, 'lockout listener failed');
    }
  }

  return {
    prefix,
    publicUrl,
    page,
    text: renderer.text,
    redirect,
    sendError,
    ruleTexts,
    explainedRule(key) {
      const texts = ruleTexts(key);
      return texts === null ? null : { key: key!, texts };
    },
    readForm,
    withRd,
    returnTo: (value) => safeReturnUrl(value, publicUrl, hosts),
    csrfToken: csrf.token,
    csrfValid: csrf.verify,
    anonymousBinding,
    issueSession,
    redirectAfterSignIn,
    signInNotice,
    audit,
    auditContext,
    checkSecondFactor: (ctx, input) =>
      checkSecondFactor(
        {
          store,
          policy: codePolicy,
          skewSteps: config.mfa.totp.skew_steps,
          clock,
          ...(webauthn ? { webauthn } : {}),
          onLockout: (user, until) => lockedOut(ctx, user, until, 'second_factor'),
        },
        { ...input, context: auditContext(ctx) },
      ),
    requireSession(ctx, rd) {
      if (ctx.session) return ctx.session;
      redirect(ctx.res, withRd(PORTAL_PATHS.signIn, rd), ctx.req.method === 'GET' ? 302 : 303);
      return null;
    },
    onTrustedNetwork: (ctx) => trustedIps.has(ctx.scope.clientAddr),
    signInForm: (ctx, rd) => ({
      ...Object.assign({}, ...modules().map((m) => m.signInPage?.(ctx, rd) ?? {})),
      csrf: csrf.token(anonymousBinding(ctx), 'sign-in'),
      ...(rd ? { rd } : {}),
    }),
    async afterSignOut(ctx, session) {
      for (const m of modules()) {
        const next = await m.afterSignOut?.(ctx, session);
        if (next) return next;
      }
      return null;
    },
    async afterPassword(ctx, user) {
      for (const m of modules()) await m.afterPassword?.(ctx, user);
    },
    defaultLanding: new URL('/', publicUrl).href,
    webauthn,
  };
}
