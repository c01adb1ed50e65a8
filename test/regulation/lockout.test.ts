// The lockout decision on its own, on a frozen clock: each of Azure's three numbers, the
// sliding window, and a lowered `denials` in the config.
import t from 'tap';
import {
  counterExpiresAt,
  EMPTY_COUNTER,
  lockedUntil,
  lockoutPolicy,
  regulate,
  type LockoutCounter,
} from '../../src/regulation/lockout.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const policy = lockoutPolicy({ denials: 3, counter_reset_minutes: 10, auto_unblock_minutes: 15 });

/** Applies `n` denied attempts at the given times, as the store would. */
function deny(counter: LockoutCounter, ...times: number[]): LockoutCounter {
  let c = counter;
  for (const at of times) {
    const r = regulate(c, policy, at);
    if (!r.allowed) throw new Error(`refused at ${at}`);
    c = r.next;
  }
  return c;
}

t.test('the config minutes become milliseconds', async (t) => {
  t.same(policy, { denials: 3, counterResetMs: 10 * MIN, autoUnblockMs: 15 * MIN });
});

t.test('denials: the attempt that uses the last one sets the lock, the next is refused', async (t) => {
  const two = deny(EMPTY_COUNTER, T0, T0 + MIN);
  t.equal(two.lockedUntil, null, 'two denials do not lock');
  const third = regulate(two, policy, T0 + 2 * MIN);
  t.same(
    third,
    { allowed: true, next: { denials: [T0, T0 + MIN, T0 + 2 * MIN], lockedUntil: T0 + 17 * MIN } },
    'the third is still evaluated',
  );
  if (!third.allowed) return;
  t.same(regulate(third.next, policy, T0 + 2 * MIN + 1), { allowed: false, until: T0 + 17 * MIN });
  t.equal(lockedUntil(third.next, policy, T0 + 3 * MIN), T0 + 17 * MIN);
});

t.test('counter_reset_minutes: a denial stops counting that long after it happened (sliding)', async (t) => {
  const c = deny(EMPTY_COUNTER, T0, T0 + 5 * MIN);
  // At T0 + 10 min the first denial no longer counts, the second still does.
  const r = regulate(c, policy, T0 + 10 * MIN);
  t.same(
    r,
    { allowed: true, next: { denials: [T0 + 5 * MIN, T0 + 10 * MIN], lockedUntil: null } },
    'two counting denials after this one: no lock',
  );
  const justBefore = regulate(c, policy, T0 + 10 * MIN - 1);
  t.match(
    justBefore,
    { allowed: true, next: { lockedUntil: T0 + 10 * MIN - 1 + 15 * MIN } },
    'a moment earlier all three count and it locks',
  );
  const later = regulate(c, policy, T0 + 15 * MIN);
  t.same(later, { allowed: true, next: { denials: [T0 + 15 * MIN], lockedUntil: null } }, 'after both expired the count starts over');
});

t.test('auto_unblock_minutes: the lock lifts by itself and the denials before it stop counting', async (t) => {
  const locked = deny(EMPTY_COUNTER, T0, T0 + MIN, T0 + 2 * MIN);
  t.equal(locked.lockedUntil, T0 + 17 * MIN);
  t.same(regulate(locked, policy, T0 + 17 * MIN - 1), { allowed: false, until: T0 + 17 * MIN }, 'still locked a millisecond before');
  const after = regulate(locked, policy, T0 + 17 * MIN);
  t.same(after, { allowed: true, next: { denials: [T0 + 17 * MIN], lockedUntil: null } }, 'unlocked, counting from one');
  t.equal(lockedUntil(locked, policy, T0 + 17 * MIN), null);
});

t.test('a lowered denials setting locks as if the newest denial had locked', async (t) => {
  const five = lockoutPolicy({ denials: 5, counter_reset_minutes: 60, auto_unblock_minutes: 15 });
  let c: LockoutCounter = EMPTY_COUNTER;
  for (const at of [T0, T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN]) {
    const r = regulate(c, five, at);
    if (r.allowed) c = r.next;
  }
  const strict = lockoutPolicy({ denials: 3, counter_reset_minutes: 60, auto_unblock_minutes: 15 });
  t.same(regulate(c, strict, T0 + 4 * MIN), { allowed: false, until: T0 + 18 * MIN });
  t.same(regulate(c, strict, T0 + 18 * MIN), { allowed: true, next: { denials: [T0 + 18 * MIN], lockedUntil: null } });
});

t.test('a counter expires when its lock is over and no denial counts', async (t) => {
  t.equal(counterExpiresAt({ denials: [T0], lockedUntil: null }, policy), T0 + 15 * MIN);
  t.equal(counterExpiresAt({ denials: [T0], lockedUntil: T0 + 40 * MIN }, policy), T0 + 40 * MIN);
});
