/**
 * @module policy/path
 * The one path normalization of the gateway. Rules match the path this returns, and the
 * upstream receives exactly that path, so no spelling of a URL (`/public/%2e%2e/admin`,
 * `//admin`, `/public\..\admin`) can meet one rule here and reach another resource there.
 * What cannot be normalized without guessing how the app would read it is refused (400).
 *
 * Legacy path semantics (issue 10, item 5). Java servlet containers (Tomcat, Jetty,
 * Spring) drop `;params` from every segment, and IIS trims trailing dots and spaces of
 * segments, so `/admin;x/`, `/admin;jsessionid=1/`, `/admin./` and `/admin%20/` are
 * `/admin/` to them while a literal reader sees another name. The gateway decides once:
 * such a path is refused by default (`legacy: 'refuse'`). An upstream that opts in
 * (`legacy_paths: rewrite`) gets the legacy reading instead: the rule is chosen on it and
 * exactly it is forwarded. The legacy reading has no `;` and no trailing dot or space, so
 * every server reads it the same way, and no path is ever forwarded under a rule chosen
 * on another reading. What no reading can settle is refused in both modes: `%3B` (some
 * containers take it for `;`, others not), NTFS stream names (`admin::$DATA`), 8.3 short
 * names (`ADMINI~1`), double-encoded separators or dots (`%252e`), and Unicode look-alikes
 * of ASCII (full-width `．` and `／`, best-fit slashes), which Windows may fold into ASCII.
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
 *   forms such as `%C0%AE`, no surrogates), escaped characters whose compatibility form
 *   (NFKC) holds ASCII or that Windows best-fit maps to a separator (`%EF%BC%8F` `／`,
 *   `%E2%88%95` `∕`, `%C2%A0`), `%25` before an escape of a separator, dot, `;`, `%`, a
 *   control or a non-ASCII byte (`%252e`: double decoding), `%3B`, NTFS stream syntax
 *   (`:` then `$` in a segment), 8.3 short names (`~` then a digit), and segments a
 *   legacy reader turns into nothing or a dot segment (`..;`, `.;x`, `...`, `..%20`);
 * - legacy segments (a `;` parameter, trailing dots or spaces): refused when
 *   `options.legacy` is `'refuse'` (the default); with `'rewrite'` the parameter and the
 *   trailing dots and spaces are removed (`/admin;x/` becomes `/admin/`);
 * - dot segments are removed (RFC 3986 §5.2.4), including those spelled `%2e`; `..`
 *   above the root stays at the root;
 * - runs of `/` collapse into one.
 *
 * Asterisk-form (`*`), authority-form and anything else not starting with `/` or
 * `http(s)://` is refused. A clean target (no `%`, `\`, `#`, `;`, `:`, `~`, control or
 * non-ASCII character, `/.`, `./` or `//` in the path, no trailing `.`) is returned as it
 * is, without copying.
 *
 * @example
 *   normalizePath('/public/%2E%2E/admin?x=1')  // { ok: true, path: '/admin', query: '?x=1' }
 *   normalizePath('/%7Euser/a%2fb')             // { ok: false, reason: 'encoded slash (%2F) in the path' }
 *   normalizePath('/admin;x/')                   // { ok: false, reason: '... Java or IIS servers read it as /admin/' }
 *   normalizePath('/admin;x/', { legacy: 'rewrite' })  // { ok: true, path: '/admin/', query: '' }
 */
export function normalizePath(target: string, options: NormalizeOptions = {}): NormalizedPath {
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
    if (
      c === 0x25 ||
      c === 0x5c ||
      c <= 0x20 ||
      c >= 0x7f ||
      c === 0x23 ||
      c === 0x3b ||
      c === 0x3a ||
      c === 0x7e ||
      (prev === 0x2f && (c === 0x2e || c === 0x2f)) ||
      (prev === 0x2e && c === 0x2f)
    )
      clean = false;
    prev = c;
  }
  if (prev === 0x2e) clean = false;
  const query = end === n ? '' : target.slice(end);
  // Absolute-form with no path (`http://host` or `http://host?x`) means `/` (RFC 9112 §3.2.2).
  if (start === end) return { ok: true, path: '/', query };
  if (clean) return { ok: true, path: start === 0 && end === n ? target : target.slice(start, end), query };
  const decoded = decodeAndCheck(target, start, end);
  if (!decoded.ok) return decoded;
  const read = legacyReading(decoded.path);
  if (!read.ok) return read;
  const path = removeDotSegments(read.path);
  if (read.path !== decoded.path && options.legacy !== 'rewrite') {
    return { ok: false, reason: `a ";" parameter or a trailing dot or space in a path segment; Java or IIS servers read it as ${path}` };
  }
  return { ok: true, path, query };
}

