// Password spraying (issue 10, item 10) through real gateways on a frozen clock: one wrong
// password for each of many users from one source is throttled (429 + Retry-After) without
// locking anyone out; the real user from another address still signs in; sources behind a
// trusted proxy are the forwarded client, IPv6 sources are grouped by /64; the window
// slides; it holds across two gateways on PostgreSQL; and the sign-in page and HTTP Basic,
// now one regulated check, throttle, lock, log and notify identically.
import t from 'tap';
import type { Test } from 'tap';
import { PASSWORDS, field, send, startTestGateway, startUpstream, type Reply, type TestGateway } from '../helpers/gateway.ts';
import { freshSchema } from '../helpers/postgres.ts';
import { processMetrics } from '../../src/metrics/metrics.ts';
import { PACE_ALLOWANCE, PACE_MAX_DELAY_MS, PACE_MS } from '../../src/factors/password/refused-sources.ts';

/** This process's `mfa_gateway_sign_in_throttled_total` (every gateway of the test process with `server.metrics` adds to it). */
async function throttledCount(): Promise<number> {
  return Number(/^mfa_gateway_sign_in_throttled_total (\d+)$/m.exec(await processMetrics())?.[1] ?? 0);
}

const MIN = 60_000;
const FAILURES = 5;
const THROTTLE = { failures: FAILURES, window_minutes: 10 };
const PROXY = '127.0.0.2';
const RULES = [
  { name: 'dav', paths: ['/dav/**'], app_passwords: true, policy: 'one_factor' },
  { paths: ['/**'], policy: 'two_factor' },
];

interface Lockout {
  user: string;
  factor: string;
}

async function gateway(t: Test, overrides: Record<string, unknown> = {}) {
  const lockouts: Lockout[] = [];
  const up = await startUpstream(t);
  const { mfa, ...rest } = overrides as { mfa?: Record<string, unknown> };
  const gw = await startTestGateway(
    t,
    up,
    {
      rules: RULES,
      mfa: {
        app_passwords: { enabled: true },
        password_lockout: { denials: 3, counter_reset_minutes: 10, auto_unblock_minutes: 15 },
        source_throttle: THROTTLE,
        ...mfa,
      },
      ...rest,
    },
    { onLockout: (user, _until, d) => lockouts.push({ user, factor: d.factor }) },
  );
  return { gw, lockouts };
}

/** Where an attempt comes from: the socket itself, or a client behind the trusted proxy. */
type From = { socket: string } | { forwardedFor: string };
const DIRECT: From = { socket: '127.0.0.1' };
const via = (client: string): From => ({ forwardedFor: client });
const sendOpts = (from: From) =>
  'socket' in from ? { localAddress: from.socket } : { localAddress: PROXY, headers: { 'x-forwarded-for': from.forwardedFor } };

/** One sign-in page attempt: fetch the form (CSRF cookie and token), post it. */
async function signIn(gw: TestGateway, user: string, password: string, from: From = DIRECT): Promise<Reply> {
  const o = sendOpts(from);
  const form = await send(gw.port, '/.gateway/sign-in', o);
  const binding = (form.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).join('; ');
  const body = new URLSearchParams({ username: user, password, csrf: field(form.body, 'csrf') }).toString();
  return send(gw.port, '/.gateway/sign-in', {
    ...o,
    method: 'POST',
    body,
    headers: { ...o.headers, cookie: binding, 'content-type': 'application/x-www-form-urlencoded' },
  });
}

