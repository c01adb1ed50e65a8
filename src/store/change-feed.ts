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
   * Adds a consumer. `apply(since, initial)` loads and applies what changed after counter
   * `since` (0 = everything) and resolves with the counter it has now seen. The first call
   * (`initial` true) always happens, whatever the counter, and loads the state at start;
   * every later call is news. A consumer added before `start()` is loaded by its first poll.
   */
  subscribe(apply: (since: number, initial: boolean) => Promise<number>): void;
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
  // `seen` is null until the initial load: a counter of 0 is a fresh store, not a loaded one,
  // so the first change on it (counter 1) must still be news to the consumer.
  const subscribers: Array<{ apply: (since: number, initial: boolean) => Promise<number>; seen: number | null }> = [];
  let lastSuccess = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  async function poll(): Promise<void> {
    const startedAt = monotonic();
    const counter = await changeSeq();
    for (const s of subscribers) if (s.seen !== counter) s.seen = await s.apply(s.seen ?? 0, s.seen === null);
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
      subscribers.push({ apply, seen: null });
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
