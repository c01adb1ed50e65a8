/**
 * @module store/change-feed
 * How a gateway process learns what other processes changed in the shared store: one poll
 * of the store's change counter every `pollMs`, and, when it moved, each subscriber loads
 * only what changed since the count it last saw (revocations and blocks, app passwords).
 * One feed per process, so the store answers one cheap read per poll however many in-memory
 * views hang on it.
 *
 * Fails closed: `current()` turns false when the store has not answered for longer than
 * `maxStalenessMs`, and consumers then refuse to trust what they hold.
 */

export interface ChangeFeed {
  /**
   * Adds a consumer. `apply(since)` loads and applies what changed after counter `since`
   * (0 = everything) and resolves with the counter it has now seen. A consumer added before
   * `start()` is loaded by its first poll.
   */
  subscribe(apply: (since: number) => Promise<number>): void;
  /** False when the store has not answered a poll recently enough to trust what was loaded. */
  current(): boolean;
  /** Polls once (loading every consumer), then every `pollMs`. */
  start(): Promise<void>;
  /** Polls now: after this process changed something, or in tests. */
  refresh(): Promise<void>;
  stop(): void;
}

export interface ChangeFeedOptions {
  pollMs?: number;
  maxStalenessMs?: number;
  /** Monotonic milliseconds for the staleness bound (real elapsed time, not a frozen test clock). */
  monotonic?: () => number;
  onError?: (err: unknown) => void;
}

export function createChangeFeed(changeSeq: () => Promise<number>, opts: ChangeFeedOptions = {}): ChangeFeed {
  const pollMs = opts.pollMs ?? 250;
  const maxStalenessMs = opts.maxStalenessMs ?? 1000;
  const monotonic = opts.monotonic ?? (() => performance.now());
  const subscribers: Array<{ apply: (since: number) => Promise<number>; seen: number }> = [];
  let lastSuccess = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  async function poll(): Promise<void> {
    const startedAt = monotonic();
    const counter = await changeSeq();
    for (const s of subscribers) if (s.seen !== counter) s.seen = await s.apply(s.seen);
    lastSuccess = startedAt;
  }

  function refresh(): Promise<void> {
    inFlight ??= poll().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  return {
    subscribe(apply) {
      subscribers.push({ apply, seen: 0 });
    },
    current: () => monotonic() - lastSuccess <= maxStalenessMs,
    async start() {
      await refresh();
      timer = setInterval(() => {
        refresh().catch((err: unknown) => opts.onError?.(err));
      }, pollMs);
      timer.unref();
    },
    refresh,
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
