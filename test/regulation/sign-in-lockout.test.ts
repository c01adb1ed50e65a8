// Account lockout through a real gateway on a frozen clock: password and code lockout with
// each of the three numbers, a locked account that says so to right and wrong passwords alike,
// and fifty parallel wrong codes with one attempt left.
import t from 'tap';
import type { Test } from 'tap';
import {
  Browser,
  field,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  totpCode,
  type Reply,
  type TestGateway,
} from '../helpers/gateway.ts';

const MIN = 60_000;
const LOCKOUT = { denials: 3, counter_reset_minutes: 10, auto_unblock_minutes: 15 };

interface Lockout {
  user: string;
  until: number;
  factor: string;
}

async function gateway(t: Test): Promise<{ gw: TestGateway; lockouts: Lockout[] }> {
  const lockouts: Lockout[] = [];
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(
    t,
    upstream,
    { mfa: { lockout: LOCKOUT, password_lockout: LOCKOUT } },
    { onLockout: (user, until, d) => lockouts.push({ user, until, factor: d.factor }) },
  );
  return { gw, lockouts };
}

/** The page without its per-request CSRF token, so two answers can be compared byte for byte. */
const withoutCsrf = (r: Reply) => ({ status: r.status, body: r.body.replace(/name="csrf" value="[^"]*"/g, 'name="csrf"') });

async function details(gw: TestGateway, user: string): Promise<string[]> {
  return (await gw.store.query({ user, limit: 200 })).reverse().map((e) => `${e.kind} ${e.outcome}: ${e.detail}`);
}

/** A browser that passed the password step of a user who already has an authenticator. */
async function atCodeStep(gw: TestGateway, user: string): Promise<{ browser: Browser; secret: string; csrf: string }> {
  const secret = await signInWithEnrollment(new Browser(gw.port), gw, user);
  const browser = new Browser(gw.port);
  if ((await signInPassword(browser, user)).status !== 303) throw new Error('password step failed');
  const page = await browser.get('/.gateway/second-factor');
  return { browser, secret, csrf: field(page.body, 'csrf') };
}

/** `n` codes that are wrong at `now`, whatever step the skew window accepts. */
function wrongCodes(secret: string, now: number, n: number): string[] {
  const valid = new Set([-30_000, 0, 30_000].map((d) => totpCode(secret, now + d)));
  const codes: string[] = [];
  for (let c = Number(totpCode(secret, now)) + 1; codes.length < n; c++) {
    const code = String(c % 1_000_000).padStart(6, '0');
    if (!valid.has(code)) codes.push(code);
  }
  return codes;
}

const wrongCode = (secret: string, now: number) => wrongCodes(secret, now, 1)[0]!;

t.test('password lockout: denials lock, a locked account says so to right and wrong passwords alike', async (t) => {
  const { gw, lockouts } = await gateway(t);
  const wrong1 = await signInPassword(new Browser(gw.port), 'bob', 'nope-1');
  t.equal(wrong1.status, 401);
  t.match(wrong1.body, /The username or password is incorrect/);
  await signInPassword(new Browser(gw.port), 'bob', 'nope-2');
  const third = await signInPassword(new Browser(gw.port), 'bob', 'nope-3');
  t.equal(third.status, 429, 'the denial that locks says so');
  t.match(third.body, /Too many failed attempts\. Try again after /);
  t.same(lockouts, [{ user: 'bob', until: gw.clock.now + 15 * MIN, factor: 'password' }], 'the lockout is reported once');

  const browser = new Browser(gw.port);
  const right = await signInPassword(browser, 'bob');
  t.same(withoutCsrf(right), withoutCsrf(third), 'the right password while locked: same status, same page');
  t.notOk(
    right.headers['set-cookie']?.some((c) => c.startsWith('mfa_gateway_session=')),
    'no session',
  );
  t.same(await details(gw, 'bob'), [
    'password denied: wrong password',
    'password denied: wrong password',
    `password denied: wrong password; locked out until ${new Date(gw.clock.now + 15 * MIN).toISOString()}`,
    `password denied: locked out until ${new Date(gw.clock.now + 15 * MIN).toISOString()}`,
  ]);

  gw.clock.now += 15 * MIN - 1;
  t.equal((await signInPassword(new Browser(gw.port), 'bob')).status, 429, 'still locked a millisecond before auto_unblock_minutes');
  gw.clock.now += 1;
  t.equal((await signInPassword(browser, 'bob')).status, 303, 'auto_unblock_minutes: the lock lifted by itself');
  t.equal(lockouts.length, 1);
});

t.test('password lockout counts unknown names too, and they look the same as known ones', async (t) => {
  const { gw, lockouts } = await gateway(t);
  const replies: Reply[] = [];
  for (let i = 0; i < 4; i++) replies.push(await signInPassword(new Browser(gw.port), 'Nobody', `guess-${i}`));
  const known = await signInPassword(new Browser(gw.port), 'Nobody', 'x');
  t.same(
    replies.map((r) => r.status),
    [401, 401, 429, 429],
    'the denial that locks and those after it answer locked',
  );
  t.same(new Set(replies.slice(2).map((r) => JSON.stringify(withoutCsrf(r)))).size, 1, 'every locked answer is the same page');
  t.equal(known.status, 429);
  const log = await details(gw, 'nobody');
  t.equal(
    log[2],
    `password denied: unknown user; locked out until ${new Date(gw.clock.now + 15 * MIN).toISOString()}`,
    'keyed by the normalized name as typed',
  );
  t.match(log[3], /^password denied: locked out until /);
  t.same(lockouts, [], 'made-up names do not notify the admins');
  t.equal((await signInPassword(new Browser(gw.port), 'bob')).status, 303, 'other users are not affected');
});

t.test('password counter_reset_minutes: old denials stop counting', async (t) => {
  const { gw } = await gateway(t);
  await signInPassword(new Browser(gw.port), 'bob', 'nope-1');
  await signInPassword(new Browser(gw.port), 'bob', 'nope-2');
  gw.clock.now += 10 * MIN;
  await signInPassword(new Browser(gw.port), 'bob', 'nope-3');
  await signInPassword(new Browser(gw.port), 'bob', 'nope-4');
  t.equal((await signInPassword(new Browser(gw.port), 'bob')).status, 303, 'only two denials counted in the window');
});

t.test('a correct password clears the password counter', async (t) => {
  const { gw } = await gateway(t);
  await signInPassword(new Browser(gw.port), 'bob', 'nope-1');
  await signInPassword(new Browser(gw.port), 'bob', 'nope-2');
  t.equal((await signInPassword(new Browser(gw.port), 'bob')).status, 303);
  await signInPassword(new Browser(gw.port), 'bob', 'nope-3');
  await signInPassword(new Browser(gw.port), 'bob', 'nope-4');
  t.equal((await signInPassword(new Browser(gw.port), 'bob')).status, 303, 'counting started over');
});

t.test('code lockout: denials lock, the page says until when, auto_unblock_minutes lifts it', async (t) => {
  const { gw, lockouts } = await gateway(t);
  const { browser, secret, csrf } = await atCodeStep(gw, 'bob');
  const post = (code: string) => browser.post('/.gateway/second-factor', { code, csrf });
  const first = await post(wrongCode(secret, gw.clock.now));
  t.equal(first.status, 401);
  t.match(first.body, /name="code"/);
  t.equal((await post(wrongCode(secret, gw.clock.now))).status, 401);
  const third = await post(wrongCode(secret, gw.clock.now));
  const until = gw.clock.now + 15 * MIN;
  t.equal(third.status, 429, 'the denial that locks shows the lock');
  t.equal(third.headers['retry-after'], String(15 * 60));
  t.match(third.body, /Verification paused/);
  t.match(third.body, /try again after/);
  t.notMatch(third.body, /name="code"/, 'no code form while locked');
  t.same(lockouts, [{ user: 'bob', until, factor: 'second_factor' }]);

  const right = await post(totpCode(secret, gw.clock.now + 30_000));
  t.equal(right.status, 429, 'even the right code is not evaluated');
  const page = await browser.get('/.gateway/second-factor');
  t.equal(page.status, 200);
  t.match(page.body, /Verification paused/, 'the page itself shows the lock');
  t.same(
    (await details(gw, 'bob')).filter((d) => d.startsWith('second_factor')),
    [
      'second_factor denied: wrong code',
      'second_factor denied: wrong code',
      `second_factor denied: wrong code; locked out until ${new Date(until).toISOString()}`,
      `second_factor denied: locked out until ${new Date(until).toISOString()}`,
    ],
  );

  gw.clock.now = until;
  const again = await browser.get('/.gateway/second-factor');
  t.match(again.body, /name="code"/, 'the form is back');
  const done = await post(totpCode(secret, gw.clock.now));
  t.equal(done.status, 303, 'auto_unblock_minutes: the right code works again');
  t.equal((await browser.get('/app')).status, 200);
});

t.test('code counter_reset_minutes: denials older than the window stop counting; success clears', async (t) => {
  const { gw } = await gateway(t);
  const { browser, secret, csrf } = await atCodeStep(gw, 'bob');
  const post = (code: string) => browser.post('/.gateway/second-factor', { code, csrf });
  await post(wrongCode(secret, gw.clock.now));
  await post(wrongCode(secret, gw.clock.now));
  gw.clock.now += 10 * MIN;
  t.equal((await post(wrongCode(secret, gw.clock.now))).status, 401, 'the first two no longer count');
  t.equal((await post(wrongCode(secret, gw.clock.now))).status, 401);
  t.equal((await post(totpCode(secret, gw.clock.now))).status, 303);
  t.same(await gw.store.lockoutCounter('bob', 'second_factor'), { denials: [], lockedUntil: null }, 'a success clears the counter');
});

t.test('fifty parallel wrong codes with one attempt left: exactly one is evaluated', async (t) => {
  const { gw, lockouts } = await gateway(t);
  const { browser, secret, csrf } = await atCodeStep(gw, 'bob');
  const post = (code: string) => browser.post('/.gateway/second-factor', { code, csrf });
  await post(wrongCode(secret, gw.clock.now));
  await post(wrongCode(secret, gw.clock.now));
  const replies = await Promise.all(wrongCodes(secret, gw.clock.now, 50).map(post));
  t.same(new Set(replies.map((r) => r.status)), new Set([429]), 'every one answers locked');
  const log = (await details(gw, 'bob')).filter((d) => d.startsWith('second_factor'));
  t.equal(log.filter((d) => d.includes('wrong code')).length, 3, 'two before, and exactly one of the fifty evaluated');
  t.equal(log.filter((d) => d.startsWith('second_factor denied: locked out')).length, 49, 'the other 49 were refused unevaluated');
  t.equal(lockouts.length, 1);
});
