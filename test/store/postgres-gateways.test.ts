// Two real gateways on one PostgreSQL schema, as two machines behind a load balancer would run:
// a session signed in on one works on the other, and "sign out everywhere" on one ends it on the
// other within a second, through the shared change counter alone.
import t from 'tap';
import { Browser, field, pathOf, send, signInWithEnrollment, startTestGateway, startUpstream } from '../helpers/gateway.ts';
import { freshSchema, relay } from '../helpers/postgres.ts';

const SESSION = 'mfa_gateway_session';

t.test('postgres: "sign out everywhere" on gateway A ends the session on gateway B within one second', async (t) => {
  const schema = await freshSchema();
  const upstream = await startUpstream(t);
  // Every gateway on one database shares the encryption key and the session secret.
  const store = { postgres: { url: schema.url }, encryption_key: 'd'.repeat(64) };
  const a = await startTestGateway(t, upstream, { store });
  const b = await startTestGateway(t, upstream, { store });
  // Teardowns run in order: the gateways close (and stop polling) before the schema goes.
  t.teardown(() => schema.drop());
  for (const gw of [a, b]) t.equal((await send(gw.port, '/.gateway/health')).status, 200, 'healthy on the shared store');

  const browser = new Browser(a.port);
  await signInWithEnrollment(browser, a, 'alice');
  const onB = new Browser(b.port);
  onB.cookies.set(SESSION, browser.cookies.get(SESSION)!);
  t.equal((await onB.get('/app')).status, 200, 'the session signed in on A works on B');
  t.equal((await b.store.listMethods('alice')).length, 1, 'B sees the method enrolled through A');

  a.clock.now += 1000;
  const account = await browser.get('/.gateway/account');
  const done = await browser.post('/.gateway/account/sign-out-everywhere', { csrf: field(account.body, 'csrf') });
  t.equal(done.status, 200, 'signed out everywhere on A');
  const revokedAt = performance.now();

  let refused: { status: number; location: string | undefined } | undefined;
  while (performance.now() - revokedAt < 1000) {
    const r = await onB.get('/app');
    if (r.status !== 200) {
      refused = { status: r.status, location: r.headers.location };
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const elapsed = performance.now() - revokedAt;
  t.ok(refused !== undefined, `refused on B after ${Math.round(elapsed)} ms`);
  t.equal(refused?.status, 302);
  t.match(pathOf(refused?.location), /^\/\.gateway\/sign-in/, 'sent to sign in again');
});

t.test('postgres: a gateway whose database goes away fails closed', async (t) => {
  const schema = await freshSchema();
  const upstream = await startUpstream(t);
  const link = await relay(t, schema.url);
  const gw = await startTestGateway(t, upstream, { store: { postgres: { url: link.url }, encryption_key: 'd'.repeat(64) } });
  t.teardown(() => schema.drop());
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'bob');
  t.equal((await browser.get('/app')).status, 200, 'signed in while the database is there');

  await link.cut();
  const cutAt = performance.now();
  t.equal((await send(gw.port, '/.gateway/health')).status, 503, 'health answers 503 at once');
  let status = 200;
  while (status === 200 && performance.now() - cutAt < 2000) {
    status = (await browser.get('/app')).status;
    if (status === 200) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal(
    status,
    503,
    `the signed-in request is refused (503) ${Math.round(performance.now() - cutAt)} ms after the cut, once the revocation view is a second old`,
  );
});
