/**
 * @module proxy/headers
 * Header hygiene between the client, the gateway and the upstream app, in one place
 * (style habit 10). Requests: first remove what must not pass (hop-by-hop fields,
 * fields the client's `Connection` names, identity and forwarding fields the client
 * made up, fields that override the path, method, host or client address the app sees,
 * the gateway's own cookies), only then add the gateway's own. Because the additions
 * come last, nothing a client sends can remove or replace them.
 * Responses: remove the upstream's hop-by-hop fields, and the app's attempts to set the
 * gateway's cookies; keep the gateway's renewed session cookie beside the app's own.
 */

/** The signed-in user the upstream app is told about. */
export interface Identity {
  user: string;
  groups: readonly string[];
  email?: string;
  name?: string;
}

/** What the gateway knows about one allowed request, beyond the client's headers. */
export interface ForwardContext {
  /** The client address as resolved by `client-ip` (socket, or trusted proxy headers). */
  clientIp: string;
  /** The scheme the client used to reach the gateway. */
  proto: 'http' | 'https';
  /** The Host the client sent (the one the policy matched), forwarded as is. Empty: no Host is sent. */
  host: string;
  /** `null` on `bypass` routes: no identity headers at all then. */
  identity: Identity | null;
  /** Cookie names removed from `Cookie` (the gateway's session and remember-device cookies). */
  stripCookies: readonly string[];
  /**
   * `identity.jwt`: the header (lower case) that carries the signed assertion, removed from
   * what the client sent, and the assertion to add (null: none, e.g. on bypass rules).
   */
  assertion?: { header: string; value: string | null };
}

/**
 * A flat header list `[name, value, name, value, ...]`: the shape of Node's
 * `req.rawHeaders` and one that undici's `dispatch` takes as is, so the hot path
 * never converts between forms. Order and the client's spelling of names are kept.
 */
export type HeaderList = string[];

/** Response headers as undici parses them (lower-case names; repeated fields as arrays). */
export type ResponseHeaderMap = Record<string, string | string[] | undefined>;

/** RFC 9110 §7.6.1 (plus the legacy `Proxy-Connection`); never forwarded either way. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Request fields the gateway alone sets. `host` is re-added from `ctx.host` (the value
 * the policy saw; a duplicate could otherwise disagree with it). `expect` is dropped
 * because Node's server already answered `100-continue` to the client itself
 * (RFC 9110 §10.1.1 lets the proxy do so); forwarding it would ask the app for a
 * second interim response the gateway cannot use.
 */
const GATEWAY_SET: ReadonlySet<string> = new Set([
  'remote-user',
  'remote-groups',
  'remote-email',
  'remote-name',
  // `identity.jwt`'s default header, dropped even while the feature is off: an app told to
  // trust it must never receive one that a client wrote.
  'x-gateway-assertion',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'x-real-ip',
  'host',
  'expect',
]);

/**
 * Request fields that make an app, its framework or a server in front of it read another
 * path, method, host, scheme or client address than the one the policy judged (issue 10,
 * item 6). The gateway never sets them and no client may: the policy decided on the
 * request line, Host and socket address, and the app must act on exactly those.
 * - path: IIS URL Rewrite and Symfony read `X-Original-URL` / `X-Rewrite-URL`; Traefik,
 *   Caddy and Spring read `X-Forwarded-Uri`, `-Path` and `-Prefix`; nginx setups pass
 *   `X-Original-URI`; Envoy `X-Envoy-Original-Path`;
 * - method: `X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override` (Rails, Express
 *   method-override, OData, Google APIs), `X-Original-Method`, `X-Forwarded-Method`;
 * - host, scheme, port: `X-Original-Host`, `X-Host`, `X-Forwarded-Server`,
 *   `X-Forwarded-Port`, `X-Forwarded-Scheme`, `X-Forwarded-Ssl`, `X-Url-Scheme`,
 *   `Front-End-Https` (the gateway sends its own `X-Forwarded-Proto` and `-Host`);
 * - client address: `X-Client-IP`, `True-Client-IP`, `X-Cluster-Client-IP` (the gateway
 *   sends the resolved address in `X-Forwarded-For`);
 * - `X-Middleware-Subrequest`, which makes Next.js skip its middleware (CVE-2025-29927).
 */
const CLIENT_OVERRIDES: ReadonlySet<string> = new Set([
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
  'x-forwarded-uri',
  'x-forwarded-path',
  'x-forwarded-prefix',
  'x-envoy-original-path',
  'x-original-method',
  'x-forwarded-method',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-host',
  'x-host',
  'x-forwarded-server',
  'x-forwarded-port',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-url-scheme',
  'front-end-https',
  'x-client-ip',
  'true-client-ip',
  'x-cluster-client-ip',
  'x-middleware-subrequest',
]);

