/**
 * @module store/sql/traces
 * Decision traces of refused or redirected requests, by request id: written in batches off
 * the request path (`audit/trace`), read one at a time by `mfa-gateway explain --request`,
 * pruned by age with the sign-in log.
 */

import type { DecisionTrace, DecisionTraceStore } from '../types.ts';
import { purge, type Db } from './db.ts';

const BATCH = 100;

const COLUMNS = 'request_id, at, method, host, path, client_ip, client_from, trusted_net, rule, session, user_name, missing, outcome';

interface TraceRow {
  request_id: string;
  at: number | string;
  method: string;
  host: string;
  path: string;
  client_ip: string;
  client_from: string;
  /** SQLite stores 0/1, PostgreSQL a boolean. */
  trusted_net: boolean | number;
  rule: string | null;
  session: string;
  user_name: string | null;
  missing: string;
  outcome: string;
}

export function decisionTraceQueries(db: Db): DecisionTraceStore {
  return {
    async addDecisionTraces(traces) {
      for (let i = 0; i < traces.length; i += BATCH) {
        const batch = traces.slice(i, i + BATCH);
        await db.query(
          `INSERT INTO decision_traces (${COLUMNS}) VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
           ON CONFLICT (request_id) DO NOTHING`,
          batch.flatMap((t) => [
            t.requestId,
            t.at,
            t.method,
            t.host,
            t.path,
            t.clientIp,
            t.clientFrom,
            t.trustedNetwork,
            t.rule,
            t.session,
            t.user,
            t.missing,
            t.outcome,
          ]),
        );
      }
    },
    async decisionTrace(requestId) {
      const { rows } = await db.query<TraceRow>(`SELECT ${COLUMNS} FROM decision_traces WHERE request_id = ?`, [requestId]);
      const r = rows[0];
      if (r === undefined) return null;
      return {
        requestId: r.request_id,
        at: Number(r.at),
        method: r.method,
        host: r.host,
        path: r.path,
        clientIp: r.client_ip,
        clientFrom: r.client_from as DecisionTrace['clientFrom'],
        trustedNetwork: r.trusted_net === true || r.trusted_net === 1,
        rule: r.rule,
        session: r.session as DecisionTrace['session'],
        user: r.user_name,
        missing: r.missing,
        outcome: r.outcome,
      };
    },
    pruneDecisionTraces: (before) => purge(db, 'decision_traces', 'request_id', 'at < ?', before),
  };
}
