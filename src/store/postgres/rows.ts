/**
 * @module store/postgres/rows
 * The small statements shared by the PostgreSQL store's files, and (re-exported from
 * `store/rows`) the row mapping both backends share.
 */

import type { Queryable } from './db.ts';

// Row mapping and secret binding are the same in both backends: see `store/rows`.
export { methodAad, newPendingRow, pendingAad, toAuditEntry, toMethod, toPending, type AuditRow, type MethodRow, type PendingRow } from '../rows.ts';

/** Builds `WHERE a = $1 AND b = $2 ...` from conditions with one placeholder `?` each. */
export function where(conditions: ReadonlyArray<[string, unknown]>, params: unknown[]): string {
  if (conditions.length === 0) return '';
  return `WHERE ${conditions
    .map(([sql, value]) => {
      params.push(value);
      return sql.replace('?', `$${params.length}`);
    })
    .join(' AND ')}`;
}

/** Bumps the change counter and returns the new value. Its row lock, held until commit, orders every
 * change other gateways must notice: take it first in a transaction. */
export async function bumpSeq(c: Queryable): Promise<number> {
  const { rows } = await c.query<{ seq: number }>('UPDATE change_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq');
  return rows[0]!.seq;
}
