// Issue 12: one stable id per session, recorded in the session index; a copy of its cookie
// taken at ANY level (before the second factor too) is refused after sign-out, after "end
// this session" from another browser, and after the absolute timeout. Named after what each
// guards; every case failed before the session kept one id for its whole life.
import t from 'tap';
import {
  Browser,
  field,
  pathOf,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  totpCode,
} from '../helpers/gateway.ts';
import { freshSchema } from '../helpers/postgres.ts';

const SESSION = 'mfa_gateway_session';
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const CHROME_ANDROID =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';

const copyOf = (port: number, from: Browser) => {
  const copy = new Browser(port);
  copy.cookies.set(SESSION, from.cookies.get(SESSION)!);
  return copy;
};

t.test('session-fixation-and-copies: the pre-second-factor cookie is ended by sign-out', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const browser = new Browser(gw.port, { 'user-agent': FIREFOX });
  await signInPassword(browser, 'bob');
  const passwordLevel = copyOf(gw.port, browser);
  const enroll = await browser.get('/.gateway/enroll');
  const secret = /<code class="secret">(.*?)<\/code>/s.exec(enroll.body)![1]!.replace(/<[^>]+>|\s/g, '');
  await browser.post('/.gateway/enroll', { code: totpCode(secret, gw.clock.now), csrf: field(enroll.body, 'csrf') });
  const secondLevel = copyOf(gw.port, browser);
  t.equal((await secondLevel.get('/app')).status, 200, 'the full session works before');
  t.match(
    pathOf((await passwordLevel.get('/app')).headers.location),
    /^\/\.gateway\/second-factor/,
    'the password-level copy still asks for a code',
  );

  const listed = await gw.store.listSessions('bob');
  t.equal(listed.length, 1, 'one session, one record, across both levels');
  t.same(listed[0]!.amr, ['pwd', 'otp', 'mfa'], 'RFC 8176 amr values');
  t.equal(listed[0]!.createdUserAgent, FIREFOX);
  t.equal(listed[0]!.createdIp, '127.0.0.1');
  t.equal(listed[0]!.skip, null);
  t.equal(listed[0]!.federated, false);

  const page = await browser.get('/.gateway/sign-out');
  t.equal((await browser.post('/.gateway/sign-out', { csrf: field(page.body, 'csrf') })).status, 200);
  for (const [name, copy] of [
    ['password-level copy', passwordLevel],
    ['second-factor copy', secondLevel],
  ] as const) {
    const after = await copy.get('/app');
    t.equal(after.status, 302, `${name} is refused after sign-out`);
    t.match(pathOf(after.headers.location), /^\/\.gateway\/sign-in/, `${name} is sent to sign in`);
    t.equal((await copy.get('/.gateway/second-factor')).status, 302, `${name} cannot reach the code page either`);
  }
  t.same(await gw.store.listSessions('bob'), [], 'the index forgets the ended session');
});

t.test('end-this-session: another browser of the user ends one session, the others go on', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream);
  const laptop = new Browser(gw.port, { 'user-agent': FIREFOX });
  await signInWithEnrollment(laptop, gw, 'alice');
  const phone = new Browser(gw.port, { 'user-agent': CHROME_ANDROID });
  await signInPassword(phone, 'alice');
  const phoneCopy = copyOf(gw.port, phone);
  const tablet = new Browser(gw.port);
  await signInPassword(tablet, 'alice');

  const account = await laptop.get('/.gateway/account');
  t.equal(account.status, 200);
  t.match(account.body, 'Firefox on Windows', 'this browser is listed');
  t.match(account.body, /Chrome on Android/, 'the other browser is listed with its browser');
  t.match(account.body, 'aria-current="true"', 'this session is marked');
  const sessions = await gw.store.listSessions('alice');
  t.equal(sessions.length, 3);
  const phoneSid = sessions.find((s) => s.createdUserAgent === CHROME_ANDROID)!.sid;
  const laptopSid = sessions.find((s) => s.createdUserAgent === FIREFOX)!.sid;
  const csrf = field(account.body, 'csrf');

  t.equal(
    (await laptop.post('/.gateway/account/sessions/end', { id: phoneSid, csrf: 'forged' })).status,
    403,
    'a forged form ends nothing',
  );
  t.equal(
    (await laptop.post('/.gateway/account/sessions/end', { id: laptopSid, csrf })).status,
    400,
    'this session ends by sign-out, not here',
  );
  t.equal((await laptop.post('/.gateway/account/sessions/end', { id: 'no-such-id', csrf })).status, 400, 'an unknown id ends nothing');
  t.equal((await gw.store.listSessions('alice')).length, 3, 'nothing ended by the refused forms');

  const ended = await laptop.post('/.gateway/account/sessions/end', { id: phoneSid, csrf });
  t.equal(ended.status, 303);
  t.match(pathOf(ended.headers.location), '/.gateway/account');
  t.match(pathOf((await phoneCopy.get('/.gateway/second-factor')).headers.location), /sign-in/, 'a copy of the ended session is refused');
  t.equal((await laptop.get('/app')).status, 200, 'this browser goes on');
  t.equal((await tablet.get('/.gateway/second-factor')).status, 200, 'the third session goes on');

  const again = await laptop.get('/.gateway/account');
  const table = again.body.slice(again.body.indexOf('sessions-heading'), again.body.indexOf('recent-heading'));
  t.notMatch(table, /Chrome on Android/, 'the ended session is no longer listed');
  t.match(table, /Firefox on Windows/);
  t.equal((await laptop.post('/.gateway/account/sessions/end-others', { csrf: field(again.body, 'csrf') })).status, 303);
  t.match(pathOf((await tablet.get('/.gateway/second-factor')).headers.location), /sign-in/, 'end all others ends the tablet');
  t.equal((await laptop.get('/app')).status, 200, 'but not this browser');
  t.equal((await gw.store.listSessions('alice')).length, 1);
});

