/**
 * @module factors/app-passwords
 * App passwords for legacy clients over HTTP Basic: generating and hashing them, and the
 * cached Basic check the request chain runs on rules with `app_passwords: true`. Import
 * from here; the files behind it are implementation.
 */

export {
  checkAppPasswordName,
  generateAppPassword,
  MAX_APP_PASSWORDS_PER_USER,
} from './app-password.ts';
export { createBasicVerifier } from './basic.ts';
export type { BasicVerifier } from './basic.ts';
