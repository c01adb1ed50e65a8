// The mailer: delivery over real SMTP, retries with a fake scheduler (no sleeping), giving up,
// the queue bound, and that `send` never waits for or throws from SMTP.
import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createMailer, smtpTransport, type Mail, type MailTransport, type Scheduler } from '../../src/notify/mailer.ts';
import { freePort, startSmtp } from './smtp.ts';

function captureLog() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

function fakeScheduler() {
  const timers: { fn: () => void; ms: number; handle: number }[] = [];
  let n = 0;
  const scheduler: Scheduler = {
    setTimeout(fn, ms) {
      timers.push({ fn, ms, handle: ++n });
      return n;
    },
    clearTimeout(handle) {
      const i = timers.findIndex((x) => x.handle === handle);
      if (i >= 0) timers.splice(i, 1);
    },
  };
  return { scheduler, timers, fire: () => timers.shift()!.fn() };
}

const mail = (subject = 'hello'): Mail => ({ kind: 'fraud_alert', to: ['ops@example.com'], subject, text: 'body', html: '<p>body</p>' });
const smtpConfig = (port: number) => ({ host: '127.0.0.1', port, security: 'none' as const, from: 'MFA Gateway <mfa@example.com>' });
const settle = () => new Promise((resolve) => setImmediate(resolve));

t.test('delivers over real SMTP with from, recipients, subject and both parts', async (t) => {
  const smtp = await startSmtp(t);
  const { log } = captureLog();
  const mailer = createMailer({ transport: smtpTransport(smtpConfig(smtp.port)), log });
  t.teardown(() => mailer.close());
  mailer.send({ ...mail('Subject line'), to: ['a@example.com', 'b@example.com'] });
  const got = await smtp.next();
  t.equal(got.from, 'mfa@example.com');
  t.same(got.to, ['a@example.com', 'b@example.com']);
  t.equal(got.subject, 'Subject line');
  t.equal(got.text, 'body');
  t.equal(got.html, '<p>body</p>');
  await mailer.idle();
});

t.test('a failed delivery is logged and retried after each delay, then succeeds', async (t) => {
  const { log, lines } = captureLog();
  const { scheduler, timers, fire } = fakeScheduler();
  let calls = 0;
  const sent: Mail[] = [];
  const transport: MailTransport = {
    async send(m) {
      calls++;
      if (calls < 3) throw new Error(`connection refused #${calls}`);
      sent.push(m);
    },
    close() {},
  };
  const mailer = createMailer({ transport, log, retryDelaysMs: [1000, 5000, 9000], scheduler });
  mailer.send(mail());
  await settle();
  t.equal(calls, 1);
  t.same(
    timers.map((x) => x.ms),
    [1000],
    'first retry waits the first delay',
  );
  t.match(lines.at(-1), {
    level: 40,
    msg: 'e-mail not sent; will retry',
    attempt: 1,
    retryInMs: 1000,
    err: { message: 'connection refused #1' },
  });
  fire();
  await settle();
  t.same(
    timers.map((x) => x.ms),
    [5000],
    'second retry waits the second delay',
  );
  fire();
  await mailer.idle();
  t.equal(calls, 3);
  t.equal(sent.length, 1);
  t.match(lines.at(-1), { level: 30, msg: 'e-mail sent', attempt: 3 });
});

t.test('gives up after the last delay with an error log', async (t) => {
  const { log, lines } = captureLog();
  const { scheduler, timers, fire } = fakeScheduler();
  let calls = 0;
  const mailer = createMailer({
    transport: {
      async send() {
        calls++;
        throw new Error('down');
      },
      close() {},
    },
    log,
    retryDelaysMs: [10, 20],
    scheduler,
  });
  mailer.send(mail());
  await settle();
  fire();
  await settle();
  fire();
  await mailer.idle();
  t.equal(calls, 3, 'one attempt plus one per delay');
  t.equal(timers.length, 0);
  t.match(lines.at(-1), { level: 50, msg: 'e-mail not sent; giving up', attempt: 3 });
});

t.test('send returns at once while SMTP is down, and the mail arrives once the server is up', async (t) => {
  const port = await freePort();
  const { log, lines } = captureLog();
  const mailer = createMailer({ transport: smtpTransport(smtpConfig(port)), log, retryDelaysMs: [50, 50, 50, 50, 50, 50, 50, 50] });
  t.teardown(() => mailer.close());
  const started = performance.now();
  mailer.send(mail('after the outage'));
  t.ok(performance.now() - started < 20, 'send does not wait for SMTP');
  while (!lines.some((l) => l.msg === 'e-mail not sent; will retry')) await new Promise((r) => setTimeout(r, 5));
  const smtp = await startSmtp(t, port);
  const got = await smtp.next();
  t.equal(got.subject, 'after the outage');
  await mailer.idle();
});

t.test('the queue is bounded, and without SMTP mails are dropped quietly', async (t) => {
  const { log, lines } = captureLog();
  const { scheduler } = fakeScheduler();
  const never: MailTransport = { send: () => new Promise(() => {}), close() {} };
  const mailer = createMailer({ transport: never, log, maxQueued: 2, scheduler });
  mailer.send(mail('1'));
  mailer.send(mail('2'));
  mailer.send(mail('3'));
  t.match(lines.at(-1), { level: 50, msg: 'e-mail dropped: the mail queue is full' });

  const off = captureLog();
  const none = createMailer({ transport: null, log: off.log });
  none.send(mail());
  await none.idle();
  t.match(off.lines, [{ level: 20, msg: 'e-mail not sent: notifications.smtp is not configured' }]);
});

t.test('close drops what waits for a retry', async (t) => {
  const { log, lines } = captureLog();
  const { scheduler, timers } = fakeScheduler();
  const mailer = createMailer({
    transport: { send: () => Promise.reject(new Error('down')), close() {} },
    log,
    retryDelaysMs: [1000],
    scheduler,
  });
  mailer.send(mail());
  await settle();
  t.equal(timers.length, 1);
  await mailer.close();
  t.equal(timers.length, 0, 'retry timer cleared');
  t.match(lines.at(-1), { msg: 'e-mails dropped at shutdown', dropped: 1 });
  await mailer.idle();
});