t.test('absolute-timeout: a copy taken before it is refused after it, and the record goes', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, { session: { secret: 'x'.repeat(40), idle_timeout: '40m', absolute_timeout: '1h' } });
  const browser = new Browser(gw.port);
  await signInWithEnrollment(browser, gw, 'alice');
  const copy = copyOf(gw.port, browser);
  t.equal((await copy.get('/app')).status, 200);
  // Both keep using the session, so only the absolute timeout can end it.
  for (let i = 0; i < 2; i++) {
    gw.clock.now += 25 * 60_000;
    t.equal((await copy.get('/app')).status, 200, 'in use before the absolute timeout');
  }
  gw.clock.now += 10 * 60_000;
  t.equal((await copy.get('/app')).status, 302, 'refused at the absolute timeout');
  t.equal((await browser.get('/app')).status, 302);
  t.same(await gw.store.listSessions('alice'), [], 'an expired session is not listed');
  t.equal(await gw.store.pruneSessionIndex(gw.clock.now), 1, 'and housekeeping removes its record');
});

t.test('max-per-user: a new sign-in beyond the limit ends the oldest sessions', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, { session: { secret: 'x'.repeat(40), max_per_user: 2 } });
  const first = new Browser(gw.port);
  await signInWithEnrollment(first, gw, 'alice');
  gw.clock.now += 1000;
  const second = new Browser(gw.port);
  await signInPassword(second, 'alice');
  gw.clock.now += 1000;
  const third = new Browser(gw.port);
  await signInPassword(third, 'alice');
  t.equal((await gw.store.listSessions('alice')).length, 2, 'two sessions at most');
  t.match(pathOf((await first.get('/app')).headers.location), /sign-in/, 'the oldest session ended');
  t.equal((await second.get('/.gateway/second-factor')).status, 200, 'the second goes on');
  t.equal((await third.get('/.gateway/second-factor')).status, 200, 'the new one goes on');
});

t.test('max-per-user-told: the user whose sign-in ended older sessions reads so on the account page, in English and German', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, { session: { secret: 'x'.repeat(40), max_per_user: 1 } });
  const first = new Browser(gw.port);
  const secret = await signInWithEnrollment(first, gw, 'alice');
  const notice = 'Signing in on this browser ended your oldest session (the limit is 1 at a time).';
  t.notMatch((await first.get('/.gateway/account')).body, 'Signing in on this browser ended', 'a sign-in that ended nothing says nothing');
  const codeStep = async (b: Browser) => {
    const page = await b.get('/.gateway/second-factor');
    gw.clock.now += 30_000;
    await b.post('/.gateway/second-factor', { code: totpCode(secret, gw.clock.now), csrf: field(page.body, 'csrf') });
  };

  const second = new Browser(gw.port);
  await signInPassword(second, 'alice');
  await codeStep(second);
  t.match(pathOf((await first.get('/app')).headers.location), /sign-in/, 'the older session ended');
  const page = await second.get('/.gateway/account');
  t.equal(page.status, 200);
  t.match(page.body, `<div class="alert alert--warn" role="status">${notice}</div>`, 'the user is told, in the sessions section');
  t.match((await second.get('/.gateway/account')).body, notice, 'and again on a later visit in this session');
  const logged = (await gw.store.query({ user: 'alice', limit: 20 })).filter((e) => e.kind === 'revocation');
  t.equal(logged.length, 1, 'the sign-in log says so once');
  t.match(logged[0]!.detail, /^signing in \(session \S{8}\) ended 1 older session: session\.max_per_user is 1$/);

  gw.clock.now += 1000;
  const german = new Browser(gw.port, { 'accept-language': 'de-DE' });
  await signInPassword(german, 'alice');
  await codeStep(german);
  const de = await german.get('/.gateway/account');
  t.match(
    de.body,
    'Die Anmeldung in diesem Browser hat Ihre älteste Sitzung beendet (höchstens 1 gleichzeitig).',
    'in German for a German browser',
  );
  t.match(pathOf((await second.get('/app')).headers.location), /sign-in/, 'the previous session ended in its turn');
  t.equal((await german.get('/app')).status, 200);
});