/** One HTTP Basic attempt on the app-password rule. */
function basic(gw: TestGateway, user: string, password: string, from: From = DIRECT): Promise<Reply> {
  const o = sendOpts(from);
  return send(gw.port, '/dav/x', {
    ...o,
    headers: { ...o.headers, accept: '*/*', authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
  });
}

const PATHS = [
  { path: 'sign-in page', attempt: signIn, ok: 303, denied: 401, kind: 'password' },
  { path: 'HTTP Basic', attempt: basic, ok: 200, denied: 401, kind: 'app_password' },
] as const;

const sprayed = (i: number) => `user${String(i).padStart(4, '0')}`;

for (const p of PATHS) {
  t.test(`${p.path}: spraying one wrong password over many users from one address is throttled`, async (t) => {
    const { gw, lockouts } = await gateway(t);
    for (let i = 0; i < FAILURES; i++)
      t.equal((await p.attempt(gw, sprayed(i), 'Winter2026!')).status, p.denied, `guess ${i + 1} is an ordinary failure`);
    const refused = await p.attempt(gw, sprayed(FAILURES), 'Winter2026!');
    t.equal(refused.status, 429, 'the next guess from that source is refused');
    t.equal(refused.headers['retry-after'], String(10 * 60), 'Retry-After: when the oldest failure leaves the window');
    t.equal(
      (await p.attempt(gw, 'bob', PASSWORDS.bob!)).status,
      429,
      'even a right password: the source is refused before anything is checked',
    );
    const last = (await gw.store.query({ user: sprayed(FAILURES), limit: 5 }))[0];
    t.match(
      last,
      { kind: p.kind, outcome: 'denied', detail: /^source 127\.0\.0\.1 throttled until .*: too many failed attempts$/ },
      'the sign-in log says why',
    );
    t.same(lockouts, [], 'nobody was locked out');
    t.same(
      (await gw.store.lockoutCounter(sprayed(FAILURES), 'password')).denials,
      [],
      'a throttled attempt does not count against the user',
    );
  });

  t.test(`${p.path}: the real user from another address still signs in during a spray`, async (t) => {
    const { gw } = await gateway(t);
    const spray = Array.from({ length: FAILURES * 3 }, (_, i) =>
      p.attempt(gw, i % 3 === 0 ? 'bob' : sprayed(i), 'Winter2026!', via('203.0.113.66')),
    );
    const statuses = (await Promise.all(spray)).map((r) => r.status);
    t.equal(statuses.filter((s) => s === 429).length, FAILURES * 2, 'beyond the limit the sprayer is refused, however parallel');
    t.equal((await p.attempt(gw, 'bob', PASSWORDS.bob!, via('198.51.100.7'))).status, p.ok, 'bob, from his own address, signs in');
    t.equal((await p.attempt(gw, 'alice', PASSWORDS.alice!, DIRECT)).status, p.ok, 'and so does alice, directly');
  });
}

t.test('the same spray from many addresses locks nobody out and throttles no one', async (t) => {
  const { gw, lockouts } = await gateway(t);
  const users = ['alice', 'bob', ...Array.from({ length: 3 * FAILURES }, (_, i) => sprayed(i))];
  for (const [i, user] of users.entries()) {
    t.equal((await signIn(gw, user, 'Winter2026!', via(`192.0.2.${i + 1}`))).status, 401, `one guess for ${user}, from its own address`);
  }
  t.same(lockouts, [], 'no lockout: one wrong password per user is under any lockout');
  t.equal((await signIn(gw, 'bob', PASSWORDS.bob!, via('192.0.2.1'))).status, 303, 'bob signs in, even from an address that sprayed');
  t.equal((await signIn(gw, 'alice', PASSWORDS.alice!, via('192.0.2.2'))).status, 303, 'alice signs in');
});

t.test('the source is the client a trusted proxy names, never the proxy itself', async (t) => {
  const { gw } = await gateway(t);
  for (let i = 0; i < FAILURES; i++) await signIn(gw, sprayed(i), 'x', via('203.0.113.66'));
  t.equal((await signIn(gw, sprayed(99), 'x', via('203.0.113.66'))).status, 429, 'the sprayer behind the proxy is throttled');
  t.equal((await signIn(gw, 'bob', PASSWORDS.bob!, via('203.0.113.67'))).status, 303, 'another client behind the same proxy is not');
  t.equal((await signIn(gw, 'alice', PASSWORDS.alice!, { socket: PROXY })).status, 303, 'nor is the proxy address itself');
  // A client that is not a trusted proxy cannot pick its source by sending the header.
  for (let i = 0; i < FAILURES; i++) await send(gw.port, '/.gateway/sign-in', { headers: { 'x-forwarded-for': `198.51.100.${i}` } });
  const spoof = async (i: number) => {
    const form = await send(gw.port, '/.gateway/sign-in');
    const cookie = (form.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).join('; ');
    return send(gw.port, '/.gateway/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ username: sprayed(i), password: 'x', csrf: field(form.body, 'csrf') }).toString(),
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `198.51.100.${i}` },
    });
  };
  const statuses: number[] = [];
  for (let i = 0; i <= FAILURES; i++) statuses.push((await spoof(i)).status);
  t.same(statuses, [...Array(FAILURES).fill(401), 429], 'a rotating X-Forwarded-For from an untrusted client does not escape the throttle');
});

