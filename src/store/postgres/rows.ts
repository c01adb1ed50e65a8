/**
 * @module store/postgres/rows
 * Table rows as `pg` returns them, their mapping to the store's types, and the small
 * statements shared by the PostgreSQL store's files.
 */

import type { AuditEntry, MethodInfo, OtpAlgorithm, SecretMethodKind } from '../types.ts';
import type { Queryable } from './db.ts';

/** Sealed secrets are bound to their row (the SecretBox AAD), the same binding as in SQLite. */
export const methodAad = (id: string) => `method:${id}`;
export const pendingAad = (id: string) => `pending:${id}`;

export interface MethodRow {
  id: string;
  user_key: string;
  kind: string;
  label: string;
  secret_sealed: string;
  algorithm: string;
  digits: number;
  period: number;
  active: boolean;
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
    active: r.active,
    period: r.period as 30 | 60,
    digits: r.digits as 6 | 8,
    algorithm: r.algorithm as OtpAlgorithm,
    lastStep: r.last_step,
  };
}

export interface AuditRow {
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

export function toAuditEntry(r: AuditRow): AuditEntry {
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
