/**
 * @module client-ip/resolve
 * One client address per request: the socket peer, or, only when that peer is a
 * configured trusted proxy, the address its forwarding headers name. `trusted_ips` and
 * a rule's `networks` are checked against this address, so a header that cannot be read
 * must never make a request look more trusted than its socket: every doubt is an error
 * (the chain answers 400), never a guess.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Addr, NetworkSet } from './cidr.ts';
import { parseAddress } from './cidr.ts';

export type ClientAddressResult =
  | {
      ok: true;
      /** Normalized text form: IPv4 dotted quad, or IPv6 per RFC 5952. */
      ip: string;
      addr: Addr;
      /**
       * The socket peer is a trusted proxy, so its forwarding headers (X-Forwarded-Proto
       * included) were believed. True even when it sent no address header and the client
       * is the peer itself.
       */
      viaProxy: boolean;
    }
  | { ok: false; reason: string };

export type ClientAddressResolver = (socketAddress: string | undefined, headers: IncomingHttpHeaders) => ClientAddressResult;

export interface ClientAddressOptions {
  /**
   * Which header a trusted proxy maintains. `auto` (the default) reads RFC 7239
   * `Forwarded` when it carries `for=`, else `X-Forwarded-For`; when both are present they
   * must name the same client. That guards the common case of a proxy that appends to
   * X-Forwarded-For but passes a client's forged `Forwarded` through untouched (nginx
   * does). Name the header explicitly when the proxy maintains only one and clients
   * legitimately send the other (say, a corporate proxy adding X-Forwarded-For in front
   * of a proxy that writes Forwarded).
   */
  header?: 'auto' | 'forwarded' | 'x-forwarded-for';
}

/** Parsed addresses kept per cache; a full cache is dropped and refilled, which costs one parse per address. */
const CACHE_LIMIT = 10_000;

/** One parsed address (a socket peer or a header hop) and what it means for the request. */
interface Parsed {
  trusted: boolean;
  /** The shared, frozen answer when this address is the client, or why it cannot be. */
  result: ClientAddressResult;
}

const NO_PEER: ClientAddressResult = Object.freeze({ ok: false, reason: 'the connection has no peer address (already closed)' });

/**
 * Builds the resolver the chain calls once per request.
 *
 * The peer is looked up in a bounded cache, so a request from an untrusted peer costs one
 * Map lookup and returns a shared, frozen result without reading any header; header hops
 * are cached the same way, so results are shared and must not be mutated. From a
 * trusted peer, the chosen header's hops are read right to left (each proxy appends the
 * address it received from): hops that are themselves trusted proxies are skipped, the
 * first untrusted hop is the client, and if every hop is trusted the leftmost is. Hops
 * to the left of the client are the client's own claims and are never parsed.
 *
 * Where the client's address should be, `unknown`, an obfuscated identifier (RFC 7239
 * §6.3), an empty element or anything unparsable gives `{ ok: false }`.
 *
 * @example
 *   const resolve = createClientAddressResolver(createNetworkSet(['10.0.0.0/8']));
 *   resolve('10.0.0.2', { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' })
 *   // { ok: true, ip: '203.0.113.7', addr, viaProxy: true }
 *   resolve('198.51.100.1', { 'x-forwarded-for': '10.9.9.9' })
 *   // { ok: true, ip: '198.51.100.1', addr, viaProxy: false }: untrusted peer, header ignored
 */
