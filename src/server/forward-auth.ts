/**
 * @module server/forward-auth
 * `{prefix}auth/nginx`, `{prefix}auth/traefik` and `{prefix}auth/caddy`: the gateway as the
 * authentication server of another proxy, for setups where nginx, Traefik or Caddy forwards
 * to the app and only asks the gateway whether a request may pass. The same policy, session
 * and access decision as the request chain answer it; only the source of the original
 * request differs, and that source is fixed by the endpoint, never by what a request carries:
 *
 * - `auth/nginx` reads `X-Original-URL` and `X-Original-Method`, which the documented
 *   `auth_request` location sets with `proxy_set_header` (overwriting the client's).
 * - `auth/traefik` and `auth/caddy` read `X-Forwarded-Method`, `-Proto`, `-Host` and `-Uri`,
 *   which Traefik ForwardAuth (without `trustForwardHeader`) and Caddy `forward_auth` set.
 *
 * Caddy and Traefik pass the client's own request headers on to the auth server, so a
 * client could add the other family; the bare `{prefix}auth` of earlier versions read
 * whichever family was present and was steered that way. Therefore each endpoint reads one
 * family and refuses a request that carries the other one, any other path or method
 * override header, or any of its own headers missing, twice (also as `_` spellings, which
 * CGI-style apps read as the same variable), or malformed. The bare `{prefix}auth` answers
 * 404 naming the three endpoints.
 *
 * Answers (200 always carries `Remote-*`, the app's `Cookie`, the renewed session's
 * `Set-Cookie` and, with `identity.jwt`, the signed assertion for the proxy to copy; see the
 * README's snippets in `docs/forward-auth/`):
 *
 * | verdict                | nginx                                  | traefik, caddy                        |
 * |------------------------|----------------------------------------|---------------------------------------|
 * | allowed                | 200                                    | 200                                   |
 * | sign-in needed         | 401 + `Location`                       | 302 (GET/HEAD), else 401 + `Location` |
 * | Basic credentials      | 401 + `WWW-Authenticate`               | 401 + `WWW-Authenticate`              |
 * | forbidden              | 403                                    | 403                                   |
 * | refused (bad request)  | 403 + `Gateway-Status: 400`            | 400                                   |
 * | source throttled       | 403 + `Gateway-Status: 429`, `Retry-After` | 429 + `Retry-After`               |
 * | store unreachable      | 403 + `Gateway-Status: 503`, `Retry-After` | 503 + `Retry-After`               |
 *
 * nginx `auth_request` turns every status but 2xx, 401 and 403 into its own 500, hence the 403
 * that its documented `error_page` maps back to 400, 429 or 503 (with the `Retry-After`).
 *
 * A sign-in answer, a Basic challenge and a 403 of the policy carry `X-Request-Id`: the asked-about
 * request's decision trace is stored under it, as for the chain's own (`mfa-gateway explain
 * --request ID`), and the 403 page shows it with the refusing rule's explanation.
 *
 * Only a connection from `server.trusted_proxies` may ask: these headers describe another
 * request, and nobody else may tell the gateway what that request was.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorContext, RequestScope, StepUpAsk, Verdict, Why } from '../contracts/request.ts';
import { normalizeHost } from '../policy/host.ts';
import { normalizePath } from '../policy/path.ts';
import { pushIdentityHeaders, upstreamRequestHeaders } from '../proxy/headers.ts';
import { errors, GatewayError } from '../errors/errors.ts';

export type Integration = 'nginx' | 'traefik' | 'caddy';

/** Statuses the nginx endpoint answers as 403 + `Gateway-Status`, which its snippet maps back. */
const CARRIED_FOR_NGINX: ReadonlySet<number> = new Set([400, 429, 503]);
const INTEGRATIONS: readonly Integration[] = ['nginx', 'traefik', 'caddy'];

export interface ForwardAuthDeps {
  /** `{prefix}auth`; the endpoints are `{prefix}auth/<integration>`. */
  path: string;
  judge(scope: RequestScope): Promise<Verdict> | Verdict;
  signInUrl(returnTo: string, step: 'sign_in' | 'second_factor', ask?: StepUpAsk): string;
  /** Answers an error page (the refusing rule's texts and request id in `context`), logged and counted. */
  fail(req: IncomingMessage, res: ServerResponse, err: GatewayError, context?: ErrorContext): void;
  /**
   * Traces why the policy refused or redirected the asked-about request, as the chain does for its
   * own (`explain --request ID`); returns the request id and the refusing rule's texts.
   */
  refusal(scope: RequestScope, why: Why): ErrorContext;
  /** Logs and counts `err` as `fail` would, for an answer written here (nginx's 403 carrying it). */
  note(req: IncomingMessage, err: GatewayError): void;
  /** The gateway's cookies: removed from the `Cookie` the answer hands on to the app. */
  cookieNames: readonly string[];
  warn(msg: string): void;
  /**
   * `identity.jwt`: the header name (lower case) and the signed assertion of an allowed verdict
   * (null without an identity); absent when the feature is off.
   */
  assertions?: {
    header: string;
    assertion(verdict: Extract<Verdict, { kind: 'forward' }>): string | Promise<string> | null;
  };
}

