/**
 * @module session/csrf
 * CSRF tokens for every form, sign-in included (login CSRF). A token is an HMAC of what
 * it is bound to (the session id, or for signed-out forms a random browser cookie) and
 * the form's purpose, so it needs no server state and a token for one form or one
 * browser is worthless for another. Compared in constant time. Hand-written, not a CSRF
 * package: an HMAC and a constant-time compare are the whole mechanism, kept in view.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Csrf {
  token(binding: string, purpose: string): string;
  verify(token: unknown, binding: string, purpose: string): boolean;
  /** A fresh random binding for a signed-out browser (stored in its own cookie). */
  newBinding(): string;
}

export function createCsrf(secret: string): Csrf {
  const key = Buffer.from(hkdfSync('sha256', secret, 'mfa-gateway', 'csrf-token-v1', 32));
  const mac = (binding: string, purpose: string) => createHmac('sha256', key).update(`${purpose}\n${binding}`).digest();
  return {
    token: (binding, purpose) => mac(binding, purpose).toString('base64url'),
    verify(token, binding, purpose) {
      if (typeof token !== 'string' || token.length !== 43 || binding.length === 0) return false;
      const given = Buffer.from(token, 'base64url');
      return given.length === 32 && timingSafeEqual(given, mac(binding, purpose));
    },
    newBinding: () => randomBytes(18).toString('base64url'),
  };
}
