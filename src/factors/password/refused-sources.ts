/**
 * @module factors/password/refused-sources
 * Sources the store has refused lately (`mfa.source_throttle`), remembered in memory until
 * the time the store named, so that the next attempts of a spray or a wrong-password burst
 * are refused without a store transaction and without a sign-in log row each. Under attack
 * those two writes per refused attempt were most of what the burst cost: the bench saw
 * signed-in traffic fall to a quarter of its quiet rate while over a thousand refused
 * attempts a second each took a transaction and a log row on the event loop.
 *
 * The store's verdict is monotone for the period it names: once refused until T, a source
 * can only come back earlier if an attempt already under way was the right password (its
 * failure is then forgiven). Remembering T refuses a little longer in that case, never
 * less: it fails closed. Other gateways on the same store learn the verdict from the store
 * on their own first attempt.
 *
 * The sign-in log still says what happened: the first refusal of a period is logged as
 * before, and the refusals after it are counted and logged as one line per source at most
 * once a minute and when the period ends (see {@link RefusedSources.due}).
 *
 * A refused source's answers are also paced: {@link PACE_ALLOWANCE} come at once, then one
 * per {@link PACE_MS} for the source as a whole (the generic cell rate algorithm as a delay
 * shaper). A refusal costs little, but it is a whole HTTP exchange on the event loop that
 * forwards signed-in traffic, and a client that asks again as soon as it is answered (a
 * script, a botnet node) would otherwise take a share of that loop in proportion to its
 * connections: the bench saw signed-in throughput fall to 44% of quiet under 8 such
 * clients. Paced, the source gets {@link PACE_MS}'s rate of answers however many
 * connections it opens; an answer that would wait longer than {@link PACE_MAX_DELAY_MS}
 * is given at once with the connection closed, so waiting answers stay bounded too. Pacing
 * runs on this process's monotonic clock: it shares out this process's CPU, it decides
 * nothing about who may sign in.
 */
import { LRUCache } from 'lru-cache';

/** Refusals counted but not yet in the sign-in log, for one source. */
export interface RefusalSummary {
  source: string;
  /** The end of the throttle period the store named. */
  until: number;
  /** Attempts refused from memory since the last log line. */
  count: number;
  /** The distinct names typed in them (capped; see {@link MAX_NAMES}). */
  names: readonly string[];
  /** More distinct names were typed than {@link MAX_NAMES}. */
  moreNames: boolean;
  /** When the first of them came. */
  since: number;
  /** The browser of the last of them. */
  userAgent: string;
  clientIp: string;
}

interface Entry {
  until: number;
  count: number;
  names: Set<string>;
  moreNames: boolean;
  since: number;
  /** When this source's refusals were last written to the log. */
  loggedAt: number;
  userAgent: string;
  clientIp: string;
  /** Pacing state ({@link pace}). */
  tat: number;
}

/** Answers a refused source gets at once before pacing starts. */
export const PACE_ALLOWANCE = 10;
/** Then one answer per this many milliseconds, for the source as a whole. */
export const PACE_MS = 100;
/** An answer due later than this is given at once and its connection closed. */
export const PACE_MAX_DELAY_MS = 5_000;

/** When to answer a refused attempt: after `delayMs` (0: at once), or at once closing the connection. */
export type Pacing = { delayMs: number; close: false } | { delayMs: 0; close: true };

/**
 * The pacing of one source, as a pure step: `tat` is the theoretical arrival time of the
 * generic cell rate algorithm (0 for a new source), `mono` now on a monotonic clock. Returns
 * when to answer and the next `tat`; an answer beyond the bound leaves `tat` as it was.
 */
export function pace(tat: number, mono: number): { pacing: Pacing; tat: number } {
  const release = Math.max(mono, tat - (PACE_ALLOWANCE - 1) * PACE_MS);
  const delayMs = release - mono;
  if (delayMs > PACE_MAX_DELAY_MS) return { pacing: { delayMs: 0, close: true }, tat };
  return { pacing: { delayMs, close: false }, tat: Math.max(tat, mono) + PACE_MS };
}

/** Distinct names kept per source for the summary line. */
const MAX_NAMES = 20;
/** A summary line per source at most this often while a spray goes on. */
const SUMMARY_INTERVAL_MS = 60_000;

export interface RefusedSources {
  /**
   * When `source` is still refused at `now`: counts this attempt for the next summary and
   * returns the end of the period and when to answer; otherwise undefined (ask the store).
   */
  refusing(
    source: string,
    now: number,
    attempt: { name: string; userAgent: string; clientIp: string },
  ): { until: number; pacing: Pacing } | undefined;
  /** The store refused `source` until `until`; the caller logs this first refusal itself. */
  remember(source: string, until: number, now: number): void;
  /**
   * Takes the summaries that are due at `now`: counts older than {@link SUMMARY_INTERVAL_MS}
   * since the last line, and every count of a period that has ended (`all`: every count).
   */
  due(now: number, all?: boolean): RefusalSummary[];
}

/**
 * @param max sources remembered at once; beyond it the least recently refused is forgotten
 * (its next attempt asks the store again, its pending count is lost: the bound matters more
 * than the count when a spray rotates through more addresses than this).
 */
export function createRefusedSources(max = 10_000, monotonic: () => number = () => performance.now()): RefusedSources {
  const entries = new LRUCache<string, Entry>({ max });
  return {
    refusing(source, now, attempt) {
      const e = entries.get(source);
      if (e === undefined || e.until <= now) return undefined;
      if (e.count === 0) e.since = now;
      e.count++;
      if (e.names.size < MAX_NAMES) e.names.add(attempt.name.slice(0, 256));
      else if (!e.names.has(attempt.name)) e.moreNames = true;
      e.userAgent = attempt.userAgent;
      e.clientIp = attempt.clientIp;
      const { pacing, tat } = pace(e.tat, monotonic());
      e.tat = tat;
      return { until: e.until, pacing };
    },
    remember(source, until, now) {
      const e = entries.get(source);
      if (e !== undefined && e.count > 0) {
        // A new period while the last one's count is still pending: keep the count, move the end.
        e.until = Math.max(e.until, until);
        return;
      }
      entries.set(source, {
        until,
        count: 0,
        names: new Set(),
        moreNames: false,
        since: now,
        loggedAt: now,
        userAgent: '',
        clientIp: '',
        // The store's own refusal was answered already: it counts as a paced answer.
        tat: Math.max(e?.tat ?? 0, monotonic() + PACE_MS),
      });
    },
    due(now, all = false) {
      const out: RefusalSummary[] = [];
      const over: string[] = [];
      for (const [source, e] of entries.entries()) {
        const ended = e.until <= now;
        if (e.count > 0 && (all || ended || now - e.loggedAt >= SUMMARY_INTERVAL_MS)) {
          out.push({
            source,
            until: e.until,
            count: e.count,
            names: [...e.names],
            moreNames: e.moreNames,
            since: e.since,
            userAgent: e.userAgent,
            clientIp: e.clientIp,
          });
          e.count = 0;
          e.names = new Set();
          e.moreNames = false;
          e.loggedAt = now;
        }
        if (ended) over.push(source);
      }
      for (const source of over) entries.delete(source);
      return out;
    },
  };
}
