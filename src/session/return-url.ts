/**
 * @module session/return-url
 * The return URL after sign-in (`rd`) is honored only when it points at a host the
 * gateway protects; anything else (other hosts, other schemes, credentials in the URL,
 * control characters) falls back to the default page. Parsing is the WHATWG URL
 * parser's, the same a browser applies to the Location header, so what is checked is
 * what the browser would follow.
 */

export interface HostMatcher {
  /** Whether `host` (lowercase, no port) is protected by the gateway. */
  has(host: string): boolean;
}

/** Hosts from the rules (`app.example.com`, `*.example.com`) plus the public URL's host. */
export function createHostMatcher(publicUrl: URL, ruleHosts: readonly string[]): HostMatcher {
  const exact = new Set<string>([publicUrl.hostname.toLowerCase()]);
  const suffixes: string[] = [];
  for (const raw of ruleHosts) {
    const host = raw.toLowerCase().replace(/\.$/, '');
    if (host.startsWith('*.')) suffixes.push(host.slice(1));
    else exact.add(host);
  }
  return {
    has(host) {
      const h = host.toLowerCase().replace(/\.$/, '');
      return exact.has(h) || suffixes.some((suffix) => h.endsWith(suffix) && h.length > suffix.length);
    },
  };
}

/**
 * The URL to send the user to after sign-in, or null when `rd` must not be followed.
 * Relative values resolve against the public URL.
 */
export function safeReturnUrl(rd: unknown, publicUrl: URL, hosts: HostMatcher): string | null {
  if (typeof rd !== 'string' || rd.length === 0 || rd.length > 4096) return null;
  // Browsers drop tabs and newlines inside URLs; a value that needs that is not a plain URL.
  if (/[\u0000-\u001f\u007f\\]/.test(rd)) return null;
  let url: URL;
  try {
    url = new URL(rd, publicUrl);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username || url.password) return null;
  if (!hosts.has(url.hostname)) return null;
  // An https deployment never sends users back over plain http.
  if (publicUrl.protocol === 'https:' && url.protocol !== 'https:') return null;
  return url.href;
}
