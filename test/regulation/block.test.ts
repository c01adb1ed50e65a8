// The block list through a real gateway on a frozen clock: a blocked user's live session is
// refused on the next request, every step denies them, blocks expire by the clock, and an
// unblock lets them back in; reasons and actors are recorded.
import t from 'tap';
import { Browser, field, signInPassword, signInWithEnrollment, startTestGateway, startUpstream, totpCode } from '../helpers/gateway.ts';
import { blockUser, unblockUser } from '../../src/regulation/block.ts';

const DAY = 86_400_000;

t.test("a blocked user's live session is refused on the next request, and works again when the block expires", async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  t.equal((await bob.get('/app')).status, 200);

  // The block alone (no revocation): the in-memory block list is what refuses the session.
  await gw.store.block({ user: 'BOB', durationMs: 60_000, reason: 'test', actor: 'tester' });
  await gw.revocations.refresh();
  const refused = await bob.get('/app');
  t.equal(refused.status, 302, 'sent to sign in');
  t.match(refused.headers.location, /\/\.gateway\/sign-in/);
  t.equal((await bob.get('/.gateway/second-factor')).status, 302, 'the portal does not accept the session either');

  gw.clock.now += 60_000;
  t.equal((await bob.get('/app')).status, 200, 'the block expired by the clock; the session was never revoked');
});

t.test('blockUser also ends the sessions, so an unblock does not revive them; history and sign-in log record who and why', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const bob = new Browser(gw.port);
  const secret = await signInWithEnrollment(bob, gw, 'bob');
  gw.clock.now += 1000;

  const block = await blockUser(gw.store, 'Bob', { reason: 'phone stolen', days: 90, actor: 'ops-anna' });
  t.equal(block.until, gw.clock.now + 90 * DAY);
  await gw.revocations.refresh();
  t.equal((await bob.get('/app')).status, 302);

  const wrong = await signInPassword(new Browser(gw.port), 'bob', 'not-it');
  t.equal(wrong.status, 401, 'a wrong password of a blocked user is an ordinary failure');
  t.match(wrong.body, /The username or password is incorrect/);
  t.notMatch(wrong.body, /blocked/i, 'nothing reveals the block without the password');
  const right = await signInPassword(new Browser(gw.port), 'bob');
  t.equal(right.status, 403, 'the right password learns of the block');
  t.match(right.body, /This account is blocked/);
  t.notOk(
    right.headers['set-cookie']?.some((c) => c.startsWith('mfa_gateway_session=')),
    'no session',
  );

  gw.clock.now += 1000;
  t.equal(await unblockUser(gw.store, 'bob', { reason: 'phone found', actor: 'ops-ben' }), true);
  t.equal(await unblockUser(gw.store, 'bob', { reason: 'again', actor: 'ops-ben' }), false, 'not blocked any more');
  await gw.revocations.refresh();
  t.equal((await bob.get('/app')).status, 302, 'the old session stays ended');
  const again = new Browser(gw.port);
  t.equal((await signInPassword(again, 'bob')).status, 303, 'the user signs in again');
  const page = await again.get('/.gateway/second-factor');
  gw.clock.now += 30_000; // the next code: the enrollment's one was used
  t.equal(
    (await again.post('/.gateway/second-factor', { code: totpCode(secret, gw.clock.now), csrf: field(page.body, 'csrf') })).status,
    303,
  );

  t.same(
    (await gw.store.blockHistory('bob')).map((e) => [e.action, e.reason, e.actor]),
    [
      ['unblock', 'phone found', 'ops-ben'],
      ['block', 'phone stolen', 'ops-anna'],
    ],
  );
  const log = (await gw.store.query({ user: 'bob', limit: 50 })).reverse().map((e) => `${e.kind} ${e.outcome}: ${e.detail}`);
  t.ok(log.includes(`block success: blocked by ops-anna until ${new Date(block.until).toISOString()}: phone stolen`));
  t.ok(log.includes(`password denied: blocked until ${new Date(block.until).toISOString()}`), 'the denial says why');
  t.ok(log.includes('unblock success: unblocked by ops-ben: phone found'));
});

t.test('a block between the password and the code step denies the code step from the store', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const secret = await signInWithEnrollment(new Browser(gw.port), gw, 'bob');
  const bob = new Browser(gw.port);
  await signInPassword(bob, 'bob');
  const page = await bob.get('/.gateway/second-factor');
  // Keep the in-memory view from learning of the block: only the store knows.
  gw.revocations.stop();
  await gw.store.block({ user: 'bob', durationMs: DAY, reason: 'test', actor: 'tester' });
  gw.clock.now += 30_000;
  const reply = await bob.post('/.gateway/second-factor', { code: totpCode(secret, gw.clock.now), csrf: field(page.body, 'csrf') });
  t.equal(reply.status, 403);
  t.match(reply.body, /This account is blocked/);
  t.notOk(bob.cookies.has('mfa_gateway_session'), 'the session cookie is cleared');
  t.match((await gw.store.query({ user: 'bob', limit: 1 }))[0], { kind: 'second_factor', outcome: 'denied', detail: /^blocked until / });
});

t.test('blockUser refuses a missing reason and an impossible duration, and tells onBlock', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  await t.rejects(blockUser(gw.store, 'bob', { reason: '  ', days: 90, actor: 'x' }), {
    name: 'BlockInputError',
    message: /reason is required/,
  });
  await t.rejects(blockUser(gw.store, 'bob', { reason: 'r', days: 0, actor: 'x' }), { name: 'BlockInputError', message: /whole number/ });
  await t.rejects(blockUser(gw.store, 'bob', { reason: 'r', days: 1.5, actor: 'x' }), { name: 'BlockInputError' });
  t.equal(await gw.store.blockOf('bob'), null, 'nothing changed');
  const told: string[] = [];
  const errors: unknown[] = [];
  await blockUser(gw.store, 'bob', {
    reason: 'r',
    days: 1,
    actor: 'x',
    onBlock: (e) => {
      told.push(`${e.user} ${e.block.reason}`);
      throw new Error('mail down');
    },
    onHookError: (err) => errors.push(err),
  });
  t.same(told, ['bob r']);
  t.equal(errors.length, 1, 'a failing listener is reported');
  t.not(await gw.store.blockOf('bob'), null, 'and does not undo the block');
});
