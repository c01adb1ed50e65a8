/**
 * @module audit/report-only
 * What report-only rules (`mode: report_only`) would have done, kept beside the sign-in log
 * without flooding it: hits are counted in memory per minute, rule, outcome, user, address
 * and path, and added to the store every few seconds as one batch (`report_only_hits`, read
 * by `mfa-gateway impact`). A busy route then costs one map update per request and one row
 * per distinct key and minute. The buffer is bounded: past `maxKeys` distinct keys before a
 * flush, further new keys are dropped and the drop is logged (the metrics still count them).
 */
import type { Logger } from 'pino';
import type { ReportOnlyHit, ReportOnlyOutcome, ReportOnlyStore } from '../store/types.ts';

/** Longest path kept; longer ones are cut (a scanner's paths must not grow rows without bound). */
const MAX_PATH = 200;

export interface ReportOnlyRecorder {
  record(hit: { rule: string; outcome: ReportOnlyOutcome; user: string | null; address: string; path: string }): void;
}

export interface ReportOnlyLog extends ReportOnlyRecorder {
  /** Adds the buffered counts to the store now. */
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left. */
  stop(): Promise<void>;
}

interface Deps {
  store: Pick<ReportOnlyStore, 'addReportOnlyHits'>;
  clock: () => number;
  log: Logger;
  /** Default 5 s. */
  flushMs?: number;
  /** Distinct keys buffered between flushes; default 10,000. */
  maxKeys?: number;
}

export function createReportOnlyLog(deps: Deps): ReportOnlyLog {
  const maxKeys = deps.maxKeys ?? 10_000;
  let buffer = new Map<string, ReportOnlyHit>();
  let dropped = 0;

  async function flush(): Promise<void> {
    if (buffer.size === 0 && dropped === 0) return;
    const hits = [...buffer.values()];
    const lost = dropped;
    buffer = new Map();
    dropped = 0;
    if (lost > 0)
      deps.log.warn(
        { dropped: lost },
        `report-only: ${lost} hits with new keys dropped (more than ${maxKeys} distinct keys between flushes)`,
      );
    try {
      await deps.store.addReportOnlyHits(hits);
    } catch (err) {
      deps.log.error({ err, hits: hits.length }, 'report-only hits could not be written; they are lost');
    }
  }

  const timer = setInterval(() => void flush(), deps.flushMs ?? 5_000);
  timer.unref();

  return {
    record(h) {
      const now = deps.clock();
      const minute = now - (now % 60_000);
      const user = h.user ?? '';
      const path = h.path.length > MAX_PATH ? h.path.slice(0, MAX_PATH) : h.path;
      const key = `${minute}\u0000${h.rule}\u0000${h.outcome}\u0000${user}\u0000${h.address}\u0000${path}`;
      const found = buffer.get(key);
      if (found) found.count++;
      else if (buffer.size >= maxKeys) dropped++;
      else buffer.set(key, { minute, rule: h.rule, outcome: h.outcome, user, address: h.address, path, count: 1 });
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