t.test('IPv6 sources are grouped by prefix: rotating addresses within a /64 does not escape', async (t) => {
  const cases = [
    { name: 'default /64', prefix: undefined, other: '2001:db8:1:3::1', sameGroup: (i: number) => `2001:db8:1:2::${(i + 1).toString(16)}` },
    { name: '/56 configured', prefix: 56, other: '2001:db8:1:100::1', sameGroup: (i: number) => `2001:db8:1:${(i + 2).toString(16)}::1` },
    { name: '/128 configured: per address', prefix: 128, other: '2001:db8:1:2::99', sameGroup: () => '2001:db8:1:2::1' },
  ];
  for (const c of cases) {
    const { gw } = await gateway(t, { mfa: { source_throttle: { ...THROTTLE, ...(c.prefix ? { ipv6_prefix: c.prefix } : {}) } } });
    for (let i = 0; i < FAILURES; i++) await signIn(gw, sprayed(i), 'x', via(c.sameGroup(i)));
    t.equal(
      (await signIn(gw, sprayed(99), 'x', via(c.sameGroup(FAILURES)))).status,
      429,
      `${c.name}: a new address in the same group is throttled`,
    );
    t.equal((await signIn(gw, 'bob', PASSWORDS.bob!, via(c.other))).status, 303, `${c.name}: the next group is not`);
  }
});

t.test('the window slides on a frozen clock; a right password is not a failure', async (t) => {
  const { gw } = await gateway(t);
  const src = via('203.0.113.5');
  t.equal((await signIn(gw, 'bob', PASSWORDS.bob!, src)).status, 303, 'a success from the source does not count');
  for (let i = 0; i < FAILURES; i++) {
    t.equal((await signIn(gw, sprayed(i), 'x', src)).status, 401);
    gw.clock.now += MIN;
  }
  // Failures at 0..4 min; now 5 min. The oldest leaves the window at 10 min.
  const refused = await signIn(gw, sprayed(50), 'x', src);
  t.equal(refused.status, 429);
  t.equal(refused.headers['retry-after'], String(5 * 60), 'Retry-After counts down to the oldest failure leaving');
  gw.clock.now += 5 * MIN - 1000;
  t.equal((await signIn(gw, sprayed(51), 'x', src)).status, 429, 'one second before, still refused');
  gw.clock.now += 1000;
  t.equal((await signIn(gw, sprayed(52), 'x', src)).status, 401, 'the oldest failure left: one more attempt');
  t.equal((await signIn(gw, sprayed(53), 'x', src)).status, 429, 'and only one');
  gw.clock.now += MIN;
  t.equal((await signIn(gw, 'alice', PASSWORDS.alice!, src)).status, 303, 'the next slot can be a right password');
});

t.test('source_throttle.enabled: false turns it off', async (t) => {
  const { gw } = await gateway(t, { mfa: { source_throttle: { ...THROTTLE, enabled: false } } });
  for (let i = 0; i < FAILURES * 2; i++) t.equal((await signIn(gw, sprayed(i), 'x')).status, 401);
});

t.test('the sign-in page and HTTP Basic share one check: lockout, log entries and notifications alike', async (t) => {
  const results: Record<string, { statuses: number[]; log: string[]; lockouts: Lockout[] }> = {};
  for (const p of PATHS) {
    const { gw, lockouts } = await gateway(t);
    const statuses: number[] = [];
    for (const pw of ['wrong-1', 'wrong-2', 'wrong-3', PASSWORDS.bob!])
      statuses.push((await p.attempt(gw, 'bob', pw, via(`192.0.2.${statuses.length + 1}`))).status);
    await p.attempt(gw, 'nobody', 'x');
    const entries = [...(await gw.store.query({ user: 'bob', limit: 10 })), ...(await gw.store.query({ user: 'nobody', limit: 10 }))];
    const log = entries
      .filter((e) => e.kind === p.kind)
      .sort((a, b) => a.id - b.id)
      .map(
        (e) =>
          `${e.outcome}: ${e.detail.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/, 'T').replace('wrong password or app password', 'wrong password')}`,
      );
    results[p.path] = { statuses, log, lockouts };
  }
  const page = results['sign-in page']!;
  const basicPath = results['HTTP Basic']!;
  t.same(
    page.statuses,
    [401, 401, 429, 429],
    'sign-in page: the denial that locks and the right password of a locked account both answer locked (issue 17)',
  );
  t.same(basicPath.statuses, page.statuses, 'HTTP Basic: the same');
  t.same(page.log, [
    'denied: wrong password',
    'denied: wrong password',
    'denied: wrong password; locked out until T',
    'denied: locked out until T',
    'denied: unknown user',
  ]);
  t.same(basicPath.log, page.log, 'the same sign-in log entries');
  t.same(page.lockouts, [{ user: 'bob', factor: 'password' }], 'one lockout notice');
  t.same(basicPath.lockouts, page.lockouts, 'HTTP Basic sends the same lockout notice (it sent none before)');
});

