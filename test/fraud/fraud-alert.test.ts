// Fraud alerts end to end: a real gateway, a real SMTP server on loopback, real SQLite and a
// frozen clock. The sign-in notice carries a signed report link that works once and only
// once; reporting blocks and revokes, tells the admins and lands in the sign-in log.
import t from 'tap';
import type { Test } from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Browser, field, send, signInPassword, signInWithEnrollment, startTestGateway, startUpstream, pathOf } from '../helpers/gateway.ts';
import { freePort, startSmtp, type ReceivedMail } from '../notify/smtp.ts';

const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const LINK = /http:\/\/gateway\.test\/\.gateway\/fraud-report\?t=([A-Za-z0-9_.-]+)/;

function smtpSection(port: number) {
  return { smtp: { host: '127.0.0.1', port, security: 'none', from: 'MFA Gateway <mfa@example.com>' } };
}

async function setup(t: Test, fraudAlert: Record<string, unknown> = {}) {
  const smtp = await startSmtp(t);
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, {
    notifications: smtpSection(smtp.port),
    mfa: { fraud_alert: { notify: ['secops@example.com', 'oncall@example.com'], ...fraudAlert } },
  });
  return { smtp, upstream, gw };
}

function reportPath(mail: ReceivedMail): string {
  const m = LINK.exec(mail.text);
  if (!m) throw new Error(`no report link in:\n${mail.text}`);
  return pathOf(m[0]);
}

t.test('the sign-in notice reaches the user; the report link works once and only once', async (t) => {
  const { smtp, gw } = await setup(t);
  const bob = new Browser(gw.port, { 'user-agent': FIREFOX });
  await signInWithEnrollment(bob, gw, 'bob');
  t.equal((await bob.get('/app')).status, 200, 'signed in with both factors');

  const notice = await smtp.next();
  t.same(notice.to, ['bob@example.com']);
  t.equal(notice.subject, 'New sign-in to your account bob');
  t.match(notice.text, /Hello Bob Builder,/);
  t.match(notice.text, /IP address: +127\.0\.0\.1/);
  t.match(notice.text, /Browser: +Firefox on Windows/);
  t.match(notice.text, /November 23, 2026/);
  t.match(notice.html, LINK, 'the HTML part carries the link too');
  const link = reportPath(notice);

  // Opening the link (in the mail program's browser, without a session) only shows it.
  const reporter = new Browser(gw.port);
  for (let i = 0; i < 2; i++) {
    const page = await reporter.get(link);
    t.equal(page.status, 200);
    t.match(page.body, /Report a sign-in/);
    t.match(page.body, /127\.0\.0\.1/);
    t.match(page.body, /Firefox on Windows/);
    t.match(page.body, /<form method="post" action="\/\.gateway\/fraud-report">/);
  }
  t.equal((await bob.get('/app')).status, 200, 'GET did not act');
  t.equal((await gw.store.query({ user: 'bob', limit: 50 })).filter((e) => e.kind === 'fraud_report').length, 0);

  const page = await reporter.get(link);
  const token = field(page.body, 't');
  const csrf = field(page.body, 'csrf');
  const forged = await reporter.post('/.gateway/fraud-report', { t: token, csrf: 'x'.repeat(43) });
  t.equal(forged.status, 400, 'a POST without a valid CSRF token shows the confirmation again');
  t.match(forged.body, /Report a sign-in/);
  t.equal((await bob.get('/app')).status, 200, 'and changed nothing');

  gw.clock.now += 60_000;
  const done = await reporter.post('/.gateway/fraud-report', { t: token, csrf });
  t.equal(done.status, 200);
  t.match(done.body, /Sign-in reported/);
  // What happened and what to do now (issue 17): the truth of regulation/fraud, as the config has it.
  t.match(done.body, 'Every session of your account has ended, so whoever signed in with your password is signed out.');
  t.match(done.body, /Your account is blocked until Feb 21, 2027, \d\d?:\d\d [AP]M: nobody can sign in with it/, 'for mfa.block.days');
  t.match(done.body, 'Your IT team has been sent an e-mail about the report.');
  t.match(done.body, 'ask your IT team to unblock your account');
  t.notMatch(done.body, '>Go to sign-in</a>', 'no sign-in while blocked');

  const alert = await smtp.next();
  t.same(alert.to, ['secops@example.com', 'oncall@example.com']);
  t.equal(alert.subject, 'Fraud alert: bob reported a sign-in they did not start');
  t.match(alert.text, /IP address: +127\.0\.0\.1/);
  t.match(alert.text, /The account is blocked until February 21, 2027/);

  const app = await bob.get('/app');
  t.equal(app.status, 302, 'the live session stopped working at once');
  t.match(pathOf(app.headers.location), /^\/\.gateway\/sign-in/);
  const again = await signInPassword(new Browser(gw.port), 'bob');
  t.not(again.status, 303, 'the blocked user cannot sign in again');

  const log = await gw.store.query({ user: 'bob', limit: 50 });
  const reported = log.filter((e) => e.kind === 'fraud_report');
  t.equal(reported.length, 1);
  t.match(reported[0], { outcome: 'denied', detail: 'fraud reported', clientIp: '127.0.0.1', userAgent: FIREFOX });

  const second = await reporter.post('/.gateway/fraud-report', { t: token, csrf });
  t.equal(second.status, 200);
  t.match(second.body, /Already reported/);
  t.match(second.body, '<a class="button button--primary" href="/.gateway/sign-in">Go to sign-in</a>', 'and links on');
  t.match((await reporter.get(link)).body, /Already reported/, 'the link now says so too');
  t.equal((await gw.store.query({ user: 'bob', limit: 50 })).filter((e) => e.kind === 'fraud_report').length, 1, 'nothing recorded twice');
  await gw.mailer.idle();
  t.equal(smtp.mails.length, 2, 'no second fraud alert');
});

