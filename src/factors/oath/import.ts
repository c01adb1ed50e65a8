/**
 * @module factors/oath/import
 * OATH hardware tokens (TOTP, SHA-1, 6 digits, 30 or 60 s) as Azure MFA takes them: a CSV file
 * with the header `upn,serial number,secret key,time interval,manufacturer,model`. Every bad
 * row is reported with a plain reason in an error CSV of its own (`line,upn,serial
 * number,error`); the good rows are stored in one transaction, inactive. A token becomes
 * usable once someone enters the code it shows ({@link activateToken}), which proves the
 * secret on file matches the token in hand.
 */

import type { UserLookup } from '../password/directory.ts';
import type { AuditStore, MethodStore, NewToken, TokenStore } from '../../store/types.ts';
import { userKey } from '../../store/types.ts';
import { checkTotp } from '../totp/totp.ts';
import type { AuditContext } from '../totp/verify.ts';
import { parseCsv, writeCsv } from './csv.ts';

/** The columns Azure MFA's token CSV has, in its order. */
export const TOKEN_CSV_HEADER = ['upn', 'serial number', 'secret key', 'time interval', 'manufacturer', 'model'] as const;
/** The columns of the error report. */
const ERROR_CSV_HEADER = ['line', 'upn', 'serial number', 'error'] as const;
/** Azure's limit on the Base32 secret. */
const MAX_SECRET_CHARS = 128;
/** RFC 4226 section 4 (R6): at least 128 bits, but 80-bit tokens are common and allowed by otplib's guardrail here. */
const MIN_SECRET_BYTES = 10;
const SERIAL = /^[A-Za-z0-9._:/-]{1,64}$/;
const MAX_TEXT = 64;

/** Where an import or activation came from when no request is involved. */
const COMMAND_LINE: AuditContext = Object.freeze({ clientIp: 'local', userAgent: 'mfa-gateway command line', rule: null });

interface TokenImportError {
  /** Line of the file the row starts on (the header is line 1). */
  line: number;
  upn: string;
  serial: string;
  error: string;
}

export interface TokenImportResult {
  imported: number;
  /** Rows already stored for the same user with the same serial and secret. */
  unchanged: number;
  errors: TokenImportError[];
  /** `line,upn,serial number,error` with a row per error (just the header when none); CRLF line ends. */
  errorCsv: string;
}

export interface TokenImportDeps {
  store: Pick<TokenStore, 'importTokens'> & Pick<AuditStore, 'record'>;
  users: UserLookup;
  maxMethodsPerUser: number;
  clock: () => number;
  /** Who imports, for the sign-in log (an OS user or an admin's name); default `command line`. */
  actor?: string;
  /** The request behind the import (admin page); default: the command line. */
  context?: AuditContext;
}

/** RFC 4648 Base32 of an already cleaned (upper-case, no spaces or padding) text; a plain reason on failure. */
function decodeBase32(text: string): { ok: true; bytes: Buffer } | { ok: false; error: string } {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bad = [...text].findIndex((c) => !alphabet.includes(c));
  if (bad >= 0) return { ok: false, error: `secret key is not Base32: "${text[bad]}" at position ${bad + 1} (allowed: A-Z and 2-7)` };
  // 1, 3 or 6 characters past a multiple of 8 cannot come from any byte string (RFC 4648 section 6).
  if ([1, 3, 6].includes(text.length % 8))
    return { ok: false, error: `secret key is not Base32: ${text.length} characters is not a possible length` };
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >> bits) & 0xff);
    }
  }
  return { ok: true, bytes: Buffer.from(out) };
}

/** The user a CSV `upn` names: a user name (any case), else the one user with that e-mail address. */
function findUser(users: UserLookup, upn: string): string | undefined {
  const byName = users.get(upn);
  if (byName) return byName.name;
  const byEmail = users.list().filter((u) => u.email !== undefined && userKey(u.email) === userKey(upn));
  return byEmail.length === 1 ? byEmail[0]!.name : undefined;
}

