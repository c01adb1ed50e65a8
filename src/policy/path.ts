/**
 * @module policy/path
 * The one path normalization of the gateway. Rules match the path this returns, and the
 * upstream receives exactly that path, so no spelling of a URL (`/public/%2e%2e/admin`,
 * `//admin`, `/public\..\admin`) can meet one rule here and reach another resource there.
 * What cannot be normalized without guessing how the app would read it is refused (400).
 */

export type NormalizedPath = { ok: true; path: string; query: string } | { ok: false; reason: string };

const HEX = '0123456789ABCDEF';

/**
 * Normalizes a raw request target (`req.url`).
 *
 * Accepts origin-form (`/a/b?x=1`) and absolute-form (`http://host/a?x=1`, RFC 9112
 * §3.2.2; the authority is not looked at here). `query` is everything from the first `?`,
 * untouched, or `''`; it never takes part in path matching. The path is normalized as
 * RFC 3986 §6.2.2 describes, with these refusals:
 *
 * - percent escapes of unreserved characters (`ALPHA DIGIT - . _ ~`) are decoded, all
 *   other escapes get uppercase hex (§6.2.2.1, §6.2.2.2);
 * - refused: `%2F` (an app may decode it into a separator after the policy looked),
 *   `\` raw or as `%5C` (Windows servers read it as `/`), NUL and every other control
 *   character raw or escaped, a raw space, `#`, raw non-ASCII, escapes that are not two
 *   hex digits, escaped bytes that are not well-formed UTF-8 (RFC 3629 §4: no overlong
 *   forms such as `%C0%AE`, no surrogates), and dot segments carrying a `;` parameter
 *   (`..;`, which Java servlet containers read as `..`);
 * - dot segments are removed (RFC 3986 §5.2.4), including those spelled `%2e`; `..`
 *   above the root stays at the root;
 * - runs of `/` collapse into one.
 *
 * Asterisk-form (`*`), authority-form and anything else not starting with `/` or
 * `http(s)://` is refused. A clean target (no `%`, `\`, `#`, control or non-ASCII
 * character, `/.` or `//` in the path) is returned as it is, without copying.
 *
 * @example
 *   normalizePath('/public/%2E%2E/admin?x=1')  // { ok: true, path: '/admin', query: '?x=1' }
 *   normalizePath('/%7Euser/a%2fb')             // { ok: false, reason: 'encoded slash (%2F) in the path' }
 */
export function normalizePath(target: string): NormalizedPath {
  let start = 0;
  if (target.charCodeAt(0) !== 0x2f /* / */) {
    const found = absoluteFormPathStart(target);
    if (typeof found === 'string') return { ok: false, reason: found };
    start = found;
  }
  const n = target.length;
  let end = start;
  let clean = true;
  let prev = 0;
  for (; end < n; end++) {
    const c = target.charCodeAt(end);
    if (c === 0x3f /* ? */) break;
    if (c === 0x25 || c === 0x5c || c <= 0x20 || c >= 0x7f || c === 0x23 || (prev === 0x2f && (c === 0x2e || c === 0x2f))) clean = false;
    prev = c;
  }
  const query = end === n ? '' : target.slice(end);
  // Absolute-form with no path (`http://host` or `http://host?x`) means `/` (RFC 9112 §3.2.2).
  if (start === end) return { ok: true, path: '/', query };
  if (clean) return { ok: true, path: start === 0 && end === n ? target : target.slice(start, end), query };
  const decoded = decodeAndCheck(target, start, end);
  if (!decoded.ok) return decoded;
  const path = removeDotSegments(decoded.path);
  if (path === null) return { ok: false, reason: 'a dot segment with a ";" parameter in the path' };
  return { ok: true, path, query };
}

/** Where the path of an `http://` or `https://` target begins, or why the target is refused. */
function absoluteFormPathStart(target: string): number | string {
  if (target === '') return 'empty request target';
  if (target === '*') return 'asterisk-form request target';
  const lower = target.slice(0, 8).toLowerCase();
  const authorityStart = lower.startsWith('http://') ? 7 : lower.startsWith('https://') ? 8 : -1;
  if (authorityStart === -1) return 'request target is neither a path nor an http(s) URL';
  let i = authorityStart;
  for (; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x2f || c === 0x3f) break;
    // Userinfo is deprecated in http URIs (RFC 9110 §4.2.4) and a classic way to confuse a reader.
    if (c === 0x40 /* @ */ || c === 0x5c || c === 0x23 || c <= 0x20 || c >= 0x7f) return 'malformed authority in an absolute-form request target';
  }
  if (i === authorityStart) return 'absolute-form request target without a host';
  return i;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function isUnreserved(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e
  );
}

