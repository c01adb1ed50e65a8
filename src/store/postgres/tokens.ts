/**
 * @module store/postgres/tokens
 * The PostgreSQL side of OATH hardware tokens and MFA reset. A CSV import is one
 * transaction that first takes the advisory lock of every user it names (sorted, so two
 * imports cannot deadlock), which makes each per-user method count exact against parallel
 * imports, additions and enrollments in any process. A serial is unique across users by the
 * `methods_by_serial` index: an insert racing another import's uncommitted row waits for it
 * and, instead of failing the whole import, sees the winner and reports the row as
 * `unchanged` or `serial_taken`. Activation is a single conditional UPDATE. Spread into the
 * store by `openPostgresStore`.
 */

import { timingSafeEqual } from 'node:crypto';
import type { SecretBox } from '../secret-box.ts';
import type { MethodInfo, NewToken, StoreDeps, TokenImportOutcome, TokenInfo, TokenStore } from '../types.ts';
import { userKey } from '../types.ts';
import { advisoryLock } from './db.ts';
import type { Db, Queryable } from './db.ts';
import { countMethods, insertMethod, userLock } from './methods.ts';
import { methodAad, toMethod } from './rows.ts';
import type { MethodRow } from './rows.ts';

/** SQLSTATE unique_violation. */
const UNIQUE_VIOLATION = '23505';

const toToken = (r: MethodRow): TokenInfo => ({ ...toMethod(r), kind: 'oath_token', serial: r.serial ?? '', manufacturer: r.manufacturer ?? '', model: r.model ?? '' });

async function bySerial(c: Queryable, serial: string): Promise<MethodRow | undefined> {
  const { rows } = await c.query<MethodRow>("SELECT * FROM methods WHERE serial = $1 AND kind = 'oath_token'", [serial]);
  return rows[0];
}

export function pgTokenStore(db: Db, box: SecretBox, deps: StoreDeps): TokenStore {
  /** A token already stored under this serial: the same one again, or someone else's. */
  function compare(existing: MethodRow, key: string, t: NewToken): TokenImportOutcome {
    if (existing.user_key !== key || existing.period !== t.period) return 'serial_taken';
    const secret = box.open(existing.secret_sealed, methodAad(existing.id));
    return secret.length === t.secret.length && timingSafeEqual(secret, t.secret) ? 'unchanged' : 'serial_taken';
  }

  return {
    importTokens: (tokens, maxPerUser) =>
      db.tx('importTokens', async (c) => {
        const now = deps.clock();
        for (const key of [...new Set(tokens.map((t) => userKey(t.user)))].sort()) await advisoryLock(c, userLock(key));
        const outcomes: TokenImportOutcome[] = [];
        for (const t of tokens) {
          const key = userKey(t.user);
          const existing = await bySerial(c, t.serial);
          if (existing !== undefined) {
            outcomes.push(compare(existing, key, t));
            continue;
          }
          if ((await countMethods(c, key)) >= maxPerUser) {
            outcomes.push('limit_reached');
            continue;
          }
          // A savepoint keeps the import going when another import committed the same serial
          // between the check above and this insert (the unique index refuses it).
          await c.query('SAVEPOINT token_row');
          try {
            await insertMethod(
              c,
              box,
              { user: key, kind: 'oath_token', label: t.label, secret: t.secret, algorithm: 'sha1', digits: 6, period: t.period, active: false, serial: t.serial, manufacturer: t.manufacturer, model: t.model },
              now,
            );
            await c.query('RELEASE SAVEPOINT token_row');
            outcomes.push('imported');
          } catch (err) {
            if ((err as { cause?: { code?: unknown } }).cause?.code !== UNIQUE_VIOLATION) throw err;
            await c.query('ROLLBACK TO SAVEPOINT token_row');
            const winner = await bySerial(c, t.serial);
            if (winner === undefined) throw err;
            outcomes.push(compare(winner, key, t));
          }
        }
        return outcomes;
      }),
    async tokenBySerial(serial) {
      const r = await bySerial(db, serial);
      return r === undefined ? null : toToken(r);
    },
    async listTokens() {
      const { rows } = await db.query<MethodRow>("SELECT * FROM methods WHERE kind = 'oath_token' AND serial IS NOT NULL ORDER BY user_key, serial");
      return rows.map(toToken);
    },
    async activateToken(methodId, step) {
      const r = await db.query('UPDATE methods SET active = true, last_step = $1, last_used_at = $2 WHERE id = $3 AND NOT active', [step, deps.clock(), methodId]);
      return r.rowCount === 1;
    },
    // The pending row first, then the user lock: the order completeEnrollment takes them in, so a
    // reset and a completion running at once serialize instead of leaving a fresh method behind.
    removeAllMethods: (user) =>
      db.tx<MethodInfo[]>('removeAllMethods', async (c) => {
        const key = userKey(user);
        await c.query('DELETE FROM pending_enrollments WHERE user_key = $1', [key]);
        await advisoryLock(c, userLock(key));
        const { rows } = await c.query<MethodRow>('DELETE FROM methods WHERE user_key = $1 RETURNING *', [key]);
        return rows
          .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .map(toMethod);
      }),
  };
}
