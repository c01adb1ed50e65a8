/**
 * @module store/sql/methods
 * Second-factor methods: the rows the account page lists, the method limit (counted under
 * the user's lock, see `store/sql/db`), and replay protection as one conditional UPDATE, so
 * of two parallel claims of one step exactly one wins, in any process. Method rows are also
 * written by enrollment and token import, through {@link insertMethod}.
 */

import { randomUUID } from 'node:crypto';
import type { SecretBox } from '../secret-box.ts';
import type { AddMethodResult, MethodInfo, MethodStore, NewMethod, OtpAlgorithm, SecretMethodKind, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { userLock, type Conn, type Db } from './db.ts';

/** Sealed secrets are bound to their row: a sealed value copied to another row does not open. */
export const methodAad = (id: string): string => `method:${id}`;

export interface MethodRow {
  id: string;
  user_key: string;
  kind: string;
  label: string;
  secret_sealed: string;
  algorithm: string;
  digits: number;
  period: number;
  /** SQLite stores 0/1, PostgreSQL a boolean. */
  active: boolean | number;
  serial: string | null;
  manufacturer: string | null;
  model: string | null;
  created_at: number;
  last_used_at: number | null;
  last_step: number | null;
}

export function toMethod(r: MethodRow): MethodInfo {
  return {
    id: r.id,
    user: r.user_key,
    kind: r.kind as SecretMethodKind,
    label: r.label,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    active: r.active === true || r.active === 1,
    period: r.period as 30 | 60,
    digits: r.digits as 6 | 8,
    algorithm: r.algorithm as OtpAlgorithm,
    lastStep: r.last_step,
  };
}

/** Code methods and WebAuthn credentials together: both count toward `max_methods_per_user`. */
export async function countMethods(c: Conn, key: string): Promise<number> {
  const sql =
    'SELECT (SELECT COUNT(*) FROM methods WHERE user_key = ?) + (SELECT COUNT(*) FROM webauthn_credentials WHERE user_key = ?) AS n';
  return Number((await c.query<{ n: number }>(sql, [key, key])).rows[0]!.n);
}

/**
 * Inserts a method row, its secret sealed and bound to it (the caller holds the user lock when a
 * limit applies). A method stored with a step already used (enrollment's confirming code) was
 * used now: that code is its last use.
 */
export async function insertMethod(
  c: Conn,
  box: SecretBox,
  m: NewMethod & { serial?: string; manufacturer?: string; model?: string },
  now: number,
): Promise<MethodInfo> {
  const id = randomUUID();
  const { rows } = await c.query<MethodRow>(
    `INSERT INTO methods (id, user_key, kind, label, secret_sealed, algorithm, digits, period, active, serial, manufacturer, model,
                          created_at, last_used_at, last_step)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    [
      id,
      userKey(m.user),
      m.kind,
      m.label,
      box.seal(m.secret, methodAad(id)),
      m.algorithm,
      m.digits,
      m.period,
      m.active,
      m.serial,
      m.manufacturer,
      m.model,
      now,
      (m.lastStep ?? null) === null ? null : now,
      m.lastStep,
    ],
  );
  return toMethod(rows[0]!);
}

export function methodQueries(db: Db, box: SecretBox, deps: StoreDeps): MethodStore {
  return {
    async listMethods(user) {
      return (await db.query<MethodRow>('SELECT * FROM methods WHERE user_key = ? ORDER BY created_at, id', [userKey(user)])).rows.map(
        toMethod,
      );
    },
    addMethod: (method, maxPerUser) =>
      db.tx<AddMethodResult>('addMethod', async (c) => {
        const key = userKey(method.user);
        await db.dialect.lock(c, userLock(key));
        if ((await countMethods(c, key)) >= maxPerUser) return { ok: false, reason: 'limit_reached' };
        return { ok: true, method: await insertMethod(c, box, method, deps.clock()) };
      }),
    async removeMethod(user, id) {
      return (await db.query('DELETE FROM methods WHERE id = ? AND user_key = ?', [id, userKey(user)])).rowCount === 1;
    },
    async renameMethod(user, id, label) {
      return (await db.query('UPDATE methods SET label = ? WHERE id = ? AND user_key = ?', [label, id, userKey(user)])).rowCount === 1;
    },
    countMethods: (user) => countMethods(db, userKey(user)),
    async secretOf(id) {
      const r = (await db.query<{ id: string; secret_sealed: string }>('SELECT id, secret_sealed FROM methods WHERE id = ?', [id])).rows[0];
      return r === undefined ? null : box.open(r.secret_sealed, methodAad(r.id));
    },
    async claimStep(methodId, step) {
      const sql = 'UPDATE methods SET last_step = ?, last_used_at = ? WHERE id = ? AND active AND (last_step IS NULL OR last_step < ?)';
      return (await db.query(sql, [step, deps.clock(), methodId, step])).rowCount === 1;
    },
  };
}