export interface NormalizeOptions {
  /**
   * What to do with a path that Java servlet containers or IIS read differently from its
   * letters (a `;` parameter, trailing dots or spaces in a segment): `'refuse'` (default)
   * or `'rewrite'` it into that reading, which is then matched and forwarded.
   */
  legacy?: 'refuse' | 'rewrite';
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
    if (c === 0x40 /* @ */ || c === 0x5c || c === 0x23 || c <= 0x20 || c >= 0x7f)
      return 'malformed authority in an absolute-form request target';
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

/** The byte spelled by the two hex digits at `i`, or -1. */
function hexPair(s: string, i: number, end: number): number {
  if (i + 2 > end) return -1;
  const high = hexValue(s.charCodeAt(i));
  const low = hexValue(s.charCodeAt(i + 1));
  return high === -1 || low === -1 ? -1 : high * 16 + low;
}

/**
 * `%25` followed by the hex digits of one of these bytes becomes a separator, a dot, a
 * parameter, an escape, a stream or short-name marker, a control or a UTF-8 lead byte to
 * an app that decodes twice (IIS's classic double decoding): refused.
 */
function doubleEncodedSignificant(b: number): boolean {
  if (b === -1) return false;
  return (
    b < 0x20 || b >= 0x7f || b === 0x2f || b === 0x5c || b === 0x2e || b === 0x3b || b === 0x25 || b === 0x3a || b === 0x24 || b === 0x7e
  );
}

/** The code point of the `length` escaped UTF-8 bytes at `i` (already checked well-formed). */
function codePoint(s: string, i: number, length: number): number {
  const lead = escapedByte(s, i, s.length);
  let cp = length === 2 ? lead & 0x1f : length === 3 ? lead & 0x0f : lead & 0x07;
  for (let k = 1; k < length; k++) cp = (cp << 6) | (escapedByte(s, i + 3 * k, s.length) & 0x3f);
  return cp;
}

/**
 * Windows "best fit" maps these to `/`, `\\`, `.` or `:` without an NFKC decomposition
 * (division slash, fraction slash, set minus, big solidi, ideographic full stops, ratio).
 */
const BEST_FIT: ReadonlySet<number> = new Set([0x2215, 0x2044, 0x2216, 0x29f5, 0x29f8, 0x29f9, 0x3002, 0xff61, 0x2236]);

/**
 * A character that stands for ASCII in some reading: its compatibility form holds an
 * ASCII character (full-width `／．；`, `ﬁ`, no-break space, the Kelvin sign), or Windows
 * best-fit maps it to a separator. Ordinary letters of any script (`é`, `ü`, `日`) are not.
 */
function isLookalike(cp: number): boolean {
  if (BEST_FIT.has(cp)) return true;
  const compatible = String.fromCodePoint(cp).normalize('NFKC');
  for (let i = 0; i < compatible.length; i++) if (compatible.charCodeAt(i) < 0x80) return true;
  return false;
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
        if (b === 0x25 && doubleEncodedSignificant(hexPair(s, i + 3, end))) {
          return { ok: false, reason: 'double-encoded separator, dot, ";", "%", control or non-ASCII byte (%25XX) in the path' };
        }
        if (b === 0x3b)
          return { ok: false, reason: 'encoded ";" (%3B) in the path: servlet containers disagree on whether it starts a parameter' };
        out += isUnreserved(b) ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`;
        i += 2;
      } else {
        const length = utf8SequenceLength(s, i, end);
        if (length === 0) return { ok: false, reason: 'percent-encoded bytes in the path are not valid UTF-8' };
        if (isLookalike(codePoint(s, i, length)))
          return { ok: false, reason: 'an encoded Unicode look-alike of an ASCII character in the path' };
        for (let k = 0; k < length; k++) {
          const byte = escapedByte(s, i + 3 * k, end);
          out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
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

/** `ADMINI~1`: an 8.3 short name, which IIS may resolve to a long name no rule names. */
const SHORT_NAME = /~[0-9]/;
/** `name::$DATA`, `name:stream:$DATA`: an NTFS alternate data stream of `name`. */
const STREAM = /:.*\$/;

/**
 * What Java servlet containers and IIS read in a decoded path: each segment without its
 * `;` parameter (Tomcat, Jetty, Spring) and without trailing dots and spaces (IIS). The
 * result is the same path when nothing changes. Refused: segments that no reading can
 * settle (stream names, short names) and segments that become empty or a dot segment
 * (`..;x` is `..` to Tomcat, `..%20` is `..` to IIS).
 */
function legacyReading(path: string): { ok: true; path: string } | { ok: false; reason: string } {
  const segments = path.split('/');
  let changed = false;
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === '' || segment === '.' || segment === '..') continue;
    const plain = segment.includes('%') ? segment.replaceAll('%3A', ':').replaceAll('%24', '$') : segment;
    if (STREAM.test(plain)) return { ok: false, reason: 'NTFS alternate data stream syntax (name::$DATA) in a path segment' };
    if (SHORT_NAME.test(plain)) return { ok: false, reason: '8.3 short-name syntax (~ and a digit) in a path segment' };
    let reduced = segment;
    const semi = reduced.indexOf(';');
    if (semi !== -1) reduced = reduced.slice(0, semi);
    for (;;) {
      if (reduced.endsWith('.')) reduced = reduced.slice(0, -1);
      else if (reduced.endsWith('%20')) reduced = reduced.slice(0, -3);
      else break;
    }
    if (reduced === segment) continue;
    if (reduced === '' || reduced === '.' || reduced === '..') {
      return {
        ok: false,
        reason: `a path segment that Java or IIS servers read as a dot segment or as nothing: ${JSON.stringify(segment)}`,
      };
    }
    segments[i] = reduced;
    changed = true;
  }
  return { ok: true, path: changed ? segments.join('/') : path };
}

/**
 * RFC 3986 §5.2.4 on a decoded path that starts with `/`, with empty segments dropped
 * (`//` collapses). A last segment that is empty, `.` or `..` leaves a trailing slash,
 * as the RFC's algorithm does.
 */
function removeDotSegments(path: string): string {
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
    trailingSlash = false;
    out.push(segment);
  }
  if (out.length === 0) return '/';
  return `/${out.join('/')}${trailingSlash ? '/' : ''}`;
}
