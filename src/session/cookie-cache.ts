/**
 * @module session/cookie-cache
 * The session layer's caches keyed by a cookie's digest (verified cookies, refreshed cookies),
 * sized for hundreds of thousands of sessions: a map in two generations. lru-cache allocates
 * its slots up front (six arrays of `max`, 11 MB for 250,000 slots whether one session is in
 * use or all of them); here an entry is one Map slot, made when it is needed.
 *
 * New entries go into the current generation; a hit in the previous one moves the entry into
 * the current one, so a cookie in use stays. When the current generation holds `max` entries,
 * or `ageMs` has passed since it began, it becomes the previous one and the old previous one
 * is dropped whole. So the `max` cookies used last are always kept, at most twice as many are
 * held, and a cookie nobody presents any more is gone after two generations.
 */

export interface CookieCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): void;
}

export function createCookieCache<V>(opts: { max: number; ageMs: number; clock: () => number }): CookieCache<V> {
  const { max, ageMs, clock } = opts;
  let current = new Map<string, V>();
  let previous = new Map<string, V>();
  let since = clock();

  function turn(now: number): void {
    previous = current;
    current = new Map();
    since = now;
  }

  function put(key: string, value: V, now: number): void {
    current.set(key, value);
    if (current.size >= max) turn(now);
  }

  return {
    get(key) {
      const now = clock();
      if (now - since >= ageMs) turn(now);
      const hit = current.get(key);
      if (hit !== undefined) return hit;
      const old = previous.get(key);
      if (old !== undefined) put(key, old, now);
      return old;
    },
    set(key, value) {
      const now = clock();
      if (now - since >= ageMs) turn(now);
      put(key, value, now);
    },
    delete(key) {
      current.delete(key);
      previous.delete(key);
    },
  };
}
