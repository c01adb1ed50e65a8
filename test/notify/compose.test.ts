// The mails themselves: both parts from the same lines, every value escaped in HTML, no line
// breaks in the subject, English and German, and notices to admins only when there are admins.
import t from 'tap';
import { blockMail, createDateFormatter, fraudAlertMail, lockoutMail, signInNoticeMail } from '../../src/notify/compose.ts';
import { createNotifier } from '../../src/notify/notifier.ts';
import { mailLanguage } from '../../src/notify/texts.ts';
import type { Mail, Mailer } from '../../src/notify/mailer.ts';
import { pino } from 'pino';

const ctx = { productName: 'MFA Gateway', formatDate: createDateFormatter('UTC') };
const AT = Date.UTC(2026, 10, 23, 9, 0, 0);

t.test('sign-in notice: details, link, escaping, language', async (t) => {
  const base = {
    to: 'bob@example.com',
    user: 'bob',
    at: AT,
    clientIp: '198.51.100.7',
    browser: 'Firefox on Windows',
    reportUrl: 'https://gw.example.com/.gateway/fraud-report?t=a.b.c&x=<y>',
    reportExpiresAt: AT + 7 * 86_400_000,
    autoBlock: true,
  };
  const en = signInNoticeMail(ctx, { ...base, name: 'Bob <script>alert(1)</script>' });
  t.equal(en.kind, 'sign_in_notice');
  t.same(en.to, ['bob@example.com']);
  t.equal(en.subject, 'New sign-in to your account bob');
  t.match(en.text, 'Hello Bob <script>alert(1)</script>,', 'plain text keeps the value as is');
  t.match(en.text, /Time: +November 23, 2026 at 9:00:00 AM UTC/);
  t.match(en.text, 'Your account is then blocked');
  t.match(en.text, 'https://gw.example.com/.gateway/fraud-report?t=a.b.c&x=<y>');
  t.notMatch(en.html, /<script>/, 'HTML escapes the name');
  t.match(en.html, 'Hello Bob &lt;script&gt;alert(1)&lt;/script&gt;,');
  t.match(en.html, 'href="https://gw.example.com/.gateway/fraud-report?t=a.b.c&amp;x=&lt;y&gt;"');

  const de = signInNoticeMail(ctx, { ...base, lang: 'de-CH', autoBlock: false });
  t.equal(de.subject, 'Neue Anmeldung bei Ihrem Konto bob');
  t.match(de.text, 'Guten Tag bob,');
  t.match(de.text, /Zeit: +23\. November 2026 um 09:00:00 UTC/);
  t.match(de.html, '<html lang="de">');
  t.equal(mailLanguage('fr'), 'en');
  t.equal(mailLanguage(undefined), 'en');
});

t.test('admin mails: fraud alert, lockout, block; subjects cannot carry header breaks', async (t) => {
  const to = ['secops@example.com'];
  const fraud = fraudAlertMail(ctx, {
    to,
    user: 'bob\r\nBcc: x@evil',
    at: AT,
    clientIp: '198.51.100.7',
    browser: 'curl',
    reportedAt: AT + 1000,
    reportedFrom: '203.0.113.5',
    blockedUntil: null,
  });
  t.notMatch(fraud.subject, /[\r\n]/);
  t.match(fraud.text, 'Reported from: 203.0.113.5');
  t.match(fraud.text, 'was not blocked');
  const lock = lockoutMail(ctx, { to, user: 'bob', step: 'second_factor', until: AT + 900_000, clientIp: '198.51.100.7' });
  t.equal(lock.subject, 'Account locked: bob');
  t.match(lock.text, /Failed step: +second factor/);
  t.match(lock.text, /Until: +November 23, 2026 at 9:15:00 AM UTC/);
  const block = blockMail(ctx, { to, user: 'bob', reason: 'laptop <stolen>', until: AT, actor: 'root' });
  t.match(block.html, 'laptop &lt;stolen&gt;');
  t.match(block.text, /By: +root/);
});

t.test('the notifier queues, skips admin mails without admin addresses, and never throws', async (t) => {
  const sent: Mail[] = [];
  const mailer: Mailer = { send: (m) => void sent.push(m), idle: async () => {}, close: async () => {} };
  let admins: string[] = [];
  const notifier = createNotifier({ ...ctx, mailer, admins: () => admins, log: pino({ level: 'silent' }) });
  notifier.lockout({ user: 'bob', step: 'password', until: AT });
  t.equal(sent.length, 0, 'no admin addresses: nothing to send');
  admins = ['a@example.com'];
  notifier.block({ user: 'bob', reason: 'r', until: AT, actor: 'root' });
  t.same(
    sent.map((m) => [m.kind, m.to]),
    [['block', ['a@example.com']]],
  );
  t.doesNotThrow(() =>
    notifier.signInNotice({
      to: 'b@example.com',
      user: 'bob',
      at: Number.NaN,
      clientIp: '',
      browser: '',
      reportUrl: '',
      reportExpiresAt: 0,
      autoBlock: true,
    }),
  );
});
