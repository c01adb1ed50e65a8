/**
 * @module policy/host
 * The Host header as rules compare it (one normalization for the chain, forward-auth,
 * the rule compiler and the origin check).
 */
import ipaddr from 'ipaddr.js';

/**
 * The Host header as rules compare it: lowercased, port removed, one trailing dot removed,
 * IPv6 literals kept in brackets (`[2001:db8::1]`). Returns null for a missing or
 * malformed header (the chain answers 400): anything but letters, digits, `-`, `_` and
 * dots in a name, an empty label, a bad port, or a bracketed literal that is not IPv6.
 * An already-normal header is returned as is.
 *
 * @example
 *   normalizeHost('App.Example.COM.:8443')  // 'app.example.com'
 *   normalizeHost('[2001:DB8::1]:80')       // '[2001:db8::1]'
 *   normalizeHost('a..b')                   // null
 */
export function normalizeHost(hostHeader: string | undefined): string | null {
  if (hostHeader === undefined || hostHeader.length === 0 || hostHeader.length > 255 + 6) return null;
  if (hostHeader.charCodeAt(0) === 0x5b /* [ */) return normalizeIpLiteral(hostHeader);
  let end = hostHeader.length;
  let changed = false;
  let prev = 0x2e; // as if a dot came before: a leading dot is an empty label
  for (let i = 0; i < hostHeader.length; i++) {
    const c = hostHeader.charCodeAt(i);
    if (c === 0x3a /* : */) {
      if (!isPort(hostHeader, i + 1)) return null;
      end = i;
      changed = true;
      break;
    }
    if (c === 0x2e) {
      if (prev === 0x2e) return null;
    } else if (c >= 0x41 && c <= 0x5a) {
      changed = true;
    } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f)) {
      return null;
    }
    prev = c;
  }
  if (end === 0) return null;
  if (prev === 0x2e) {
    // One trailing dot is the fully qualified spelling of the same name (RFC 1034 §3.1).
    end--;
    changed = true;
  }
  if (!changed) return hostHeader;
  return hostHeader.slice(0, end).toLowerCase();
}

function normalizeIpLiteral(hostHeader: string): string | null {
  const close = hostHeader.indexOf(']');
  if (close === -1) return null;
  const rest = close + 1;
  if (rest < hostHeader.length && (hostHeader.charCodeAt(rest) !== 0x3a || !isPort(hostHeader, rest + 1))) return null;
  const inner = hostHeader.slice(1, close);
  // No zone ids in a Host header (RFC 9110 §7.2 uses RFC 3986's IP-literal, which has none).
  if (inner.includes('%') || !ipaddr.IPv6.isValid(inner)) return null;
  return rest === hostHeader.length && inner === inner.toLowerCase() ? hostHeader : `[${inner.toLowerCase()}]`;
}

/** port = 1*5DIGIT up to 65535, from `start` to the end. */
function isPort(s: string, start: number): boolean {
  const length = s.length - start;
  if (length < 1 || length > 5) return false;
  let value = 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
    value = value * 10 + (c - 0x30);
  }
  return value <= 65535;
}
