/**
 * @module regulation/fraud-link
 * The token in a sign-in notice's "report this sign-in" link: a random report id and an
 * expiry, signed with HMAC-SHA256 under a key derived (HKDF) from the session secret. A
 * forged or altered token is refused before the store is asked; that the link works only
 * once is the store's job (`FraudStore.consumeFraudReport`). Tokens signed with a previous
 * session secret still verify while that secret is listed (secret rotation).
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

type FraudLinkCheck = { ok: true; id: string; expiresAt: number } | { ok: false; reason: 'malformed' | 'signature' | 'expired' };

export interface FraudLinks {
  /** A fresh random report id. */
  newId(): string;
  /** The token for report `id`, valid until `expiresAt` (epoch ms). */
  sign(id: string, expiresAt: number): string;
  /** Checks shape, signature (constant time) and expiry at `now`, in that order. */
  verify(token: unknown, now: number): FraudLinkCheck;
}

const ID = /^[A-Za-z0-9_-]{22}$/;
const TOKEN = /^([A-Za-z0-9_-]{22})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})$/;

/** `secrets`: the current session secret first, then previous ones (verify only). */
export function createFraudLinks(secrets: readonly string[]): FraudLinks {
  const keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', s, 'mfa-gateway', 'fraud-report-link-v1', 32)));
  const mac = (key: Buffer, id: string, exp: string) => createHmac('sha256', key).update(`fraud-report\n${id}\n${exp}`).digest();
  return {
    newId: () => randomBytes(16).toString('base64url'),
    sign(id, expiresAt) {
      if (!ID.test(id)) throw new Error('fraud report ids are 16 random bytes in base64url');
      const exp = Math.floor(expiresAt).toString(36);
      return `${id}.${exp}.${mac(keys[0]!, id, exp).toString('base64url')}`;
    },
    verify(token, now) {
      const m = typeof token === 'string' ? TOKEN.exec(token) : null;
      if (!m) return { ok: false, reason: 'malformed' };
      const [, id, exp, sig] = m as unknown as [string, string, string, string];
      const given = Buffer.from(sig, 'base64url');
      if (!keys.some((key) => timingSafeEqual(given, mac(key, id, exp)))) return { ok: false, reason: 'signature' };
      const expiresAt = parseInt(exp, 36);
      if (now >= expiresAt) return { ok: false, reason: 'expired' };
      return { ok: true, id, expiresAt };
    },
  };
}
