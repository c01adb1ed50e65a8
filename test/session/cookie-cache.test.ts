// The session layer's cookie caches (issue 16, item 5): the cookies in use stay however many
// entries come and go, the number held stays bounded, and a cookie nobody presents leaves
// after two generations, on a frozen clock.
import t from 'tap';
import { createCookieCache } from '../../src/session/cookie-cache.ts';

t.test('a cookie in use stays while more than max other cookies come and go', async (t) => {
  const clock = { now: 0 };
  const cache = createCookieCache<number>({ max: 100, ageMs: 60_000, clock: () => clock.now });
  cache.set('in use', 1);
  for (let i = 0; i < 1000; i++) {
    cache.set(`once ${i}`, i);
    t.equal(cache.get('in use'), 1);
  }
  t.end();
});

t.test('the max cookies used last are always kept; older ones go beyond twice max', async (t) => {
  const clock = { now: 0 };
  const cache = createCookieCache<number>({ max: 100, ageMs: 60_000, clock: () => clock.now });
  for (let i = 0; i < 1000; i++) cache.set(`c${i}`, i);
  for (let i = 900; i < 1000; i++) t.equal(cache.get(`c${i}`), i, `c${i} is among the last 100`);
  let held = 0;
  for (let i = 0; i < 1000; i++) if (cache.get(`c${i}`) !== undefined) held++;
  t.ok(held <= 200, `at most 200 of 1000 held (${held})`);
  t.end();
});

t.test('a cookie nobody presents leaves after two generations; one presented each generation stays', async (t) => {
  const clock = { now: 0 };
  const cache = createCookieCache<string>({ max: 1000, ageMs: 60_000, clock: () => clock.now });
  cache.set('idle', 'a');
  cache.set('busy', 'b');
  for (let step = 0; step < 4; step++) {
    clock.now += 60_000;
    t.equal(cache.get('busy'), 'b', `presented every minute, still there after ${step + 1} minutes`);
  }
  t.equal(cache.get('idle'), undefined, 'not presented for four minutes: gone');
  t.end();
});

t.test('delete removes an entry from either generation', async (t) => {
  const clock = { now: 0 };
  const cache = createCookieCache<number>({ max: 1000, ageMs: 60_000, clock: () => clock.now });
  cache.set('old', 1);
  clock.now += 60_000;
  cache.set('new', 2);
  cache.delete('old');
  cache.delete('new');
  t.equal(cache.get('old'), undefined);
  t.equal(cache.get('new'), undefined);
  t.end();
});
