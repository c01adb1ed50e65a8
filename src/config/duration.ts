/**
 * @module config/duration
 * Durations in the config are strings such as `30s`, `15m`, `12h`, `14d` or `1h30m`;
 * this turns them into milliseconds for timers and clocks. The schema checks the
 * shape, so a throw here means a caller passed text that never went through the loader.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const WHOLE = /^(?:[0-9]+(?:ms|s|m|h|d))+$/;
const PART = /([0-9]+)(ms|s|m|h|d)/g;

/**
 * Milliseconds in a duration string.
 *
 * @example parseDuration('1h30m') // 5_400_000
 * @throws Error when the text is not a sequence of `<digits><ms|s|m|h|d>` or is too large
 *   to be an exact number of milliseconds.
 */
export function parseDuration(s: string): number {
  if (!WHOLE.test(s)) throw new Error(`not a duration: ${JSON.stringify(s)} (use e.g. 30s, 15m, 12h, 14d, 1h30m)`);
  let total = 0;
  for (const [, digits, unit] of s.matchAll(PART)) {
    total += Number(digits) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  if (!Number.isSafeInteger(total)) throw new Error(`duration too large: ${JSON.stringify(s)}`);
  return total;
}
