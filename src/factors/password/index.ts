/**
 * @module factors/password
 * The first factor: the users file (validated, watched, case-insensitive lookup), argon2id
 * password checks, and the source interface a directory (`factors/ldap`) plugs into. Import from here; the files behind it are
 * implementation.
 */

export { loadUserDirectory } from './directory.ts';
export type { UserDirectory, UserLookup } from './directory.ts';
export { checkHash, checkPassword, hashPassword, verifyPassword } from './password.ts';
export type { PasswordVerifier } from './password.ts';
export { createRegulatedPasswordCheck } from './regulated.ts';
export type {
  PasswordAttempt,
  RegulatedPasswordCheck,
} from './regulated.ts';
export { GROUP_NAME_PATTERN, parseUsersFile, readUsersFile, USER_NAME_PATTERN, UsersFileError } from './users-file.ts';
export type { UserRecord } from './users-file.ts';
