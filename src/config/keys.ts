/**
 * @module config/keys
 * The store's encryption keys (`store.encryption_key`, `previous_encryption_keys`) are
 * 32 bytes written as 64 hex characters or as base64. The schema checks the shape; this
 * turns the text into the key bytes for the store.
 */

/**
 * Decodes a 32-byte key from 64 hex characters or base64 (standard or URL-safe, padding
 * optional).
 *
 * @throws Error when the text does not hold exactly 32 bytes.
 */
export function decodeEncryptionKey(text: string): Buffer {
  const bytes = /^[0-9A-Fa-f]{64}$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(text)
      ? Buffer.from(text, 'base64')
      : undefined;
  if (bytes?.length !== 32) throw new Error('an encryption key must be 32 bytes written as 64 hex characters or as base64');
  return bytes;
}
