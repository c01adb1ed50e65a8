/**
 * @module client-ip/cidr
 * IP addresses and sets of networks, parsed strictly. Every place that asks "is this
 * address in that list?" (trusted proxies, `trusted_ips`, a rule's `networks`) goes
 * through here, so an address has one meaning everywhere: IPv4-mapped IPv6
 * (`::ffff:10.0.0.1`, what a dual-stack socket reports) is the IPv4 address, and the
 * legacy IPv4 spellings that `inet_aton` accepts (`127.1`, `0x7f.0.0.1`, octal `010.0.0.1`)
 * are refused rather than guessed at.
 */
import ipaddr from 'ipaddr.js';

/** A parsed address; IPv4-mapped IPv6 is always normalized to IPv4 first. */
export type Addr = ipaddr.IPv4 | ipaddr.IPv6;

/** A fixed set of networks built once from config; `has` is cheap enough for every request. */
export interface NetworkSet {
  /** Whether `addr` lies in any of the networks. Never throws, whatever the address family. */
  has(addr: Addr): boolean;
  /** How many entries the set was built from. */
  readonly size: number;
}

/** Longest text worth looking at: a full IPv6 address with an embedded IPv4, brackets and a zone. */
const MAX_ADDRESS_LENGTH = 100;

/**
 * Parses one IP address as it appears in a socket, a forwarding header or the config.
 *
 * Accepts dotted-quad IPv4 (decimal, no leading zeros) and IPv6 in any RFC 4291 §2.2
 * form, optionally in brackets (`[2001:db8::1]`) and with a zone id (`fe80::1%eth0`,
 * RFC 4007 §11), which is dropped: a zone is local to the host that wrote it. IPv4-mapped
 * IPv6 becomes IPv4 (`ipaddr.process`). Returns `null` for anything else; never throws.
 *
 * @example
 *   parseAddress('::ffff:10.0.0.1')?.toString()  // '10.0.0.1'
 *   parseAddress('[fe80::1%eth0]')?.toString()   // 'fe80::1'
 *   parseAddress('127.1')                        // null
 */
export function parseAddress(s: string): Addr | null {
  if (s.length === 0 || s.length > MAX_ADDRESS_LENGTH) return null;
  let text = s;
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    if (text.charCodeAt(text.length - 1) !== 0x5d /* ] */) return null;
    text = text.slice(1, -1);
    if (!text.includes(':')) return null;
  }
  if (!text.includes(':')) return parseDottedQuad(text);
  const zone = text.indexOf('%');
  if (zone !== -1) {
    if (zone === text.length - 1) return null;
    text = text.slice(0, zone);
  }
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) gets the same strictness as plain IPv4.
  const dot = text.indexOf('.');
  if (dot !== -1 && parseDottedQuad(text.slice(text.lastIndexOf(':') + 1)) === null) return null;
  // `isValid` is `parse` in a try/catch, so `process` cannot throw after it.
  return ipaddr.IPv6.isValid(text) ? ipaddr.process(text) : null;
}

/** Strict `a.b.c.d`, each 0-255 in decimal without leading zeros; much cheaper than ipaddr's regexes. */
function parseDottedQuad(s: string): ipaddr.IPv4 | null {
  const octets = [0, 0, 0, 0];
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (digits === 0 || part === 3) return null;
      octets[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return null;
      value = value * 10 + (c - 0x30);
      if (value > 255) return null;
      digits++;
    } else {
      return null;
    }
  }
  if (digits === 0 || part !== 3) return null;
  octets[3] = value;
  return new ipaddr.IPv4(octets);
}

interface V4Network {
  net: number;
  mask: number;
}

interface V6Network {
  parts: readonly number[];
  bits: number;
}

/**
 * Builds a set from CIDRs (`10.0.0.0/8`, `2001:db8::/32`) and bare addresses (`/32` or
 * `/128`). Host bits below the prefix are ignored, as `ipaddr`'s `match` does. A range
 * inside `::ffff:0:0/96` is stored as the IPv4 range it maps, because addresses are
 * normalized to IPv4 before they are looked up; any other IPv6 range never holds an IPv4
 * address (`::/0` is every IPv6 address, not every address).
 *
 * @throws Error naming the entry when one is not an address or CIDR (config validation
 *   normally catches these first).
 */
export function createNetworkSet(entries: readonly string[]): NetworkSet {
  const v4: V4Network[] = [];
  const v6: V6Network[] = [];
  for (const entry of entries) {
    const parsed = parseNetwork(entry);
    if (parsed === null) throw new Error(`not an IP address or CIDR: ${JSON.stringify(entry)}`);
    const [addr, bits] = parsed;
    if (addr.kind() === 'ipv4') {
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      v4.push({ net: (v4Number(addr as ipaddr.IPv4) & mask) >>> 0, mask });
    } else {
      v6.push({ parts: (addr as ipaddr.IPv6).parts.slice(), bits });
    }
  }
  const size = entries.length;
  return {
    size,
    has(addr: Addr): boolean {
      if (addr.kind() === 'ipv4') {
        if (v4.length === 0) return false;
        const n = v4Number(addr as ipaddr.IPv4);
        for (const { net, mask } of v4) if ((n & mask) >>> 0 === net) return true;
        return false;
      }
      const parts = (addr as ipaddr.IPv6).parts;
      for (const network of v6) if (v6Within(parts, network)) return true;
      return false;
    },
  };
}

function parseNetwork(entry: string): [Addr, number] | null {
  const slash = entry.indexOf('/');
  const text = slash === -1 ? entry : entry.slice(0, slash);
  // Config entries are plain addresses: no brackets, no zone.
  if (text.includes('[') || text.includes('%')) return null;
  const addr = parseAddress(text);
  if (addr === null) return null;
  const mapped = slash !== -1 && text.includes(':') && addr.kind() === 'ipv4';
  const max = addr.kind() === 'ipv4' && !mapped ? 32 : 128;
  let bits = max;
  if (slash !== -1) {
    const prefix = entry.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix)) return null;
    bits = Number(prefix);
    if (bits > max) return null;
  }
  if (mapped) {
    // `::ffff:10.0.0.0/104` is `10.0.0.0/8`; a shorter prefix also spans non-mapped IPv6.
    if (bits < 96) return [ipaddr.IPv4.parse(addr.toString()).toIPv4MappedAddress(), bits];
    bits -= 96;
  }
  return [addr, bits];
}

function v4Number(addr: ipaddr.IPv4): number {
  const o = addr.octets;
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

function v6Within(parts: readonly number[], network: V6Network): boolean {
  let bits = network.bits;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const shift = bits >= 16 ? 0 : 16 - bits;
    if (parts[i]! >>> shift !== network.parts[i]! >>> shift) return false;
  }
  return true;
}
