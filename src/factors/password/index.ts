/**
 * @module factors/password
 * The first factor: the users file (validated, watched, case-insensitive lookup) and argon2id
 * password checks. Import from here; the files behind it are implementation.
 */

export { loadUserDirectory } from './directory.ts';
export type { UserDirectory, UserDirectoryOptions, UserLookup } from './directory.ts';
export { argon2Verify, checkPassword, hashPassword, PASSWORD_HASH_OPTIONS, verifyPassword } from './password.ts';
export type { CredentialSource, PasswordCheck, PasswordVerifier } from './password.ts';
export { createRegulatedPasswordCheck } from './regulated.ts';
export type { PasswordAttempt, RegulatedPassword, RegulatedPasswordCheck, RegulatedPasswordDeps, RegulatedPasswordStore } from './regulated.ts';
export { GROUP_NAME_PATTERN, isArgon2idHash, parseUsersFile, readUsersFile, USER_NAME_PATTERN, UsersFileError } from './users-file.ts';
export type { UserEntry, UserRecord } from './users-file.ts';
