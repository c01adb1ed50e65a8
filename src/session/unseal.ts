/**
 * @module session/unseal
 * Opens and seals session cookies in iron-session's format (`sealData`, the iron format `Fe26.2`)
 * with node:crypto, synchronously. Kept hand-written on purpose: iron-session's `unsealData` goes
 * through WebCrypto, six asynchronous operations per cookie whose objects outlive a collection
 * of V8's young generation, so each unseal left about 900 bytes of garbage in the old
 * generation (365 here) and cost 150 to 300 µs (30 to 70 here). A burst of new cookies (a
 * restart with 100,000 sessions in use) grew the heap by that much per cookie.
 *
 * It mirrors iron-webcrypto 2.0's `unseal` with iron-session 9's defaults, and refuses what it
 * refuses: eight `*`-separated parts after dropping the `~version` suffix, the `Fe26.2` prefix,
 * an expiration (if any) not more than 60 s in the past, a known password id, keys from
 * PBKDF2-SHA1 (1 iteration, 256 bits) of the secret and each part's salt, the HMAC-SHA256 of
 * the first six parts compared in constant time, then AES-256-CBC and JSON. It is stricter in
 * one place: a digest must be 43 base64url characters (iron's decoder also reads it padded; its
 * seals never are).
 *
 * `seal` writes what iron-session's `sealData` writes, for the same reasons (a refreshed session
 * is re-sealed once per renewal interval; at 100,000 sessions in use that is hundreds a second):
 * the newest password id, 256-bit random salts as hex, a 128-bit random IV, AES-256-CBC of the
 * JSON, the expiration `now + ttl`, the HMAC-SHA256 of the first six parts, and iron-session's
 * `~2` suffix. `test/session/unseal.test.ts` holds both directions to iron-session's answers.
 */
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'Fe26.2';
/** iron's `timestampSkewSec`: a seal expires this long after its expiration time. */
const SKEW_MS = 60_000;
/** iron's `minPasswordlength` for string passwords. */
const MIN_SECRET = 32;
const SALT = /^[0-9a-f]+$/;
const IV = /^[A-Za-z0-9_-]{22}$/;
const DIGEST = /^[A-Za-z0-9_-]{43}$/;
const DATA = /^[A-Za-z0-9_-]+$/;
const EXPIRATION = /^[1-9]\d*$/;

const key = (secret: string, salt: string): Buffer => pbkdf2Sync(secret, salt, 1, 32, 'sha1');
/** iron's `saltBits` (256), as the hex string it writes. */
const newSalt = (): string => randomBytes(32).toString('hex');
/** iron-session's own version suffix, outside the MAC. */
const SUFFIX = '~2';

/**
 * Seals `data` (plain JSON) with the newest of `passwords` (iron-session's id -> secret map),
 * to expire `ttlSeconds` after `now` (epoch ms; 0 = never), as iron-session's `sealData` does.
 * Throws where it throws: no usable password, or a secret shorter than 32 characters.
 */
export function seal(data: unknown, passwords: Readonly<Record<number, string>>, ttlSeconds: number, now: number): string {
  const id = Math.max(...Object.keys(passwords).map(Number));
  const secret = passwords[id];
  if (typeof secret !== 'string' || secret.length < MIN_SECRET) throw new Error('session secret missing or shorter than 32 characters');
  const json = JSON.stringify(data);
  if (json === undefined) throw new Error('session data is not JSON');
  const encryptionSalt = newSalt();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', key(secret, encryptionSalt), iv);
  const encrypted = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]).toString('base64url');
  const expiration = ttlSeconds ? String(now + ttlSeconds * 1000) : '';
  const base = `${PREFIX}*${id}*${encryptionSalt}*${iv.toString('base64url')}*${encrypted}*${expiration}`;
  const macSalt = newSalt();
  const mac = createHmac('sha256', key(secret, macSalt)).update(base).digest('base64url');
  return `${base}*${macSalt}*${mac}${SUFFIX}`;
}

/**
 * The sealed value, or undefined for anything that is not a seal made with one of `passwords`
 * (iron-session's id -> secret map) and still within its expiration at `now` (epoch ms).
 */
export function unseal(value: string, passwords: Readonly<Record<number, string>>, now: number): unknown {
  const tilde = value.indexOf('~');
  const parts = (tilde === -1 ? value : value.slice(0, tilde)).split('*');
  if (parts.length !== 8) return undefined;
  const [prefix, id, encryptionSalt, iv, encrypted, expiration, macSalt, mac] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (prefix !== PREFIX) return undefined;
  if (expiration !== '' && (!EXPIRATION.test(expiration) || Number.parseInt(expiration, 10) <= now - SKEW_MS)) return undefined;
  const passwordId = id || 'default';
  const secret: unknown = Object.hasOwn(passwords, passwordId) ? (passwords as Record<string, unknown>)[passwordId] : undefined;
  if (typeof secret !== 'string' || secret.length < MIN_SECRET) return undefined;
  if (!SALT.test(macSalt) || !DIGEST.test(mac) || !SALT.test(encryptionSalt) || !IV.test(iv) || !DATA.test(encrypted)) return undefined;

  const expected = createHmac('sha256', key(secret, macSalt))
    .update(`${prefix}*${id}*${encryptionSalt}*${iv}*${encrypted}*${expiration}`)
    .digest();
  if (!timingSafeEqual(Buffer.from(mac, 'base64url'), expected)) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key(secret, encryptionSalt), Buffer.from(iv, 'base64url'));
    const plain = Buffer.concat([decipher.update(Buffer.from(encrypted, 'base64url')), decipher.final()]);
    return JSON.parse(plain.toString('utf8'));
  } catch {
    return undefined;
  }
}