/** The request another proxy asks about. */
export interface Original {
  method: string;
  proto: 'http' | 'https';
  /** As the client sent it (host and optional port); validated. */
  hostHeader: string;
  /** Origin-form request target, not yet normalized. */
  target: string;
}

/** Headers each endpoint reads: the family its proxy sets and overwrites. */
const FAMILY: Record<Integration, readonly string[]> = {
  nginx: ['x-original-url', 'x-original-method'],
  traefik: ['x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri'],
  caddy: ['x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri'],
};

/**
 * Headers that describe a different path or method to some server. None of them is read
 * here; one that reached the gateway alongside the endpoint's own family means the proxy
 * passes client headers through, and the app behind it might read it: refused.
 */
const OVERRIDES = [
  'x-original-url',
  'x-original-method',
  'x-original-uri',
  'x-rewrite-url',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-forwarded-prefix',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
];

/** Header lines by name, lowercased with `_` read as `-` (CGI maps both onto one variable). */
function linesByName(raw: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase().replaceAll('_', '-');
    const list = out.get(name);
    if (list) list.push(raw[i + 1]!);
    else out.set(name, [raw[i + 1]!]);
  }
  return out;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
// Visible ASCII only: no space, no control character (CR, LF, TAB, NUL), nothing above 0x7e.
const VISIBLE = /^[\x21-\x7e]+$/;

/** A Host value that reads the same to every parser: a name or IP literal and an optional port. */
function checkHost(value: string, what: string): string | null {
  if (value.includes('@')) return `${what} carries userinfo (user@): ${JSON.stringify(value.slice(0, 200))}`;
  if (value.includes(',')) return `${what} has several values: ${JSON.stringify(value.slice(0, 200))}`;
  if (!VISIBLE.test(value) || normalizeHost(value) === null) return `${what} is not a host[:port]: ${JSON.stringify(value.slice(0, 200))}`;
  return null;
}

/** An origin-form request target (RFC 9112 §3.2.1): starts with `/`, visible ASCII only. */
function checkTarget(value: string, what: string): string | null {
  if (value.charCodeAt(0) !== 0x2f /* / */) return `${what} is not an origin-form path: ${JSON.stringify(value.slice(0, 200))}`;
  if (!VISIBLE.test(value)) return `${what} contains whitespace or control characters`;
  return null;
}

function checkMethod(value: string, what: string): string | null {
  return TOKEN.test(value) ? null : `${what} is not a method: ${JSON.stringify(value.slice(0, 40))}`;
}

/**
 * The request that the proxy behind `integration` asks about, read only from the header
 * family that proxy sets; a string says why the headers were refused.
 *
 * @example
 *   originalRequest('nginx', ['X-Original-URL', 'https://app.example.com/a?b', 'X-Original-Method', 'GET'])
 *   // { method: 'GET', proto: 'https', hostHeader: 'app.example.com', target: '/a?b' }
 *   originalRequest('caddy', ['X-Original-URL', 'https://app.example.com/public/', ...forwardedFamily])
 *   // 'X-Original-URL is not read by the caddy endpoint and must not be sent to it ...'
 */
export function originalRequest(integration: Integration, rawHeaders: readonly string[]): Original | string {
  const lines = linesByName(rawHeaders);
  const family = FAMILY[integration];
  for (const name of OVERRIDES) {
    if (!family.includes(name) && lines.has(name)) {
      return (
        `${name} is not read by the ${integration} endpoint and must not be sent to it (the proxy passes a client's header through; ` +
        `see the README's snippet)`
      );
    }
  }
  const values = new Map<string, string>();
  for (const name of family) {
    const found = lines.get(name);
    if (found === undefined) return `${name} is missing (the ${integration} endpoint reads ${family.join(', ')})`;
    if (found.length > 1) return `${name} was sent ${found.length} times`;
    values.set(name, found[0]!);
  }
  return integration === 'nginx' ? fromOriginalUrl(values) : fromForwarded(values);
}

