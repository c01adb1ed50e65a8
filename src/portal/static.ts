/**
 * @module portal/static
 * The pages' static files (views/static), read once at start into memory with their
 * content type, a strong ETag and a short content hash for `?v=` cache-busting; text files
 * also compressed once (brotli and gzip, in libuv's thread pool while the rest of the start
 * goes on), for clients that accept it. Lookups only consult the in-memory map, so a request
 * name can never reach the file system.
 */

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { compressInPool, type Coding } from './compress.ts';

/** One file ready to send. */
interface StaticAsset {
  readonly body: Buffer;
  /** Content-Type header value. */
  readonly type: string;
  /** Strong ETag, quoted: `"<base64url sha-256>"`. */
  readonly etag: string;
  /** 10 hex characters of the content's SHA-256, for `?v=` in URLs. */
  readonly hash: string;
  /** The text files' compressed forms, each with its own ETag (another representation, RFC 9110 §8.8.3); absent when no smaller. */
  readonly encoded: Readonly<Partial<Record<Coding, { readonly body: Buffer; readonly etag: string }>>>;
}

export interface StaticAssets {
  /** The file with this name (`gateway.css`, `sub/x.svg`), or undefined; never touches the disk. */
  get(name: string): StaticAsset | undefined;
  /** Every file name, `/`-separated, relative to the static folder. */
  readonly names: readonly string[];
}

/** Types worth compressing: text. */
const TEXT = /^(text\/|image\/svg\+xml)/;

const TYPES: Readonly<Record<string, string>> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Reads every file under `dir` (recursively) into memory and compresses the text files.
 * Files with an unknown extension are served as `application/octet-stream`.
 *
 * @example
 * const assets = await loadStaticAssets('views/static');
 * const css = assets.get('gateway.css'); // { body, type: 'text/css; charset=utf-8', etag, hash, encoded: { br, gzip } }
 */
export async function loadStaticAssets(dir: string): Promise<StaticAssets> {
  const files = new Map<string, StaticAsset>();
  const compressing: Promise<void>[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const name = relative(dir, path).split(sep).join('/');
    const body = readFileSync(path);
    const digest = createHash('sha256').update(body).digest();
    const type = TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
    const tag = digest.toString('base64url');
    const encoded: Partial<Record<Coding, { body: Buffer; etag: string }>> = {};
    if (TEXT.test(type)) {
      const codings = (['br', 'gzip'] as const).map(async (coding) => {
        const packed = await compressInPool(body, coding, 'once');
        if (packed.length < body.length) encoded[coding] = Object.freeze({ body: packed, etag: `"${tag}-${coding}"` });
      });
      compressing.push(Promise.all(codings).then(() => void Object.freeze(encoded)));
    } else Object.freeze(encoded);
    files.set(name, Object.freeze({ body, type, etag: `"${tag}"`, hash: digest.toString('hex').slice(0, 10), encoded }));
  }
  await Promise.all(compressing);
  const names = Object.freeze([...files.keys()].sort());
  return Object.freeze({ get: (name: string) => files.get(name), names });
}
