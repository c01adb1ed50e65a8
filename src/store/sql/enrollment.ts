/**
 * @module store/sql/enrollment
 * Pending enrollments: a TOTP secret shown on the enrollment page, at most one per user,
 * turned into a method by the code it displays. Completion deletes the pending row first
 * (claiming it: a parallel completion or replacement waits on its row), then counts the
 * user's methods under the user's lock; over the limit, the rollback puts the row back.
 */

import { randomUUID } from 'node:crypto';
import type { SecretBox } from '../secret-box.ts';
import type { CompleteEnrollmentResult, OtpAlgorithm, PendingEnrollment, PendingEnrollmentStore, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { purge, rollback, userLock, type Db } from './db.ts';
import { countMethods, insertMethod } from './methods.ts';

/** Sealed secrets are bound to their row: a sealed value copied to another row does not open. */
export const pendingAad = (id: string): string => `pending:${id}`;

interface PendingRow {
  id: string;
  user_key: string;
  secret_sealed: string;
  algorithm: string;
  digits: number;
  period: number;
  created_at: number;
  expires_at: number;
}

function toPending(r: PendingRow, box: Pick<SecretBox, 'open'>): PendingEnrollment {
  return {
    id: r.id,
    user: r.user_key,
    secret: box.open(r.secret_sealed, pendingAad(r.id)),
    period: r.period as 30 | 60,
    digits: r.digits as 6 | 8,
    algorithm: r.algorithm as OtpAlgorithm,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
}

export function enrollmentQueries(db: Db, box: SecretBox, deps: StoreDeps): PendingEnrollmentStore {
  return {
    async createPending(input) {
      const now = deps.clock();
      const id = randomUUID();
      await purge(db, 'pending_enrollments', 'id', 'expires_at <= ?', now);
      // One statement replaces any earlier pending enrollment of the user (the unique user_key).
      const { rows } = await db.query<PendingRow>(
        `INSERT INTO pending_enrollments (id, user_key, secret_sealed, algorithm, digits, period, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_key) DO UPDATE SET id = excluded.id, secret_sealed = excluded.secret_sealed, algorithm = excluded.algorithm,
           digits = excluded.digits, period = excluded.period, created_at = excluded.created_at, expires_at = excluded.expires_at
         RETURNING *`,
        [
          id,
          userKey(input.user),
          box.seal(input.secret, pendingAad(id)),
          input.algorithm,
          input.digits,
          input.period,
          now,
          now + input.ttlMs,
        ],
      );
      return toPending(rows[0]!, box);
    },
    async getPending(user) {
      const { rows } = await db.query<PendingRow>('SELECT * FROM pending_enrollments WHERE user_key = ? AND expires_at > ?', [
        userKey(user),
        deps.clock(),
      ]);
      return rows[0] === undefined ? null : toPending(rows[0], box);
    },
    completeEnrollment: (input) =>
      db.tx<CompleteEnrollmentResult>('completeEnrollment', async (c) => {
        const key = userKey(input.user);
        const now = deps.clock();
        const { rows } = await c.query<PendingRow>(
          'DELETE FROM pending_enrollments WHERE id = ? AND user_key = ? AND expires_at > ? RETURNING *',
          [input.pendingId, key, now],
        );
        const p = rows[0];
        if (p === undefined) return { ok: false, reason: 'expired' };
        await db.dialect.lock(c, userLock(key));
        if ((await countMethods(c, key)) >= input.maxPerUser) return rollback({ ok: false, reason: 'limit_reached' });
        const secret = box.open(p.secret_sealed, pendingAad(p.id));
        const method = {
          user: key,
          kind: 'totp',
          label: input.label,
          secret,
          algorithm: p.algorithm as OtpAlgorithm,
          digits: p.digits as 6 | 8,
          period: p.period as 30 | 60,
          active: true,
          lastStep: input.step,
        } as const;
        return { ok: true, method: await insertMethod(c, box, method, now) };
      }),
    async cancelPending(user) {
      await db.query('DELETE FROM pending_enrollments WHERE user_key = ?', [userKey(user)]);
    },
  };
}
