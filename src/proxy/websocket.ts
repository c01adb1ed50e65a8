/**
 * @module proxy/websocket
 * Forwards WebSocket upgrades (RFC 6455 §4) to the upstream app with http-proxy-3 and
 * remembers which user and which session own each upgraded connection, so that every way
 * a session ends cuts its live sockets too: a WebSocket never sends another HTTP request on
 * which the revocation check could run. Revocations and blocks close by user, a sign-out by
 * session id, and the idle and absolute timeouts by a sweep on the injected clock.
 */

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyServer } from 'http-proxy-3';
import type { HeaderList } from './headers.ts';
import { userKey } from '../store/types.ts';

export interface WebSocketForwarderOptions {
  /** Time to open the TCP connection to the upstream before answering 502. */
  connectTimeoutMs: number;
  /** Epoch milliseconds (the gateway's injected clock), compared with each socket's `expiresAt`. */
  clock?: () => number;
  /** How often sockets past their session's expiry are looked for (default 250 ms). */
  sweepMs?: number;
}

/** Who a forwarded connection belongs to; null on `bypass` routes (no identity forwarded). */
export interface SocketOwner {
  user: string;
  /** The session id (`SessionData.sid`); absent for HTTP Basic (app password) connections. */
  sessionId?: string;
  /** When the session stops working (idle or absolute timeout); the socket is closed then. */
  expiresAt?: number;
}

export interface WebSocketForwarder {
  /**
   * Forwards one upgrade request (from the server's `upgrade` event) to `target` +
   * `pathAndQuery` (joined as in `Forwarder.web`) with `headers` from
   * `upstreamRequestHeaders`; the `Connection: upgrade` and `Upgrade: websocket` pair
   * that hygiene removed is added back here. After the upstream's `101`, bytes flow
   * both ways untouched.
   *
   * - Not a `GET` with `Upgrade: websocket`: answers `400 Bad Request` and closes.
   * - Upstream refused, unreachable or not connected within `connectTimeoutMs`:
   *   answers `502 Bad Gateway` on the raw socket and closes it. Failures after the
   *   handshake close both sockets. Nothing here throws or crashes the process.
   * - `owner` (`null` on `bypass` routes) is what `closeUser`, `closeSession` and the expiry sweep match.
   *
   * Replaces `req.headers` and `req.url` with the forwarded ones (http-proxy-3 reads
   * them from there). The target's own query, if any, is ignored.
   */
  ws(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: URL,
    pathAndQuery: string,
    headers: HeaderList,
    owner: SocketOwner | null,
  ): void;
  /**
   * Closes every open forwarded connection of `user`, in any letter case (handshakes in progress included)
   * at the TCP level and returns how many. No close frame is sent: the upstream may be
   * mid-frame on that socket, and an injected frame would corrupt the stream.
   */
  closeUser(user: string): number;
  /** Closes every open connection opened with session `sessionId` (ended by sign-out); returns how many. */
  closeSession(sessionId: string): number;
  /**
   * Moves the expiry of the connections of session `sessionId` to `expiresAt` when later: a
   * request of that session refreshed its idle clock (on this instance).
   */
  extendSession(sessionId: string, expiresAt: number): void;
  /** Closes every connection whose session has expired by now; returns how many (the timer calls it too). */
  sweep(): number;
  /** Closes every open forwarded connection. */
  close(): Promise<void>;
}

const BAD_GATEWAY = 'HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nBad Gateway\n';
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nBad Request\n';

/**
 * @example
 * const websockets = createWebSocketForwarder({ connectTimeoutMs: 5000 });
 * server.on('upgrade', (req, socket, head) =>
 *   websockets.ws(req, socket, head, upstream, '/live', upstreamRequestHeaders(req.rawHeaders, ctx), { user: 'jdoe', sessionId, expiresAt
 * }));
 * blockList.onBlock((user) => websockets.closeUser(user));
 */
