/**
 * @module store/postgres/methods
 * Method rows written by more than one part of the PostgreSQL store (adding, enrollment,
 * token import), and the per-user advisory lock under which a method limit is counted.
 */

import { randomUUID } from 'node:crypto';
import type { SecretBox } from '../secret-box.ts';
import type { MethodInfo, NewMethod } from '../types.ts';
import { userKey } from '../types.ts';
import type { Queryable } from './db.ts';
import { methodAad, toMethod } from './rows.ts';
import type { MethodRow } from './rows.ts';

/** The advisory lock that serializes per-user counting (method limit) across processes. */
export const userLock = (key: string) => `user:${key}`;

/** Inserts a method row (the caller holds the user lock when a limit applies). */
export async function insertMethod(c: Queryable, box: SecretBox, m: NewMethod & { serial?: string; manufacturer?: string; model?: string }, now: number): Promise<MethodInfo> {
  const id = randomUUID();
  const { rows } = await c.query<MethodRow>(
    `INSERT INTO methods (id, user_key, kind, label, secret_sealed, algorithm, digits, period, active, serial, manufacturer, model, created_at, last_used_at, last_step)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, $14) RETURNING *`,
    [id, userKey(m.user), m.kind, m.label, box.seal(m.secret, methodAad(id)), m.algorithm, m.digits, m.period, m.active, m.serial ?? null, m.manufacturer ?? null, m.model ?? null, now, m.lastStep ?? null],
  );
  return toMethod(rows[0]!);
}

export async function countMethods(c: Queryable, key: string): Promise<number> {
  const { rows } = await c.query<{ n: number }>('SELECT COUNT(*) AS n FROM methods WHERE user_key = $1', [key]);
  return rows[0]!.n;
}