function fromOriginalUrl(values: Map<string, string>): Original | string {
  const url = values.get('x-original-url')!;
  const method = values.get('x-original-method')!;
  const bad = checkMethod(method, 'X-Original-Method');
  if (bad) return bad;
  const m = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(url);
  if (!m) return `X-Original-URL is not an absolute http(s) URL: ${JSON.stringify(url.slice(0, 200))}`;
  const [, scheme, authority, target] = m as unknown as [string, string, string, string];
  const hostProblem = checkHost(authority, 'the host of X-Original-URL');
  if (hostProblem) return hostProblem;
  const targetProblem = checkTarget(target, 'the path of X-Original-URL');
  if (targetProblem) return targetProblem;
  // The WHATWG reading must name the same host as the raw one (no backslash, IDNA or
  // percent-decoding between them); the path is taken raw, since URL would resolve dot segments.
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `X-Original-URL is not a URL: ${JSON.stringify(url.slice(0, 200))}`;
  }
  if (normalizeHost(parsed.hostname) !== normalizeHost(authority.replace(/:\d+$/, ''))) {
    return `X-Original-URL names two hosts: ${JSON.stringify(authority)} and ${JSON.stringify(parsed.hostname)}`;
  }
  return { method: method.toUpperCase(), proto: scheme.toLowerCase() as 'http' | 'https', hostHeader: authority, target };
}

function fromForwarded(values: Map<string, string>): Original | string {
  const method = values.get('x-forwarded-method')!;
  const proto = values.get('x-forwarded-proto')!.toLowerCase();
  const host = values.get('x-forwarded-host')!;
  const uri = values.get('x-forwarded-uri')!;
  const problem =
    checkMethod(method, 'X-Forwarded-Method') ??
    (proto === 'http' || proto === 'https' ? null : `X-Forwarded-Proto is neither http nor https: ${JSON.stringify(proto.slice(0, 40))}`) ??
    checkHost(host, 'X-Forwarded-Host') ??
    checkTarget(uri, 'X-Forwarded-Uri');
  if (problem) return problem;
  return { method: method.toUpperCase(), proto: proto as 'http' | 'https', hostHeader: host, target: uri };
}

export function createForwardAuth(deps: ForwardAuthDeps): (scope: RequestScope, res: ServerResponse) => Promise<void> {
  const endpoints = INTEGRATIONS.map((i) => `${deps.path}/${i}`).join(', ');
  const byPath = new Map(INTEGRATIONS.map((i) => [`${deps.path}/${i}`, i]));

  return async (scope, res) => {
    const req = scope.req;
    if (!scope.viaProxy)
      return deps.fail(req, res, errors.forbidden(`forward-auth asked by ${scope.clientIp}, which is not a trusted proxy`));
    const integration = byPath.get(scope.path);
    if (integration === undefined) {
      deps.warn(`forward-auth asked at ${scope.path}: use ${endpoints} (the one your proxy is), see the README`);
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`404 forward-auth lives at ${endpoints}: one endpoint per proxy, each reading only the headers that proxy sets\n`);
      return;
    }
    const refuse = (err: GatewayError) => {
      if (integration === 'nginx' && CARRIED_FOR_NGINX.has(err.status)) {
        // auth_request would turn these into its own 500; the documented error_page maps them back.
        deps.note(req, err);
        const retry = err.retryAfter === undefined ? {} : { 'retry-after': String(err.retryAfter) };
        res.writeHead(403, { 'cache-control': 'no-store', 'gateway-status': String(err.status), ...retry });
        res.end();
        return;
      }
      deps.fail(req, res, err);
    };

    const original = originalRequest(integration, req.rawHeaders);
    if (typeof original === 'string') return refuse(errors.badRequest(`forward-auth/${integration}: ${original}`));
    const host = normalizeHost(original.hostHeader)!;
    const path = normalizePath(original.target);
    if (!path.ok)
      return refuse(errors.badPath(`forward-auth/${integration}: ${path.reason}: ${JSON.stringify(original.target.slice(0, 200))}`));

    const asked: RequestScope = {
      req,
      method: original.method,
      host,
      hostHeader: original.hostHeader,
      path: path.path,
      query: path.query,
      proto: original.proto,
      viaProxy: true,
      clientIp: scope.clientIp,
      clientAddr: scope.clientAddr,
    };
    let verdict: Verdict;
    try {
      verdict = await deps.judge(asked);
    } catch (err) {
      // A throttled source (429) or an unreachable store (503) is thrown by the session or
      // Basic check; other failures stay failures.
      if (err instanceof GatewayError && CARRIED_FOR_NGINX.has(err.status)) return refuse(err);
      throw err;
    }
    const noStore = { 'cache-control': 'no-store' };
    // Refusals and redirects carry the id their trace is stored under, like the chain's.
    const context: ErrorContext =
      verdict.kind !== 'forward' && verdict.kind !== 'portal' && verdict.why ? deps.refusal(asked, verdict.why) : {};
    const traced = context.requestId === undefined ? {} : { 'x-request-id': context.requestId };
    switch (verdict.kind) {
      case 'forward': {
        const pending = deps.assertions?.assertion(verdict) ?? null;
        const assertion = pending instanceof Promise ? await pending : pending;
        const signed = deps.assertions ? { header: deps.assertions.header, value: assertion } : null;
        res.writeHead(200, allowedHeaders(integration, req, verdict, deps.cookieNames, signed));
        res.end();
        return;
      }
      case 'redirect': {
        const { kind: _kind, step, why: _why, ...ask } = verdict;
        const location = deps.signInUrl(`${original.proto}://${original.hostHeader}${path.path}${path.query}`, step, ask);
        const navigates = original.method === 'GET' || original.method === 'HEAD';
        res.writeHead(integration === 'nginx' || !navigates ? 401 : 302, { ...noStore, location, ...traced });
        res.end();
        return;
      }
      case 'challenge':
        // Basic credentials wanted (a rule with app_passwords); the proxies pass WWW-Authenticate on.
        res.writeHead(401, { ...noStore, 'www-authenticate': verdict.challenge, ...traced });
        res.end();
        return;
      case 'error': {
        if (verdict.error.status !== 403) return refuse(verdict.error);
        // Like the chain's 403: who is signed in, and signing out comes back to the refused page (a page load only).
        const navigates = original.method === 'GET' || original.method === 'HEAD';
        const returnTo = navigates ? { returnTo: `${original.proto}://${original.hostHeader}${path.path}${path.query}` } : {};
        return deps.fail(req, res, verdict.error, {
          ...context,
          ...(verdict.signedIn ? { signedIn: { ...verdict.signedIn, ...returnTo } } : {}),
        });
      }
      case 'portal':
        // judgePolicy never answers 'portal'; refuse rather than guess.
        return deps.fail(req, res, errors.forbidden('forward-auth: portal verdict'));
    }
  };
}

