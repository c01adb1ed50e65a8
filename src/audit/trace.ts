/**
 * @module audit/trace
 * Decision traces: why the gateway refused or redirected a request, kept under the short
 * request id its error page shows, so that `mfa-gateway explain --request ID` can tell an
 * admin what happened. Traces are buffered and written as one batch every few seconds, off
 * the request path; the buffer is bounded (past `maxBuffered` traces between flushes, further
 * ones are dropped and the drop is logged), and a failed write is logged, never retried.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { DecisionTrace, DecisionTraceStore } from '../store/types.ts';

/** Longest path kept; a scanner's paths must not grow rows without bound. */
const MAX_PATH = 500;

/** A short id for one request, shown on its error page and naming its trace: 12 hex digits. */
export const newRequestId = (): string => randomBytes(6).toString('hex');

/** Whether `value` looks like a request id (what `explain --request` accepts). */
export const isRequestId = (value: string): boolean => /^[0-9a-f]{12}$/.test(value);

export interface DecisionTraceRecorder {
  record(trace: DecisionTrace): void;
}

export interface DecisionTraceLog extends DecisionTraceRecorder {
  /** Writes the buffered traces now. */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left. */
  stop(): Promise<void>;
}

interface Deps {
  store: Pick<DecisionTraceStore, 'addDecisionTraces'>;
  log: Logger;
  /** Default 2 s. */
  flushMs?: number;
  /** Traces buffered between flushes; default 5,000. */
  maxBuffered?: number;
}

export function createDecisionTraceLog(deps: Deps): DecisionTraceLog {
  const maxBuffered = deps.maxBuffered ?? 5_000;
  let buffer: DecisionTrace[] = [];
  let dropped = 0;

  async function write(): Promise<void> {
    if (buffer.length === 0 && dropped === 0) return;
    const traces = buffer;
    const lost = dropped;
    buffer = [];
    dropped = 0;
    if (lost > 0) deps.log.warn({ dropped: lost }, `decision traces: ${lost} dropped (more than ${maxBuffered} between flushes)`);
    try {
      await deps.store.addDecisionTraces(traces);
    } catch (err) {
      deps.log.error({ err, traces: traces.length }, 'decision traces could not be written; they are lost');
    }
  }

  // One flush at a time: a caller's flush resolves only after the timer's flush in progress has written too.
  let last: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => (last = last.then(write));

  const timer = setInterval(() => void flush(), deps.flushMs ?? 2_000);
  timer.unref();

  return {
    record(trace) {
      if (buffer.length >= maxBuffered) {
        dropped++;
        return;
      }
      buffer.push(trace.path.length > MAX_PATH ? { ...trace, path: trace.path.slice(0, MAX_PATH) } : trace);
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}

/** The trace as `explain --request` prints it, one fact a line. */
export function formatTrace(t: DecisionTrace): string[] {
  const session =
    t.session === 'none'
      ? 'none (not signed in)'
      : `${t.session === 'password' ? 'password only' : 'password and second factor'}, user ${t.user ?? '?'}`;
  return [
    `request ${t.requestId} at ${new Date(t.at).toISOString()}`,
    `  ${t.method} ${t.host}${t.path}`,
    `  client address: ${t.clientIp} (from ${t.clientFrom === 'socket' ? 'the connection' : 'a trusted proxy header'})`,
    `  network: ${t.trustedNetwork ? 'trusted (mfa.trusted_ips)' : 'not trusted'}`,
    `  rule: ${t.rule ?? 'none matched'}`,
    `  session: ${session}`,
    `  missing: ${t.missing}`,
    `  outcome: ${t.outcome}`,
  ];
}
