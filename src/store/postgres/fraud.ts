/**
 * @module store/postgres/fraud
 * The PostgreSQL side of fraud alerts and sign-in log retention: report links (consumed by
 * one conditional UPDATE: a second consumer, in any process, waits for the first one's row
 * lock and then finds the link used), the browsers each user signed in from (an INSERT that
 * only succeeds for a new pair), and the pruning the gateway runs on a timer. Spread into
 * the store by `openPostgresStore`.
 */

import type { AuditStore, FraudReport, FraudStore } from '../types.ts';
import { userKey } from '../types.ts';
import { purge } from './db.ts';
import type { Db } from './db.ts';

interface ReportRow {
  id: string;
  user_key: string;
  created_at: number;
  expires_at: number;
  client_ip: string;
  user_agent: string;
  consumed_at: number | null;
}

export function pgFraudStore(db: Db): FraudStore & Pick<AuditStore, 'pruneAudit'> {
  return {
    async createFraudReport(r) {
      await db.query(
        `INSERT INTO fraud_reports (id, user_key, created_at, expires_at, client_ip, user_agent, consumed_at)
         VALUES ($1, $2, $3, $4, $5, $6, NULL)`,
        [r.id, userKey(r.user), r.createdAt, r.expiresAt, r.clientIp, r.userAgent],
      );
    },
    async getFraudReport(id) {
      const { rows } = await db.query<ReportRow>('SELECT * FROM fraud_reports WHERE id = $1', [id]);
      const r = rows[0];
      if (r === undefined) return null;
      const report: FraudReport = {
        id: r.id,
        user: r.user_key,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        clientIp: r.client_ip,
        userAgent: r.user_agent,
        consumedAt: r.consumed_at,
      };
      return report;
    },
    async consumeFraudReport(id, now) {
      const r = await db.query('UPDATE fraud_reports SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL AND expires_at > $1', [now, id]);
      return r.rowCount === 1;
    },
    async seeBrowser(user, browser, now) {
      const key = userKey(user);
      const inserted = await db.query(
        'INSERT INTO known_browsers (user_key, browser_hash, first_seen, last_seen) VALUES ($1, $2, $3, $3) ON CONFLICT DO NOTHING',
        [key, browser, now],
      );
      if (inserted.rowCount === 1) return true;
      await db.query('UPDATE known_browsers SET last_seen = $1 WHERE user_key = $2 AND browser_hash = $3', [now, key, browser]);
      return false;
    },
    async pruneFraud(now, browsersSeenBefore) {
      await purge(db, 'fraud_reports', 'id', 'expires_at <= $1', now);
      await purge(db, 'known_browsers', 'user_key, browser_hash', 'last_seen < $1', browsersSeenBefore);
    },
    async pruneAudit(before) {
      return purge(db, 'audit_log', 'id', 'at < $1', before);
    },
  };
}