t.test('postgres: the throttle holds across two gateways', async (t) => {
  const schema = await freshSchema();
  const store = { postgres: { url: schema.url }, encryption_key: 'd'.repeat(64) };
  const a = (await gateway(t, { store })).gw;
  const b = (await gateway(t, { store })).gw;
  t.teardown(() => schema.drop());
  const statuses: number[] = [];
  for (let i = 0; i < FAILURES; i++) statuses.push((await signIn(i % 2 ? b : a, sprayed(i), 'x', via('203.0.113.80'))).status);
  t.same(statuses, Array(FAILURES).fill(401), 'failures spread over both gateways');
  t.equal((await signIn(a, sprayed(90), 'x', via('203.0.113.80'))).status, 429, 'refused on A');
  t.equal((await basic(b, sprayed(91), 'x', via('203.0.113.80'))).status, 429, 'and on B, over HTTP Basic too');
  t.equal((await signIn(b, 'bob', PASSWORDS.bob!, via('203.0.113.81'))).status, 303, 'another source signs in on B');
});

t.test('a throttled source is refused from memory and logged once a minute, with the count, not once per attempt', async (t) => {
  const { gw } = await gateway(t, { server: { metrics: { listen: '127.0.0.1:0' } } });
  const before = await throttledCount();
  const src = via('203.0.113.9');
  for (let i = 0; i < FAILURES; i++) t.equal((await signIn(gw, sprayed(i), 'x', src)).status, 401);
  const first = await signIn(gw, sprayed(100), 'x', src);
  t.equal(first.status, 429, 'the store refuses the source');
  t.equal(first.headers['retry-after'], String(10 * 60));
  for (let i = 101; i < 131; i++) {
    const r = await signIn(gw, sprayed(i), 'x', src);
    t.equal(r.status, 429, `attempt ${i} refused`);
    if (r.status !== 429) break;
  }
  gw.clock.now += 2 * MIN;
  const later = await signIn(gw, 'bob', PASSWORDS.bob!, src);
  t.equal(later.status, 429, 'even the right password: the source is refused, from memory');
  t.equal(later.headers['retry-after'], String(8 * 60), 'Retry-After still counts down to the end the store named');
  await gw.refusals.flush();
  const throttled = (await gw.store.query({ limit: 100 })).filter((e) => e.detail.includes('throttled'));
  t.equal(throttled.length, 2, 'one line for the first refusal, one summing up the rest');
  t.match(throttled[0]!.detail, /^source 203\.0\.113\.9 throttled until .*: 31 more attempts refused on 20\+ names since /);
  t.equal(throttled[0]!.user, '', 'many names: no single user');
  t.match(throttled[1]!.detail, /too many failed attempts$/);
  t.equal(throttled[1]!.user, sprayed(100));
  await gw.refusals.flush();
  t.equal((await gw.store.query({ limit: 100 })).filter((e) => e.detail.includes('throttled')).length, 2, 'nothing pending: no new line');
  t.equal((await throttledCount()) - before, 32, 'every refusal counts in the metrics');

  // The period ends: the next attempt asks the store again (and is allowed: the window has slid).
  gw.clock.now += 8 * MIN;
  t.equal((await signIn(gw, 'bob', PASSWORDS.bob!, src)).status, 303, 'after the period the right password signs in');
});

t.test('one name tried over and over from a throttled source is logged under that name', async (t) => {
  const { gw } = await gateway(t);
  const src = via('203.0.113.10');
  for (let i = 0; i < FAILURES; i++) t.equal((await signIn(gw, sprayed(i), 'x', src)).status, 401);
  for (let i = 0; i < 4; i++) t.equal((await signIn(gw, 'alice', 'guess', src)).status, 429);
  await gw.refusals.flush(true);
  const lines = (await gw.store.query({ user: 'alice', limit: 10 })).map((e) => e.detail);
  t.equal(lines.length, 2);
  t.match(lines[0], /: 3 more attempts refused on one name since /);
});

