/**
 * @module factors/totp/totp
 * Time-based one-time passwords (RFC 6238) for authenticator apps and hardware tokens: new
 * secrets, the `otpauth://` URI and QR code shown at enrollment, and the pure code check.
 * The HOTP/TOTP arithmetic is otplib's (functional API, synchronous noble HMAC); this module
 * adds the gateway's window policy and exact failure reasons. No I/O here: the caller claims
 * the accepted step in the store (see `./verify.ts`).
 */

import { randomBytes } from 'node:crypto';
import { createGuardrails, generateSync, ScureBase32Plugin, verifySync } from 'otplib';
import type { OtpAlgorithm } from '../../store/types.ts';

/** 160 bits, the HMAC-SHA1 block-friendly size RFC 4226 section 4 recommends. */
const SECRET_BYTES = 20;

/**
 * otplib refuses secrets under 16 bytes by default; hardware OATH tokens commonly ship
 * 10-byte (80-bit) secrets, the minimum RFC 4226 section 4 allows (R6: 128 recommended).
 */
const guardrails = createGuardrails({ MIN_SECRET_BYTES: 10 });
const base32 = new ScureBase32Plugin();

/** A fresh random TOTP secret (20 bytes). */
export function newTotpSecret(random: (n: number) => Buffer = randomBytes): Buffer {
  return random(SECRET_BYTES);
}

/** RFC 4648 Base32 without padding, as authenticator apps expect it. */
export function base32Encode(secret: Buffer): string {
  return base32.encode(secret, { padding: false });
}

/** Decodes Base32 (case-insensitive, spaces and padding ignored); throws on other characters. */
export function base32Decode(text: string): Buffer {
  return Buffer.from(base32.decode(text.replace(/[\s=]/g, '').toUpperCase()));
}

export interface OtpauthUriInput {
  /** Shown as the account's provider in the app, e.g. the company name. */
  issuer: string;
  /** The user name the app lists under the issuer. */
  account: string;
  secret: Buffer;
  period: 30 | 60;
  digits: 6 | 8;
  algorithm?: OtpAlgorithm;
}

/**
 * The `otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=...` URI of Google's Key Uri Format.
 * Built here rather than with otplib's `generateURI`, which leaves colons in the issuer and
 * account unescaped and so makes the label ambiguous; here both are percent-encoded.
 * Parameters at their defaults (SHA1, 6 digits, 30 s) are left out for old apps.
 */
export function otpauthUri(input: OtpauthUriInput): string {
  const label = `${encodeURIComponent(input.issuer)}:${encodeURIComponent(input.account)}`;
  const params = [`secret=${base32Encode(input.secret)}`, `issuer=${encodeURIComponent(input.issuer)}`];
  const algorithm = input.algorithm ?? 'sha1';
  if (algorithm !== 'sha1') params.push(`algorithm=${algorithm.toUpperCase()}`);
  if (input.digits !== 6) params.push(`digits=${input.digits}`);
  if (input.period !== 30) params.push(`period=${input.period}`);
  return `otpauth://totp/${label}?${params.join('&')}`;
}

/**
 * The URI as an inline SVG QR code (error correction M, 2-module quiet zone), ready to embed
 * in a page. The drawing is hidden from assistive tech (`aria-hidden`): the page's wrapper is
 * the one image and carries its name, so the figure is announced once.
 */
export async function qrCodeSvg(uri: string): Promise<string> {
  // qrcode is loaded by the first enrollment rather than at every start.
  const { toString: qrToString } = await import('qrcode');
  const svg = await qrToString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  // The page's wrapper is the one named image; the drawing inside is hidden from assistive tech.
  return svg.replace('<svg ', '<svg aria-hidden="true" focusable="false" ');
}

/** `JBSWY3DPEHPK3PXP` -> `JBSW Y3DP EHPK 3PXP`, for typing the secret by hand. */
export function formatSecretForManualEntry(base32Secret: string): string {
  return base32Secret
    .replace(/[\s=]/g, '')
    .toUpperCase()
    .replace(/(.{4})(?=.)/g, '$1 ');
}

/** The RFC 6238 time step `T` of `now` (epoch ms) for `period` seconds, with T0 = 0. */
export function timeStep(now: number, period: 30 | 60): number {
  return Math.floor(now / 1000 / period);
}

export interface TotpParams {
  secret: Buffer;
  period: 30 | 60;
  digits: 6 | 8;
  /** Default `sha1`, what every authenticator app and OATH token uses. */
  algorithm?: OtpAlgorithm;
}

/** The code a token shows at `now` (epoch ms). Used by tests and tools, never to compare. */
export function generateTotp(input: TotpParams & { now: number }): string {
  return generateSync({
    secret: input.secret,
    epoch: Math.floor(input.now / 1000),
    period: input.period,
    digits: input.digits,
    algorithm: input.algorithm ?? 'sha1',
    guardrails,
  });
}

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'malformed' | 'wrong' | 'replayed' };

/**
 * Checks `code` (whitespace ignored) against the steps `current - skewSteps ... current`.
 *
 * Only past steps are accepted: authenticator clocks drift late and people take a while to
 * type, so a code is typically a step old when it arrives (RFC 6238 section 5.2 asks for a
 * small backward window for transmission delay); accepting future steps would only widen the
 * window an observed code stays useful in. A step at or below `lastStep` is `replayed`.
 * A code that is not exactly `digits` digits is `malformed` (never a throw).
 * The comparison inside otplib is constant-time.
 */
export function checkTotp(input: TotpParams & { code: string; now: number; skewSteps: number; lastStep: number | null }): TotpCheck {
  const code = input.code.replace(/\s+/g, '');
  if (code.length !== input.digits || !/^[0-9]+$/.test(code)) return { ok: false, reason: 'malformed' };
  const base = {
    secret: input.secret,
    token: code,
    epoch: Math.floor(input.now / 1000),
    period: input.period,
    digits: input.digits,
    algorithm: input.algorithm ?? 'sha1',
    epochTolerance: [Math.max(0, input.skewSteps) * input.period, 0] as [number, number],
    guardrails,
  };
  const r = verifySync(base);
  if (!r.valid || !('timeStep' in r)) return { ok: false, reason: 'wrong' };
  if (input.lastStep === null || r.timeStep > input.lastStep) return { ok: true, step: r.timeStep };
  // otplib reports the first matching step; the same digits may (rarely) also be the code of a
  // later, unused step in the window, so look again above lastStep before calling it a replay.
  // afterTimeStep must not be ahead of the clock (otplib throws), hence the guard.
  if (input.lastStep < timeStep(input.now, input.period)) {
    const again = verifySync({ ...base, afterTimeStep: input.lastStep });
    if (again.valid && 'timeStep' in again) return { ok: true, step: again.timeStep };
  }
  return { ok: false, reason: 'replayed' };
}
