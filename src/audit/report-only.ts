/**
 * @module audit/report-only
 * What report-only rules (`mode: report_only`) would have done, kept beside the sign-in log
 * without flooding it: hits are counted in memory per minute, rule, outcome, user, address
 * and path, and added to the store every few seconds as one batch (`report_only_hits`, read
 * by `mfa-gateway impact`). A busy route then costs one map update per request and one row
 * per distinct key and minute. The buffer is bounded: past `maxKeys` distinct keys before a
 * flush, further new keys are dropped and the drop is logged (the metrics still count them).
 *
 * The same flushes feed the sign-in log: their counts are summed per minute, rule, outcome,
 * user and address (the paths folded into a count and the most hit one), and once a minute
 * is over, each sum becomes one `report_only` entry (`mfa-gateway log --kind report_only`,
 * the admin log page). So a route hit thousands of times a minute by one user from one
 * address writes one entry a minute per gateway process, with the count in its detail
 * ({@link reportOnlyDetail}); `stop()` writes the minute in progress too.
 */
import type { Logger } from 'pino';
import type { AuditEvent, AuditStore, ReportOnlyHit, ReportOnlyOutcome, ReportOnlyStore } from '../store/types.ts';

/** Longest path kept; longer ones are cut (a scanner's paths must not grow rows without bound). */
const MAX_PATH = 200;
/** Distinct paths counted per sign-in log entry; more are summed without their name ("64+ paths"). */
const MAX_PATHS_PER_ENTRY = 64;
const MINUTE = 60_000;

export interface ReportOnlyRecorder {
  record(hit: { rule: string; outcome: ReportOnlyOutcome; user: string | null; address: string; path: string }): void;
}

export interface ReportOnlyLog extends ReportOnlyRecorder {
  /** Adds the buffered counts to the store now, and the minutes that are over to the sign-in log. */
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left, the minute in progress included. */
  stop(): Promise<void>;
}

interface Deps {
  store: Pick<ReportOnlyStore, 'addReportOnlyHits'> & Pick<AuditStore, 'recordAll'>;
  clock: () => number;
  log: Logger;
  /** Default 5 s. */
  flushMs?: number;
  /** Distinct keys buffered between flushes (and sign-in log entries waiting for their minute to end); default 10,000. */
  maxKeys?: number;
}

/** One future sign-in log entry: the hits of one minute, rule, outcome, user and address. */
interface Summary {
  minute: number;
  rule: string;
  outcome: ReportOnlyOutcome;
  user: string;
  address: string;
  count: number;
  paths: Map<string, number>;
  /** More distinct paths than {@link MAX_PATHS_PER_ENTRY} were seen. */
  morePaths: boolean;
}

