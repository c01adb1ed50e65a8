/**
 * @module server/chain
 * The request chain, assembled in one place. Every request and every WebSocket upgrade
 * goes through the same named steps, in this order:
 *
 *   1. `parseTarget`     size limit, exactly one Host line agreeing with an absolute-form target,
 *                        path normalization (400/414 on what cannot be made safe); a path that
 *                        Java or IIS servers read differently is refused, or rewritten into that
 *                        reading when the upstream its rule picks asks for it (`legacy_paths`)
 *   2. `resolveClient`   the client address from the socket, or from a trusted proxy's headers
 *   3. `portal`          the gateway's own pages and endpoints under the reserved prefix
 *   4. `decide`          the first matching enforced rule (pure); report-only rules passed on the way
 *                        are judged like enforced ones and what they would have done is recorded only
 *   5. `authenticate`    the session, checked against revocation on every request; on rules with
 *                        `app_passwords: true`, HTTP Basic with an app password instead (a cached check)
 *   6. `authorize`       rule + subject + trusted network + clock -> allow / sign in / second factor /
 *                        step-up (a fresher code, `mfa_max_age`) / forbidden (pure)
 *   7. `forward`         header hygiene, identity headers, streaming to the upstream
 *
 * The policy is evaluated on exactly what the upstream receives: the normalized path is
 * the one forwarded, with the client's Host and method. The renewed session cookie and the
 * app's own cookies both reach the browser; the app cannot set the gateway's cookies.
 *
 * A WebSocket upgrade that would carry a user's identity must also come from a page on a
 * protected host (`policy/origin`: cross-site WebSocket hijacking), and its socket is
 * tagged with the user and session, so that every way the session ends closes it.
 * Upgrades on `bypass` rules forward no identity, so their Origin is the app's business.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NetworkSet } from '../client-ip/cidr.ts';
import type { ClientAddressResult } from '../client-ip/resolve.ts';
import type { CompiledPolicy, CompiledRule, Decision } from '../policy/compile.ts';
import type { Identity } from '../proxy/headers.ts';
import type { AssertionSigner } from '../proxy/assertion.ts';
import type { Forwarder } from '../proxy/forward.ts';
import type { SocketOwner, WebSocketForwarder } from '../proxy/websocket.ts';
import type { OriginCheck } from '../policy/origin.ts';
import type { Logger } from 'pino';
import { decide, reportOnlyMatches } from '../policy/decide.ts';
import { normalizeHost } from '../policy/host.ts';
import { normalizePath } from '../policy/path.ts';
import { authorize, wouldHave } from '../policy/access.ts';
import type { Access } from '../policy/access.ts';
import { upstreamRequestHeaders } from '../proxy/headers.ts';
import { errors, GatewayError, toGatewayError } from '../errors/errors.ts';
import type {
  Authentication,
  Authenticator,
  BasicAuthenticator,
  ErrorContext,
  Portal,
  RequestScope,
  StepUpAsk,
  Verdict,
  Why,
} from '../contracts/request.ts';
import { newRequestId, type DecisionTraceRecorder } from '../audit/trace.ts';
import type { ReportOnlyRecorder } from '../audit/report-only.ts';
import { createForwardAuth } from './forward-auth.ts';
import type { StoreOutage } from '../store/outage.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';

export interface ChainDeps {
  prefix: string;
  maxUrlBytes: number;
  policy: CompiledPolicy;
  trustedIps: NetworkSet;
  resolveClient: (socketAddress: string | undefined, headers: IncomingMessage['headers']) => ClientAddressResult;
  upstreamFor: (rule: CompiledRule | null) => URL;
  /**
   * Whether the upstream of this rule opted in to `legacy_paths: rewrite`; null when no
   * upstream did, so a refused path is never parsed a second time.
   */
  rewritesLegacyPaths: ((rule: CompiledRule | null) => boolean) | null;
  authenticator: Authenticator;
  portal: Portal;
  forwarder: Forwarder;
  websockets: WebSocketForwarder;
  /** Which pages may open WebSockets that carry a user's identity. */
  originCheck: OriginCheck;
  log: Logger;
  metrics: GatewayMetrics;
  /** Epoch ms; step-up (`mfa_max_age`) compares the session's last code against it. */
  clock: () => number;
  /** `identity.jwt`: signs the assertion forwarded with a user's identity; null when off. */
  assertions: AssertionSigner | null;
  /** Where the decision traces of refused and redirected requests go (`explain --request`). */
  traces: DecisionTraceRecorder;
  /** Where report-only rules' would-be outcomes go (counted in `metrics` too). */
  reportOnly: ReportOnlyRecorder;
  /** Told of upgrades refused because the store is unreachable (HTTP requests are told by the portal's `sendError`). */
  storeOutage?: Pick<StoreOutage, 'refused'>;
}