/**
 * Builds the request headers for the upstream app from the client's `req.rawHeaders`.
 *
 * Removed, in this order:
 * 1. hop-by-hop fields (`Connection`, `Keep-Alive`, `Proxy-Connection`,
 *    `Proxy-Authorization`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`);
 * 2. every field named in the client's `Connection` field(s) (RFC 9110 §7.6.1);
 * 3. `Remote-User`, `Remote-Groups`, `Remote-Email`, `Remote-Name`, `X-Forwarded-For`,
 *    `X-Forwarded-Proto`, `X-Forwarded-Host`, `Forwarded`, `X-Real-IP`, `Host` and
 *    `Expect` as the client sent them, and every override field of `CLIENT_OVERRIDES`
 *    (`X-Original-URL`, `X-HTTP-Method-Override`, `X-Forwarded-Uri`, ...).
 * Names compare case-insensitively and with `_` read as `-` in every step, since CGI,
 * PHP and some servers map `Remote_User` onto the same variable as `Remote-User`.
 *    Also `X-Gateway-Assertion` and the header `ctx.assertion` names (`identity.jwt`).
 * 4. the cookies named in `ctx.stripCookies` from `Cookie`; the others stay, joined
 *    into a single `Cookie` field (RFC 6265 §5.4) when the client sent several.
 *
 * Then added: `Host: <ctx.host>` first (RFC 9112 §3.2), and at the end
 * `X-Forwarded-For: <ctx.clientIp>`, `X-Forwarded-Proto`, `X-Forwarded-Host` and, with
 * an identity, `Remote-User`, `Remote-Groups` (comma-separated, empty when the user
 * has none), `Remote-Email` and `Remote-Name` (each only when known).
 *
 * Identity values are made valid field values with {@link encodeHeaderValue}: printable
 * ASCII passes unchanged, everything else (non-ASCII, control characters, `%`) is
 * percent-encoded UTF-8, so `Jürgen Müller` arrives as `J%C3%BCrgen M%C3%BCller` and an
 * app decodes it with `decodeURIComponent`. In `Remote-Groups` a `,` inside a group
 * name is encoded too (`%2C`), so splitting on `,` is always safe.
 *
 * A WebSocket upgrade uses the same list; `websocket.ts` adds back the
 * `Connection: upgrade` and `Upgrade: websocket` pair the handshake needs.
 *
 * @example
 * upstreamRequestHeaders(req.rawHeaders, {
 *   clientIp: '10.0.0.7', proto: 'https', host: req.headers.host ?? '',
 *   identity: { user: 'jdoe', groups: ['dev', 'ops'] }, stripCookies: ['gw_session'],
 * });
 * // ['Host', 'app.example', 'Accept', '*\/*', ..., 'X-Forwarded-For', '10.0.0.7', ...,
 * //  'Remote-User', 'jdoe', 'Remote-Groups', 'dev,ops']
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], ctx: ForwardContext): HeaderList {
  const named = connectionNamed(rawHeaders);
  const out: HeaderList = ctx.host === '' ? [] : ['Host', ctx.host];
  let cookie: string | undefined;
  const assertionHeader = ctx.assertion?.header;

  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    const kind = kindOf(name);
    if (kind === DROP || named?.has(normalizeName(name))) continue;
    if (assertionHeader !== undefined && name.length === assertionHeader.length && normalizeName(name) === assertionHeader) continue;
    if (kind === COOKIE) {
      const kept = ctx.stripCookies.length === 0 ? value : stripCookies(value, ctx.stripCookies);
      if (kept !== '') cookie = cookie === undefined ? kept : `${cookie}; ${kept}`;
      continue;
    }
    out.push(name, value);
  }

  if (cookie !== undefined) out.push('Cookie', cookie);
  out.push('X-Forwarded-For', ctx.clientIp, 'X-Forwarded-Proto', ctx.proto);
  if (ctx.host !== '') out.push('X-Forwarded-Host', ctx.host);

  if (ctx.identity !== null) pushIdentityHeaders(out, ctx.identity);
  if (ctx.assertion?.value) out.push(ctx.assertion.header, ctx.assertion.value);
  return out;
}

/**
 * Appends `Remote-User`, `Remote-Groups`, and when known `Remote-Email` and `Remote-Name`
 * to a flat header list, encoded as `encodeHeaderValue` says. The forward-auth endpoint
 * answers with the same headers.
 */