const NOTE = /<div class="alert alert--warn" role="status">([^<]*)<\/div>/;
const noteOf = (html: string) => NOTE.exec(html)?.[1];
const ONE_ENDED = 'Signing in on this browser ended your oldest session (the limit is 1 at a time).';

t.test('max-per-user-told-at-sign-in: the code page after the sign-in says it, once, in English and German', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, { session: { secret: 'x'.repeat(40), max_per_user: 1 } });
  const first = new Browser(gw.port);
  const secret = await signInWithEnrollment(first, gw, 'alice');

  const second = new Browser(gw.port);
  const signed = await signInPassword(second, 'alice', undefined, 'http://gateway.test/app');
  t.equal(signed.headers.location, 'http://gateway.test/app', 'the app asks for the code next: no interstitial');
  const app = await second.get('/app');
  t.match(pathOf(app.headers.location), /^\/\.gateway\/second-factor\?rd=/);
  const codePage = await second.get(pathOf(app.headers.location));
  t.equal(codePage.status, 200);
  t.equal(noteOf(codePage.body), ONE_ENDED, 'the code page says it');
  t.match(pathOf((await first.get('/app')).headers.location), /sign-in/, 'the older session ended');
  const again = await second.get(pathOf(app.headers.location));
  t.equal(noteOf(again.body), undefined, 'once: not on the next visit');
  gw.clock.now += 30_000;
  const done = await second.post('/.gateway/second-factor', {
    code: totpCode(secret, gw.clock.now),
    csrf: field(again.body, 'csrf'),
    rd: 'http://gateway.test/app',
  });
  t.equal(done.headers.location, 'http://gateway.test/app', 'the code leads into the app, without an interstitial');
  t.equal((await second.get('/app')).status, 200);
  t.equal(noteOf((await second.get('/.gateway/account')).body), ONE_ENDED, 'the account page still says it');

  const german = new Browser(gw.port, { 'accept-language': 'de-DE' });
  await signInPassword(german, 'alice');
  const deCode = await german.get('/.gateway/second-factor');
  t.equal(noteOf(deCode.body), 'Die Anmeldung in diesem Browser hat Ihre älteste Sitzung beendet (höchstens 1 gleichzeitig).');
  t.equal((await gw.store.listSessions('alice')).length, 1, 'one session of alice left');
  const plain = new Browser(gw.port);
  await signInPassword(plain, 'bob');
  t.equal(noteOf((await plain.get('/.gateway/enroll')).body), undefined, "a sign-in that ended nothing says nothing (bob's first)");
});

t.test('max-per-user-told-at-sign-in: the enrollment page after the sign-in says it', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, { session: { secret: 'x'.repeat(40), max_per_user: 1 } });
  await signInPassword(new Browser(gw.port), 'bob');
  const browser = new Browser(gw.port, { 'accept-language': 'de' });
  const signed = await signInPassword(browser, 'bob');
  t.match(pathOf(signed.headers.location), /^\/\.gateway\/enroll/, 'a user without a method goes on to enrollment');
  const page = await browser.get(pathOf(signed.headers.location));
  t.equal(page.status, 200);
  t.equal(noteOf(page.body), 'Die Anmeldung in diesem Browser hat Ihre älteste Sitzung beendet (höchstens 1 gleichzeitig).');
  t.equal(noteOf((await browser.get('/.gateway/enroll')).body), undefined, 'once');
});