/**
 * Imports Azure-format token rows. Nothing throws for bad input: a missing or wrong header is
 * one error on line 1, every bad row one error naming its line. Re-importing a file changes
 * nothing (those rows count as `unchanged`).
 *
 * @example
 * const r = await importTokens({ store, users, maxMethodsPerUser: 5, clock: Date.now }, csvText);
 * if (r.errors.length > 0) await writeFile('errors.csv', r.errorCsv);
 */
export async function importTokens(deps: TokenImportDeps, csvText: string): Promise<TokenImportResult> {
  const errors: TokenImportError[] = [];
  const done = (imported: number, unchanged: number): TokenImportResult => {
    errors.sort((a, b) => a.line - b.line);
    return {
      imported,
      unchanged,
      errors,
      errorCsv: writeCsv([ERROR_CSV_HEADER, ...errors.map((e) => [String(e.line), e.upn, e.serial, e.error])]),
    };
  };

  const parsed = parseCsv(csvText);
  if (!parsed.ok) {
    errors.push({ line: parsed.line, upn: '', serial: '', error: `not a readable CSV file: ${parsed.error}; nothing was imported` });
    return done(0, 0);
  }
  const [header, ...rows] = parsed.records;
  const expected = TOKEN_CSV_HEADER.join(',');
  const names = header?.fields.map((f) => f.trim().toLowerCase()) ?? [];
  if (header === undefined || names.join(',') !== expected) {
    const found = header === undefined ? 'an empty file' : `"${header.fields.join(',').slice(0, 200)}"`;
    errors.push({
      line: header?.line ?? 1,
      upn: '',
      serial: '',
      error: `the first line must be the header "${expected}"; found ${found}; nothing was imported`,
    });
    return done(0, 0);
  }

  const good: Array<{ line: number; upn: string; token: NewToken }> = [];
  const serialsSeen = new Map<string, number>();
  for (const row of rows) {
    const f = row.fields.map((v) => v.trim());
    const upn = f[0] ?? '';
    const serial = f[1] ?? '';
    const fail = (error: string) => errors.push({ line: row.line, upn, serial, error });
    if (f.length !== TOKEN_CSV_HEADER.length) {
      fail(`wrong number of columns: expected ${TOKEN_CSV_HEADER.length}, found ${f.length}`);
      continue;
    }
    const missing = TOKEN_CSV_HEADER.filter((_, i) => f[i] === '');
    if (missing.length > 0) {
      fail(`missing ${missing.join(', ')}`);
      continue;
    }
    const [, , secretText, interval, manufacturer, model] = f as [string, string, string, string, string, string];
    const user = findUser(deps.users, upn);
    if (user === undefined) {
      fail('unknown user: no user with this name or e-mail address');
      continue;
    }
    if (!SERIAL.test(serial)) {
      fail('bad serial number: 1 to 64 of the characters A-Z a-z 0-9 . _ : / -');
      continue;
    }
    const earlier = serialsSeen.get(serial);
    if (earlier !== undefined) {
      fail(`duplicate serial number: already on line ${earlier} of this file`);
      continue;
    }
    serialsSeen.set(serial, row.line);
    const cleaned = secretText.replace(/\s+/g, '').toUpperCase().replace(/=+$/, '');
    if (cleaned.length > MAX_SECRET_CHARS) {
      fail(`secret key too long: ${cleaned.length} characters, at most ${MAX_SECRET_CHARS}`);
      continue;
    }
    const secret = decodeBase32(cleaned);
    if (!secret.ok) {
      fail(secret.error);
      continue;
    }
    if (secret.bytes.length < MIN_SECRET_BYTES) {
      fail(
        `secret key too short: ${secret.bytes.length} bytes, at least ${MIN_SECRET_BYTES} (${Math.ceil((MIN_SECRET_BYTES * 8) / 5)} ` +
          `Base32 characters)`,
      );
      continue;
    }
    if (interval !== '30' && interval !== '60') {
      fail(`unsupported time interval "${interval}": 30 or 60 seconds`);
      continue;
    }
    if (manufacturer.length > MAX_TEXT || model.length > MAX_TEXT || /\p{C}/u.test(manufacturer + model)) {
      fail(`manufacturer and model must be at most ${MAX_TEXT} printable characters each`);
      continue;
    }
    good.push({
      line: row.line,
      upn,
      token: {
        user,
        serial,
        secret: secret.bytes,
        period: Number(interval) as 30 | 60,
        manufacturer,
        model,
        label: `${manufacturer} ${model} ${serial}`,
      },
    });
  }

  const outcomes =
    good.length === 0
      ? []
      : await deps.store.importTokens(
          good.map((g) => g.token),
          deps.maxMethodsPerUser,
        );
  let imported = 0;
  let unchanged = 0;
  const context = deps.context ?? COMMAND_LINE;
  for (const [i, outcome] of outcomes.entries()) {
    const g = good[i]!;
    if (outcome === 'imported') {
      imported++;
      await deps.store.record({
        kind: 'enrollment',
        user: g.token.user,
        ...context,
        outcome: 'success',
        detail: `oath token ${g.token.serial} imported, inactive until activated (${g.token.label}) by ${deps.actor ?? 'command line'}`,
      });
    } else if (outcome === 'unchanged') {
      unchanged++;
    } else if (outcome === 'serial_taken') {
      errors.push({
        line: g.line,
        upn: g.upn,
        serial: g.token.serial,
        error: 'duplicate serial number: already assigned to another user or with another secret',
      });
    } else {
      errors.push({
        line: g.line,
        upn: g.upn,
        serial: g.token.serial,
        error: `user already has the maximum of ${deps.maxMethodsPerUser} methods`,
      });
    }
  }
  return done(imported, unchanged);
}

