/**
 * @module store/outage
 * A store outage told politely: while the store is unreachable the gateway answers 503 with
 * `Retry-After` (fails closed) and recovers by itself; the log gets ONE line when the store
 * goes away and one when it is back, with how many requests were refused meanwhile, instead
 * of a stack trace per request and per change-feed poll.
 *
 * {@link watchStore} wraps the store so every call reports its outcome: a call failing with
 * GW_STORE_UNAVAILABLE marks the outage, and a call that started after the outage began and
 * succeeded ends it (a call already under way when the store went away proves nothing).
 * Likewise a failure of a call that began before the last success is stale: it does not
 * open a second outage after the store came back.
 */
import type { Logger } from 'pino';
import type { GatewayError } from '../errors/errors.ts';

export interface StoreOutage {
  /** A store call (or the change feed, without a ticket) failed as unavailable. */
  failed(err: unknown, ticket?: number): void;
  /** A request was answered 503 because of the store. */
  refused(err: GatewayError): void;
  /** Before a store call: a ticket for {@link succeeded}. */
  began(): number;
  /** A store call that began with `ticket` succeeded. */
  succeeded(ticket: number): void;
  readonly down: boolean;
}

const isUnavailable = (err: unknown) => (err as { code?: unknown } | null)?.code === 'GW_STORE_UNAVAILABLE';

/** The ticket of the store call an error came from (set by {@link watchStore}). */
const TICKET = Symbol('store call ticket');
const ticketOf = (err: unknown): number | undefined =>
  typeof err === 'object' && err !== null ? (err as { [TICKET]?: number })[TICKET] : undefined;

export function createStoreOutage(log: Pick<Logger, 'error' | 'info'>, monotonic: () => number = () => performance.now()): StoreOutage {
  let calls = 0;
  /** The ticket number at which the current outage began; null while the store answers. */
  let downAt: number | null = null;
  let downSince = 0;
  let refusals = 0;
  /** The newest ticket whose call succeeded: failures of calls begun before it are stale. */
  let lastSuccess = 0;
  const stale = (ticket: number | undefined) => ticket !== undefined && ticket <= lastSuccess;

  function goDown(err: unknown): void {
    if (downAt !== null) return;
    downAt = calls;
    downSince = monotonic();
    refusals = 0;
    const detail = (err as { detail?: unknown } | null)?.detail;
    log.error(
      { code: 'GW_STORE_UNAVAILABLE', detail: typeof detail === 'string' ? detail : String(err) },
      'store unavailable: refusing requests that need it with 503 until it answers again',
    );
  }

  return {
    failed(err, ticket = ticketOf(err)) {
      if (isUnavailable(err) && !stale(ticket)) goDown(err);
    },
    refused(err) {
      if (stale(ticketOf(err)) && downAt === null) return;
      goDown(err);
      refusals++;
    },
    began: () => ++calls,
    succeeded(ticket) {
      lastSuccess = Math.max(lastSuccess, ticket);
      if (downAt === null || ticket <= downAt) return;
      log.info(
        { refused: refusals, down_ms: Math.round(monotonic() - downSince) },
        `store back after an outage; ${refusals} request(s) were refused meanwhile`,
      );
      downAt = null;
    },
    get down() {
      return downAt !== null;
    },
  };
}

/**
 * The error handler of a background poll of the store: an unreachable store is the
 * outage's one line, anything else is logged as `message`.
 */
export function pollErrorHandler(outage: StoreOutage, log: Pick<Logger, 'error'>, message: string): (err: unknown) => void {
  return (err) => {
    outage.failed(err);
    if (!isUnavailable(err)) log.error({ err }, message);
  };
}

/** The store with every call's outcome reported to `outage` (a proxy, so a class-based backend keeps its fields). */
export function watchStore<S extends object>(
  store: S,
  outage: StoreOutage,
  unwatched: ReadonlySet<string> = new Set(['close', 'health']),
): S {
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || unwatched.has(prop)) return value.bind(target);
      return (...args: unknown[]) => {
        const ticket = outage.began();
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (v: unknown) => {
            outage.succeeded(ticket);
            return v;
          },
          (err: unknown) => {
            if (typeof err === 'object' && err !== null && !(TICKET in err)) Object.defineProperty(err, TICKET, { value: ticket });
            outage.failed(err, ticket);
            throw err;
          },
        );
      };
    },
  });
}
