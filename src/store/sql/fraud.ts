/**
 * @module store/sql/fraud
 * Fraud alerts: report links (consumed by one conditional UPDATE, so a link works once even
 * across processes), the browsers each user signed in from (an INSERT that only succeeds for
 * a new pair), and their pruning, which the gateway runs on a timer.
 */

import type { FraudReport, FraudStore } from '../types.ts';
import { userKey } from '../types.ts';
import { purge, type Db } from './db.ts';

interface ReportRow {
  id: string;
  user_key: string;
  created_at: number;
  expires_at: number;
  client_ip: string;
  user_agent: string;
  consumed_at: number | null;
}

export function fraudQueries(db: Db): FraudStore {
  return {
    async createFraudReport(r) {
      await db.query(
        'INSERT INTO fraud_reports (id, user_key, created_at, expires_at, client_ip, user_agent, consumed_at) VALUES (?, ?, ?, ?, ?, ' +
          '?, NULL)',
        [r.id, userKey(r.user), r.createdAt, r.expiresAt, r.clientIp, r.userAgent],
      );
    },
    async getFraudReport(id): Promise<FraudReport | null> {
      const r = (await db.query<ReportRow>('SELECT * FROM fraud_reports WHERE id = ?', [id])).rows[0];
      if (r === undefined) return null;
      return {
        id: r.id,
        user: r.user_key,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        clientIp: r.client_ip,
        userAgent: r.user_agent,
        consumedAt: r.consumed_at,
      };
    },
    async consumeFraudReport(id, now) {
      return (
        (await db.query('UPDATE fraud_reports SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL AND expires_at > ?', [now, id, now]))
          .rowCount === 1
      );
    },
    async seeBrowser(user, browser, now) {
      const key = userKey(user);
      const sql = 'INSERT INTO known_browsers (user_key, browser_hash, first_seen, last_seen) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING';
      if ((await db.query(sql, [key, browser, now, now])).rowCount === 1) return true;
      await db.query('UPDATE known_browsers SET last_seen = ? WHERE user_key = ? AND browser_hash = ?', [now, key, browser]);
      return false;
    },
    async pruneFraud(now, browsersSeenBefore) {
      await purge(db, 'fraud_reports', 'id', 'expires_at <= ?', now);
      await purge(db, 'known_browsers', 'user_key, browser_hash', 'last_seen < ?', browsersSeenBefore);
    },
  };
}
