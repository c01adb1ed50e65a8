/**
 * @module portal/static
 * The pages' static files (views/static), read once at start into memory with their
 * content type, a strong ETag and a short content hash for `?v=` cache-busting. Lookups
 * only consult the in-memory map, so a request name can never reach the file system.
 */

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

/** One file ready to send. */
interface StaticAsset {
  readonly body: Buffer;
  /** Content-Type header value. */
  readonly type: string;
  /** Strong ETag, quoted: `"<base64url sha-256>"`. */
  readonly etag: string;
  /** 10 hex characters of the content's SHA-256, for `?v=` in URLs. */
  readonly hash: string;
}

export interface StaticAssets {
  /** The file with this name (`gateway.css`, `sub/x.svg`), or undefined; never touches the disk. */
  get(name: string): StaticAsset | undefined;
  /** Every file name, `/`-separated, relative to the static folder. */
  readonly names: readonly string[];
}

const TYPES: Readonly<Record<string, string>> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Reads every file under `dir` (recursively) into memory. Files with an unknown
 * extension are served as `application/octet-stream`.
 *
 * @example
 * const assets = loadStaticAssets('views/static');
 * const css = assets.get('gateway.css'); // { body, type: 'text/css; charset=utf-8', etag, hash }
 */
export function loadStaticAssets(dir: string): StaticAssets {
  const files = new Map<string, StaticAsset>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const name = relative(dir, path).split(sep).join('/');
    const body = readFileSync(path);
    const digest = createHash('sha256').update(body).digest();
    files.set(
      name,
      Object.freeze({
        body,
        type: TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
        etag: `"${digest.toString('base64url')}"`,
        hash: digest.toString('hex').slice(0, 10),
      }),
    );
  }
  const names = Object.freeze([...files.keys()].sort());
  return Object.freeze({ get: (name: string) => files.get(name), names });
}
