/**
 * @module factors/fallback/codes
 * The two ways in without a phone, as values: temporary access passes (an admin issues one
 * so a user outside trusted networks can set up a first method) and one-time recovery codes
 * (a user prints ten after enrolling). Both are random values from a 32-character alphabet
 * without look-alikes, typed in groups of four, and stored only as a SHA-256 over the user
 * key and the value: the values carry 80 and 60 bits of entropy, so a fast hash is right
 * here (argon2 protects low-entropy passwords, which these are not).
 *
 * What was typed is told apart by its length once spaces and dashes are gone: 6 or 8 digits
 * are a TOTP/OATH code, 12 characters a recovery code, 16 an access pass.
 */

import { createHash, randomInt } from 'node:crypto';
import { userKey } from '../../store/types.ts';

/** Crockford's Base32 alphabet in lower case: no i, l, o or u. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** Characters of an access pass (80 bits) and of a recovery code (60 bits). */
const ACCESS_PASS_LENGTH = 16;
const RECOVERY_CODE_LENGTH = 12;
/** Codes in one set of recovery codes. */
const RECOVERY_CODES_PER_SET = 10;

function randomValue(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** `abcdefgh` -> `abcd-efgh`, for showing and printing. */
function groupOfFour(value: string): string {
  return value.match(/.{1,4}/g)?.join('-') ?? '';
}

/**
 * What the user typed, as stored values are spelled: lower case, without spaces and dashes,
 * with Crockford's look-alikes mapped (`i`/`l` -> `1`, `o` -> `0`).
 */
export function normalizeTyped(value: string): string {
  return value
    .toLowerCase()
    .replace(/[\s-]+/g, '')
    .replace(/[il]/g, '1')
    .replace(/o/g, '0');
}

export type TypedKind = 'code' | 'recovery_code' | 'access_pass' | 'malformed';

/** Which kind of second factor a typed value is, by its shape (see the module comment). */
export function typedKind(value: string): TypedKind {
  const digits = value.replace(/\s+/g, '');
  if (/^[0-9]{6}$|^[0-9]{8}$/.test(digits)) return 'code';
  const n = normalizeTyped(value);
  if (![...n].every((c) => ALPHABET.includes(c))) return 'malformed';
  if (n.length === RECOVERY_CODE_LENGTH) return 'recovery_code';
  if (n.length === ACCESS_PASS_LENGTH) return 'access_pass';
  return 'malformed';
}

/** The stored form of a pass or code of `user`; bound to the user and to its kind. */
export function fallbackHash(kind: 'access_pass' | 'recovery_code', user: string, typed: string): string {
  return createHash('sha256')
    .update(`mfa-gateway ${kind}\0${userKey(user)}\0${normalizeTyped(typed)}`)
    .digest('hex');
}

/** A new access pass: the value to show once, grouped, and its hash to store. */
export function newAccessPass(user: string): { pass: string; hash: string } {
  const value = randomValue(ACCESS_PASS_LENGTH);
  return { pass: groupOfFour(value), hash: fallbackHash('access_pass', user, value) };
}

/** A new set of recovery codes: the values to show once, grouped, and their hashes to store. */
export function newRecoveryCodes(user: string): { codes: string[]; hashes: string[] } {
  const values = new Set<string>();
  while (values.size < RECOVERY_CODES_PER_SET) values.add(randomValue(RECOVERY_CODE_LENGTH));
  const list = [...values];
  return { codes: list.map(groupOfFour), hashes: list.map((v) => fallbackHash('recovery_code', user, v)) };
}
