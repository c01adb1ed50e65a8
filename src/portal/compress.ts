/**
 * @module portal/compress
 * Content coding of the gateway's own answers (RFC 9110 §8.4): its pages and static files go
 * out with brotli or gzip when the client's Accept-Encoding (§12.5.3) allows it. Pages are
 * compressed per response, and only from {@link MIN_COMPRESSED_BYTES} on (a smaller page
 * gains nothing); static files once, when they are loaded. What the gateway forwards to or
 * from an app is never touched here.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync, type BrotliOptions, type ZlibOptions } from 'node:zlib';

export type Coding = 'br' | 'gzip';

/** Pages smaller than this go out as they are. */
export const MIN_COMPRESSED_BYTES = 1024;

const CODINGS: readonly Coding[] = ['br', 'gzip'];
const QVALUE = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i;
const MAX_PARTS = 20;

/**
 * The coding to answer with: of brotli and gzip, the one the client rates highest (`q`),
 * brotli on a tie; null when it accepts neither. `*` rates codings it does not name; `q=0`
 * refuses. An absent header accepts only the identity (RFC 9110 §12.5.3).
 *
 * @example pickCoding('gzip, deflate, br, zstd') // 'br'
 */
export function pickCoding(acceptEncoding: string | readonly string[] | undefined): Coding | null {
  if (acceptEncoding === undefined) return null;
  const header = typeof acceptEncoding === 'string' ? acceptEncoding : acceptEncoding.join(',');
  const rated = new Map<string, number>();
  for (const part of header.toLowerCase().split(',', MAX_PARTS)) {
    const [name = '', ...params] = part.split(';').map((p) => p.trim());
    if (name === '' || rated.has(name)) continue;
    let q = 1;
    for (const p of params) {
      const m = QVALUE.exec(p.replace(/\s+/g, ''));
      q = m ? Number(m[1]) : 0;
    }
    rated.set(name, q);
  }
  const star = rated.get('*') ?? 0;
  let best: Coding | null = null;
  let bestQ = 0;
  for (const coding of CODINGS) {
    const q = rated.get(coding) ?? (coding === 'gzip' ? (rated.get('x-gzip') ?? star) : star);
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}

/**
 * `body` in `coding`. `effort` `response` keeps the work per request small (brotli quality 5);
 * `once` spends it on what is compressed a single time and sent often (quality 11).
 */
function compress(body: Buffer | string, coding: Coding, effort: 'response' | 'once'): Buffer {
  if (coding === 'gzip') return gzipSync(body, gzipOptions(effort));
  return brotliCompressSync(body, brotliOptions(body, effort));
}

const gzipInPool = promisify(gzip);
const brotliInPool = promisify(brotliCompress);

/** {@link compress} in libuv's thread pool, leaving the event loop free (the static files at start). */
export function compressInPool(body: Buffer, coding: Coding, effort: 'response' | 'once'): Promise<Buffer> {
  return coding === 'gzip' ? gzipInPool(body, gzipOptions(effort)) : brotliInPool(body, brotliOptions(body, effort));
}

const gzipOptions = (effort: 'response' | 'once'): ZlibOptions => ({ level: effort === 'once' ? 9 : 6 });

function brotliOptions(body: Buffer | string, effort: 'response' | 'once'): BrotliOptions {
  return {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: effort === 'once' ? 11 : 5,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(body),
    },
  };
}

/**
 * A page's body as it goes out for this request: compressed in the best accepted coding when
 * it is at least {@link MIN_COMPRESSED_BYTES} long, with the headers that say so.
 * `Vary: Accept-Encoding` is always set, as the answer depends on it.
 */
export function encodePage(
  body: string,
  acceptEncoding: string | readonly string[] | undefined,
): { payload: Buffer; headers: Record<string, string | number> } {
  const plain = Buffer.from(body, 'utf8');
  const coding = plain.length >= MIN_COMPRESSED_BYTES ? pickCoding(acceptEncoding) : null;
  const payload = coding === null ? plain : compress(plain, coding, 'response');
  return {
    payload,
    headers: { vary: 'accept-encoding', 'content-length': payload.length, ...(coding === null ? {} : { 'content-encoding': coding }) },
  };
}