export function pushIdentityHeaders(out: HeaderList, id: Identity): void {
  let lines = identityLines.get(id);
  if (lines === undefined) {
    lines = ['Remote-User', encodeHeaderValue(id.user), 'Remote-Groups', encodeGroups(id.groups)];
    if (id.email !== undefined && id.email !== '') lines.push('Remote-Email', encodeHeaderValue(id.email));
    if (id.name !== undefined && id.name !== '') lines.push('Remote-Name', encodeHeaderValue(id.name));
    // A frozen identity (the session layer keeps one per user record) cannot change: its lines are kept for its next requests.
    if (Object.isFrozen(id) && Object.isFrozen(id.groups)) identityLines.set(id, lines);
  }
  for (let i = 0; i < lines.length; i++) out.push(lines[i]!);
}

/** The encoded identity lines of each frozen identity (see {@link pushIdentityHeaders}). */
const identityLines = new WeakMap<Identity, string[]>();

/** The gateway's side of a forwarded response's cookies. */
export interface ResponseCookies {
  /** What the gateway already set on the response (`res.getHeader('set-cookie')`): the renewed session. */
  setCookie: string | string[] | number | undefined;
  /** Names of the gateway's cookies, which the app may not set, overwrite or delete. */
  gatewayCookies: readonly string[];
}

/**
 * Removes hop-by-hop fields and those named in the upstream's own `Connection` from a
 * response (RFC 9110 §7.6.1). The result goes to `res.writeHead`; Node then adds its
 * own `Connection`/`Keep-Alive` and, for bodies without `Content-Length`, its own
 * chunked framing for the client connection.
 *
 * With `cookies`, `Set-Cookie` becomes the gateway's own values first, then the app's,
 * without those naming a gateway cookie. `writeHead` replaces what `setHeader` set
 * before, so without this the app's cookies would silently drop the renewed session
 * cookie (issue 10, item 7). Names compare ignoring case (browsers match the `__Host-`
 * and `__Secure-` prefixes so), and a nameless cookie (`=gw_session=x`, which browsers
 * send back as `gw_session=x`) counts under the name its value starts with.
 *
 * @example
 * responseHeaders({ 'set-cookie': ['app=1', 'gw_session=forged'] },
 *   { setCookie: 'gw_session=renewed; Path=/', gatewayCookies: ['gw_session'] })
 * // { 'set-cookie': ['gw_session=renewed; Path=/', 'app=1'] }
 */
export function responseHeaders(headers: ResponseHeaderMap, cookies?: ResponseCookies): ResponseHeaderMap {
  const connection = headers.connection;
  const named = connection === undefined ? null : connectionTokens(connection, null);
  const out: ResponseHeaderMap = {};
  for (const key in headers) {
    // undici already lower-cases response names; `_` reads as `-` as in requests.
    if (HOP_BY_HOP.has(key) || named?.has(normalizeName(key))) continue;
    out[key] = headers[key];
  }
  if (cookies !== undefined) mergeSetCookie(out, cookies);
  return out;
}

function mergeSetCookie(out: ResponseHeaderMap, cookies: ResponseCookies): void {
  const merged: string[] = [];
  const own = cookies.setCookie;
  if (own !== undefined) for (const value of Array.isArray(own) ? own : [String(own)]) merged.push(value);
  const app = out['set-cookie'];
  if (app !== undefined) {
    for (const value of Array.isArray(app) ? app : [app]) if (!namesGatewayCookie(value, cookies.gatewayCookies)) merged.push(value);
  }
  if (merged.length === 0) delete out['set-cookie'];
  else out['set-cookie'] = merged;
}

/** Whether a `Set-Cookie` value sets the cookie a browser would send back under one of `names`. */
function namesGatewayCookie(setCookie: string, names: readonly string[]): boolean {
  if (names.length === 0) return false;
  const semi = setCookie.indexOf(';');
  const pair = semi === -1 ? setCookie : setCookie.slice(0, semi);
  const eq = pair.indexOf('=');
  let name = eq === -1 ? '' : pair.slice(0, eq).trim();
  if (name === '') {
    // RFC 6265bis §5.7: no `=`, or nothing before it, is a nameless cookie sent back as its bare value.
    const value = (eq === -1 ? pair : pair.slice(eq + 1)).trim();
    const inner = value.indexOf('=');
    name = (inner === -1 ? value : value.slice(0, inner)).trim();
  }
  const lower = name.toLowerCase();
  for (const n of names) if (n.length === lower.length && n.toLowerCase() === lower) return true;
  return false;
}

/**
 * Makes any string a valid, lossless header field value (RFC 9110 §5.5): printable
 * ASCII except `%` passes unchanged; every other character (non-ASCII, CR, LF, NUL,
 * TAB and other controls, and `%` itself) becomes its percent-encoded UTF-8 bytes.
 * `decodeURIComponent` restores the original. Lone surrogates become U+FFFD first.
 *
 * @example encodeHeaderValue('Jürgen Müller') === 'J%C3%BCrgen M%C3%BCller'
 * @example encodeHeaderValue('a\r\nX-Evil: 1') === 'a%0D%0AX-Evil: 1'
 */