export type TokenActivationFailure = 'unknown_token' | 'already_active' | 'malformed' | 'wrong';

export interface TokenActivationDeps {
  store: Pick<TokenStore, 'tokenBySerial' | 'activateToken'> & Pick<MethodStore, 'secretOf'> & Pick<AuditStore, 'record'>;
  clock: () => number;
  /** Past steps accepted besides the current one (`mfa.totp.skew_steps`); default 1. */
  skewSteps?: number;
  actor?: string;
  context?: AuditContext;
}

/**
 * Activates `user`'s imported token `serial` with the code it shows now. The code's time step
 * is claimed, so the same code cannot then sign in. Reasons: `unknown_token` (no such serial
 * for this user), `already_active`, `malformed` (not 6 digits), `wrong`. Every attempt is
 * recorded in the sign-in log as an `enrollment` entry.
 *
 * @example
 * const r = await activateToken({ store, clock: Date.now }, 'alice', 'TK-0001', '123456');
 */
export async function activateToken(
  deps: TokenActivationDeps,
  user: string,
  serial: string,
  code: string,
): Promise<{ ok: true } | { ok: false; reason: TokenActivationFailure }> {
  const context = deps.context ?? COMMAND_LINE;
  const by = deps.actor ?? 'command line';
  const log = (outcome: 'success' | 'denied', detail: string) =>
    deps.store.record({ kind: 'enrollment', user, ...context, outcome, detail: `${detail} (by ${by})` });
  const token = await deps.store.tokenBySerial(serial.trim());
  if (token === null || token.user !== userKey(user)) {
    await log('denied', `oath token ${serial} activation: no such token for this user`);
    return { ok: false, reason: 'unknown_token' };
  }
  if (token.active) {
    await log('denied', `oath token ${serial} activation: already active`);
    return { ok: false, reason: 'already_active' };
  }
  const secret = await deps.store.secretOf(token.id);
  if (secret === null) return { ok: false, reason: 'unknown_token' };
  const r = checkTotp({
    secret,
    code,
    now: deps.clock(),
    period: token.period,
    digits: token.digits,
    algorithm: 'sha1',
    skewSteps: deps.skewSteps ?? 1,
    lastStep: token.lastStep,
  });
  if (!r.ok) {
    const reason = r.reason === 'malformed' ? 'malformed' : 'wrong';
    await log('denied', `oath token ${serial} activation: ${reason} code`);
    return { ok: false, reason };
  }
  if (!(await deps.store.activateToken(token.id, r.step))) {
    await log('denied', `oath token ${serial} activation: already active`);
    return { ok: false, reason: 'already_active' };
  }
  await log('success', `oath token ${serial} activated (${token.label})`);
  return { ok: true };
}
