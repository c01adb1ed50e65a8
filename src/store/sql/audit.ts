/**
 * @module store/sql/audit
 * The sign-in log: written by every sign-in step (and, a minute at a time, by report-only
 * rules), read newest first by `mfa-gateway log` and, filtered and paged by id, by the admin
 * pages; pruned by age (`log.sign_in_retention`).
 * Ids grow with insertion (AUTOINCREMENT, identity), so id order is log order and a stable
 * page key.
 */

import type { AdminStore, AuditEntry, AuditEvent, AuditStore, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { purge, where, type Db } from './db.ts';

/** Events per INSERT: 9 parameters each, well under either database's limit. */
const BATCH = 200;

interface AuditRow {
  id: number;
  at: number;
  kind: string;
  user_typed: string;
  client_ip: string;
  user_agent: string;
  rule: string | null;
  outcome: string;
  detail: string;
}

function toAuditEntry(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    at: r.at,
    kind: r.kind as AuditEntry['kind'],
    user: r.user_typed,
    clientIp: r.client_ip,
    userAgent: r.user_agent,
    rule: r.rule,
    outcome: r.outcome as AuditEntry['outcome'],
    detail: r.detail,
  };
}

export function auditQueries(db: Db, deps: StoreDeps): AuditStore & Pick<AdminStore, 'auditPage' | 'lastSignIn'> {
  async function select(conditions: Array<[string, unknown] | false>, order: string, limit: number): Promise<AuditEntry[]> {
    const params: unknown[] = [];
    const w = where(conditions, params);
    params.push(Math.max(0, Math.floor(limit)));
    return (await db.query<AuditRow>(`SELECT * FROM audit_log ${w} ORDER BY ${order} LIMIT ?`, params)).rows.map(toAuditEntry);
  }

  /** One multi-row INSERT per batch: ids follow the order of `events`. */
  async function insert(events: readonly AuditEvent[]): Promise<void> {
    const at = deps.clock();
    for (let i = 0; i < events.length; i += BATCH) {
      const batch = events.slice(i, i + BATCH);
      await db.query(
        `INSERT INTO audit_log (at, kind, user_typed, user_key, client_ip, user_agent, rule, outcome, detail) VALUES ${batch
          .map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .join(', ')}`,
        batch.flatMap((e) => [at, e.kind, e.user, userKey(e.user), e.clientIp, e.userAgent, e.rule, e.outcome, e.detail]),
      );
    }
  }

  return {
    record: (e) => insert([e]),
    recordAll: insert,
    query: (q) =>
      select(
        [
          q.user !== undefined && ['user_key = ?', userKey(q.user)],
          q.since !== undefined && ['at >= ?', q.since],
          q.kind !== undefined && ['kind = ?', q.kind],
        ],
        'at DESC, id DESC',
        q.limit,
      ),
    pruneAudit: (before) => purge(db, 'audit_log', 'id', 'at < ?', before),
    auditPage: (q) =>
      select(
        [
          q.user !== undefined && ['user_key = ?', userKey(q.user)],
          q.since !== undefined && ['at >= ?', q.since],
          q.kind !== undefined && ['kind = ?', q.kind],
          q.outcome !== undefined && ['outcome = ?', q.outcome],
          q.beforeId !== undefined && ['id < ?', q.beforeId],
        ],
        'id DESC',
        q.limit,
      ),
    // The kinds that count as a sign-in: a password, the identity provider, an app password.
    async lastSignIn(user) {
      const sql =
        "SELECT MAX(at) AS at FROM audit_log WHERE user_key = ? AND outcome = 'success' AND kind IN ('password', 'federated', " +
        "'app_password')";
      return (await db.query<{ at: number | null }>(sql, [userKey(user)])).rows[0]?.at ?? null;
    },
  };
}