t.test('a tampered or expired link is refused and changes nothing', async (t) => {
  const { smtp, gw } = await setup(t);
  const bob = new Browser(gw.port);
  await signInPassword(bob, 'bob');
  const link = reportPath(await smtp.next());
  const token = new URL(link, 'http://x').searchParams.get('t')!;
  const [id, exp, sig] = token.split('.') as [string, string, string];
  const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  const reporter = new Browser(gw.port);
  const csrf = field((await reporter.get(link)).body, 'csrf');

  for (const bad of [
    `${flip(id)}.${exp}.${sig}`,
    `${id}.${(parseInt(exp, 36) + 86_400_000).toString(36)}.${sig}`,
    `${id}.${exp}.${flip(sig)}`,
    'garbage',
    '',
  ]) {
    const shown = await reporter.get(`/.gateway/fraud-report?t=${encodeURIComponent(bad)}`);
    t.equal(shown.status, 400, `GET ${bad.slice(0, 12)}… refused`);
    t.match(shown.body, /Link not valid/);
    t.match(shown.body, 'href="/.gateway/sign-in">Go to sign-in</a>');
    const posted = await reporter.post('/.gateway/fraud-report', { t: bad, csrf });
    t.equal(posted.status, 400, `POST ${bad.slice(0, 12)}… refused`);
  }

  gw.clock.now += 7 * 86_400_000;
  t.equal((await reporter.get(link)).status, 400, 'expired after 7 days');
  t.match((await reporter.post('/.gateway/fraud-report', { t: token, csrf })).body, /Link not valid/);
  t.equal((await gw.store.getFraudReport(id))?.consumedAt, null, 'never consumed');
  t.equal((await gw.store.query({ user: 'bob', limit: 50 })).filter((e) => e.kind === 'fraud_report').length, 0);
  await gw.mailer.idle();
  t.equal(smtp.mails.length, 1, 'no fraud alert');
});

/** Signs out by forgetting every cookie but the browser id, as a browser that keeps only that one. */
function keepOnlyBrowserId(browser: Browser): void {
  for (const name of [...browser.cookies.keys()]) if (!name.endsWith('_browser')) browser.cookies.delete(name);
}

t.test('new_browser: one notice per browser; always: every sign-in; never: none', async (t) => {
  const { smtp, gw } = await setup(t);
  const first = new Browser(gw.port);
  await signInPassword(first, 'bob');
  keepOnlyBrowserId(first);
  await signInPassword(first, 'bob');
  await gw.mailer.idle();
  t.equal(smtp.mails.length, 1, 'the same browser is known the second time');
  const cookie = [...first.cookies.keys()].find((k) => k.endsWith('_browser'));
  t.ok(cookie, 'a browser id cookie is set');
  await signInPassword(new Browser(gw.port), 'bob');
  await gw.mailer.idle();
  t.equal(smtp.mails.length, 2, 'a new browser gets a notice');
  keepOnlyBrowserId(first);
  await signInPassword(first, 'alice');
  await gw.mailer.idle();
  t.equal(smtp.mails.length, 3, 'a browser known for bob is new for alice');
  t.same(smtp.mails[2]?.to, ['alice@example.com']);

  const always = await setup(t, { sign_in_notice: 'always' });
  const b = new Browser(always.gw.port);
  await signInPassword(b, 'bob');
  keepOnlyBrowserId(b);
  await signInPassword(b, 'bob');
  await always.gw.mailer.idle();
  t.equal(always.smtp.mails.length, 2);

  const never = await setup(t, { sign_in_notice: 'never' });
  await signInPassword(new Browser(never.gw.port), 'bob');
  await never.gw.mailer.idle();
  t.equal(never.smtp.mails.length, 0);
  t.equal((await send(never.gw.port, '/.gateway/fraud-report?t=x')).status, 400, 'the report page still answers (fraud_alert.enabled)');

  const off = await setup(t, { enabled: false });
  await signInPassword(new Browser(off.gw.port), 'bob');
  await off.gw.mailer.idle();
  t.equal(off.smtp.mails.length, 0, 'fraud alerts off: no notices');
  t.equal((await send(off.gw.port, '/.gateway/fraud-report?t=x')).status, 404);
});

