/**
 * @module session/revocations
 * The revocation records of every user, held in memory so the per-request check costs a
 * Map lookup, and kept within one second of the shared store by the process's change feed
 * (`store/change-feed`): when the counter moved, only the records changed since are read. An admin command in
 * another process, or another gateway on the same PostgreSQL, reaches this one in time.
 *
 * The same feed carries the block list: each record says until when the user is blocked,
 * and the view compares that with the injected clock, so a block also ends by itself. And
 * it carries sessions ended one by one (sign-out), by session id, each kept until the
 * session's absolute timeout, after which no copy of its cookie works anyway.
 *
 * Fails closed: when the feed has not reached the store for longer than `maxStalenessMs`,
 * the view reports itself not current and the session layer refuses signed-in requests.
 */
import type { RevocationView } from './session.ts';
import { userKey } from '../store/types.ts';
import { createChangeFeed, type ChangeFeed, type ChangeFeedOptions } from '../store/change-feed.ts';

/** What the view needs from the store: the change counter and the records since a count. */
export interface RevocationFeed {
  changeSeq(): Promise<number>;
  revokedSessionsSince(seq: number): Promise<{ seq: number; entries: Array<{ sid: string; user: string; expiresAt: number }> }>;
  revocationsSince(seq: number): Promise<{
    seq: number;
    entries: Array<{ user: string; sessionsRevokedAt: number | null; devicesRevokedAt: number | null; blockedUntil: number | null }>;
  }>;
}

export interface LiveRevocationView extends RevocationView {
  /** Whether the user (any spelling) is blocked now, by the injected clock. */
  blocked(user: string): boolean;
  /** The process's change feed, which other in-memory views (app passwords) subscribe to as well. */
  readonly feed: ChangeFeed;
  /** Loads everything once and starts the feed; call before serving. */
  start(): Promise<void>;
  /** Polls now (tests, and right after this process itself revoked something). */
  refresh(): Promise<void>;
  stop(): void;
  /** Called with every user whose sessions were revoked since the last poll. */
  onSessionsRevoked(listener: (user: string) => void): void;
  /** Called with every user (key) who was blocked, or whose block was renewed, since the last poll. */
  onBlocked(listener: (user: string) => void): void;
  /** Called with the id (and user key) of every session ended one by one since the last poll. */
  onSessionRevoked(listener: (sid: string, user: string) => void): void;
}

export function createRevocationView(
  store: RevocationFeed,
  opts: ChangeFeedOptions & {
    /** Epoch milliseconds, for block expiry (the frozen test clock). */
    clock?: () => number;
  } = {},
): LiveRevocationView {
  const feed = createChangeFeed(() => store.changeSeq(), opts);
  const sessions = new Map<string, number>();
  const devices = new Map<string, number>();
  const blocks = new Map<string, number>();
  const clock = opts.clock ?? Date.now;
  const listeners: Array<(user: string) => void> = [];
  const blockListeners: Array<(user: string) => void> = [];
  const sessionListeners: Array<(sid: string, user: string) => void> = [];
  /** Ended session id -> when its session expires anyway (then the entry goes). */
  const endedSessions = new Map<string, number>();

  feed.subscribe(async (since, initial) => {
    const changes = await store.revocationsSince(since);
    // The initial load is the state at start, not news: listeners hear of later changes only.
    const news = !initial;
    for (const entry of changes.entries) {
      const key = userKey(entry.user);
      if (entry.sessionsRevokedAt !== null) {
        const before = sessions.get(key);
        sessions.set(key, entry.sessionsRevokedAt);
        if (before !== entry.sessionsRevokedAt && news) for (const l of listeners) l(key);
      }
      if (entry.devicesRevokedAt !== null) devices.set(key, entry.devicesRevokedAt);
      if (entry.blockedUntil === null) blocks.delete(key);
      else if (blocks.get(key) !== entry.blockedUntil) {
        blocks.set(key, entry.blockedUntil);
        if (news) for (const l of blockListeners) l(key);
      }
    }
    return changes.seq;
  });

  feed.subscribe(async (since, initial) => {
    const changes = await store.revokedSessionsSince(since);
    const now = clock();
    for (const [sid, expiresAt] of endedSessions) if (expiresAt <= now) endedSessions.delete(sid);
    for (const entry of changes.entries) {
      if (endedSessions.has(entry.sid)) continue;
      endedSessions.set(entry.sid, entry.expiresAt);
      if (!initial) for (const l of sessionListeners) l(entry.sid, userKey(entry.user));
    }
    return changes.seq;
  });

  return {
    sessionsRevokedAt: (user) => sessions.get(userKey(user)),
    devicesRevokedAt: (user) => devices.get(userKey(user)),
    blocked(user) {
      const until = blocks.get(userKey(user));
      return until !== undefined && clock() < until;
    },
    sessionRevoked(sid) {
      const expiresAt = endedSessions.get(sid);
      return expiresAt !== undefined && clock() < expiresAt;
    },
    feed,
    current: () => feed.current(),
    start: () => feed.start(),
    refresh: () => feed.refresh(),
    stop: () => feed.stop(),
    onSessionsRevoked(listener) {
      listeners.push(listener);
    },
    onBlocked(listener) {
      blockListeners.push(listener);
    },
    onSessionRevoked(listener) {
      sessionListeners.push(listener);
    },
  };
}
