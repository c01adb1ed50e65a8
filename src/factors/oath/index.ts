/**
 * @module factors/oath
 * OATH hardware tokens: Azure-format CSV import with an error report, and activation by the
 * code a token shows. Signing in with a token is the TOTP check (`factors/totp`).
 */

export { activateToken, importTokens, TOKEN_CSV_HEADER } from './import.ts';
export { parseCsv, writeCsv } from './csv.ts';
