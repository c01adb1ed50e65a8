/**
 * @module session/revocations
 * The revocation records of every user, held in memory so the per-request check costs a
 * Map lookup, and kept within one second of the shared store: a poll reads one counter
 * every `pollMs` and, when it moved, only the records changed since. An admin command in
 * another process, or another gateway on the same PostgreSQL, reaches this one in time.
 *
 * The same feed carries the block list: each record says until when the user is blocked,
 * and the view compares that with the injected clock, so a block also ends by itself.
 *
 * Fails closed: when the store has not answered for longer than `maxStalenessMs`, the
 * view reports itself not current and the session layer refuses signed-in requests.
 */
import type { RevocationView } from './session.ts';
import { userKey } from '../store/types.ts';

/** What the view needs from the store: the change counter and the records since a count. */
export interface RevocationFeed {
  changeSeq(): Promise<number>;
  revocationsSince(seq: number): Promise<{
    seq: number;
    entries: Array<{ user: string; sessionsRevokedAt: number | null; devicesRevokedAt: number | null; blockedUntil: number | null }>;
  }>;
}

export interface LiveRevocationView extends RevocationView {
  /** Whether the user (any spelling) is blocked now, by the injected clock. */
  blocked(user: string): boolean;
  /** Loads everything once; call before serving. */
  start(): Promise<void>;
  /** Polls now (tests, and right after this process itself revoked something). */
  refresh(): Promise<void>;
  stop(): void;
  /** Called with every user whose sessions were revoked since the last poll. */
  onSessionsRevoked(listener: (user: string) => void): void;
  /** Called with every user (key) who was blocked, or whose block was renewed, since the last poll. */
  onBlocked(listener: (user: string) => void): void;
}

export function createRevocationView(
  feed: RevocationFeed,
  opts: {
    pollMs?: number;
    maxStalenessMs?: number;
    /** Monotonic milliseconds for the staleness bound (real elapsed time, not the frozen test clock). */
    monotonic?: () => number;
    /** Epoch milliseconds, for block expiry (the frozen test clock). */
    clock?: () => number;
    onError?: (err: unknown) => void;
  } = {},
): LiveRevocationView {
  const pollMs = opts.pollMs ?? 250;
  const maxStalenessMs = opts.maxStalenessMs ?? 1000;
  const monotonic = opts.monotonic ?? (() => performance.now());
  const sessions = new Map<string, number>();
  const devices = new Map<string, number>();
  const blocks = new Map<string, number>();
  const clock = opts.clock ?? Date.now;
  const listeners: Array<(user: string) => void> = [];
  const blockListeners: Array<(user: string) => void> = [];
  let seq = 0;
  let lastSuccess = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  async function poll(): Promise<void> {
    const startedAt = monotonic();
    const current = await feed.changeSeq();
    if (current !== seq) {
      const changes = await feed.revocationsSince(seq);
      for (const entry of changes.entries) {
        const key = userKey(entry.user);
        if (entry.sessionsRevokedAt !== null) {
          const before = sessions.get(key);
          sessions.set(key, entry.sessionsRevokedAt);
          if (before !== entry.sessionsRevokedAt && seq !== 0) for (const l of listeners) l(key);
        }
        if (entry.devicesRevokedAt !== null) devices.set(key, entry.devicesRevokedAt);
        if (entry.blockedUntil === null) blocks.delete(key);
        else if (blocks.get(key) !== entry.blockedUntil) {
          blocks.set(key, entry.blockedUntil);
          if (seq !== 0) for (const l of blockListeners) l(key);
        }
      }
      seq = changes.seq;
    }
    lastSuccess = startedAt;
  }

  function refresh(): Promise<void> {
    inFlight ??= poll().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  return {
    sessionsRevokedAt: (user) => sessions.get(userKey(user)),
    devicesRevokedAt: (user) => devices.get(userKey(user)),
    blocked(user) {
      const until = blocks.get(userKey(user));
      return until !== undefined && clock() < until;
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
    onSessionsRevoked(listener) {
      listeners.push(listener);
    },
    onBlocked(listener) {
      blockListeners.push(listener);
    },
  };
}
