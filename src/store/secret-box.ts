/**
 * @module store/secret-box
 * Encrypts second-factor secrets at rest. A stolen database file or backup alone must not
 * yield the TOTP secrets, so every secret is sealed with AES-256-GCM under a key that lives
 * outside the database (the config or a 0600 key file next to the SQLite file).
 *
 * Sealed text format: `v1.<keyid>.<iv>.<tag>.<ciphertext>`, each part base64url. The key id
 * names which key sealed it, so keys can rotate: a new current key seals, previous keys still
 * open, and `Store.rekey()` rewrites old rows until the previous key can be dropped.
 */

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoreConfig } from '../config/types.ts';
import { errors } from '../errors/errors.ts';

const VERSION = 'v1';
const KEY_BYTES = 32;
/** 96-bit IVs are the size GCM is defined for (NIST SP 800-38D section 8.2). */
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface SecretBox {
  /** Key id of the current key, as it appears in sealed text. */
  readonly currentKeyId: string;
  /**
   * Encrypts `plaintext`. `aad` is authenticated but not stored: it binds the ciphertext to its
   * row (e.g. `method:<id>`), so a sealed value copied to another row does not open there.
   */
  seal(plaintext: Buffer, aad: string): string;
  /** Decrypts with the key named in `sealed`; throws on an unknown key, a bad format or any tampering. */
  open(sealed: string, aad: string): Buffer;
  /** The key id a sealed value names, or null when it is not in this format. */
  keyIdOf(sealed: string): string | null;
}

/** A short public name of a key: first 8 base64url characters of SHA-256 over a label and the key. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('mfa-gateway secret-box key id\0').update(key).digest('base64url').slice(0, 8);
}

/**
 * Builds a box that seals with `current` and opens with `current` or any of `previous`.
 * Keys must be 32 bytes.
 */
export function createSecretBox(current: Buffer, previous: readonly Buffer[]): SecretBox {
  const keys = new Map<string, Buffer>();
  for (const key of [current, ...previous]) {
    if (key.length !== KEY_BYTES) throw new Error(`secret box: a key must be ${KEY_BYTES} bytes, got ${key.length}`);
    const id = keyId(key);
    if (!keys.has(id)) keys.set(id, key);
  }
  const currentKeyId = keyId(current);
  const fullAad = (id: string, aad: string) => Buffer.from(`${VERSION}.${id}.${aad}`, 'utf8');

  return {
    currentKeyId,
    seal(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(fullAad(currentKeyId, aad));
      const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, currentKeyId, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join('.');
    },
    open(sealed, aad) {
      const parts = sealed.split('.');
      const [version, id, ivText, tagText, ctText] = parts;
      if (
        parts.length !== 5 ||
        version !== VERSION ||
        id === undefined ||
        ivText === undefined ||
        tagText === undefined ||
        ctText === undefined
      ) {
        throw errors.internal('secret box: not a sealed secret (expected v1.<keyid>.<iv>.<tag>.<ciphertext>)');
      }
      const key = keys.get(id);
      if (key === undefined) {
        throw errors.internal(`secret box: sealed with key ${id}, which is neither the current key nor a previous key`);
      }
      const iv = Buffer.from(ivText, 'base64url');
      const tag = Buffer.from(tagText, 'base64url');
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw errors.internal('secret box: bad IV or tag length');
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(fullAad(id, aad));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]);
      } catch (cause) {
        throw errors.internal('secret box: authentication failed (tampered ciphertext, tag or row binding)', cause);
      }
    },
    keyIdOf(sealed) {
      const parts = sealed.split('.');
      return parts.length === 5 && parts[0] === VERSION && parts[1] !== undefined ? parts[1] : null;
    },
  };
}

/**
 * Parses a configured key: 64 hex characters, or base64/base64url of exactly 32 bytes.
 * `what` names the setting in the error message.
 */
export function parseKey(text: string, what: string): Buffer {
  const s = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) {
    const b = Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64');
    if (b.length === KEY_BYTES) return b;
  }
  throw new Error(`${what}: must be 32 bytes written as 64 hex characters or base64`);
}

/**
 * The keys that seal and open second-factor secrets. With `encryption_key` set, that key is
 * current and `previous_encryption_keys` open older rows. With SQLite and no key configured,
 * the key file `<sqlite path>.key` is read, or created on first start (mode 0600, 64 hex
 * characters); creation is atomic, so several workers starting at once agree on one key.
 * PostgreSQL requires a configured key because every instance must share it.
 */
export async function loadEncryptionKey(store: StoreConfig): Promise<{ current: Buffer; previous: Buffer[] }> {
  const previous = store.previous_encryption_keys.map((k, i) => parseKey(k, `store.previous_encryption_keys[${i}]`));
  if (store.encryption_key !== undefined) {
    return { current: parseKey(store.encryption_key, 'store.encryption_key'), previous };
  }
  if (store.sqlite === undefined) {
    throw new Error('store.encryption_key: required with PostgreSQL (every gateway instance must use the same key)');
  }
  const file = `${store.sqlite.path}.key`;
  return { current: await readOrCreateKeyFile(file), previous };
}

async function readOrCreateKeyFile(file: string): Promise<Buffer> {
  try {
    return parseKey(await readFile(file, 'utf8'), `key file ${file}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(file), { recursive: true });
  // Write a complete file under a temporary name, then link it into place: link() fails if
  // the name exists, so a concurrent starter never sees a half-written key and exactly one
  // key wins.
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${randomBytes(KEY_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
  return parseKey(await readFile(file, 'utf8'), `key file ${file}`);
}
