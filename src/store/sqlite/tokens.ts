/**
 * @module store/sqlite/tokens
 * The SQLite side of OATH hardware tokens and MFA reset. A CSV import is one `BEGIN IMMEDIATE`
 * transaction: the serial check (unique across all users, also enforced by the
 * `methods_by_serial` index) and the per-user method limit are read under the write lock,
 * so two imports running at once never exceed the limit or assign one serial twice.
 * Activation is a single conditional UPDATE. Spread into the store by `openSqliteStore`.
 */

import { randomUUID, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { SecretBox } from '../secret-box.ts';
import type { MethodInfo, NewToken, StoreDeps, TokenImportOutcome, TokenInfo, TokenStore } from '../types.ts';
import { userKey } from '../types.ts';
import { methodAad, toMethod, type MethodRow } from '../rows.ts';

/** Runs a statement and turns SQLite failures into the store's 503 (see `guard` in sqlite-store). */
type Guard = <T>(what: string, fn: () => T) => Promise<T>;


type TokenRow = MethodRow & { serial: string | null; manufacturer: string | null; model: string | null };

function toToken(r: TokenRow): TokenInfo {
  return { ...toMethod(r), kind: 'oath_token', serial: r.serial ?? '', manufacturer: r.manufacturer ?? '', model: r.model ?? '' };
}

export function sqliteTokenStore(db: Database.Database, box: SecretBox, deps: StoreDeps, guard: Guard): TokenStore {
  const q = {
    bySerial: db.prepare<[string], TokenRow>("SELECT * FROM methods WHERE serial = ? AND kind = 'oath_token'"),
    all: db.prepare<[], TokenRow>("SELECT * FROM methods WHERE kind = 'oath_token' AND serial IS NOT NULL ORDER BY user_key, serial"),
    count: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM methods WHERE user_key = ?'),
    insert: db.prepare(
      `INSERT INTO methods (id, user_key, kind, label, secret_sealed, algorithm, digits, period, active, serial, manufacturer, model, created_at, last_used_at, last_step)
       VALUES (@id, @user_key, 'oath_token', @label, @secret_sealed, 'sha1', 6, @period, 0, @serial, @manufacturer, @model, @created_at, NULL, NULL)`,
    ),
    activate: db.prepare('UPDATE methods SET active = 1, last_step = ?, last_used_at = ? WHERE id = ? AND active = 0'),
    ofUser: db.prepare<[string], TokenRow>('SELECT * FROM methods WHERE user_key = ? ORDER BY created_at, id'),
    removeOfUser: db.prepare('DELETE FROM methods WHERE user_key = ?'),
    removePending: db.prepare('DELETE FROM pending_enrollments WHERE user_key = ?'),
  };

  const importTx = db.transaction((tokens: readonly NewToken[], maxPerUser: number): TokenImportOutcome[] => {
    const now = deps.clock();
    return tokens.map((t): TokenImportOutcome => {
      const key = userKey(t.user);
      const existing = q.bySerial.get(t.serial);
      if (existing !== undefined) {
        if (existing.user_key !== key || existing.period !== t.period) return 'serial_taken';
        const secret = box.open(existing.secret_sealed, methodAad(existing.id));
        return secret.length === t.secret.length && timingSafeEqual(secret, t.secret) ? 'unchanged' : 'serial_taken';
      }
      if (q.count.get(key)!.n >= maxPerUser) return 'limit_reached';
      const id = randomUUID();
      q.insert.run({
        id,
        user_key: key,
        label: t.label,
        secret_sealed: box.seal(t.secret, methodAad(id)),
        period: t.period,
        serial: t.serial,
        manufacturer: t.manufacturer,
        model: t.model,
        created_at: now,
      });
      return 'imported';
    });
  });

  const removeAllTx = db.transaction((key: string): MethodInfo[] => {
    const removed = q.ofUser.all(key).map(toMethod);
    q.removeOfUser.run(key);
    q.removePending.run(key);
    return removed;
  });

  return {
    importTokens: (tokens, maxPerUser) => guard('importTokens', () => importTx.immediate(tokens, maxPerUser)),
    tokenBySerial: (serial) =>
      guard('tokenBySerial', () => {
        const r = q.bySerial.get(serial);
        return r === undefined ? null : toToken(r);
      }),
    listTokens: () => guard('listTokens', () => q.all.all().map(toToken)),
    activateToken: (methodId, step) => guard('activateToken', () => q.activate.run(step, deps.clock(), methodId).changes === 1),
    removeAllMethods: (user) => guard('removeAllMethods', () => removeAllTx.immediate(userKey(user))),
  };
}
