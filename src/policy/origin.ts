/**
 * @module policy/origin
 * Cross-site WebSocket hijacking (CSWSH): a browser sends the gateway's session cookie (and
 * cached HTTP Basic credentials) with a WebSocket handshake that any web page opens, and the
 * Same-Origin Policy does not apply to WebSockets. The handshake's `Origin` (RFC 6455 §4.1,
 * §10.2; `Sec-WebSocket-Origin` in drafts hybi-07 to -10) names the page that opened it; an
 * upgrade that would carry a user's identity is let through only when that page is one of
 * the hosts the gateway protects, or an origin the config allows. Pure: the chain asks,
 * and answers 403 itself.
 *
 * Allowed, after normalization (lowercase, one trailing dot of the host ignored, default
 * ports made explicit):
 * - the request's own origin (the scheme it came in with, and its Host);
 * - the host of `server.public_url`, or a host any rule's `hosts` names (`*.example.com`
 *   patterns included), with the scheme and port of `server.public_url`;
 * - an origin listed in `server.allowed_origins` or the matched rule's `allowed_origins`.
 *
 * Refused: `null` (sandboxed frames, `file:` pages, some redirects), anything that is not a
 * serialized http(s) origin (userinfo, a path, garbage), and several Origin lines. No Origin
 * at all is a non-browser client and passes: browsers always send one on a WebSocket.
 */
import type { CompiledPolicy, HostMatcher } from './compile.ts';
import { keyOf, originKey, parseOrigin, type Origin, type OriginKey } from './origin-key.ts';

type OriginVerdict = { ok: true } | { ok: false; reason: string };

export interface OriginCheckDeps {
  publicUrl: URL;
  policy: CompiledPolicy;
  /** `server.allowed_origins`. */
  allowedOrigins: readonly string[];
}

export interface OriginCheck {
  /**
   * @param rawHeaders the handshake's raw header list
   * @param own the request's own origin: the scheme it came in with and its Host header
   * @param ruleOrigins the matched rule's `allowed_origins`, normalized
   */
  check(
    rawHeaders: readonly string[],
    own: { proto: 'http' | 'https'; hostHeader: string },
    ruleOrigins: readonly OriginKey[],
  ): OriginVerdict;
}

function hostMatches(hosts: HostMatcher, host: string): boolean {
  if (hosts.exact.has(host)) return true;
  for (const suffix of hosts.suffixes) if (host.endsWith(suffix)) return true;
  return false;
}

export function createOriginCheck(deps: OriginCheckDeps): OriginCheck {
  const publicOrigin = parseOrigin(deps.publicUrl.origin);
  if (publicOrigin === null) throw new Error(`server.public_url has no usable origin: ${deps.publicUrl.href}`);
  const listed = new Set(deps.allowedOrigins.map(originKey));
  const ruleHosts = deps.policy.rules.flatMap((r) => (r.hosts === null ? [] : [r.hosts]));

  function protectedHost(o: Origin): boolean {
    if (o.scheme !== publicOrigin!.scheme || o.port !== publicOrigin!.port) return false;
    return o.host === publicOrigin!.host || ruleHosts.some((h) => hostMatches(h, o.host));
  }

  function ownOrigin(o: Origin, own: { proto: 'http' | 'https'; hostHeader: string }): boolean {
    const self = parseOrigin(`${own.proto}://${own.hostHeader}`);
    return self !== null && keyOf(self) === keyOf(o);
  }

  return {
    check(rawHeaders, own, ruleOrigins) {
      const values: string[] = [];
      for (let i = 0; i < rawHeaders.length; i += 2) {
        const name = rawHeaders[i]!.toLowerCase();
        if (name === 'origin' || name === 'sec-websocket-origin') values.push(rawHeaders[i + 1]!);
      }
      if (values.length === 0) return { ok: true };
      if (values.length > 1) return { ok: false, reason: `${values.length} Origin headers` };
      const value = values[0]!.trim();
      if (value.toLowerCase() === 'null') return { ok: false, reason: 'Origin: null' };
      const o = parseOrigin(value);
      if (o === null) return { ok: false, reason: `malformed Origin ${JSON.stringify(value.slice(0, 200))}` };
      const key = keyOf(o);
      if (listed.has(key) || ruleOrigins.includes(key) || protectedHost(o) || ownOrigin(o, own)) return { ok: true };
      return { ok: false, reason: `cross-site Origin ${JSON.stringify(value.slice(0, 200))}` };
    },
  };
}