export function createWebSocketForwarder(opts: WebSocketForwarderOptions): WebSocketForwarder {
  // `toProxy` makes http-proxy-3 append `req.url` verbatim instead of re-parsing it as a
  // URL (which would resolve `%2e%2e` and `\\`): the app gets exactly the path the policy saw.
  // http-proxy-3 is loaded by the first upgrade rather than at every start.
  let proxy: Promise<ProxyServer> | undefined;
  const proxyServer = (): Promise<ProxyServer> =>
    (proxy ??= import('http-proxy-3').then(({ createProxyServer }) => {
      const server = createProxyServer({ connectTimeout: opts.connectTimeoutMs, toProxy: true, xfwd: false });
      // Client-socket errors arrive here (upstream errors go to the per-call callback);
      // without a listener http-proxy-3 rethrows them.
      server.on('error', (_err, _req, socket) => {
        (socket as Duplex).destroy();
      });
      return server;
    }));
  const clock = opts.clock ?? Date.now;
  /** Every open connection -> its owner's session (id and expiry), if it has one. */
  const open = new Map<Duplex, { sessionId: string | undefined; expiresAt: number }>();
  const byUser = new Map<string, Set<Duplex>>();
  const bySession = new Map<string, Set<Duplex>>();

  const fileUnder = (index: Map<string, Set<Duplex>>, key: string, socket: Duplex): void => {
    let mine = index.get(key);
    if (mine === undefined) index.set(key, (mine = new Set()));
    mine.add(socket);
    socket.once('close', () => {
      mine.delete(socket);
      if (mine.size === 0 && index.get(key) === mine) index.delete(key);
    });
  };

  const track = (socket: Duplex, owner: SocketOwner | null): void => {
    open.set(socket, { sessionId: owner?.sessionId, expiresAt: owner?.expiresAt ?? Infinity });
    socket.once('close', () => open.delete(socket));
    if (owner === null) return;
    // Filed under the user key, so closing works whatever spelling the caller has.
    fileUnder(byUser, userKey(owner.user), socket);
    if (owner.sessionId !== undefined) fileUnder(bySession, owner.sessionId, socket);
  };

  const closeAll = (index: Map<string, Set<Duplex>>, key: string): number => {
    const mine = index.get(key);
    if (mine === undefined) return 0;
    index.delete(key);
    const n = mine.size;
    for (const s of [...mine]) s.destroy();
    return n;
  };

  const sweep = (): number => {
    const now = clock();
    let n = 0;
    for (const [socket, session] of open) {
      if (session.expiresAt > now) continue;
      socket.destroy();
      n++;
    }
    return n;
  };
  const timer = setInterval(sweep, opts.sweepMs ?? 250);
  timer.unref();

  return {
    ws(req, socket, head, target, pathAndQuery, headers, owner) {
      // A raw upgraded socket has no error listener yet; an early reset must not crash.
      socket.on('error', () => socket.destroy());
      if (req.method !== 'GET' || !isWebSocketUpgrade(req.headers.upgrade)) {
        socket.end(BAD_REQUEST);
        return;
      }
      const written = bytesWritten(socket);
      req.headers = toHeaderObject(headers);
      req.url = pathAndQuery;
      track(socket, owner);
      const origin = target.search === '' ? target : new URL(target.origin + target.pathname);
      const failed = () => {
        // Only before anything reached the client may it still get an HTTP answer;
        // after the 101 the byte stream belongs to the WebSocket.
        if (!socket.destroyed && bytesWritten(socket) === written) socket.end(BAD_GATEWAY);
        else socket.destroy();
      };
      proxyServer().then((server) => {
        if (!socket.destroyed) server.ws(req, socket, head, { target: origin }, failed);
      }, failed);
    },
    closeUser: (name) => closeAll(byUser, userKey(name)),
    closeSession: (sessionId) => closeAll(bySession, sessionId),
    extendSession(sessionId, expiresAt) {
      const mine = bySession.get(sessionId);
      if (mine === undefined) return;
      for (const s of mine) {
        const session = open.get(s);
        if (session !== undefined && session.expiresAt < expiresAt) session.expiresAt = expiresAt;
      }
    },
    sweep,
    async close() {
      clearInterval(timer);
      for (const s of open.keys()) s.destroy();
      open.clear();
      byUser.clear();
      bySession.clear();
    },
  };
}

/** `Upgrade` may list several protocols (RFC 9110 §7.8); one of them must be `websocket`. */
function isWebSocketUpgrade(value: string | undefined): boolean {
  if (value === undefined) return false;
  for (const p of value.split(',')) if (p.trim().toLowerCase() === 'websocket') return true;
  return false;
}

function bytesWritten(socket: Duplex): number {
  return (socket as { bytesWritten?: number }).bytesWritten ?? 0;
}

/** The flat list as the object http-proxy-3 copies into `http.request`, plus the handshake pair. */
function toHeaderObject(list: HeaderList): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (let i = 0; i < list.length; i += 2) {
    const key = (list[i] as string).toLowerCase();
    const value = list[i + 1] as string;
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  out.connection = 'upgrade';
  out.upgrade = 'websocket';
  return out;
}
