// The revocation view's listeners on a fresh store (issue 10, item 4): the first revoke or
// block after a gateway started against a store whose change counter was still 0 must reach
// the listeners that close WebSockets. Run against both backends.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { openStore } from '../../src/store/index.ts';
import { lockoutRules } from '../../src/regulation/lockout.ts';
import { sourceThrottleRules } from '../../src/regulation/source-throttle.ts';
import type { Store } from '../../src/store/types.ts';
import { createRevocationView } from '../../src/session/revocations.ts';
import { freshSchema } from '../helpers/postgres.ts';

const KEY = 'e'.repeat(64);

const backends: Array<{ name: string; open: (t: Test) => Promise<Store> }> = [
  {
    name: 'sqlite',
    async open(t) {
      const dir = await mkdtemp(join(tmpdir(), 'mfa-rev-'));
      const store = await openStore(
        { sqlite: { path: join(dir, 'gateway.db') }, encryption_key: KEY, previous_encryption_keys: [] },
        { clock: () => now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
      );
      t.teardown(async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      });
      return store;
    },
  },
  {
    name: 'postgres',
    async open(t) {
      const schema = await freshSchema();
      const store = await openStore(
        { postgres: { url: schema.url }, encryption_key: KEY, previous_encryption_keys: [] },
        { clock: () => now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules },
      );
      t.teardown(async () => {
        await store.close();
        await schema.drop();
      });
      return store;
    },
  },
];

let now = Date.parse('2026-11-23T09:00:00Z');

for (const backend of backends) {
  const changes: Array<{ name: string; change: (store: Store) => Promise<unknown>; heard: 'revoked' | 'blocked' }> = [
    { name: 'revoke sessions', change: (s) => s.revokeSessions('Alice'), heard: 'revoked' },
    { name: 'block', change: (s) => s.block({ user: 'Alice', durationMs: 86_400_000, reason: 'test', actor: 'test' }), heard: 'blocked' },
    {
      name: 'revoke one session',
      change: (s) => s.revokeSession({ sid: 'sid-1', user: 'Alice', expiresAt: now + 3_600_000 }),
      heard: 'revoked',
    },
  ];
  for (const { name, change, heard } of changes) {
    t.test(`${backend.name}: the first ${name} on a fresh store reaches the listeners (change counter was 0 at start)`, async (t) => {
      const store = await backend.open(t);
      t.equal(await store.changeSeq(), 0, 'a fresh store');
      const view = createRevocationView(store, { clock: () => now });
      const revoked: string[] = [];
      const blocked: string[] = [];
      const sessionsEnded: string[] = [];
      view.onSessionsRevoked((user) => revoked.push(user));
      view.onBlocked((user) => blocked.push(user));
      view.onSessionRevoked((sid) => sessionsEnded.push(sid));
      await view.start();
      t.teardown(() => view.stop());
      await change(store);
      await view.refresh();
      if (heard === 'blocked') t.same(blocked, ['alice'], 'the block listener ran');
      else if (name === 'revoke one session') {
        t.same(sessionsEnded, ['sid-1'], 'the session listener ran');
        t.ok(view.sessionRevoked('sid-1'), 'and the view refuses that session id');
      } else t.same(revoked, ['alice'], 'the revocation listener ran');
    });
  }

  t.test(`${backend.name}: records present at start are loaded but are not news`, async (t) => {
    const store = await backend.open(t);
    await store.revokeSessions('bob');
    await store.revokeSession({ sid: 'old', user: 'bob', expiresAt: now + 60_000 });
    const view = createRevocationView(store, { clock: () => now });
    const heard: string[] = [];
    view.onSessionsRevoked((user) => heard.push(user));
    view.onSessionRevoked((sid) => heard.push(sid));
    await view.start();
    t.teardown(() => view.stop());
    t.ok(view.sessionsRevokedAt('bob') !== undefined, 'loaded');
    t.ok(view.sessionRevoked('old'), 'the revoked session id is loaded');
    t.same(heard, [], 'no listener ran for the state at start');
    now += 1000;
    await store.revokeSessions('bob');
    await view.refresh();
    t.same(heard, ['bob'], 'a later change is news');
  });

  t.test(`${backend.name}: a revoked session id is forgotten once its session could no longer be used`, async (t) => {
    const store = await backend.open(t);
    await store.revokeSession({ sid: 'short', user: 'bob', expiresAt: now + 1000 });
    const view = createRevocationView(store, { clock: () => now });
    await view.start();
    t.teardown(() => view.stop());
    t.ok(view.sessionRevoked('short'));
    now += 2000;
    t.equal(await store.pruneRevokedSessions(now), 1, 'the store prunes it after its absolute timeout');
    t.equal(await store.pruneRevokedSessions(now), 0, 'once');
    await store.revokeSessions('someone-else');
    await view.refresh();
    t.notOk(view.sessionRevoked('short'), 'the view forgets it too: the absolute timeout refuses that session now');
    t.notOk(view.sessionRevoked('unknown'));
  });
}
