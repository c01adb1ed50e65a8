/**
 * @module audit/format
 * How the sign-in log reads on a terminal: a table for people and one JSON object per line
 * for tools (`mfa-gateway log [--json]`). User names and User-Agents are whatever a client
 * sent, so control characters are shown escaped and never reach the terminal raw.
 */
import type { AuditEntry } from '../store/types.ts';
import { parseDuration } from '../config/duration.ts';
import { describeUserAgent } from './user-agent.ts';

/**
 * The start of a `--since` window: `30m`, `2h`, `7d` (any config duration) before `now`.
 * @throws Error with a plain message for anything else.
 */
export function sinceCutoff(text: string, now: number): number {
  return now - parseDuration(text.trim());
}

// C0, DEL, C1 and the line/paragraph separators: a terminal or a JSON-lines reader could act on them.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const hex = (c: string) => c.charCodeAt(0).toString(16).padStart(4, '0');

/** Control characters as `\uXXXX`, so a hostile user name cannot drive the terminal. */
export function printable(value: string): string {
  return value.replace(CONTROL, (c) => `\\u${hex(c)}`);
}

/** Time in UTC to the second, the same in every time zone: `2026-11-23 09:00:05Z`. */
function formatTime(at: number): string {
  return new Date(at)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** One entry as a JSON line (no trailing newline); field names are stable. */
export function auditJsonLine(e: AuditEntry): string {
  const line = JSON.stringify({
    time: new Date(e.at).toISOString(),
    user: e.user,
    client_ip: e.clientIp,
    user_agent: e.userAgent,
    browser: describeUserAgent(e.userAgent),
    rule: e.rule,
    kind: e.kind,
    outcome: e.outcome,
    detail: e.detail,
  });
  // JSON.stringify leaves DEL, C1 and U+2028/9 raw; escaping them keeps the line one safe line.
  return line.replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${hex(c)}`);
}

const HEADERS = ['TIME', 'USER', 'CLIENT', 'BROWSER', 'RULE', 'OUTCOME', 'DETAIL'] as const;
/** Widest a column may get (the last one, DETAIL, is never cut); OUTCOME fits `would_require_second_factor`. */
const MAX_WIDTH = [20, 24, 39, 24, 20, 27] as const;

function cut(value: string, width: number): string {
  return value.length <= width ? value : `${value.slice(0, width - 1)}…`;
}

/** The entries as an aligned table with a header line; a one-line note when there are none. */
export function auditTable(entries: readonly AuditEntry[]): string {
  if (entries.length === 0) return 'no sign-in log entries match\n';
  const rows = entries.map((e) => [
    formatTime(e.at),
    // Empty for a caller who had not signed in (report-only entries).
    printable(e.user) || '-',
    e.clientIp,
    printable(describeUserAgent(e.userAgent)) || '-',
    printable(e.rule ?? '-'),
    e.outcome,
    printable(e.detail),
  ]);
  const widths = MAX_WIDTH.map((max, i) => Math.min(max, Math.max(HEADERS[i]!.length, ...rows.map((r) => r[i]!.length))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < widths.length ? cut(c, widths[i]!).padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd();
  return `${[line(HEADERS), ...rows.map(line)].join('\n')}\n`;
}