export function createReportOnlyLog(deps: Deps): ReportOnlyLog {
  const maxKeys = deps.maxKeys ?? 10_000;
  let buffer = new Map<string, ReportOnlyHit>();
  let dropped = 0;
  const pending = new Map<string, Summary>();
  let droppedEntries = 0;

  /** Adds flushed hits to the sign-in log's per-minute sums. */
  function summarize(hits: readonly ReportOnlyHit[]): void {
    for (const h of hits) {
      const key = `${h.minute}\u0000${h.rule}\u0000${h.outcome}\u0000${h.user}\u0000${h.address}`;
      let s = pending.get(key);
      if (!s) {
        if (pending.size >= maxKeys) {
          droppedEntries++;
          continue;
        }
        s = {
          minute: h.minute,
          rule: h.rule,
          outcome: h.outcome,
          user: h.user,
          address: h.address,
          count: 0,
          paths: new Map(),
          morePaths: false,
        };
        pending.set(key, s);
      }
      s.count += h.count;
      const seen = s.paths.get(h.path);
      if (seen !== undefined) s.paths.set(h.path, seen + h.count);
      else if (s.paths.size < MAX_PATHS_PER_ENTRY) s.paths.set(h.path, h.count);
      else s.morePaths = true;
    }
  }

  /** Takes the sums whose minute is over (all of them when `all`) out of `pending`, as sign-in log events. */
  function closed(all: boolean): AuditEvent[] {
    const now = deps.clock();
    const current = now - (now % MINUTE);
    const out: AuditEvent[] = [];
    for (const [key, s] of pending) {
      if (!all && s.minute >= current) continue;
      pending.delete(key);
      out.push({
        kind: 'report_only',
        user: s.user,
        clientIp: s.address,
        userAgent: '',
        rule: s.rule,
        outcome: s.outcome,
        detail: reportOnlyDetail(s),
      });
    }
    return out;
  }

  async function write(all: boolean): Promise<void> {
    const hits = [...buffer.values()];
    const lost = dropped;
    buffer = new Map();
    dropped = 0;
    summarize(hits);
    const entries = closed(all);
    const lostEntries = droppedEntries;
    droppedEntries = 0;
    if (lost > 0)
      deps.log.warn(
        { dropped: lost },
        `report-only: ${lost} hits with new keys dropped (more than ${maxKeys} distinct keys between flushes)`,
      );
    if (lostEntries > 0)
      deps.log.warn({ dropped: lostEntries }, `report-only: ${lostEntries} sign-in log summaries dropped (more than ${maxKeys} waiting)`);
    if (hits.length > 0) {
      try {
        await deps.store.addReportOnlyHits(hits);
      } catch (err) {
        deps.log.error({ err, hits: hits.length }, 'report-only hits could not be written; they are lost');
      }
    }
    if (entries.length > 0) {
      try {
        await deps.store.recordAll(entries);
      } catch (err) {
        deps.log.error({ err, entries: entries.length }, 'report-only sign-in log entries could not be written; they are lost');
      }
    }
  }

  // One flush at a time: a caller's flush resolves only after the timer's flush in progress has written too.
  let last: Promise<void> = Promise.resolve();
  const flush = (all = false): Promise<void> => (last = last.then(() => write(all)));

  const timer = setInterval(() => void flush(), deps.flushMs ?? 5_000);
  timer.unref();

  return {
    record(h) {
      const now = deps.clock();
      const minute = now - (now % MINUTE);
      const user = h.user ?? '';
      const path = h.path.length > MAX_PATH ? h.path.slice(0, MAX_PATH) : h.path;
      const key = `${minute}\u0000${h.rule}\u0000${h.outcome}\u0000${user}\u0000${h.address}\u0000${path}`;
      const found = buffer.get(key);
      if (found) found.count++;
      else if (buffer.size >= maxKeys) dropped++;
      else buffer.set(key, { minute, rule: h.rule, outcome: h.outcome, user, address: h.address, path, count: 1 });
    },
    flush: () => flush(),
    async stop() {
      clearInterval(timer);
      await flush(true);
    },
  };
}

/** What a `report_only` sign-in log entry's detail says, parsed back (see {@link parseReportOnlyDetail}). */
interface ReportOnlyDetail {
  count: number;
  /** Start of the minute, epoch ms. */
  minute: number;
  /** Distinct paths; `more` when there were more than could be counted. */
  paths: number;
  more: boolean;
  /** The path hit most (the first in sort order on a tie). */
  top: string;
}

/**
 * The detail of a `report_only` sign-in log entry, for people and for parsing back:
 * `3 requests in the minute from 2026-11-23 09:00Z, 2 paths, most to /reports/q1`, or with one
 * path `1 request in the minute from 2026-11-23 09:00Z, to /docs/a`.
 */
function reportOnlyDetail(s: Summary): string {
  let top = '';
  let most = -1;
  for (const [path, count] of s.paths) {
    if (count > most || (count === most && path < top)) {
      top = path;
      most = count;
    }
  }
  const minute = new Date(s.minute).toISOString().slice(0, 16).replace('T', ' ');
  const paths = s.paths.size === 1 && !s.morePaths ? '' : `${s.paths.size}${s.morePaths ? '+' : ''} paths, most `;
  return `${s.count} request${s.count === 1 ? '' : 's'} in the minute from ${minute}Z, ${paths}to ${top}`;
}

const DETAIL = /^(\d+) requests? in the minute from (\d{4}-\d\d-\d\d \d\d:\d\d)Z, (?:(\d+)(\+?) paths, most )?to (\/.*)$/s;

/** The parts of a `report_only` entry's detail (what the admin page shows in the reader's language), or null when it is not one. */
export function parseReportOnlyDetail(detail: string): ReportOnlyDetail | null {
  const m = DETAIL.exec(detail);
  if (!m) return null;
  const minute = Date.parse(`${m[2]!.replace(' ', 'T')}:00Z`);
  if (!Number.isFinite(minute)) return null;
  return { count: Number(m[1]), minute, paths: m[3] === undefined ? 1 : Number(m[3]), more: m[4] === '+', top: m[5]! };
}
