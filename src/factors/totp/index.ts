/**
 * @module factors/totp
 * The TOTP second factor (authenticator apps and, sharing the same check, OATH hardware
 * tokens): pure RFC 6238 checks plus verification and enrollment against the store.
 */

export {
  base32Decode,
  base32Encode,
  checkTotp,
  formatSecretForManualEntry,
  generateTotp,
  newTotpSecret,
  otpauthUri,
  qrCodeSvg,
  timeStep,
} from './totp.ts';
export { confirmTotpEnrollment, startTotpEnrollment, verifyTotpForUser } from './verify.ts';
