// A store outage, politely (issue 10, item 11): while PostgreSQL is cut off every request
// that needs the store is answered 503 with Retry-After (pages, JSON, forward-auth, sign-in),
// the log gets exactly one "store unavailable" line and one "store back" line with the count
// of refused requests (no stack trace per request or per poll), and the gateway recovers by
// itself when the connection comes back.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import t from 'tap';
import { Browser, PASSWORDS, field, send, signInWithEnrollment, startTestGateway, startUpstream, type Reply } from '../helpers/gateway.ts';
import { freshSchema, relay } from '../helpers/postgres.ts';
import { handshakeStatus } from '../helpers/websocket.ts';
import { createStoreOutage, watchStore } from '../../src/store/outage.ts';
import { errors } from '../../src/errors/errors.ts';

interface Line {
  level: number;
  msg: string;
  refused?: number;
  err?: unknown;
}

function capture(): { lines: Line[]; log: Logger } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  return { lines, log: pino({ level: 'info' }, stream) as unknown as Logger };
}

t.test('postgres outage: 503 with Retry-After everywhere, one line down, one line back with the count', async (t) => {
  const schema = await freshSchema();
  const upstream = await startUpstream(t);
  const link = await relay(t, schema.url);
  const { lines, log } = capture();
  const gw = await startTestGateway(t, upstream, { store: { postgres: { url: link.url }, encryption_key: 'd'.repeat(64) } }, { log });
  t.teardown(() => schema.drop());
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'bob');
  const form = await send(gw.port, '/.gateway/sign-in');
  t.equal((await browser.get('/app')).status, 200, 'signed in while the database is there');
  lines.length = 0;

  await link.cut();
  const cutAt = performance.now();
  let refused = 0;
  const expect503 = (r: Reply, what: string) => {
    if (r.status === 503) refused++;
    t.equal(r.status, 503, `${what}: 503`);
    t.equal(r.headers['retry-after'], '5', `${what}: Retry-After`);
  };
  // The revocation view stops being current within a second of the last good poll.
  let first: Reply;
  for (;;) {
    first = await browser.get('/app');
    if (first.status !== 200 || performance.now() - cutAt > 3000) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect503(first, 'a signed-in page');
  expect503(await browser.get('/app', { accept: 'application/json' }), 'a signed-in JSON request');
  expect503(await browser.get('/.gateway/account'), 'the account page');
  const cookie = (form.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).join('; ');
  const body = new URLSearchParams({ username: 'bob', password: PASSWORDS.bob!, csrf: field(form.body, 'csrf') }).toString();
  expect503(
    await send(gw.port, '/.gateway/sign-in', {
      method: 'POST',
      body,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    }),
    'a sign-in',
  );
  expect503(
    await send(gw.port, '/.gateway/auth/traefik', {
      localAddress: '127.0.0.2',
      headers: {
        cookie: browser.cookieHeader(),
        'x-forwarded-method': 'GET',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': 'gateway.test',
        'x-forwarded-uri': '/app',
      },
    }),
    'forward-auth',
  );
  // A WebSocket upgrade of the same session is refused alike (the session check throws before any promise is made).
  const upgrade = await handshakeStatus(gw.port, '/app/ws', [
    ['cookie', browser.cookieHeader()],
    ['origin', `http://127.0.0.1:${gw.port}`],
  ]);
  if (upgrade === 503) refused++;
  t.equal(upgrade, 503, 'a signed-in WebSocket upgrade: 503');
  for (let i = 0; i < 5; i++) expect503(await browser.get(`/app/${i}`), `request ${i}`);
  t.equal((await send(gw.port, '/public/x')).status, 200, 'a bypass route needs no store and still passes');
  // Several change-feed polls fail meanwhile; none of them may add a line.
  await new Promise((resolve) => setTimeout(resolve, 600));

  await link.restore();
  const restoredAt = performance.now();
  let status = 0;
  while (performance.now() - restoredAt < 5000) {
    status = (await browser.get('/app')).status;
    if (status === 200) break;
    refused++;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.equal(status, 200, `the gateway recovered by itself ${Math.round(performance.now() - restoredAt)} ms after the database came back`);

  const down = lines.filter((l) => /^store unavailable/.test(l.msg));
  const back = lines.filter((l) => /^store back/.test(l.msg));
  t.equal(down.length, 1, 'exactly one "store unavailable" line');
  t.equal(back.length, 1, 'exactly one "store back" line');
  t.equal(back[0]?.refused, refused, `with the count of refused requests (${refused})`);
  t.same(
    lines.filter((l) => l.level >= 40 && l !== down[0]).map((l) => l.msg),
    [],
    'no other warning or error line (no stack trace per request or poll)',
  );
});

t.test('the outage watch: one transition each way; calls under way when it began prove nothing', async (t) => {
  const { lines, log } = capture();
  const outage = createStoreOutage(log);
  const before = outage.began();
  outage.failed(new Error('not a store error'));
  t.equal(outage.down, false, 'other errors are not an outage');
  outage.failed(errors.storeUnavailable('postgres: ECONNREFUSED'));
  outage.failed(errors.storeUnavailable('postgres: ECONNREFUSED'));
  outage.refused(errors.storeUnavailable('x'));
  outage.refused(errors.storeUnavailable('x'));
  outage.succeeded(before);
  t.equal(outage.down, true, 'a call that began before the outage does not end it');
  outage.succeeded(outage.began());
  t.equal(outage.down, false);
  outage.succeeded(outage.began());
  t.same(
    lines.map((l) => [l.msg.split(':')[0]!.split(';')[0], l.refused]),
    [
      ['store unavailable', undefined],
      ['store back after an outage', 2],
    ],
  );
});

t.test('the outage watch: a failure of a call begun before the store came back opens no second outage', async (t) => {
  const { lines, log } = capture();
  const outage = createStoreOutage(log);
  const store = watchStore(
    {
      slow: async (fail: boolean) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (fail) throw errors.storeUnavailable('postgres: connection terminated');
      },
      fast: async () => undefined,
    },
    outage,
  );
  outage.failed(errors.storeUnavailable('postgres: ECONNREFUSED'));
  // A call under way while the store comes back, failing after a later call succeeded.
  const late = store.slow(true).catch((err: unknown) => err);
  await store.fast();
  t.equal(outage.down, false, 'the later call that succeeded ends the outage');
  const err = await late;
  t.equal(outage.down, false, 'the stale failure does not open a second outage');
  outage.refused(err as ReturnType<typeof errors.storeUnavailable>);
  t.equal(outage.down, false, 'nor does the 503 it became');
  // A call begun after the success that fails is a new outage.
  await store.slow(true).catch(() => undefined);
  t.equal(outage.down, true, 'a fresh failure opens a new outage');
  t.same(
    lines.map((l) => l.msg.split(':')[0]!.split(';')[0]),
    ['store unavailable', 'store back after an outage', 'store unavailable'],
  );
});
