/**
 * @module store/rows
 * What both backends share about their rows: the binding of a sealed secret to its row (the
 * SecretBox's associated data, which must never differ between backends, or a secret sealed
 * by one would not open in the other), and turning method and sign-in log rows into the
 * objects of `store/types`. SQLite stores booleans as 0/1, PostgreSQL as booleans; both read.
 */
import type { AuditEntry, MethodInfo, OtpAlgorithm, SecretMethodKind } from './types.ts';

/** Sealed secrets are bound to their row: a sealed value copied to another row does not open. */
export const methodAad = (id: string): string => `method:${id}`;
export const pendingAad = (id: string): string => `pending:${id}`;

export interface MethodRow {
  id: string;
  user_key: string;
  kind: string;
  label: string;
  secret_sealed: string;
  algorithm: string;
  digits: number;
  period: number;
  active: boolean | number;
  serial?: string | null;
  manufacturer?: string | null;
  model?: string | null;
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
    active: r.active === true || r.active === 1,
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