export function createClientAddressResolver(trustedProxies: NetworkSet, options: ClientAddressOptions = {}): ClientAddressResolver {
  const header = options.header ?? 'auto';
  const peer = boundedMemo((text): Parsed => {
    const addr = parseAddress(text);
    if (addr === null)
      return { trusted: false, result: Object.freeze({ ok: false, reason: `socket address ${quote(text)} is not an IP address` }) };
    const trusted = trustedProxies.has(addr);
    return { trusted, result: Object.freeze({ ok: true, ip: addr.toString(), addr, viaProxy: trusted }) };
  });
  const hops = (parse: (text: string) => Addr | string) =>
    boundedMemo((text): Parsed => {
      const addr = parse(text);
      if (typeof addr === 'string') return { trusted: false, result: Object.freeze({ ok: false, reason: addr }) };
      return { trusted: trustedProxies.has(addr), result: Object.freeze({ ok: true, ip: addr.toString(), addr, viaProxy: true }) };
    });
  const xffHop = hops(parseXffHop);
  const forwardedNode = hops(parseForwardedNode);

  /** Right-to-left walk over the (never empty) hops split out of a header. */
  function walk(list: readonly string[], hop: (text: string) => Parsed): ClientAddressResult {
    for (let i = list.length - 1; ; i--) {
      const { trusted, result } = hop(list[i]!);
      if (!result.ok || i === 0 || !trusted) return result;
    }
  }

  function fromForwarded(value: string): ClientAddressResult | null {
    const fors = forwardedFors(value);
    if (typeof fors === 'string') return { ok: false, reason: fors };
    // No `for=` anywhere (say, only `proto=https`): the header says nothing about addresses.
    if (!fors.some((f) => f !== '')) return null;
    return walk(fors, forwardedNode);
  }

  function fromXff(value: string): ClientAddressResult {
    if (value.trim() === '') return { ok: false, reason: 'X-Forwarded-For is empty' };
    return walk(value.split(','), xffHop);
  }

  return function resolveClientAddress(socketAddress, headers) {
    if (socketAddress === undefined) return NO_PEER;
    const socket = peer(socketAddress);
    if (!socket.trusted) return socket.result;

    const forwarded = header === 'x-forwarded-for' ? undefined : joined(headers.forwarded);
    const xff = header === 'forwarded' ? undefined : joined(headers['x-forwarded-for']);
    const viaForwarded = forwarded === undefined ? null : fromForwarded(forwarded);
    if (viaForwarded === null) return xff === undefined ? socket.result : fromXff(xff);
    if (xff === undefined || !viaForwarded.ok) return viaForwarded;
    const viaXff = fromXff(xff);
    if (!viaXff.ok) return viaXff;
    if (viaXff.ip !== viaForwarded.ip) {
      return { ok: false, reason: `Forwarded names client ${viaForwarded.ip} but X-Forwarded-For names ${viaXff.ip}` };
    }
    return viaForwarded;
  };
}

/** Memoizes a parse in a Map that forgets everything when full: never unbounded, at worst one re-parse per key. */
function boundedMemo<V>(compute: (key: string) => V): (key: string) => V {
  const map = new Map<string, V>();
  return (key) => {
    let value = map.get(key);
    if (value === undefined) {
      value = compute(key);
      if (map.size >= CACHE_LIMIT) map.clear();
      map.set(key, value);
    }
    return value;
  };
}

/** A header excerpt for a reason that reaches the log: quoted, and short whatever the client sent. */
function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text);
}

/** Node joins repeated lines of these headers with `, ` already; an array is joined the same way. */
function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** One X-Forwarded-For hop: an address, optionally `1.2.3.4:port` or `[v6]:port` as some proxies write. */
function parseXffHop(raw: string): Addr | string {
  const hop = raw.trim();
  if (hop === '') return 'empty X-Forwarded-For element where the client address should be';
  let text = hop;
  if (hop.charCodeAt(0) === 0x5b /* [ */) {
    const close = hop.indexOf(']');
    if (close !== -1 && close < hop.length - 1) {
      if (!isPort(hop, close + 2) || hop.charCodeAt(close + 1) !== 0x3a)
        return `X-Forwarded-For element ${quote(hop)} is not an IP address`;
      text = hop.slice(0, close + 1);
    }
  } else {
    const colon = hop.indexOf(':');
    if (colon !== -1 && colon === hop.lastIndexOf(':') && hop.includes('.')) {
      if (!isPort(hop, colon + 1)) return `X-Forwarded-For element ${quote(hop)} is not an IP address`;
      text = hop.slice(0, colon);
    }
  }
  if (text.toLowerCase() === 'unknown') return 'X-Forwarded-For says "unknown" where the client address should be';
  return parseAddress(text) ?? `X-Forwarded-For element ${quote(hop)} is not an IP address`;
}

