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
import type { Renderer } from './render.ts';
import type { PageData, PageName } from './pages.ts';
import type { StaticAssets } from './static.ts';
import type { StoreOutage } from '../store/outage.ts';
import type { HostMatcher } from '../session/return-url.ts';
import { type GatewayError, errors } from '../errors/errors.ts';
import { appendSetCookie, readCookie, serializeCookie } from '../session/cookies.ts';
import { createCsrf } from '../session/csrf.ts';
import { safeReturnUrl } from '../session/return-url.ts';
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
  readForm(req: IncomingMessage): Promise<URLSearchParams>;
  /** `{prefix}path?rd=...` */
  withRd(path: string, rd: string | null): string;
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
   * identity provider, for back-channel logout.
   */
  issueSession(ctx: PortalContext, data: NewSession, provider?: ProviderSession): Promise<SessionData>;
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

/** Seconds until `until` for a Retry-After header, at least 1. */
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
  const codePolicy = lockoutPolicy(config.mfa.lockout);
  const url = (path: string) => `${prefix}${path}`;
  const webauthn: CeremonyDeps | null = config.mfa.methods.includes('webauthn')
    ? { store, settings: webauthnSettings(config), clock }
    : null;

  function page<N extends PageName>(ctx: PortalContext, status: number, name: N, data: PageData[N]): void {
    const { html, script } = renderer.render(name, ctx.lang, data);
    const { payload, headers } = encodePage(html, ctx.req.headers['accept-encoding']);
    ctx.res.writeHead(status, { ...(script ? SCRIPTED_PAGE_HEADERS : PAGE_HEADERS), ...headers });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : payload);
  }

  function redirect(res: ServerResponse, location: string, status = 303): void {
    res.writeHead(status, { location, 'cache-control': 'no-store' });
    res.end();
  }

  function withRd(path: string, rd: string | null): string {
    return rd ? `${url(path)}?rd=${encodeURIComponent(rd)}` : url(path);
  }

  function sendError(req: IncomingMessage, res: ServerResponse, err: GatewayError, context: ErrorContext = {}): void {
    const requestId = context.requestId ?? newRequestId();
    // A store outage is logged once when it starts and once when it ends (see `store/outage`), not per request.
    if (err.code === 'GW_STORE_UNAVAILABLE') deps.storeOutage?.refused(err);
    else if (err.status >= 500) log.warn({ requestId, code: err.code }, err.detail ?? err.message);
    const retry = { 'x-request-id': requestId, ...(err.retryAfter === undefined ? {} : { 'retry-after': String(err.retryAfter) }) };
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
    const html = renderer.errorPage(err.status, lang, { requestId, rule: context.texts ?? null });
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
    appendSetCookie(ctx.res, serializeCookie(csrfCookie, fresh, { secure: publicUrl.protocol === 'https:', sameSite: 'Strict' }));
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

  async function issueSession(ctx: PortalContext, data: NewSession, provider?: ProviderSession): Promise<SessionData> {
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
    if (ended > 0)
      await audit(ctx, {
        kind: 'revocation',
        user: issued.data.user,
        outcome: 'success',
        detail: sessionsLimitedDetail(issued.data.sid, ended, config.session.max_per_user),
      });
    appendSetCookie(ctx.res, issued.setCookie);
    return issued.data;
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
    ruleTexts: (key) => (deps.policy === undefined ? null : ruleTextsByKey(deps.policy, key)),
    readForm,
    withRd,
    returnTo: (value) => safeReturnUrl(value, publicUrl, hosts),
    csrfToken: csrf.token,
    csrfValid: csrf.verify,
    anonymousBinding,
    issueSession,
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