t.test('max-per-user-told-at-sign-in: a sign-in that leads straight into the app shows a short page with a link on, once', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, { session: { secret: 'x'.repeat(40), max_per_user: 1 } });
  const first = new Browser(gw.port);
  await signInWithEnrollment(first, gw, 'alice');

  // 127.0.0.3 is a trusted network here: the password alone opens the app.
  const office = new Browser(gw.port, {}, '127.0.0.3');
  const signed = await signInPassword(office, 'alice', undefined, 'http://gateway.test/app?x=1');
  t.equal(signed.status, 303);
  t.equal(pathOf(signed.headers.location), `/.gateway/signed-in?rd=${encodeURIComponent('http://gateway.test/app?x=1')}`);
  const note = office.cookies.get('mfa_gateway_session_notice');
  t.ok(note, 'the note rides in its own cookie');
  t.match(
    signed.headers['set-cookie']?.find((c) => c.startsWith('mfa_gateway_session_notice=')),
    /; Path=\/\.gateway\/; HttpOnly; SameSite=Lax; Max-Age=600$/,
    "scoped to the portal's path: the app never receives it",
  );
  const page = await office.get(pathOf(signed.headers.location));
  t.equal(page.status, 200);
  t.equal(noteOf(page.body), ONE_ENDED);
  t.match(page.body, '<a class="button button--primary" href="http://gateway.test/app?x=1">Continue to gateway.test</a>');
  t.notMatch(page.body, /<script|http-equiv="refresh"/i, 'no script and no automatic redirect');
  t.equal(page.headers['cache-control'], 'no-store');
  t.notOk(office.cookies.has('mfa_gateway_session_notice'), 'the note is cleared');
  const reload = await office.get(pathOf(signed.headers.location));
  t.equal(reload.status, 302, 'shown once: a reload goes straight on');
  t.equal(reload.headers.location, 'http://gateway.test/app?x=1');
  t.equal((await office.get('/app?x=1')).status, 200, 'the link leads into the app');
  t.equal(upstream.requests.at(-1)?.headers.cookie, undefined, 'no gateway cookie reached the app');

  // The note is bound to its session: on a browser without that session it shows nothing.
  const stranger = new Browser(gw.port, {}, '127.0.0.3');
  await signInPassword(stranger, 'alice');
  stranger.cookies.set('mfa_gateway_session_notice', note!);
  const foreign = await stranger.get('/.gateway/signed-in?rd=http%3A%2F%2Fgateway.test%2F');
  t.equal(foreign.status, 302, "another session's note is not shown");
  first.cookies.set('mfa_gateway_session_notice', note!);
  t.equal((await first.get('/.gateway/signed-in?rd=http%3A%2F%2Fgateway.test%2F')).status, 302, 'nor without a session');
  t.equal(
    (await office.get('/.gateway/signed-in?rd=https%3A%2F%2Fevil.example%2F')).headers.location,
    'http://gateway.test/',
    'a return URL the gateway does not protect is not followed',
  );
});

t.test('two-gateways-on-postgres: a copy of a session ended on one gateway is refused by the other within a second', async (t) => {
  const schema = await freshSchema();
  t.teardown(() => schema.drop());
  const upstream = await startUpstream(t);
  const store = { postgres: { url: schema.url }, encryption_key: 'e'.repeat(64) };
  const session = { secret: 'x'.repeat(40) };
  const a = await startTestGateway(t, upstream, { store, session });
  const b = await startTestGateway(t, upstream, { store, session });
  b.clock.now = a.clock.now;
  const laptop = new Browser(a.port, { 'user-agent': FIREFOX });
  await signInWithEnrollment(laptop, a, 'alice');
  const phone = new Browser(a.port, { 'user-agent': CHROME_ANDROID });
  await signInPassword(phone, 'alice');
  // The same cookies, presented to the other gateway.
  const phoneOnB = copyOf(b.port, phone);
  const laptopOnB = copyOf(b.port, laptop);
  t.equal((await laptopOnB.get('/app')).status, 200, 'a session works on both gateways');
  t.equal((await phoneOnB.get('/.gateway/second-factor')).status, 200, 'the password-level session too');

  const account = await laptop.get('/.gateway/account');
  const phoneSid = (await a.store.listSessions('alice')).find((s) => s.createdUserAgent === CHROME_ANDROID)!.sid;
  t.equal((await laptop.post('/.gateway/account/sessions/end', { id: phoneSid, csrf: field(account.body, 'csrf') })).status, 303);
  const refusedWithin = async (copy: Browser, target: string): Promise<number> => {
    const start = performance.now();
    while (performance.now() - start < 1000) {
      const reply = await copy.get(target);
      if (reply.status === 302 && /sign-in/.test(pathOf(reply.headers.location))) return performance.now() - start;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return Number.POSITIVE_INFINITY;
  };
  const ended = await refusedWithin(phoneOnB, '/.gateway/second-factor');
  t.ok(ended < 1000, `the ended session is refused on the other gateway within a second (${Math.round(ended)} ms)`);
  t.equal((await laptopOnB.get('/app')).status, 200, 'the session that ended it goes on there');

  const page = await laptop.get('/.gateway/sign-out');
  t.equal((await laptop.post('/.gateway/sign-out', { csrf: field(page.body, 'csrf') })).status, 200);
  const signedOut = await refusedWithin(laptopOnB, '/app');
  t.ok(signedOut < 1000, `a copy taken before sign-out is refused on the other gateway within a second (${Math.round(signedOut)} ms)`);
});
