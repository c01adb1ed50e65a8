/**
 * @module audit/retention
 * Keeps the sign-in log (its report-only entries included), the report-only rule hits and the
 * decision traces beside it to `log.sign_in_retention`: the gateway prunes older entries at
 * start and then every hour, together with expired fraud report links, browsers not seen for
 * a long time, and records of signed-out sessions past their absolute timeout. Pruning is
 * idempotent, so several gateway processes sharing one store may all run it.
 */
import type { Logger } from 'pino';
import type {
  AuditStore,
  DecisionTraceStore,
  FraudStore,
  ReportOnlyStore,
  SessionRevocationStore,
  SessionIndexStore,
} from '../store/types.ts';
import { BROWSER_MEMORY_MS } from '../regulation/fraud.ts';

export const HOUSEKEEPING_INTERVAL_MS = 3_600_000;

interface IntervalScheduler {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface HousekeepingDeps {
  store: Pick<AuditStore, 'pruneAudit'> &
    Pick<FraudStore, 'pruneFraud'> &
    Pick<SessionRevocationStore, 'pruneRevokedSessions'> &
    Pick<SessionIndexStore, 'pruneSessionIndex'> &
    Pick<ReportOnlyStore, 'pruneReportOnly'> &
    Pick<DecisionTraceStore, 'pruneDecisionTraces'>;
  /** The current retention in ms (read on every run, so a config reload applies). */
  retentionMs: () => number;
  clock: () => number;
  log: Logger;
  intervalMs?: number;
  scheduler?: IntervalScheduler;
}

export interface Housekeeping {
  /** One pruning pass now; resolves with the number of log entries removed (0 after a logged failure). */
  run(): Promise<number>;
  stop(): void;
}

const realScheduler: IntervalScheduler = {
  setInterval(fn, ms) {
    const handle = setInterval(fn, ms);
    handle.unref();
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/** Starts the hourly pass (the first one is the caller's `run()` at start). */
export function startHousekeeping(deps: HousekeepingDeps): Housekeeping {
  const { store, clock, log } = deps;
  const scheduler = deps.scheduler ?? realScheduler;
  async function run(): Promise<number> {
    const now = clock();
    try {
      const removed = await store.pruneAudit(now - deps.retentionMs());
      await store.pruneFraud(now, now - BROWSER_MEMORY_MS);
      await store.pruneRevokedSessions(now);
      await store.pruneSessionIndex(now);
      await store.pruneReportOnly(now - deps.retentionMs());
      await store.pruneDecisionTraces(now - deps.retentionMs());
      if (removed > 0) log.info({ removed }, 'sign-in log entries past retention removed');
      return removed;
    } catch (err) {
      log.error({ err }, 'sign-in log pruning failed; will retry at the next pass');
      return 0;
    }
  }
  const handle = scheduler.setInterval(() => void run(), deps.intervalMs ?? HOUSEKEEPING_INTERVAL_MS);
  return { run, stop: () => scheduler.clearInterval(handle) };
}
