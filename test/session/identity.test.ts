// The identity a signed-in request forwards comes from the user's record as it is now. The
// session check keeps one identity per frozen record (the users file's and the directory's,
// replaced whole on a reload) and builds a fresh one for any other, so a record edited in place
// can never leave yesterday's groups in Remote-Groups.
import t from 'tap';
import { createAuthenticator } from '../../src/session/authenticate.ts';
import type { SessionManager } from '../../src/session/session.ts';
import type { Authentication, RequestScope } from '../../src/contracts/request.ts';

const sessions = {
  cookieName: 's',
  allCookieNames: ['s'],
  read: () => ({
    state: 'valid',
    refresh: false,
    expiresAt: 1,
    data: { v: 1, sid: 'x', user: 'bob', level: 2, amr: Object.freeze(['pwd', 'totp']), ic: false, iat: 0, auth: 0, seen: 0 },
  }),
} as unknown as SessionManager;
const scope = { req: { headers: { cookie: 's=v' } } } as unknown as RequestScope;
const notBlocked = { blocked: () => false };

t.test('a record edited in place: the next request forwards the record as it is now', async (t) => {
  const record: { name: string; groups: string[]; email?: string } = { name: 'bob', groups: ['finance'] };
  const auth = createAuthenticator(sessions, { get: () => record }, notBlocked);
  const first = (await auth.authenticate(scope)) as Authentication;
  t.same(first.identity, { user: 'bob', groups: ['finance'], email: undefined, name: undefined });
  record.groups = ['staff'];
  record.email = 'bob@example.com';
  const second = (await auth.authenticate(scope)) as Authentication;
  t.same(second.identity?.groups, ['staff'], 'the group list of now');
  t.equal(second.identity?.email, 'bob@example.com', 'the address of now');
  t.same(second.subject?.groups, ['staff'], 'and the access decision sees the same groups');
});

t.test('a frozen record: one frozen identity for all its requests; a replaced record gets its own', async (t) => {
  let record = Object.freeze({ name: 'bob', groups: Object.freeze(['finance']) });
  const auth = createAuthenticator(sessions, { get: () => record }, notBlocked);
  const a = (await auth.authenticate(scope)) as Authentication;
  const b = (await auth.authenticate(scope)) as Authentication;
  t.equal(a.identity, b.identity, 'shared');
  t.ok(Object.isFrozen(a.identity), 'and frozen, so no request can change it for the next');
  t.same(a.subject?.factors, ['totp']);
  record = Object.freeze({ name: 'bob', groups: Object.freeze(['staff']) });
  const c = (await auth.authenticate(scope)) as Authentication;
  t.same(c.identity?.groups, ['staff'], 'a reloaded record (a new object) is read again');
});
