/**
 * @module config/listen
 * The `server.listen` address: `host:port`, `[v6]:port` or `:port`. One parser used by the
 * config check and by the server, so what validates is exactly what binds.
 */

import { isIP } from 'node:net';

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Splits a listen address into host and port.
 *
 * `host` is an IPv4 address, a host name, or an IPv6 address without brackets; it is the
 * empty string for `:port`, meaning every interface (pass `undefined` or `''` to
 * `server.listen`). Port 0 asks the system for a free port.
 *
 * @example parseListen('[::1]:8080') // { host: '::1', port: 8080 }
 * @throws Error with a plain-language reason when the text is not a listen address.
 */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(s);
  if (!m) throw new Error('must be host:port, [IPv6]:port or :port, such as 127.0.0.1:8080');
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`port ${port} is out of range (0 to 65535)`);
  if (m[1] !== undefined) {
    if (isIP(m[1]) !== 6) throw new Error(`"${m[1]}" inside [ ] is not an IPv6 address`);
    return { host: m[1], port };
  }
  const host = m[2] ?? '';
  if (host !== '' && isIP(host) === 0 && !HOST_NAME.test(host)) {
    throw new Error(`"${host}" is not an IPv4 address or host name`);
  }
  return { host, port };
}
