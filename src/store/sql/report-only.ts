/**
 * @module store/sql/report-only
 * What report-only rules would have done (`mode: report_only`), aggregated per minute: the
 * gateway adds counts in batches (one upsert per batch, so parallel processes add up instead
 * of overwriting), `mfa-gateway impact` reads the sums, housekeeping prunes by age.
 */

import type { ReportOnlyOutcome, ReportOnlyStore } from '../types.ts';
import { purge, where, type Db } from './db.ts';

const BATCH = 200;

export function reportOnlyQueries(db: Db): ReportOnlyStore {
  return {
    async addReportOnlyHits(hits) {
      for (let i = 0; i < hits.length; i += BATCH) {
        const batch = hits.slice(i, i + BATCH);
        await db.query(
          `INSERT INTO report_only_hits (minute, rule, outcome, user_name, address, path, count)
           VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}
           ON CONFLICT (minute, rule, outcome, user_name, address, path) DO UPDATE SET count = report_only_hits.count + excluded.count`,
          batch.flatMap((h) => [h.minute, h.rule, h.outcome, h.user, h.address, h.path, h.count]),
        );
      }
    },
    async reportOnlyHits(q) {
      const params: unknown[] = [];
      const w = where([['minute >= ?', q.since], q.rule !== undefined && ['rule = ?', q.rule]], params);
      const { rows } = await db.query<{ rule: string; outcome: string; user_name: string; address: string; path: string; count: number }>(
        `SELECT rule, outcome, user_name, address, path, SUM(count) AS count FROM report_only_hits ${w}
         GROUP BY rule, outcome, user_name, address, path ORDER BY rule, outcome, user_name, address, path`,
        params,
      );
      return rows.map((r) => ({
        rule: r.rule,
        outcome: r.outcome as ReportOnlyOutcome,
        user: r.user_name,
        address: r.address,
        path: r.path,
        count: Number(r.count),
      }));
    },
    pruneReportOnly: (before) => purge(db, 'report_only_hits', 'minute, rule, outcome, user_name, address, path', 'minute < ?', before),
  };
}
