// Every way a session ends closes its WebSockets within a second (issue 10, item 4), with a
// real WebSocket client through real gateways to a real echo app: on SQLite, and on two
// gateways sharing PostgreSQL (the socket on one, the session ended through the other).
// Also: a cookie copied before sign-out is refused after it, on the same and another
// instance; and sign-out by link (GET, HEAD, POST without or with a foreign token,
// cross-origin POST) signs nobody out.
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { Browser, field, send, signInWithEnrollment, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { WebSocket } from 'undici';
import { closesWithin, echo, openSocket, startEchoUpstream } from '../helpers/websocket.ts';
import { freshSchema } from '../helpers/postgres.ts';
import { openStore } from '../../src/store/index.ts';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';
import type { Store } from '../../src/store/types.ts';
import { blockUser } from '../../src/regulation/block.ts';
import { resetMfa } from '../../src/factors/methods/reset.ts';

const SESSION = 'mfa_gateway_session';
const KEY = 'd'.repeat(64);
const sessionConfig = { secret: 'test-session-secret-that-is-long-enough-0123456789', idle_timeout: '1h', absolute_timeout: '2h' };

interface Setup {
  /** Where the user signed in and acts (sign-out, account page). */
  a: TestGateway;
  /** Where the socket is open: `a` itself on SQLite, the other gateway on PostgreSQL. */
  b: TestGateway;
  /** Another process on the same store (the CLI). */
  cli: Store;
  bob: Browser;
  /** Another user (an admin), signed in on `a`, whose socket must stay open. */
  alice: Browser;
}

type End = { name: string; end(s: Setup, ws: WebSocket): Promise<void> };

async function adminAction(s: Setup, action: string, form: Record<string, string>): Promise<void> {
  const admin = s.alice;
  const page = await admin.get('/.gateway/admin/user?name=bob');
  const r = await admin.post(`/.gateway/admin/user/${action}`, { user: 'bob', csrf: field(page.body, 'csrf'), confirm: 'yes', ...form });
  if (r.status !== 303) throw new Error(`admin ${action}: ${r.status}`);
}

const ends: End[] = [
  {
    name: 'sign-out',
    async end(s) {
      const page = await s.bob.get('/.gateway/sign-out');
      const r = await s.bob.post('/.gateway/sign-out', { csrf: field(page.body, 'csrf') });
      if (r.status !== 200) throw new Error(`sign-out: ${r.status}`);
    },
  },
  {
    name: 'sign out everywhere',
    async end(s) {
      const page = await s.bob.get('/.gateway/account');
      const r = await s.bob.post('/.gateway/account/sign-out-everywhere', { csrf: field(page.body, 'csrf') });
      if (r.status !== 200) throw new Error(`sign out everywhere: ${r.status}`);
    },
  },
  { name: 'revoke (the CLI, another process on the store)', end: async (s) => void (await s.cli.revokeSessions('bob')) },
  { name: 'admin revoke', end: (s) => adminAction(s, 'revoke', { what: 'sessions' }) },
  { name: 'users reset-mfa', end: async (s) => void (await resetMfa({ store: s.cli, clock: () => s.a.clock.now }, 'bob', 'root')) },
  { name: 'block', end: async (s) => void (await blockUser(s.cli, 'bob', { reason: 'laptop stolen', days: 1, actor: 'root' })) },
  {
    name: 'idle timeout',
    async end(s) {
      for (const gw of new Set([s.a, s.b])) gw.clock.now += 3_600_000;
    },
  },
  {
    name: 'absolute timeout (while active: requests keep the idle clock moving)',
    async end(s, ws) {
      // 50-minute steps, each with a request of the session, up to the 2 h absolute timeout.
      for (let i = 0; i < 2; i++) {
        for (const gw of new Set([s.a, s.b])) gw.clock.now += 50 * 60_000;
        const r = await s.bob.get('/app');
        if (r.status !== 200) throw new Error(`request while active: ${r.status}`);
      }
      await new Promise((r) => setTimeout(r, 300));
      if ((await echo(ws, 'active')) !== 'active') throw new Error('the socket of an active session closed at the idle timeout');
      for (const gw of new Set([s.a, s.b])) gw.clock.now += 20 * 60_000;
    },
  },
];

async function sqliteSetup(t: Test): Promise<Setup> {
  const upstream = await startEchoUpstream(t);
  const a = await startTestGateway(t, upstream, { session: sessionConfig });
  const cli = await openStore(
    { sqlite: { path: join(a.dir, 'gateway.db') }, previous_encryption_keys: [] },
    { clock: () => a.clock.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  t.teardown(() => cli.close());
  const bob = new Browser(a.port);
  await signInWithEnrollment(bob, a, 'bob');
  const alice = new Browser(a.port);
  await signInWithEnrollment(alice, a, 'alice');
  return { a, b: a, cli, bob, alice };
}

async function postgresSetup(t: Test): Promise<Setup> {
  const schema = await freshSchema();
  const upstream = await startEchoUpstream(t);
  const store = { postgres: { url: schema.url }, encryption_key: KEY };
  const a = await startTestGateway(t, upstream, { store, session: sessionConfig });
  const b = await startTestGateway(t, upstream, { store, session: sessionConfig });
  b.clock.now = a.clock.now;
  const cli = await openStore(
    { postgres: { url: schema.url }, encryption_key: KEY, previous_encryption_keys: [] },
    { clock: () => a.clock.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  t.teardown(async () => {
    await cli.close();
    await schema.drop();
  });
  const bob = new Browser(a.port);
  await signInWithEnrollment(bob, a, 'bob');
  const alice = new Browser(a.port);
  await signInWithEnrollment(alice, a, 'alice');
  return { a, b, cli, bob, alice };
}

const backends: Array<{ name: string; setup: (t: Test) => Promise<Setup>; ends: End[] }> = [
  { name: 'sqlite', setup: sqliteSetup, ends },
  {
    name: 'postgres, socket on the other gateway',
    setup: postgresSetup,
    ends: ends.filter((e) =>
      [
        'sign-out',
        'sign out everywhere',
        'revoke (the CLI, another process on the store)',
        'admin revoke',
        'block',
        'idle timeout',
      ].includes(e.name),
    ),
  },
];

for (const backend of backends) {
  for (const way of backend.ends) {
    t.test(`${backend.name}: ${way.name} closes the session's WebSockets within a second`, async (t) => {
      const s = await backend.setup(t);
      const origin = `http://127.0.0.1:${s.b.port}`;
      const ws = await openSocket(s.b.port, '/live', { cookie: s.bob.cookieHeader(), origin });
      t.teardown(() => ws.close());
      t.equal(await echo(ws, 'before'), 'before', 'the socket works before');
      // Another user's socket must stay open.
      const other = await openSocket(s.b.port, '/live', { cookie: s.alice.cookieHeader(), origin });
      t.teardown(() => other.close());
      await way.end(s, ws);
      const ms = await closesWithin(ws, 1000);
      t.pass(`closed ${Math.round(ms)} ms after the session ended`);
      if (way.name !== 'idle timeout' && !way.name.startsWith('absolute'))
        t.equal(await echo(other, 'still'), 'still', "another user's socket stays open");
    });
  }
}

t.test('sqlite: the first block on a gateway started against a fresh store closes the socket (change feed at counter 0)', async (t) => {
  const upstream = await startEchoUpstream(t);
  const gw = await startTestGateway(t, upstream);
  t.equal(await gw.store.changeSeq(), 0, 'nothing changed yet');
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  const ws = await openSocket(gw.port, '/live', { cookie: bob.cookieHeader() });
  t.teardown(() => ws.close());
  await gw.store.block({ user: 'bob', durationMs: 3_600_000, reason: 'test', actor: 'test' });
  await closesWithin(ws, 1000);
  t.pass('closed');
});

t.test('a cookie copied before sign-out is refused after it, on the same and on another instance', async (t) => {
  const upstream = await startEchoUpstream(t);
  const a = await startTestGateway(t, upstream);
  const b = await startTestGateway(t, upstream, { store: { sqlite: { path: join(a.dir, 'gateway.db') } } });
  b.clock.now = a.clock.now;
  const bob = new Browser(a.port);
  await signInWithEnrollment(bob, a, 'bob');
  const copied = bob.cookies.get(SESSION)!;
  const thiefA = new Browser(a.port);
  const thiefB = new Browser(b.port);
  thiefA.cookies.set(SESSION, copied);
  thiefB.cookies.set(SESSION, copied);
  t.equal((await thiefA.get('/app')).status, 200, 'the copy works before, on A');
  t.equal((await thiefB.get('/app')).status, 200, 'and on B');
  const page = await bob.get('/.gateway/sign-out');
  t.equal((await bob.post('/.gateway/sign-out', { csrf: field(page.body, 'csrf') })).status, 200);
  t.equal((await thiefA.get('/app')).status, 302, 'refused on the same instance at once');
  const started = performance.now();
  let status = 200;
  while (status === 200 && performance.now() - started < 1000) {
    status = (await thiefB.get('/app')).status;
    if (status === 200) await new Promise((r) => setTimeout(r, 25));
  }
  t.equal(status, 302, `refused on the other instance after ${Math.round(performance.now() - started)} ms`);
  const log = await a.store.query({ user: 'bob', limit: 5 });
  t.match(log[0], { kind: 'revocation', outcome: 'success', detail: 'user signed out' });
});

t.test("sign-out by link signs nobody out: only POST with this session's token does", async (t) => {
  const upstream = await startEchoUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  const mallory = new Browser(gw.port);
  await signInWithEnrollment(mallory, gw, 'alice');
  const foreignToken = field((await mallory.get('/.gateway/sign-out')).body, 'csrf');
  const ownToken = field((await bob.get('/.gateway/sign-out')).body, 'csrf');
  const attempts: Array<{ name: string; run: () => Promise<number>; status: number }> = [
    { name: 'GET (a link)', run: async () => (await bob.get('/.gateway/sign-out')).status, status: 200 },
    { name: 'GET as an image', run: async () => (await bob.get('/.gateway/sign-out', { 'sec-fetch-dest': 'image' })).status, status: 200 },
    {
      name: 'HEAD',
      run: async () => (await send(gw.port, '/.gateway/sign-out', { method: 'HEAD', headers: { cookie: bob.cookieHeader() } })).status,
      status: 200,
    },
    { name: 'POST without a token', run: async () => (await bob.post('/.gateway/sign-out', {})).status, status: 403 },
    {
      name: 'POST with a token of another session',
      run: async () => (await bob.post('/.gateway/sign-out', { csrf: foreignToken })).status,
      status: 403,
    },
    {
      name: 'cross-origin POST with the right token',
      run: async () => (await bob.post('/.gateway/sign-out', { csrf: ownToken }, { origin: 'http://evil.example' })).status,
      status: 403,
    },
  ];
  for (const a of attempts) {
    t.equal(await a.run(), a.status, `${a.name}: ${a.status}`);
    t.equal((await bob.get('/app')).status, 200, `${a.name}: still signed in`);
  }
  const page = await bob.get('/.gateway/sign-out');
  t.match(page.body, /<form method="post" action="\/\.gateway\/sign-out">/, 'GET shows the sign-out form');
  const copy = bob.cookieHeader();
  t.equal((await bob.post('/.gateway/sign-out', { csrf: field(page.body, 'csrf') })).status, 200, 'POST with the token signs out');
  t.equal((await send(gw.port, '/app', { headers: { cookie: copy } })).status, 302, 'and the session is over');
  t.equal((await mallory.get('/app')).status, 200, "another user's session goes on");
});
