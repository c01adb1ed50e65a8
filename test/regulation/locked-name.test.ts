// Issue 17 item 1: a locked name says so ("Too many failed attempts. Try again after HH:MM.",
// 429, Retry-After) without becoming an oracle. Once a name is locked, the answer (page,
// status, Retry-After) and the work (argon2 calls, counted through the injected verifier)
// are the same whether the password is right or wrong and whether the name exists, on the
// sign-in page in English and German, and over HTTP Basic. The time is shown in the
// server's time zone on its (frozen) clock.
process.env.TZ = 'Europe/Berlin';

import t from 'tap';
import type { Test } from 'tap';
import { argon2Verify, type PasswordVerifier } from '../../src/factors/password/password.ts';
import { PASSWORDS, field, send, startTestGateway, startUpstream, type Reply, type TestGateway } from '../helpers/gateway.ts';

const MIN = 60_000;
const LOCKOUT = { denials: 3, counter_reset_minutes: 10, auto_unblock_minutes: 15 };

async function gateway(t: Test): Promise<{ gw: TestGateway; argon2: { calls: number } }> {
  const argon2 = { calls: 0 };
  const counting: PasswordVerifier = (phc, password, source) => {
    argon2.calls++;
    return argon2Verify(phc, password, source);
  };
  const gw = await startTestGateway(
    t,
    await startUpstream(t),
    {
      rules: [
        { name: 'dav', paths: ['/dav/**'], app_passwords: true, policy: 'one_factor' },
        { paths: ['/**'], policy: 'two_factor' },
      ],
      mfa: { app_passwords: { enabled: true }, password_lockout: LOCKOUT, source_throttle: { enabled: false } },
    },
    { passwordVerifier: counting },
  );
  return { gw, argon2 };
}

/** One sign-in page attempt in a fresh browser (form, then post) in `lang`. */
async function signIn(gw: TestGateway, user: string, password: string, lang = 'en'): Promise<Reply> {
  const headers = { 'accept-language': lang };
  const form = await send(gw.port, '/.gateway/sign-in', { headers });
  const cookie = (form.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).join('; ');
  return send(gw.port, '/.gateway/sign-in', {
    method: 'POST',
    body: new URLSearchParams({ username: user, password, csrf: field(form.body, 'csrf') }).toString(),
    headers: { ...headers, cookie, 'content-type': 'application/x-www-form-urlencoded' },
  });
}