/** The byte of the escape at `i` (`%XY`), or -1 when it is not one. */
function escapedByte(s: string, i: number, end: number): number {
  if (i + 3 > end || s.charCodeAt(i) !== 0x25) return -1;
  const high = hexValue(s.charCodeAt(i + 1));
  const low = hexValue(s.charCodeAt(i + 2));
  return high === -1 || low === -1 ? -1 : high * 16 + low;
}

/** Decodes unreserved escapes, uppercases the others and refuses what the module doc lists. */
function decodeAndCheck(s: string, start: number, end: number): { ok: true; path: string } | { ok: false; reason: string } {
  let out = '';
  let run = start;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const b = escapedByte(s, i, end);
      if (b === -1) return { ok: false, reason: 'invalid percent escape in the path' };
      out += s.slice(run, i);
      if (b < 0x80) {
        if (b === 0x00) return { ok: false, reason: 'NUL (%00) in the path' };
        if (b < 0x20 || b === 0x7f) return { ok: false, reason: 'encoded control character in the path' };
        if (b === 0x2f) return { ok: false, reason: 'encoded slash (%2F) in the path' };
        if (b === 0x5c) return { ok: false, reason: 'encoded backslash (%5C) in the path' };
        out += isUnreserved(b) ? String.fromCharCode(b) : '%' + HEX[b >> 4] + HEX[b & 15];
        i += 2;
      } else {
        const length = utf8SequenceLength(s, i, end);
        if (length === 0) return { ok: false, reason: 'percent-encoded bytes in the path are not valid UTF-8' };
        for (let k = 0; k < length; k++) {
          const byte = escapedByte(s, i + 3 * k, end);
          out += '%' + HEX[byte >> 4] + HEX[byte & 15];
        }
        i += 3 * length - 1;
      }
      run = i + 1;
      continue;
    }
    if (c === 0x5c) return { ok: false, reason: 'backslash in the path' };
    if (c === 0x00) return { ok: false, reason: 'NUL in the path' };
    if (c < 0x20 || c === 0x7f) return { ok: false, reason: 'control character in the path' };
    if (c === 0x20) return { ok: false, reason: 'raw space in the path' };
    if (c === 0x23) return { ok: false, reason: 'fragment (#) in the request target' };
    if (c > 0x7f) return { ok: false, reason: 'raw non-ASCII character in the path' };
  }
  return { ok: true, path: out + s.slice(run, end) };
}

/**
 * How many escaped bytes starting at `i` form one well-formed UTF-8 character, or 0.
 * Byte ranges from RFC 3629 §4, which rule out overlong forms, surrogates and code
 * points above U+10FFFF.
 */
function utf8SequenceLength(s: string, i: number, end: number): number {
  const lead = escapedByte(s, i, end);
  let length: number;
  let min = 0x80;
  let max = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) min = 0xa0;
    else if (lead === 0xed) max = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) min = 0x90;
    else if (lead === 0xf4) max = 0x8f;
  } else return 0;
  for (let k = 1; k < length; k++) {
    const byte = escapedByte(s, i + 3 * k, end);
    if (byte < (k === 1 ? min : 0x80) || byte > (k === 1 ? max : 0xbf)) return 0;
  }
  return length;
}

/**
 * RFC 3986 §5.2.4 on a decoded path that starts with `/`, with empty segments dropped
 * (`//` collapses). A last segment that is empty, `.` or `..` leaves a trailing slash,
 * as the RFC's algorithm does. Returns null for a dot segment with a `;` parameter.
 */
function removeDotSegments(path: string): string | null {
  if (!path.includes('/.') && !path.includes('//')) return path;
  const segments = path.split('/');
  const out: string[] = [];
  const last = segments.length - 1;
  let trailingSlash = false;
  for (let i = 1; i <= last; i++) {
    const segment = segments[i]!;
    trailingSlash = i === last;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      out.pop();
      continue;
    }
    if (segment.charCodeAt(0) === 0x2e && (segment.startsWith('.;') || segment.startsWith('..;'))) return null;
    trailingSlash = false;
    out.push(segment);
  }
  if (out.length === 0) return '/';
  return '/' + out.join('/') + (trailingSlash ? '/' : '');
}
