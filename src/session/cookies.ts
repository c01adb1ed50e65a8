/**
 * @module session/cookies
 * Reading one cookie out of a Cookie header without parsing all of them, and writing
 * Set-Cookie values with the attributes the gateway always wants (RFC 6265bis). Hand-written,
 * not the `cookie` package: it runs on every proxied request and reads one name, no more.
 */

/** The value of cookie `name` in a Cookie header (the first one), or undefined. Allocates only the value. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const len = header.length;
  let start = 0;
  while (start < len) {
    let end = header.indexOf(';', start);
    if (end === -1) end = len;
    let s = start;
    while (s < end && header.charCodeAt(s) === 32) s++;
    if (header.startsWith(name, s) && header.charCodeAt(s + name.length) === 61 /* = */) {
      const value = header.slice(s + name.length + 1, end).trim();
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    }
    start = end + 1;
  }
  return undefined;
}

export interface CookieAttributes {
  secure: boolean;
  domain?: string | undefined;
  /** Seconds; omitted = a browser-session cookie. 0 deletes. */
  maxAge?: number | undefined;
  sameSite?: 'Lax' | 'Strict';
  path?: string;
}

export function serializeCookie(name: string, value: string, attrs: CookieAttributes): string {
  let out = `${name}=${value}; Path=${attrs.path ?? '/'}; HttpOnly; SameSite=${attrs.sameSite ?? 'Lax'}`;
  if (attrs.secure) out += '; Secure';
  if (attrs.domain) out += `; Domain=${attrs.domain}`;
  if (attrs.maxAge !== undefined) out += `; Max-Age=${Math.max(0, Math.floor(attrs.maxAge))}`;
  return out;
}

/**
 * The cookie name with the strongest prefix the deployment allows: `__Host-` needs
 * Secure, Path=/ and no Domain; `__Secure-` needs Secure (RFC 6265bis §4.1.3).
 */
function prefixedName(base: string, secure: boolean, domain: string | undefined): string {
  if (!secure) return base;
  return domain ? `__Secure-${base}` : `__Host-${base}`;
}

/** Appends a Set-Cookie value to whatever the response already sets. */
export function appendSetCookie(
  res: { getHeader(name: string): unknown; setHeader(name: string, value: string | string[]): unknown },
  cookie: string,
): void {
  const prev = res.getHeader('set-cookie');
  if (prev === undefined) res.setHeader('set-cookie', cookie);
  else res.setHeader('set-cookie', Array.isArray(prev) ? [...(prev as string[]), cookie] : [String(prev), cookie]);
}

/** Every cookie the gateway sets, named in one place so that none of them can reach an upstream app. */
export interface GatewayCookieNames {
  /** The signed-in session. */
  session: string;
  /** "Don't ask again" on this browser. */
  device: string;
  /** The binding of signed-out forms' CSRF tokens; host-only, since a binding shared across subdomains could be planted by any of them. */
  csrf: string;
  /** A random browser id that tells a known browser from a new one for sign-in notices (Path: the portal prefix). */
  browser: string;
  /** The sealed state of a federated sign-in in progress (Path: the portal prefix). */
  oidc: string;
  /** A sign-in's note for the next gateway page: it ended older sessions (Path: the portal prefix). */
  notice: string;
  all: readonly string[];
}

export function gatewayCookieNames(base: string, secure: boolean, domain: string | undefined): GatewayCookieNames {
  const pathScoped = (name: string) => (secure ? `__Secure-${name}` : name);
  const names = {
    session: prefixedName(base, secure, domain),
    device: prefixedName(`${base}_device`, secure, domain),
    csrf: prefixedName(`${base}_csrf`, secure, undefined),
    browser: pathScoped(`${base}_browser`),
    oidc: pathScoped(`${base}_oidc`),
    notice: pathScoped(`${base}_notice`),
  };
  return { ...names, all: Object.values(names) };
}