/** One HTTP Basic attempt on the app-password rule. */
const basic = (gw: TestGateway, user: string, password: string): Promise<Reply> =>
  send(gw.port, '/dav/x', { headers: { accept: '*/*', authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });

/** What a client can compare: status, Retry-After and the page without its per-request CSRF token and request id. */
const answer = (r: Reply) => ({
  status: r.status,
  retryAfter: r.headers['retry-after'],
  session: (r.headers['set-cookie'] ?? []).some((c) => c.startsWith('mfa_gateway_session=')),
  body: r.body.replace(/name="csrf" value="[^"]*"/g, 'name="csrf"').replace(/(Request ID|Anfrage-ID)[^<]*/g, '$1'),
});

/** Locks `name` with wrong passwords; the attempt that locks already says so. */
async function lock(t: Test, gw: TestGateway, name: string): Promise<void> {
  t.equal((await signIn(gw, name, 'wrong-1')).status, 401, `${name}: first wrong password`);
  t.equal((await signIn(gw, name, 'wrong-2')).status, 401, `${name}: second wrong password`);
  const locking = await signIn(gw, name, 'wrong-3');
  t.equal(locking.status, 429, `${name}: the denial that locks answers locked`);
  t.equal(locking.headers['retry-after'], String(15 * 60));
}

// The corpus: every way a guesser could tell a locked name's attempts apart.
const ATTEMPTS = [
  { what: 'known name, right password', name: 'bob', password: PASSWORDS.bob! },
  { what: 'known name, wrong password', name: 'bob', password: 'not-it' },
  { what: 'known name typed in capitals, right password', name: 'BOB', password: PASSWORDS.bob! },
  { what: 'known name, empty-looking password', name: 'bob', password: ' ' },
  { what: 'known name, another user’s right password', name: 'bob', password: PASSWORDS.alice! },
  { what: 'unknown name, any password', name: 'nobody', password: 'guess' },
  { what: 'unknown name, a real user’s password', name: 'nobody', password: PASSWORDS.bob! },
  { what: 'unknown name typed in capitals', name: 'NoBody', password: 'guess' },
];

const TEXTS = {
  en: 'Too many failed attempts. Try again after 10:15 AM.',
  de: 'Zu viele fehlgeschlagene Versuche. Versuchen Sie es ab 10:15 erneut.',
};

t.test('a locked name answers the same page, status, Retry-After and argon2 work, whatever the password and name', async (t) => {
  const { gw, argon2 } = await gateway(t);
  await lock(t, gw, 'bob');
  await lock(t, gw, 'nobody');
  gw.clock.now += 5 * MIN;

  for (const lang of ['en', 'de'] as const) {
    const seen = new Map<string, string[]>();
    for (const a of ATTEMPTS) {
      const before = argon2.calls;
      const r = await signIn(gw, a.name, a.password, lang);
      t.equal(argon2.calls - before, 1, `${lang}: ${a.what}: exactly one argon2 check`);
      t.equal(r.status, 429, `${lang}: ${a.what}: 429`);
      t.equal(r.headers['retry-after'], String(10 * 60), `${lang}: ${a.what}: Retry-After counts down on the server's clock`);
      t.ok(r.body.includes(TEXTS[lang]), `${lang}: ${a.what}: says until when, in the reader's language and the server's zone`);
      const key = JSON.stringify(answer(r)).replaceAll(JSON.stringify(a.name).slice(1, -1), 'NAME');
      seen.set(key, [...(seen.get(key) ?? []), a.what]);
    }
    t.equal(
      seen.size,
      1,
      `${lang}: every attempt gets the same answer (apart from the name typed back): ${[...seen.values()].join(' | ')}`,
    );
  }

  const log = (await gw.store.query({ user: 'bob', limit: 50 })).map((e) => e.detail);
  t.ok(
    log.every((d) => !d.startsWith('password ok')),
    'the right password did not sign in while locked',
  );
});

t.test('over HTTP Basic a locked name answers 429 with the same Retry-After and work, whatever the password and name', async (t) => {
  const { gw, argon2 } = await gateway(t);
  await lock(t, gw, 'bob');
  await lock(t, gw, 'nobody');
  const seen = new Set<string>();
  for (const a of ATTEMPTS) {
    const before = argon2.calls;
    const r = await basic(gw, a.name, a.password);
    t.equal(argon2.calls - before, 1, `${a.what}: exactly one argon2 check`);
    t.equal(r.status, 429, `${a.what}: 429`);
    t.equal(r.headers['retry-after'], String(15 * 60), `${a.what}: Retry-After`);
    seen.add(JSON.stringify(answer(r)));
  }
  t.equal(seen.size, 1, `every attempt gets the same answer: ${[...seen].join('\n')}`);
});

t.test('the lock lifts on time, and the time shown carries the date when it is not today', async (t) => {
  const { gw } = await gateway(t);
  gw.clock.now = Date.parse('2026-11-23T22:50:00Z'); // 23:50 in Berlin: the lock ends after midnight
  await lock(t, gw, 'bob');
  const de = await signIn(gw, 'bob', PASSWORDS.bob!, 'de');
  t.match(de.body, /Versuchen Sie es ab 24\.11\.2026, 00:05 erneut\./, 'another day: date and time');
  gw.clock.now += 15 * MIN - 1;
  t.equal((await signIn(gw, 'bob', PASSWORDS.bob!)).status, 429, 'still locked a millisecond before the end');
  gw.clock.now += 1;
  t.equal((await signIn(gw, 'bob', PASSWORDS.bob!)).status, 303, 'then the right password signs in');
});
