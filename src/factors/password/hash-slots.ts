/**
 * @module factors/password/hash-slots
 * A bound on argon2 work running at once, shared fairly between sources. Each hash takes a
 * thread for tens of milliseconds and 19 MiB; libuv would run four at a time, which on a
 * small machine leaves the event loop (every signed-in request) waiting behind a burst of
 * wrong passwords. With one hash per core beyond the first, signed-in traffic keeps a core;
 * sign-ins queue instead, and past the queue's bound they are refused at once with 429.
 *
 * The queue is one line per source (a client address, grouped as the source throttle groups
 * it), served in turn: a freed slot goes to the waiting source that was served longest ago,
 * not to the oldest job, so one noisy address with a hundred guesses waiting delays another
 * address's sign-in by at most the hashes already running. Each source may also keep only
 * a few jobs waiting.
 */
import { availableParallelism } from 'node:os';
import { errors } from '../../errors/errors.ts';

export interface HashSlots {
  /**
   * Runs `work` when a slot is free and it is `source`'s turn; throws GW_TOO_MANY_SIGN_INS
   * (429) when too many wait already, in all or from this source. Work without a source
   * (the CLI, creating an app password) shares one line.
   */
  run<T>(work: () => Promise<T>, source?: string): Promise<T>;
  readonly running: number;
  readonly waiting: number;
}

interface Source {
  waiting: Array<() => void>;
  running: number;
  /** When this source last got a slot (a serial number; 0 = never while it was known). */
  servedAt: number;
}

export function createHashSlots(concurrency: number, maxWaiting: number, maxWaitingPerSource = maxWaiting): HashSlots {
  let running = 0;
  let waiting = 0;
  let serial = 0;
  /** Sources with jobs running or waiting; forgotten when they have neither. */
  const sources = new Map<string, Source>();

  const start = (s: Source) => {
    running++;
    s.running++;
    s.servedAt = ++serial;
  };

  /** A freed slot goes to the waiting source served longest ago (one that never was, first). */
  const release = (done: Source, source: string) => {
    running--;
    done.running--;
    let next: Source | undefined;
    for (const s of sources.values()) if (s.waiting.length > 0 && (next === undefined || s.servedAt < next.servedAt)) next = s;
    if (next !== undefined) {
      waiting--;
      start(next);
      next.waiting.shift()!();
    }
    if (done.running === 0 && done.waiting.length === 0) sources.delete(source);
  };

  return {
    async run(work, source = '') {
      let s = sources.get(source);
      if (s === undefined) {
        s = { waiting: [], running: 0, servedAt: 0 };
        sources.set(source, s);
      }
      if (running >= concurrency) {
        if (waiting >= maxWaiting || s.waiting.length >= maxWaitingPerSource) {
          if (s.running === 0 && s.waiting.length === 0) sources.delete(source);
          throw errors.tooManySignIns(
            waiting >= maxWaiting
              ? `${waiting} password checks already waiting for ${concurrency} slot(s)`
              : `${s.waiting.length} password checks from ${source || 'the gateway'} already waiting`,
          );
        }
        waiting++;
        const line = s.waiting;
        await new Promise<void>((resolve) => line.push(resolve));
      } else {
        start(s);
      }
      try {
        return await work();
      } finally {
        release(s, source);
      }
    },
    get running() {
      return running;
    },
    get waiting() {
      return waiting;
    },
  };
}

/**
 * The process's slots: one per core beyond the first (at least one), as many waiting as a
 * few seconds of hashing clear, so an honest user at the back of the queue still gets in,
 * and a quarter of that per source, so one address cannot fill the queue alone.
 */
export const HASH_CONCURRENCY = Math.max(1, availableParallelism() - 1);
export const hashSlots = createHashSlots(HASH_CONCURRENCY, 64, 16);
