/**
 * @module server/forward-auth
 * `{prefix}auth`: the gateway as the authentication server of another proxy, for setups
 * where nginx, Traefik or Caddy forwards to the app and only asks the gateway whether a
 * request may pass. The same policy, session and access decision as the request chain
 * answer it; only the source of the original request differs:
 *
 * - nginx `auth_request` sends `X-Original-URL` (and `X-Original-Method`). Its answers are
 *   200 (allowed, identity in `Remote-*` headers), 401 (sign-in needed; `Location` names
 *   the sign-in page for `auth_request_set`) and 403.
 * - Traefik ForwardAuth and Caddy `forward_auth` send `X-Forwarded-Method`,
 *   `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Uri`. Their answers are 200,
 *   302 to the sign-in page (401 for requests other than GET and HEAD) and 403.
 *
 * Only a connection from `server.trusted_proxies` may ask: these headers describe another
 * request, and nobody else may tell the gateway what that request was.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestScope, Verdict } from './chain.ts';
import { normalizeHost } from '../policy/decide.ts';
import { normalizePath } from '../policy/path.ts';
import { pushIdentityHeaders } from '../proxy/headers.ts';
import { errors, type GatewayError } from './errors.ts';

export interface ForwardAuthDeps {
  judge(scope: RequestScope): Promise<Verdict>;
  signInUrl(returnTo: string, step: 'sign_in' | 'second_factor'): string;
  fail(req: IncomingMessage, res: ServerResponse, err: GatewayError): void;
}

type Original = { method: string; proto: 'http' | 'https'; hostHeader: string; target: string; nginx: boolean };

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The request the other proxy asks about, from the headers each proxy sends. */
export function originalRequest(req: IncomingMessage): Original | string {
  const originalUrl = header(req, 'x-original-url');
  if (originalUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(originalUrl);
    } catch {
      return `X-Original-URL is not an absolute URL: ${JSON.stringify(originalUrl.slice(0, 200))}`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `X-Original-URL has scheme ${url.protocol}`;
    // The raw path as sent (URL parsing would already have resolved dot segments).
    const afterAuthority = originalUrl.slice(originalUrl.indexOf('//') + 2);
    const slash = afterAuthority.indexOf('/');
    return {
      method: (header(req, 'x-original-method') ?? 'GET').toUpperCase(),
      proto: url.protocol === 'https:' ? 'https' : 'http',
      hostHeader: url.host,
      target: slash === -1 ? '/' : afterAuthority.slice(slash),
      nginx: true,
    };
  }
  const hostHeader = header(req, 'x-forwarded-host');
  const target = header(req, 'x-forwarded-uri');
  if (hostHeader === undefined || target === undefined) return 'neither X-Original-URL nor X-Forwarded-Host and X-Forwarded-Uri were sent';
  return {
    method: (header(req, 'x-forwarded-method') ?? 'GET').toUpperCase(),
    proto: header(req, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https' ? 'https' : 'http',
    hostHeader: hostHeader.split(',')[0]!.trim(),
    target,
    nginx: false,
  };
}

export function createForwardAuth(deps: ForwardAuthDeps): (scope: RequestScope, res: ServerResponse) => Promise<void> {
  return async (scope, res) => {
    const req = scope.req;
    if (!scope.viaProxy) return deps.fail(req, res, errors.forbidden(`forward-auth asked by ${scope.clientIp}, which is not a trusted proxy`));
    const original = originalRequest(req);
    if (typeof original === 'string') return deps.fail(req, res, errors.badRequest(`forward-auth: ${original}`));
    const host = normalizeHost(original.hostHeader);
    if (host === null) return deps.fail(req, res, errors.badRequest(`forward-auth: malformed host ${JSON.stringify(original.hostHeader)}`));
    const path = normalizePath(original.target);
    if (!path.ok) return deps.fail(req, res, errors.badPath(`forward-auth: ${path.reason}`));

    const verdict = await deps.judge({
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
    });
    const noStore = { 'cache-control': 'no-store' };
    switch (verdict.kind) {
      case 'forward': {
        const headers: string[] = ['cache-control', 'no-store'];
        if (verdict.identity) pushIdentityHeaders(headers, verdict.identity);
        if (verdict.setCookie) headers.push('set-cookie', verdict.setCookie);
        res.writeHead(200, headers);
        res.end();
        return;
      }
      case 'redirect': {
        const location = deps.signInUrl(`${original.proto}://${original.hostHeader}${path.path}${path.query}`, verdict.step);
        const navigates = original.method === 'GET' || original.method === 'HEAD';
        res.writeHead(original.nginx || !navigates ? 401 : 302, { ...noStore, location });
        res.end();
        return;
      }
      case 'challenge':
        // Basic credentials wanted (a rule with app_passwords): nginx passes WWW-Authenticate on to the client.
        res.writeHead(401, { ...noStore, 'www-authenticate': verdict.challenge });
        res.end();
        return;
      case 'error':
        return deps.fail(req, res, verdict.error);
      case 'portal':
        // judgePolicy never answers 'portal'; refuse rather than guess.
        return deps.fail(req, res, errors.forbidden('forward-auth: portal verdict'));
    }
  };
}
