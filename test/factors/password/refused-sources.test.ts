// The pacing of a refused source's answers (issue 16, item 4), on a hand-driven monotonic
// clock: a few answers at once, then one per PACE_MS for the source as a whole, and beyond
// the bound an immediate answer that closes its connection. The sign-in-page side (real
// connections, another address answered meanwhile) is in test/regulation/password-spray.test.ts.
import t from 'tap';
import { createRefusedSources, pace, PACE_ALLOWANCE, PACE_MAX_DELAY_MS, PACE_MS } from '../../../src/factors/password/refused-sources.ts';

const attempt = { name: 'alice', userAgent: 'curl/8', clientIp: '203.0.113.9' };

t.test('pace: the generic cell rate algorithm as a delay shaper', async (t) => {
  const at = 1_000_000;
  const cases: Array<{ name: string; tat: number; mono: number; delayMs: number; close: boolean; next: number }> = [
    { name: 'a new source is answered at once', tat: 0, mono: at, delayMs: 0, close: false, next: at + PACE_MS },
    { name: 'within the allowance, at once', tat: at + 5 * PACE_MS, mono: at, delayMs: 0, close: false, next: at + 6 * PACE_MS },
    {
      name: 'the last answer of the allowance, at once',
      tat: at + (PACE_ALLOWANCE - 1) * PACE_MS,
      mono: at,
      delayMs: 0,
      close: false,
      next: at + PACE_ALLOWANCE * PACE_MS,
    },
    {
      name: 'past the allowance: one PACE_MS later',
      tat: at + PACE_ALLOWANCE * PACE_MS,
      mono: at,
      delayMs: PACE_MS,
      close: false,
      next: at + (PACE_ALLOWANCE + 1) * PACE_MS,
    },
    {
      name: 'exactly at the bound, it waits',
      tat: at + (PACE_ALLOWANCE - 1) * PACE_MS + PACE_MAX_DELAY_MS,
      mono: at,
      delayMs: PACE_MAX_DELAY_MS,
      close: false,
      next: at + PACE_ALLOWANCE * PACE_MS + PACE_MAX_DELAY_MS,
    },
    {
      name: 'beyond the bound: at once, the connection closed, the schedule unchanged',
      tat: at + (PACE_ALLOWANCE - 1) * PACE_MS + PACE_MAX_DELAY_MS + 1,
      mono: at,
      delayMs: 0,
      close: true,
      next: at + (PACE_ALLOWANCE - 1) * PACE_MS + PACE_MAX_DELAY_MS + 1,
    },
    { name: 'a source quiet for long starts afresh', tat: at - 60_000, mono: at, delayMs: 0, close: false, next: at + PACE_MS },
  ];
  for (const c of cases) {
    const { pacing, tat } = pace(c.tat, c.mono);
    t.same(pacing, { delayMs: c.delayMs, close: c.close }, c.name);
    t.equal(tat, c.next, `${c.name}: next tat`);
  }
});

t.test('a refused source: the allowance at once, then one answer per PACE_MS, however the attempts arrive', async (t) => {
  const mono = { now: 5_000 };
  const refused = createRefusedSources(100, () => mono.now);
  const now = Date.parse('2026-11-23T09:00:00Z');
  t.equal(refused.refusing('203.0.113.0/24', now, attempt), undefined, 'not refused yet: ask the store');
  refused.remember('203.0.113.0/24', now + 600_000, now);
  // The store's own refusal took the first answer: the allowance is what remains, then the line.
  const delays: number[] = [];
  for (let i = 0; i < PACE_ALLOWANCE + 5; i++) {
    const r = refused.refusing('203.0.113.0/24', now, attempt);
    t.equal(r?.until, now + 600_000);
    t.equal(r?.pacing.close, false);
    delays.push(r!.pacing.delayMs);
  }
  t.same(
    delays,
    [...Array(PACE_ALLOWANCE - 1).fill(0), ...[1, 2, 3, 4, 5, 6].map((k) => k * PACE_MS)],
    "all at one instant: the allowance at once (the store's own refusal was one of it), then one more PACE_MS of waiting for each",
  );
  // Time passes: the line drains, and a source answered at its pace waits no longer.
  mono.now += 2_000;
  const later = refused.refusing('203.0.113.0/24', now, attempt)!;
  t.equal(later.pacing.delayMs, 0, 'the waiting ones are gone: at once again');
  t.equal(refused.refusing('198.51.100.0/24', now, attempt), undefined, 'another source is not paced by this one');
});

t.test('a refused source past the bound: answered at once with the connection closed, without moving the line', async (t) => {
  const mono = { now: 0 };
  const refused = createRefusedSources(100, () => mono.now);
  const now = 1_000;
  refused.remember('s', now + 60_000, now);
  const answers = Array.from(
    { length: PACE_ALLOWANCE + PACE_MAX_DELAY_MS / PACE_MS + 3 },
    () => refused.refusing('s', now, attempt)!.pacing,
  );
  const waiting = answers.filter((a) => !a.close);
  const closed = answers.filter((a) => a.close);
  t.equal(Math.max(...waiting.map((a) => a.delayMs)), PACE_MAX_DELAY_MS, 'the longest wait is the bound');
  t.ok(closed.length >= 3, `${closed.length} beyond the bound`);
  t.ok(
    closed.every((a) => a.delayMs === 0),
    'each of them at once',
  );
  mono.now += PACE_MS;
  t.same(
    refused.refusing('s', now, attempt)!.pacing,
    { delayMs: PACE_MAX_DELAY_MS, close: false },
    'one PACE_MS later, one place in line is free',
  );
  const summary = refused.due(now, true);
  t.equal(summary[0]?.count, answers.length + 1, 'every attempt is counted for the sign-in log, paced or not');
});