export interface Chain {
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export function createChain(deps: ChainDeps): Chain {
  const { prefix, portal, log } = deps;
  const prefixBare = prefix.slice(0, -1);
  const forwardAuthPath = `${prefix}auth`;
  const jwksPath = `${prefix}jwks.json`;
  const forwardAuth = createForwardAuth({
    path: forwardAuthPath,
    cookieNames: deps.authenticator.cookieNames,
    warn: (msg) => log.warn(msg),
    judge: (scope) => judgePolicy(scope),
    signInUrl: (returnTo, step, ask) => portal.signInUrl(returnTo, step, ask),
    fail: (req, res, err, context) => fail(req, res, err, context),
    refusal: (scope, why) => refusal(scope, why),
    ...(deps.assertions ? { assertions: { header: deps.assertions.header, assertion: (verdict) => assertionFor(verdict) } } : {}),
    note: (req, err) => {
      logFailure(req, err);
      if (err.code === 'GW_STORE_UNAVAILABLE') deps.storeOutage?.refused(err);
    },
  });

  /** Steps 1 and 2: turn the raw request into a scope, or an error that is answered as is. */
  function parseTarget(req: IncomingMessage): RequestScope | GatewayError {
    const target = req.url ?? '';
    if (Buffer.byteLength(target) > deps.maxUrlBytes) return errors.uriTooLong(`request target of ${target.length} bytes`);
    // Node keeps the first of several Host lines in `req.headers`; RFC 9112 §3.2 wants 400.
    const hostLines = countField(req.rawHeaders, 'host');
    if (hostLines > 1) return errors.badRequest(`${hostLines} Host lines`);
    const hostHeader = req.headers.host;
    const host = normalizeHost(hostHeader);
    if (host === null || hostHeader === undefined) return errors.badRequest(`missing or malformed Host: ${JSON.stringify(hostHeader)}`);
    if (target.charCodeAt(0) !== 0x2f /* / */ && !sameAuthority(target, hostHeader)) {
      return errors.badRequest(
        `absolute-form target ${JSON.stringify(target.slice(0, 200))} names another authority than Host ${JSON.stringify(hostHeader)}`,
      );
    }
    const client = deps.resolveClient(req.socket.remoteAddress, req.headers);
    if (!client.ok) return errors.badRequest(`forwarding header from a trusted proxy: ${client.reason}`);
    const method = req.method ?? 'GET';
    let normalized = normalizePath(target);
    if (!normalized.ok && deps.rewritesLegacyPaths !== null) {
      // The rule is chosen on the legacy reading, and exactly that reading is forwarded.
      const legacy = normalizePath(target, { legacy: 'rewrite' });
      if (legacy.ok && legacy.path !== prefixBare && !legacy.path.startsWith(prefix)) {
        const rule = decide(deps.policy, { host, path: legacy.path, method, addr: client.addr }).rule;
        if (deps.rewritesLegacyPaths(rule)) normalized = legacy;
      }
    }
    if (!normalized.ok) return errors.badPath(`${normalized.reason}: ${JSON.stringify(target.slice(0, 200))}`);
    return {
      req,
      method,
      host,
      hostHeader,
      path: normalized.path,
      query: normalized.query,
      proto: protoOf(req, client.viaProxy),
      viaProxy: client.viaProxy,
      clientIp: client.ip,
      clientAddr: client.addr,
    };
  }

  /**
   * Steps 3 to 6: what to do with the request. Pure apart from the session lookup. Synchronous
   * when nothing has to be waited for (a session read from memory, no report-only rule, no Basic
   * check): no promise, async frame or closure per request on the common path.
   */
  function judge(scope: RequestScope): Promise<Verdict> | Verdict {
    if (scope.path === prefixBare || scope.path.startsWith(prefix)) return { kind: 'portal' };
    return judgePolicy(scope);
  }

  /** Steps 4 to 6, also asked by the forward-auth endpoint on behalf of another proxy. */
  function judgePolicy(scope: RequestScope): Promise<Verdict> | Verdict {
    const decision = decide(deps.policy, { host: scope.host, path: scope.path, method: scope.method, addr: scope.clientAddr });
    if (deps.policy.reportOnly === null) return judgeDecision(scope, decision, undefined);
    return reportOnly(deps.policy.reportOnly, scope, decision).then((checked) => judgeDecision(scope, decision, checked));
  }

  /** Steps 5 and 6 for the enforced rule's decision; `checked`: the session the report-only rules already looked up. */
  function judgeDecision(scope: RequestScope, decision: Decision, checked: Authentication | undefined): Promise<Verdict> | Verdict {
    const upstream = deps.upstreamFor(decision.rule);
    if (decision.outcome === 'bypass') return { kind: 'forward', identity: null, user: null, upstream };
    const trustedNetwork = deps.trustedIps.has(scope.clientAddr);
    if (decision.outcome === 'deny') {
      const missing =
        decision.rule === null ? 'a rule that matches: a request no rule matches is denied' : 'nothing can pass: the rule denies';
      const why: Why = { rule: decision.rule, trustedNetwork, session: 'none', user: null, missing, outcome: 'deny' };
      return { kind: 'error', error: errors.forbidden(decision.reason), why };
    }
    // Basic credentials on an app-password rule are the whole answer: no session is consulted.
    const basic = decision.rule?.appPasswords ? deps.authenticator.basic : undefined;
    const authorization = basic ? basicAuthorization(scope.req) : undefined;
    if (authorization !== undefined) {
      return basic!
        .authenticate(scope, authorization, decision.rule!)
        .then((auth) => verdictOf(scope, decision, upstream, trustedNetwork, auth, basic, true));
    }
    const auth = checked ?? deps.authenticator.authenticate(scope);
    if (auth instanceof Promise) return auth.then((a) => verdictOf(scope, decision, upstream, trustedNetwork, a, basic, false));
    return verdictOf(scope, decision, upstream, trustedNetwork, auth, basic, false);
  }

  /**
   * Step 6: the verdict for who is asking. `basic`: the rule's HTTP Basic authenticator (rules
   * with `app_passwords: true`); `viaBasic`: it checked this request's credentials.
   */
  function verdictOf(
    scope: RequestScope,
    decision: Decision,
    upstream: URL,
    trustedNetwork: boolean,
    auth: Authentication,
    basic: BasicAuthenticator | undefined,
    viaBasic: boolean,
  ): Verdict {
    const access = authorize(decision, auth.subject, { trustedNetwork, ip: scope.clientIp, now: deps.clock() });
    switch (access.result) {
      case 'allow':
        return {
          kind: 'forward',
          identity: auth.identity,
          user: auth.subject?.user ?? null,
          upstream,
          setCookie: auth.setCookie,
          basic: viaBasic,
          session: auth.session,
          allowedOrigins: decision.rule?.allowedOrigins ?? [],
          rule: decision.rule,
          level: auth.subject?.level,
        };
      case 'sign_in':
      case 'second_factor':
        // A client that cannot show a sign-in page gets a Basic challenge, not a redirect.
        if (basic && (viaBasic || !browserNavigation(scope)))
          return { kind: 'challenge', challenge: basic.challenge, why: whyOf(decision, trustedNetwork, auth, access, 'challenge') };
        return {
          kind: 'redirect',
          step: access.result,
          ...(access.accepts ? { accepts: access.accepts } : {}),
          // The page looks the rule's texts up by its key; only rules that have texts are named.
          ...(decision.rule?.texts ? { rule: decision.rule.key } : {}),
          why: whyOf(decision, trustedNetwork, auth, access, access.result),
        };
      case 'step_up':
        // HTTP Basic cannot carry a fresh code: a step-up rule refuses it like a wrong password.
        if (viaBasic)
          return { kind: 'challenge', challenge: basic!.challenge, why: whyOf(decision, trustedNetwork, auth, access, 'challenge') };
        return {
          kind: 'redirect',
          step: 'second_factor',
          stepUp: decision.rule!.key,
          why: whyOf(decision, trustedNetwork, auth, access, 'step_up'),
        };
      case 'forbidden': {
        // A signed-in user may be the wrong one: the page offers to sign out and use another account.
        const signedIn = auth.subject !== null && auth.session ? { signedIn: { user: auth.subject.user, sessionId: auth.session.id } } : {};
        const why = whyOf(decision, trustedNetwork, auth, access, 'forbidden');
        return { kind: 'error', error: errors.forbidden(access.reasons.join('; ')), why, ...signedIn };
      }
    }
  }

  /** Why a request was refused or redirected, for its trace and its page. */
  function whyOf(decision: Decision, trustedNetwork: boolean, auth: Authentication, access: Access, outcome: Why['outcome']): Why {
    return {
      rule: decision.rule,
      trustedNetwork,
      session: auth.subject === null ? 'none' : auth.subject.level === 2 ? 'second_factor' : 'password',
      user: auth.subject?.user ?? null,
      missing: access.reasons.at(-1) ?? '',
      outcome,
    };
  }

  /**
   * Report-only rules the request passes before its enforced rule: each is judged like an
   * enforced one and what it would have done is recorded, never answered. The session is
   * looked up once and handed back for the enforced rule. A failing lookup on a route that
   * needs none (bypass, deny) skips the report rather than the request.
   */
  async function reportOnly(rules: readonly CompiledRule[], scope: RequestScope, decision: Decision): Promise<Authentication | undefined> {
    const matched = reportOnlyMatches(
      rules,
      { host: scope.host, path: scope.path, method: scope.method, addr: scope.clientAddr },
      decision.rule,
    );
    if (matched.length === 0) return undefined;
    // Also for a deny rule: the report names who would have been refused.
    let auth: Authentication;
    try {
      auth = await deps.authenticator.authenticate(scope);
    } catch (err) {
      if (decision.outcome !== 'bypass' && decision.outcome !== 'deny') throw err;
      log.debug({ err, url: scope.req.url }, 'report-only rules not evaluated: the session could not be checked');
      return undefined;
    }
    const ctx = { trustedNetwork: deps.trustedIps.has(scope.clientAddr), ip: scope.clientIp, now: deps.clock() };
    for (const rule of matched) {
      const outcome = wouldHave(authorize(rule.decision, auth.subject, ctx).result);
      if (outcome === null) continue;
      deps.metrics.reportOnly(rule.key, outcome);
      deps.reportOnly.record({ rule: rule.key, outcome, user: auth.subject?.user ?? null, address: scope.clientIp, path: scope.path });
    }
    return auth;
  }

  function forwardHeaders(scope: RequestScope, identity: Identity | null, basic = false, assertion: string | null = null) {
    // Basic credentials the gateway checked are its own, like its cookies: the app never sees them.
    return upstreamRequestHeaders(basic ? withoutAuthorization(scope.req.rawHeaders) : scope.req.rawHeaders, {
      clientIp: scope.clientIp,
      proto: scope.proto,
      host: scope.hostHeader,
      identity,
      stripCookies: deps.authenticator.cookieNames,
      ...(deps.assertions ? { assertion: { header: deps.assertions.header, value: assertion } } : {}),
    });
  }

  /** Step 7's signed identity (`identity.jwt`): cached per session, so usually no signature is made. */
  function assertionFor(verdict: Verdict & { kind: 'forward' }): string | Promise<string> | null {
    if (deps.assertions === null || verdict.identity === null) return null;
    const s = verdict.session;
    return deps.assertions.assertion({
      identity: verdict.identity,
      cacheKey: s ? s.id : `basic:${verdict.identity.user}`,
      amr: s ? s.amr : ['pwd'],
      authTime: s ? s.auth : deps.clock(),
    });
  }

  function logFailure(req: IncomingMessage, error: GatewayError): void {
    // A store outage is counted where the answer is sent (`portal.sendError`) and logged once.
    if (error.code === 'GW_STORE_UNAVAILABLE') log.debug({ code: error.code, url: req.url }, error.detail ?? error.message);
    else if (error.status >= 500) log.error({ err: error, code: error.code, url: req.url }, error.detail ?? error.message);
    else log.debug({ code: error.code, url: req.url }, error.detail ?? error.message);
  }

  function fail(req: IncomingMessage, res: ServerResponse, err: unknown, context?: ErrorContext): void {
    const error = toGatewayError(err);
    logFailure(req, error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    portal.sendError(req, res, error, context);
  }

  /** One request, start to answer; a promise only when something had to be waited for (see {@link judge}). */
  function run(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const { metrics } = deps;
    const scope = parseTarget(req);
    if (scope instanceof GatewayError) {
      metrics.request('rejected');
      return fail(req, res, scope);
    }
    if (scope.path === jwksPath && deps.assertions !== null) {
      metrics.request('portal');
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=60' });
      return void res.end(JSON.stringify(deps.assertions.jwks()));
    }
    if (scope.path === forwardAuthPath || scope.path.startsWith(`${forwardAuthPath}/`)) {
      metrics.request('forward_auth');
      return forwardAuth(scope, res);
    }
    const verdict = judge(scope);
    if (verdict instanceof Promise) return verdict.then((v) => answer(scope, res, v));
    return answer(scope, res, verdict);
  }

  /** Step 7 or the refusal: acts on the verdict. */
  function answer(scope: RequestScope, res: ServerResponse, verdict: Verdict): Promise<void> | void {
    const { metrics } = deps;
    const req = scope.req;
    switch (verdict.kind) {
      case 'portal':
        metrics.request('portal');
        return portal.handle(scope, res);
      case 'forward': {
        metrics.request('forwarded');
        // Set before forwarding: the forwarder sends it first, then the app's own Set-Cookie
        // values, minus any that name a gateway cookie (also on 304, HEAD and error statuses).
        if (verdict.setCookie) res.setHeader('set-cookie', verdict.setCookie);
        // A request of this session moved its idle clock: its sockets here may live as long.
        if (verdict.session) deps.websockets.extendSession(verdict.session.id, verdict.session.expiresAt);
        const pending = assertionFor(verdict);
        if (pending instanceof Promise) return pending.then((assertion) => forward(scope, res, verdict, assertion));
        return forward(scope, res, verdict, pending);
      }
      case 'redirect': {
        metrics.request('sign_in');
        const { kind: _kind, step, why, ...ask } = verdict;
        return redirectToSignIn(scope, res, step, ask, why);
      }
      case 'challenge':
        metrics.request('sign_in');
        res.writeHead(401, {
          'www-authenticate': verdict.challenge,
          'content-type': 'text/plain; charset=utf-8',
          'cache-control': 'no-store',
          ...(verdict.why ? { 'x-request-id': trace(scope, verdict.why) } : {}),
        });
        return void res.end('401 authentication required\n');
      case 'error': {
        metrics.request(verdict.error.status === 403 ? 'forbidden' : 'rejected');
        if (verdict.why === undefined) return fail(req, res, verdict.error);
        // After signing out, the other account comes back to the refused page (a page load only, never a form's POST).
        const returnTo =
          scope.method === 'GET' || scope.method === 'HEAD'
            ? { returnTo: `${scope.proto}://${scope.hostHeader}${scope.path}${scope.query}` }
            : {};
        return fail(req, res, verdict.error, {
          ...refusal(scope, verdict.why),
          ...(verdict.signedIn ? { signedIn: { ...verdict.signedIn, ...returnTo } } : {}),
        });
      }
    }
  }

  /** Step 7: header hygiene and identity headers, then the upstream. */
  function forward(scope: RequestScope, res: ServerResponse, verdict: Verdict & { kind: 'forward' }, assertion: string | null): void {
    const headers = forwardHeaders(scope, verdict.identity, verdict.basic, assertion);
    deps.forwarder.web(scope.req, res, verdict.upstream, scope.path + scope.query, headers, deps.authenticator.cookieNames);
  }

  /** The error page's context of a refusal: the id it is traced under, and the refusing rule's texts. */
  function refusal(scope: RequestScope, why: Why): ErrorContext {
    return { requestId: trace(scope, why), texts: why.rule?.texts ?? null };
  }

  /** Records why the request was refused or redirected (written later, in a batch); returns its request id. */
  function trace(scope: RequestScope, why: Why): string {
    const requestId = newRequestId();
    deps.traces.record({
      requestId,
      at: deps.clock(),
      method: scope.method,
      host: scope.host,
      path: scope.path,
      clientIp: scope.clientIp,
      clientFrom: scope.viaProxy ? 'proxy_header' : 'socket',
      trustedNetwork: why.trustedNetwork,
      rule: why.rule?.key ?? null,
      session: why.session,
      user: why.user,
      missing: why.missing,
      outcome: why.outcome,
    });
    return requestId;
  }

  function redirectToSignIn(
    scope: RequestScope,
    res: ServerResponse,
    step: 'sign_in' | 'second_factor',
    ask: StepUpAsk,
    why: Why | undefined,
  ): void {
    const returnTo = `${scope.proto}://${scope.hostHeader}${scope.path}${scope.query}`;
    const location = portal.signInUrl(returnTo, step, ask);
    const requestId = why ? trace(scope, why) : undefined;
    const traced = requestId === undefined ? {} : { 'x-request-id': requestId };
    // A browser navigation is sent to the sign-in page; scripts and API clients get a 401 they can act on.
    const navigates = scope.method === 'GET' || scope.method === 'HEAD';
    if (navigates) {
      res.writeHead(302, { location, 'cache-control': 'no-store', ...traced });
      res.end();
      return;
    }
    res.writeHead(401, { 'content-type': 'application/json', 'cache-control': 'no-store', location, ...traced });
    res.end(JSON.stringify({ error: 'authentication_required', location, ...(requestId === undefined ? {} : { request_id: requestId }) }));
  }

  return {
    handleRequest(req, res) {
      try {
        const done = run(req, res);
        if (done instanceof Promise) done.catch((err: unknown) => fail(req, res, err));
      } catch (err) {
        fail(req, res, err);
      }
    },
    handleUpgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      const scope = parseTarget(req);
      /** Answers and closes; a refusal the policy explains is traced like an HTTP request's, under the id it names. */
      const refuse = (status: number, text: string, why?: Why) => {
        const traced = why === undefined || scope instanceof GatewayError ? '' : `x-request-id: ${trace(scope, why)}\r\n`;
        socket.end(`HTTP/1.1 ${status} ${text}\r\n${traced}connection: close\r\ncontent-length: 0\r\n\r\n`);
      };
      if (scope instanceof GatewayError) return refuse(scope.status, 'Bad Request');
      // The executor turns a synchronous throw of `judge` (a store outage, say) into the rejection handled below.
      new Promise<Verdict>((resolve) => resolve(judge(scope)))
        .then(async (verdict) => ({ verdict, assertion: verdict.kind === 'forward' ? await assertionFor(verdict) : null }))
        .then(
          ({ verdict, assertion }) => {
            if (verdict.kind === 'forward') {
              if (verdict.identity !== null) {
                const origin = deps.originCheck.check(
                  req.rawHeaders,
                  { proto: scope.proto, hostHeader: scope.hostHeader },
                  verdict.allowedOrigins ?? [],
                );
                if (!origin.ok) {
                  log.warn({ user: verdict.user, url: req.url, clientIp: scope.clientIp }, `WebSocket upgrade refused: ${origin.reason}`);
                  return refuse(403, 'Forbidden', {
                    rule: verdict.rule ?? null,
                    trustedNetwork: deps.trustedIps.has(scope.clientAddr),
                    session: verdict.level === 2 ? 'second_factor' : verdict.level === 1 ? 'password' : 'none',
                    user: verdict.user,
                    missing: `a WebSocket opened by a page of a protected host: ${origin.reason}`,
                    outcome: 'forbidden',
                  });
                }
              }
              const owner: SocketOwner | null =
                verdict.user === null
                  ? null
                  : {
                      user: verdict.user,
                      ...(verdict.session ? { sessionId: verdict.session.id, expiresAt: verdict.session.expiresAt } : {}),
                    };
              deps.websockets.ws(
                req,
                socket,
                head,
                verdict.upstream,
                scope.path + scope.query,
                forwardHeaders(scope, verdict.identity, verdict.basic, assertion),
                owner,
              );
            } else if (verdict.kind === 'redirect' || verdict.kind === 'challenge') refuse(401, 'Unauthorized', verdict.why);
            else if (verdict.kind === 'portal') refuse(404, 'Not Found');
            else refuse(verdict.error.status, verdict.error.status === 403 ? 'Forbidden' : 'Bad Request', verdict.why);
          },
          (err: unknown) => {
            const error = toGatewayError(err);
            if (error.code === 'GW_STORE_UNAVAILABLE') {
              deps.storeOutage?.refused(error);
              socket.end(
                `HTTP/1.1 503 Service Unavailable\r\nretry-after: ${error.retryAfter}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
              );
              return;
            }
            log.error({ err }, 'upgrade failed');
            refuse(500, 'Internal Server Error');
          },
        );
    },
  };
}

/** How many lines of the field `name` (lower case) the client sent. */
function countField(raw: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) n++;
  return n;
}

/**
 * Whether an absolute-form target (`http://app.example:8080/x`, already checked by
 * `normalizePath`) names the same host and port as the Host header. RFC 9112 §3.2.2 has
 * a server use the target's authority; the gateway matches rules and forwards on Host, so
 * the two must agree (ignoring case, one trailing dot and an explicit default port).
 */
function sameAuthority(target: string, hostHeader: string): boolean {
  const https = target.charCodeAt(4) === 0x73 || target.charCodeAt(4) === 0x53; // http[s]://
  const start = https ? 8 : 7;
  let end = start;
  while (end < target.length && target.charCodeAt(end) !== 0x2f && target.charCodeAt(end) !== 0x3f) end++;
  const fromTarget = authorityKey(target.slice(start, end), https ? '443' : '80');
  return fromTarget !== null && fromTarget === authorityKey(hostHeader, https ? '443' : '80');
}

/** `name:port` with the name as rules compare it and the default port filled in, or null. */
function authorityKey(authority: string, defaultPort: string): string | null {
  const name = normalizeHost(authority);
  if (name === null) return null;
  const close = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  const port = colon > close ? authority.slice(colon + 1).replace(/^0+(?=\d)/, '') : defaultPort;
  return `${name}:${port === '' ? defaultPort : port}`;
}

/** The `Authorization` value when it is Basic (a single header), else undefined. */
function basicAuthorization(req: IncomingMessage): string | undefined {
  const value = req.headers.authorization;
  return value !== undefined && /^basic /i.test(value) ? value : undefined;
}

/** A browser loading a page (which is sent to the sign-in page), as opposed to a legacy client or a script. */
function browserNavigation(scope: RequestScope): boolean {
  if (scope.method !== 'GET' && scope.method !== 'HEAD') return false;
  const mode = scope.req.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  return (scope.req.headers.accept ?? '').includes('text/html');
}

function withoutAuthorization(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() !== 'authorization') out.push(raw[i]!, raw[i + 1]!);
  return out;
}

/** The scheme the client used: TLS on the socket, or what a trusted proxy says it terminated. */
function protoOf(req: IncomingMessage, viaProxy: boolean): 'http' | 'https' {
  if ((req.socket as { encrypted?: boolean }).encrypted) return 'https';
  if (!viaProxy) return 'http';
  const forwarded = req.headers['x-forwarded-proto'];
  const value = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return value === 'https' ? 'https' : 'http';
}