export function encodeHeaderValue(value: string): string {
  if (SAFE_VALUE.test(value)) return value;
  let encoded = encodedValues.get(value);
  if (encoded === undefined) {
    encoded = value.toWellFormed().replace(UNSAFE_VALUE, encodeURIComponent);
    if (encodedValues.size >= ENCODED_MAX) encodedValues.clear();
    encodedValues.set(value, encoded);
  }
  return encoded;
}

/** The same few names are encoded on every request of a session; remember the results. */
const encodedValues = new Map<string, string>();
const ENCODED_MAX = 1024;

const SAFE_VALUE = /^[\x20-\x24\x26-\x7e]*$/;
const UNSAFE_VALUE = /[^\x20-\x24\x26-\x7e]+/g;
const UNSAFE_LIST_ITEM = /[^\x20-\x24\x26-\x2b\x2d-\x7e]+/g;

function encodeGroups(groups: readonly string[]): string {
  let out = '';
  for (let i = 0; i < groups.length; i++) {
    const g = (groups[i] as string).toWellFormed().replace(UNSAFE_LIST_ITEM, encodeURIComponent);
    out = i === 0 ? g : `${out},${g}`;
  }
  return out;
}

const KEEP = 0;
const DROP = 1;
const COOKIE = 2;
/**
 * Request field names as clients spell them (`User-Agent`, `user-agent`, ...) to what
 * happens to them. Clients use a few dozen spellings, so this skips lower-casing every
 * name of every request; the bound keeps made-up names from growing it without end.
 */
const kinds = new Map<string, number>();
const KINDS_MAX = 2048;

function kindOf(name: string): number {
  let kind = kinds.get(name);
  if (kind === undefined) {
    const key = normalizeName(name);
    kind = HOP_BY_HOP.has(key) || GATEWAY_SET.has(key) || CLIENT_OVERRIDES.has(key) ? DROP : key === 'cookie' ? COOKIE : KEEP;
    if (kinds.size < KINDS_MAX) kinds.set(name, kind);
  }
  return kind;
}

/** Lower case with `_` as `-`; returns the input itself when it already is (the common case). */
function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes('_') ? lower.replaceAll('_', '-') : lower;
}

/**
 * The field names listed in the client's `Connection` field(s), or `null` when they
 * name nothing beyond the hop-by-hop fields already removed (`keep-alive`, `close`,
 * `upgrade`: every browser request), so the usual request allocates no set.
 */
function connectionNamed(rawHeaders: readonly string[]): Set<string> | null {
  let named: Set<string> | null = null;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      named = connectionTokens(rawHeaders[i + 1] as string, named);
    }
  }
  return named;
}

function connectionTokens(value: string | string[], into: Set<string> | null): Set<string> | null {
  if (Array.isArray(value)) {
    for (const v of value) into = connectionTokens(v, into);
    return into;
  }
  const lower = value.toLowerCase();
  if (lower === 'keep-alive' || lower === 'close' || lower === 'upgrade') return into;
  for (const token of lower.split(',')) {
    const key = token.trim().replaceAll('_', '-');
    if (key === '' || key === 'close' || HOP_BY_HOP.has(key)) continue;
    (into ??= new Set()).add(key);
  }
  return into;
}

/**
 * Removes the named cookies from one `Cookie` value (`a=1; b=2`), keeping the rest in
 * order. Names compare exactly (RFC 6265 §5.4 cookie names are case-sensitive) and only
 * at a pair's start, so `x=gw_session` or `old_gw_session=1` stay. Scans with `indexOf`
 * instead of splitting: the session cookie is in nearly every forwarded request.
 */
function stripCookies(value: string, names: readonly string[]): string {
  let out = value;
  for (const name of names) {
    let from = 0;
    for (;;) {
      const at = out.indexOf(name, from);
      if (at === -1) break;
      let start = at;
      while (start > 0 && isOws(out.charCodeAt(start - 1))) start--;
      let end = at + name.length;
      while (end < out.length && isOws(out.charCodeAt(end))) end++;
      const follows = end === out.length ? SEMICOLON : out.charCodeAt(end);
      if ((start !== 0 && out.charCodeAt(start - 1) !== SEMICOLON) || (follows !== EQUALS && follows !== SEMICOLON)) {
        from = at + 1;
        continue;
      }
      const semi = out.indexOf(';', end);
      if (semi === -1) {
        // The last pair: cut from the `;` before it.
        out = start === 0 ? '' : out.slice(0, start - 1).trimEnd();
        break;
      }
      let next = semi + 1;
      while (next < out.length && isOws(out.charCodeAt(next))) next++;
      out = out.slice(0, at) + out.slice(next);
      from = at;
    }
  }
  return out;
}

const SEMICOLON = 0x3b;
const EQUALS = 0x3d;

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