t.test('German notice for a German browser; without auto_block the report revokes but does not block', async (t) => {
  const { smtp, gw } = await setup(t, { auto_block: false });
  const bob = new Browser(gw.port, { 'accept-language': 'de-DE,de;q=0.9' });
  await signInWithEnrollment(bob, gw, 'bob');
  const notice = await smtp.next();
  t.equal(notice.subject, 'Neue Anmeldung bei Ihrem Konto bob');
  t.match(notice.text, /Guten Tag Bob Builder,/);
  t.match(notice.text, /Diese Anmeldung melden/);

  const reporter = new Browser(gw.port, { 'accept-language': 'de' });
  const page = await reporter.get(reportPath(notice));
  t.match(page.body, /Anmeldung melden/);
  t.match(page.body, 'beendet alle Sitzungen Ihres Kontos und informiert Ihre IT-Abteilung', 'notify set: IT is told');
  const done = await reporter.post('/.gateway/fraud-report', { t: field(page.body, 't'), csrf: field(page.body, 'csrf') });
  t.match(done.body, /Anmeldung gemeldet/);
  t.match(done.body, 'Alle Sitzungen Ihres Kontos wurden beendet');
  t.notMatch(done.body, 'gesperrt', 'without auto_block nothing is blocked');
  t.match(done.body, 'Ihre IT-Abteilung hat eine E-Mail zu der Meldung erhalten.');
  t.match(done.body, '<a class="button button--primary" href="/.gateway/sign-in">Zur Anmeldung</a>');
  t.equal((await bob.get('/app')).status, 302, 'sessions revoked');
  const alert = await smtp.next();
  t.match(alert.text, /The account was not blocked/);
  t.equal((await signInPassword(new Browser(gw.port), 'bob')).status, 303, 'not blocked: the password still works');
});

t.test('without notify addresses the report page says only the sign-in log has it', async (t) => {
  const { smtp, gw } = await setup(t, { notify: [] });
  await signInPassword(new Browser(gw.port), 'bob');
  const reporter = new Browser(gw.port);
  const page = await reporter.get(reportPath(await smtp.next()));
  t.match(
    page.body,
    'The report is recorded in the sign-in log; ask your IT team',
    'before reporting, the page does not promise an e-mail to IT',
  );
  t.notMatch(page.body, /tells your IT team|Your IT team is told/);
  const done = await reporter.post('/.gateway/fraud-report', { t: field(page.body, 't'), csrf: field(page.body, 'csrf') });
  t.equal(done.status, 200);
  t.match(done.body, 'The report is recorded in the sign-in log, which your IT team can see.');
  t.notMatch(done.body, 'e-mail');
});

t.test('with the mail server down the sign-in is not held up; the notice follows once it is up', async (t) => {
  const port = await freePort();
  const upstream = await startUpstream(t);
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        cb();
      },
    }),
  );
  const gw = await startTestGateway(t, upstream, { notifications: smtpSection(port) }, { log, mailRetryDelaysMs: Array(40).fill(50) });
  const started = performance.now();
  const signed = await signInPassword(new Browser(gw.port), 'bob');
  t.equal(signed.status, 303, 'sign-in succeeded');
  t.ok(performance.now() - started < 2000, 'and did not wait for SMTP');
  while (!lines.some((l) => l.msg === 'e-mail not sent; will retry')) await new Promise((r) => setTimeout(r, 10));
  t.match(
    lines.find((l) => l.msg === 'e-mail not sent; will retry'),
    { kind: 'sign_in_notice', to: ['bob@example.com'], attempt: 1 },
  );
  const smtp = await startSmtp(t, port);
  const notice = await smtp.next();
  t.equal(notice.subject, 'New sign-in to your account bob');
});
