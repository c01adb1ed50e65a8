/**
 * @module factors/password/hash-slots
 * A bound on argon2 work running at once. Each hash takes a thread for tens of milliseconds
 * and 19 MiB; libuv would run four at a time, which on a small machine leaves the event loop
 * (every signed-in request) waiting behind a burst of wrong passwords. With one hash per
 * core beyond the first, signed-in traffic keeps a core; sign-ins queue instead, and past
 * the queue's bound they are refused at once with 429 rather than piling up.
 */
import { availableParallelism } from 'node:os';
import { errors } from '../../server/errors.ts';

export interface HashSlots {
  /** Runs `work` when a slot is free; throws GW_TOO_MANY_SIGN_INS (429) when too many wait already. */
  run<T>(work: () => Promise<T>): Promise<T>;
  readonly running: number;
  readonly waiting: number;
}

export function createHashSlots(concurrency: number, maxWaiting: number): HashSlots {
  let running = 0;
  const queue: Array<() => void> = [];

  const release = () => {
    running--;
    const next = queue.shift();
    if (next) {
      running++;
      next();
    }
  };

  return {
    async run(work) {
      if (running >= concurrency) {
        if (queue.length >= maxWaiting) throw errors.tooManySignIns(`${queue.length} password checks already waiting for ${concurrency} slot(s)`);
        await new Promise<void>((resolve) => queue.push(resolve));
      } else {
        running++;
      }
      try {
        return await work();
      } finally {
        release();
      }
    },
    get running() {
      return running;
    },
    get waiting() {
      return queue.length;
    },
  };
}

/**
 * The process's slots: one per core beyond the first (at least one), and as many waiting as
 * a few seconds of hashing clear, so an honest user at the back of the queue still gets in.
 */
export const hashSlots = createHashSlots(Math.max(1, availableParallelism() - 1), 64);
