/**
 * @module policy/origin-key
 * Serialized origins (RFC 6454 §6.2) parsed and normalized, for the WebSocket origin check
 * (`policy/origin`) and for the `allowed_origins` the rules compile.
 */

/** A serialized origin, normalized: `https://app.example.com:443`. */
export type OriginKey = string;

export interface Origin {
  scheme: 'http' | 'https';
  host: string;
  port: number;
}

const DEFAULT_PORT = { http: 80, https: 443 } as const;

/**
 * Parses a serialized origin (RFC 6454 §6.2): `scheme "://" host [ ":" port ]`, nothing
 * else. Returns null for `null`, other schemes, userinfo, a path, query or fragment, and
 * anything WHATWG URL would have to repair.
 */
export function parseOrigin(value: string): Origin | null {
  const m = /^(https?):\/\/(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9.])?)(?::([0-9]{1,5}))?$/i.exec(value);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase() as 'http' | 'https';
  let url: URL;
  try {
    url = new URL(`${scheme}://${m[2]}`);
  } catch {
    return null;
  }
  let host = url.hostname;
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '' || host.includes('..') || host.endsWith('.')) return null;
  const port = m[3] === undefined ? DEFAULT_PORT[scheme] : Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { scheme, host, port };
}

/** The normalized key of a configured origin; throws on one that is not a serialized origin. */
export function originKey(value: string): OriginKey {
  const o = parseOrigin(value);
  if (o === null) throw new Error(`not an origin such as https://app.example.com: ${JSON.stringify(value)}`);
  return keyOf(o);
}

export function keyOf(o: Origin): OriginKey {
  return `${o.scheme}://${o.host}:${o.port}`;
}
