// The block list inside the in-memory revocation view, against a real SQLite store: blocks
// expire by the injected clock, listeners hear of new blocks (not of the initial load), an
// unblock clears the entry, and the session check refuses a blocked user.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.ts';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';
import { createRevocationView } from '../../src/session/revocations.ts';
import { createAuthenticator } from '../../src/session/authenticate.ts';
import type { SessionManager } from '../../src/session/session.ts';
import type { RequestScope } from '../../src/contracts/request.ts';

async function setup(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'mfa-blockview-'));
  const clock = { now: Date.UTC(2026, 10, 23, 9) };
  const store = await openStore(
    { sqlite: { path: join(dir, 'gateway.db') }, previous_encryption_keys: [] },
    { clock: () => clock.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
  );
  const view = createRevocationView(store, { clock: () => clock.now, pollMs: 60_000 });
  t.teardown(async () => {
    view.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, view, clock };
}

t.test('blocks come in with the feed, expire by the clock, and an unblock clears them', async (t) => {
  const { store, view, clock } = await setup(t);
  await store.block({ user: 'carol', durationMs: 5000, reason: 'before start', actor: 'x' });
  const heard: string[] = [];
  view.onBlocked((user) => heard.push(user));
  await view.start();
  t.equal(view.blocked('Carol'), true, 'loaded at start, any spelling');
  t.same(heard, [], 'the initial load is not news');

  await store.block({ user: 'Alice', durationMs: 60_000, reason: 'r', actor: 'x' });
  await view.refresh();
  t.equal(view.blocked('alice'), true);
  t.same(heard, ['alice'], 'a new block is announced once');
  await view.refresh();
  t.same(heard, ['alice'], 'not again without a change');

  clock.now += 5000;
  t.equal(view.blocked('carol'), false, 'expired by the clock, without a poll');
  await store.unblock({ user: 'alice', reason: 'r', actor: 'x' });
  await view.refresh();
  t.equal(view.blocked('alice'), false, 'unblocked');
  t.equal(view.blocked('nobody'), false);
});

t.test('the session check refuses a blocked user', async (t) => {
  const { store, view } = await setup(t);
  await view.start();
  const sessions = {
    cookieName: 's',
    allCookieNames: ['s'],
    read: () => ({
      state: 'valid',
      refresh: false,
      data: { v: 1, sid: 'x', user: 'bob', level: 2, amr: ['pwd', 'totp'], ic: false, iat: 0, auth: 0, seen: 0 },
    }),
  } as unknown as SessionManager;
  const users = { get: (name: string) => (name.toLowerCase() === 'bob' ? { name: 'bob', groups: [] } : undefined) };
  const auth = createAuthenticator(sessions, users, view);
  const scope = { req: { headers: { cookie: 's=v' } } } as unknown as RequestScope;
  t.equal((await auth.authenticate(scope)).subject?.user, 'bob');
  await store.block({ user: 'bob', durationMs: 60_000, reason: 'r', actor: 'x' });
  await view.refresh();
  t.same(await auth.authenticate(scope), { subject: null, identity: null }, 'anonymous: sent to sign in');
});
