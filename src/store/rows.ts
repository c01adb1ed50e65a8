/**
 * @module store/rows
 * What both backends share about their rows: the binding of a sealed secret to its row (the
 * SecretBox's associated data, which must never differ between backends, or a secret sealed
 * by one would not open in the other), building a pending enrollment's row, and turning
 * method, pending enrollment, block and sign-in log rows into the objects of `store/types`. SQLite stores booleans as 0/1, PostgreSQL as booleans; both read.
 */
import { randomUUID } from 'node:crypto';
import type { SecretBox } from './secret-box.ts';
import type { AuditEntry, BlockHistoryEntry, MethodInfo, OtpAlgorithm, PendingEnrollment, PendingEnrollmentStore, SecretMethodKind } from './types.ts';
import { userKey } from './types.ts';

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

export interface PendingRow {
  id: string;
  user_key: string;
  secret_sealed: string;
  algorithm: string;
  digits: number;
  period: number;
  created_at: number;
  expires_at: number;
}

/** The row of a new pending enrollment, its secret sealed and bound to the row. */
export function newPendingRow(input: Parameters<PendingEnrollmentStore['createPending']>[0], box: Pick<SecretBox, 'seal'>, now: number): PendingRow {
  const id = randomUUID();
  return {
    id,
    user_key: userKey(input.user),
    secret_sealed: box.seal(input.secret, pendingAad(id)),
    algorithm: input.algorithm,
    digits: input.digits,
    period: input.period,
    created_at: now,
    expires_at: now + input.ttlMs,
  };
}

export function toPending(r: PendingRow, box: Pick<SecretBox, 'open'>): PendingEnrollment {
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

export interface BlockRow {
  user_key: string;
  blocked_at: number;
  blocked_until: number;
  block_reason: string;
  blocked_by: string;
}

export interface HistoryRow {
  id: number;
  user_key: string;
  action: string;
  at: number;
  until: number | null;
  reason: string;
  actor: string;
}

export function toBlockHistoryEntry(r: HistoryRow): BlockHistoryEntry {
  return { id: r.id, user: r.user_key, action: r.action as BlockHistoryEntry['action'], at: r.at, until: r.until, reason: r.reason, actor: r.actor };
}
