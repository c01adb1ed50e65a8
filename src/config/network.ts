/**
 * @module config/network
 * Networks in the config (trusted proxies, trusted IPs, rule networks) are CIDRs or bare
 * addresses. One parser for the config check and for the code that matches client
 * addresses, so a range means the same thing in both places.
 */

import ipaddr from 'ipaddr.js';

/** A parsed network: an address (IPv4 or IPv6) and its prefix length. */
export type Network = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Parses `10.0.0.0/8`, `fd00::/8`, or a bare address (meaning /32 or /128).
 *
 * IPv4-mapped IPv6 forms (`::ffff:10.0.0.0/104`, `::ffff:10.0.0.1`) become the IPv4
 * network they denote, so they match clients the way `ipaddr.process` normalizes them.
 * IPv4 must be written in four dotted parts (`10.1` is refused, not read as 10.0.0.1), and
 * a CIDR must not have host bits set (`10.0.0.1/8` is more likely a typo than a wish).
 *
 * @throws Error with a plain-language reason.
 */
export function parseNetwork(s: string): Network {
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  if (!ipaddr.isValid(addrText) || (!addrText.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(addrText))) {
    throw new Error(`"${s}" is not an IP address or CIDR such as 10.0.0.0/8 or fd00::/8`);
  }
  let addr = ipaddr.parse(addrText);
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const prefixText = s.slice(slash + 1);
    prefix = /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix <= max)) throw new Error(`"${s}" has a prefix length outside 0 to ${max}`);
  }
  if (addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress() && prefix >= 96) {
    addr = addr.toIPv4Address();
    prefix -= 96;
  }
  const base = networkAddress(addr, prefix);
  if (base.toString() !== addr.toString()) {
    throw new Error(`"${s}" has host bits set; did you mean ${base.toString()}/${prefix}?`);
  }
  return [addr, prefix];
}

function networkAddress(addr: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): ipaddr.IPv4 | ipaddr.IPv6 {
  const bytes = addr.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = (bytes[i] ?? 0) & (0xff << (8 - keep)) & 0xff;
  }
  return ipaddr.fromByteArray(bytes);
}
