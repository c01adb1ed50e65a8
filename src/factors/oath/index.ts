/**
 * @module factors/oath
 * OATH hardware tokens: Azure-format CSV import with an error report, and activation by the
 * code a token shows. Signing in with a token is the TOTP check (`factors/totp`).
 */

export { activateToken, ERROR_CSV_HEADER, importTokens, MAX_SECRET_CHARS, MIN_SECRET_BYTES, TOKEN_CSV_HEADER } from './import.ts';
export type { TokenActivationDeps, TokenActivationFailure, TokenImportDeps, TokenImportError, TokenImportResult } from './import.ts';
export { csvField, parseCsv, writeCsv } from './csv.ts';
export type { CsvParse, CsvRecord } from './csv.ts';