/** RFC 7239 §6: node = nodename [ ":" node-port ]; IPv6 only in brackets. */
function parseForwardedNode(node: string): Addr | string {
  if (node === '') return 'Forwarded element without for= where the client address should be';
  const bad = `Forwarded for=${quote(node)} is not a node RFC 7239 §6 allows`;
  let name = node;
  let port = '';
  if (node.charCodeAt(0) === 0x5b /* [ */) {
    const close = node.indexOf(']');
    if (close === -1) return bad;
    name = node.slice(0, close + 1);
    port = node.slice(close + 1);
    if (port !== '' && port.charCodeAt(0) !== 0x3a) return bad;
  } else {
    const colon = node.indexOf(':');
    if (colon !== -1) {
      name = node.slice(0, colon);
      port = node.slice(colon);
    }
  }
  if (port !== '' && !isPort(port, 1) && !isObfuscated(port, 1)) return bad;
  if (name.toLowerCase() === 'unknown') return 'Forwarded says for=unknown where the client address should be';
  if (isObfuscated(name, 0)) return `Forwarded names an obfuscated node ${quote(name)} where the client address should be`;
  return parseAddress(name) ?? bad;
}

/** port = 1*5DIGIT, from `start` to the end of `s`. */
function isPort(s: string, start: number): boolean {
  const length = s.length - start;
  if (length < 1 || length > 5) return false;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** obfnode / obfport = "_" 1*( ALPHA / DIGIT / "." / "_" / "-" ), from `start` (RFC 7239 §6.3). */
function isObfuscated(s: string, start: number): boolean {
  if (s.length - start < 2 || s.charCodeAt(start) !== 0x5f) return false;
  for (let i = start + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2e || c === 0x5f || c === 0x2d;
    if (!ok) return false;
  }
  return true;
}

const TCHAR = (() => {
  const table = new Uint8Array(128);
  for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") table[c.charCodeAt(0)] = 1;
  return table;
})();

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Splits a `Forwarded` value (RFC 7239 §4) into one `for` node per element, left to right
 * (`''` for an element without `for=`). Quoted strings may hide `,` and `;`; a duplicate
 * `for` in one element, a bad parameter name or an unterminated quote fails the header.
 */
function forwardedFors(value: string): string[] | string {
  const fors: string[] = [];
  const n = value.length;
  let i = 0;
  let current: string | null = null;
  for (;;) {
    while (i < n && isOws(value.charCodeAt(i))) i++;
    if (i >= n || value.charCodeAt(i) === 0x2c /* , */) {
      fors.push(current ?? '');
      current = null;
      if (i >= n) return fors;
      i++;
      continue;
    }
    if (value.charCodeAt(i) === 0x3b /* ; */) {
      i++;
      continue;
    }
    const nameStart = i;
    while (i < n && TCHAR[value.charCodeAt(i)] === 1) i++;
    if (i === nameStart || value.charCodeAt(i) !== 0x3d /* = */) return `Forwarded is malformed at character ${i + 1}`;
    const name = value.slice(nameStart, i).toLowerCase();
    i++;
    let parsed: string;
    if (value.charCodeAt(i) === 0x22 /* " */) {
      i++;
      parsed = '';
      for (;;) {
        if (i >= n) return 'Forwarded has an unterminated quoted string';
        const c = value.charCodeAt(i);
        if (c === 0x22) break;
        if (c === 0x5c /* \ */) {
          i++;
          if (i >= n) return 'Forwarded has an unterminated quoted string';
        }
        const q = value.charCodeAt(i);
        if ((q < 0x20 && q !== 0x09) || q === 0x7f) return 'Forwarded has a control character in a quoted string';
        parsed += value[i];
        i++;
      }
      i++;
    } else {
      // Lenient on purpose: proxies write unquoted `for=[::1]:80`; `;`, `,`, `"` and whitespace still end the value.
      const start = i;
      while (i < n) {
        const c = value.charCodeAt(i);
        if (c === 0x3b || c === 0x2c || c === 0x22 || c <= 0x20 || c === 0x7f) break;
        i++;
      }
      parsed = value.slice(start, i);
    }
    while (i < n && isOws(value.charCodeAt(i))) i++;
    if (i < n && value.charCodeAt(i) !== 0x3b && value.charCodeAt(i) !== 0x2c) return `Forwarded is malformed at character ${i + 1}`;
    if (name === 'for') {
      if (current !== null) return 'Forwarded has two for= parameters in one element';
      if (parsed === '') return 'Forwarded has an empty for=';
      current = parsed;
    }
  }
}
