/**
 * @module store/sqlite/fraud
 * The SQLite side of fraud alerts and sign-in log retention: report links (consumed by one
 * conditional UPDATE, so a link works once even across processes), the browsers each user
 * signed in from (an INSERT that only succeeds for a new pair), and the pruning the gateway
 * runs on a timer. Spread into the store by `openSqliteStore`.
 */

import type Database from 'better-sqlite3';
import type { AuditStore, FraudReport, FraudStore } from '../types.ts';
import { userKey } from '../types.ts';

interface ReportRow {
  id: string;
  user_key: string;
  created_at: number;
  expires_at: number;
  client_ip: string;
  user_agent: string;
  consumed_at: number | null;
}

/** Runs a statement and turns SQLite failures into the store's 503 (see `guard` in sqlite-store). */
type Guard = <T>(what: string, fn: () => T) => Promise<T>;

export function sqliteFraudStore(db: Database.Database, guard: Guard): FraudStore & Pick<AuditStore, 'pruneAudit'> {
  const q = {
    insertReport: db.prepare(
      `INSERT INTO fraud_reports (id, user_key, created_at, expires_at, client_ip, user_agent, consumed_at)
       VALUES (@id, @user_key, @created_at, @expires_at, @client_ip, @user_agent, NULL)`,
    ),
    getReport: db.prepare<[string], ReportRow>('SELECT * FROM fraud_reports WHERE id = ?'),
    consumeReport: db.prepare('UPDATE fraud_reports SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL AND expires_at > ?'),
    insertBrowser: db.prepare(
      'INSERT INTO known_browsers (user_key, browser_hash, first_seen, last_seen) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    touchBrowser: db.prepare('UPDATE known_browsers SET last_seen = ? WHERE user_key = ? AND browser_hash = ?'),
    pruneReports: db.prepare('DELETE FROM fraud_reports WHERE expires_at <= ?'),
    pruneBrowsers: db.prepare('DELETE FROM known_browsers WHERE last_seen < ?'),
    pruneAudit: db.prepare('DELETE FROM audit_log WHERE at < ?'),
  };

  return {
    createFraudReport: (r) =>
      guard('createFraudReport', () => {
        q.insertReport.run({
          id: r.id,
          user_key: userKey(r.user),
          created_at: r.createdAt,
          expires_at: r.expiresAt,
          client_ip: r.clientIp,
          user_agent: r.userAgent,
        });
      }),
    getFraudReport: (id) =>
      guard('getFraudReport', (): FraudReport | null => {
        const r = q.getReport.get(id);
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
      }),
    consumeFraudReport: (id, now) => guard('consumeFraudReport', () => q.consumeReport.run(now, id, now).changes === 1),
    seeBrowser: (user, browser, now) =>
      guard('seeBrowser', () => {
        const key = userKey(user);
        if (q.insertBrowser.run(key, browser, now, now).changes === 1) return true;
        q.touchBrowser.run(now, key, browser);
        return false;
      }),
    pruneFraud: (now, browsersSeenBefore) =>
      guard('pruneFraud', () => {
        q.pruneReports.run(now);
        q.pruneBrowsers.run(browsersSeenBefore);
      }),
    pruneAudit: (before) => guard('pruneAudit', () => q.pruneAudit.run(before).changes),
  };
}