/**
 * The 200 answer: identity, the signed assertion (`identity.jwt`), the `Cookie` the app may see
 * (the gateway's own removed) and the renewed session cookie. Caddy 2.6 copies a header the answer lacks as its literal
 * placeholder text, so for Caddy every copied header is always present, empty when unset
 * (its documented snippet removes the empty ones before the app).
 */
function allowedHeaders(
  integration: Integration,
  req: IncomingMessage,
  verdict: Extract<Verdict, { kind: 'forward' }>,
  cookieNames: readonly string[],
  signed: { header: string; value: string | null } | null,
): string[] {
  const headers: string[] = ['Cache-Control', 'no-store'];
  const identity: string[] = [];
  if (verdict.identity) pushIdentityHeaders(identity, verdict.identity);
  // Caddy copies it even while identity.jwt is off (its snippet names the default header).
  if (integration === 'caddy') headers.push(signed?.header ?? 'X-Gateway-Assertion', signed?.value ?? '');
  else if (signed?.value) headers.push(signed.header, signed.value);
  const appCookie = cookieForApp(req, cookieNames);
  if (integration === 'caddy') {
    for (const name of ['Remote-User', 'Remote-Groups', 'Remote-Email', 'Remote-Name']) {
      const at = identity.indexOf(name);
      headers.push(name, at === -1 ? '' : identity[at + 1]!);
    }
    headers.push('Cookie', appCookie ?? '', 'Set-Cookie', verdict.setCookie ?? '');
    return headers;
  }
  headers.push(...identity);
  if (appCookie !== undefined) headers.push('Cookie', appCookie);
  if (verdict.setCookie) headers.push('Set-Cookie', verdict.setCookie);
  return headers;
}

/** The client's cookies without the gateway's, as one `Cookie` value; undefined when none remain. */
function cookieForApp(req: IncomingMessage, cookieNames: readonly string[]): string | undefined {
  const cookieLines: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'cookie') cookieLines.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  if (cookieLines.length === 0) return undefined;
  const out = upstreamRequestHeaders(cookieLines, { clientIp: '', proto: 'http', host: '', identity: null, stripCookies: cookieNames });
  const at = out.indexOf('Cookie');
  return at === -1 ? undefined : out[at + 1];
}