t.test('a throttled source over many connections is paced, and another address is answered meanwhile', async (t) => {
  const { gw } = await gateway(t);
  const src = via('203.0.113.11');
  for (let i = 0; i < FAILURES; i++) t.equal((await signIn(gw, sprayed(i), 'x', src)).status, 401);
  t.equal((await signIn(gw, sprayed(50), 'x', src)).status, 429, 'the store refuses the source: one answer of its allowance');
  // Forms first (not paced), then every post at once, each on its own kept-alive connection.
  const o = sendOpts(src);
  const posts = await Promise.all(
    Array.from({ length: PACE_ALLOWANCE + PACE_MAX_DELAY_MS / PACE_MS + 5 }, async (_, i) => {
      const form = await send(gw.port, '/.gateway/sign-in', o);
      const binding = (form.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).join('; ');
      return {
        body: new URLSearchParams({ username: sprayed(60 + i), password: 'x', csrf: field(form.body, 'csrf') }).toString(),
        binding,
      };
    }),
  );
  const start = performance.now();
  const answers = posts.map(async ({ body, binding }) => {
    const r = await send(gw.port, '/.gateway/sign-in', {
      ...o,
      method: 'POST',
      body,
      headers: { ...o.headers, cookie: binding, connection: 'keep-alive', 'content-type': 'application/x-www-form-urlencoded' },
    });
    return { status: r.status, close: r.headers.connection === 'close', ms: performance.now() - start };
  });
  // Another address signs in while the source's answers wait their turn.
  const other = signIn(gw, 'bob', PASSWORDS.bob!, via('198.51.100.7')).then((r) => ({ status: r.status, ms: performance.now() - start }));
  const done = await Promise.all(answers);
  const bob = await other;
  t.ok(
    done.every((a) => a.status === 429),
    'every attempt refused',
  );
  const paced = done.filter((a) => !a.close).sort((a, b) => a.ms - b.ms);
  const closed = done.filter((a) => a.close);
  const last = paced.at(-1)!.ms;
  // Timers never fire early: lower bounds only (a busy machine makes everything later, never earlier).
  t.ok(last >= PACE_MAX_DELAY_MS - 2 * PACE_MS, `the last paced answer came after ${Math.round(last)} ms: one per ${PACE_MS} ms`);
  t.ok(closed.length >= 1, `${closed.length} answers beyond the bound came at once with their connection closed`);
  t.ok(
    closed.every((a) => a.ms < last),
    'before the paced ones were through',
  );
  t.equal(bob.status, 303, 'the other address signed in');
  t.ok(bob.ms < last, `and was not kept waiting behind the paced source (${Math.round(bob.ms)} ms)`);
});

t.test('HTTP Basic from a throttled source is paced alike, and past the bound its answer closes the connection', async (t) => {
  const { gw } = await gateway(t);
  const src = via('203.0.113.12');
  for (let i = 0; i < FAILURES; i++) t.equal((await basic(gw, sprayed(i), 'x', src)).status, 401);
  t.equal((await basic(gw, sprayed(50), 'x', src)).status, 429, 'the store refuses the source');
  const o = sendOpts(src);
  const start = performance.now();
  const done = await Promise.all(
    Array.from({ length: PACE_ALLOWANCE + PACE_MAX_DELAY_MS / PACE_MS + 5 }, async (_, i) => {
      const r = await send(gw.port, '/dav/x', {
        ...o,
        headers: {
          ...o.headers,
          accept: '*/*',
          connection: 'keep-alive',
          authorization: `Basic ${Buffer.from(`${sprayed(60 + i)}:x`).toString('base64')}`,
        },
      });
      return { status: r.status, close: r.headers.connection === 'close', ms: performance.now() - start };
    }),
  );
  t.ok(
    done.every((a) => a.status === 429),
    'every attempt refused',
  );
  const last = Math.max(...done.filter((a) => !a.close).map((a) => a.ms));
  t.ok(last >= PACE_MAX_DELAY_MS - 2 * PACE_MS, `the last paced answer came after ${Math.round(last)} ms`);
  t.ok(
    done.some((a) => a.close),
    'answers beyond the bound close their connection',
  );
});
