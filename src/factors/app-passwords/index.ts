/**
 * @module factors/app-passwords
 * App passwords for legacy clients over HTTP Basic: generating and hashing them, and the
 * cached Basic check the request chain runs on rules with `app_passwords: true`. Import
 * from here; the files behind it are implementation.
 */

export { APP_PASSWORD_LENGTH, checkAppPasswordName, generateAppPassword, MAX_APP_PASSWORD_NAME, MAX_APP_PASSWORDS_PER_USER, normalizeAppPassword } from './app-password.ts';
export type { NewAppPassword } from './app-password.ts';
export { CACHE_TTL_MS, createBasicVerifier, parseBasic } from './basic.ts';
export type { BasicContext, BasicDeps, BasicResult, BasicStore, BasicVerifier } from './basic.ts';
