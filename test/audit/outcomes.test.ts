// The sign-in log shows every outcome an ops team looks for, each produced by a real flow
// through a real gateway and read back with the `log` command as an admin would.
import t from 'tap';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import {
  Browser,
  field,
  pathOf,
  send,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  totpCode,
} from '../helpers/gateway.ts';
import { startSmtp } from '../notify/smtp.ts';

interface Entry {
  user: string;
  outcome: string;
  detail: string;
}

async function logCommand(configFile: string, args: string[]): Promise<Entry[]> {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  const code = await main(['log', '--config', configFile, '--json', '--limit', '500', ...args], {
    stdin: process.stdin,
    stdout: sink,
    stderr: sink,
    env: {},
  });
  if (code !== 0) throw new Error(`log exited ${code}: ${out}`);
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Entry);
}

t.test('each outcome of the sign-in log comes from a real flow', async (t) => {
  const smtp = await startSmtp(t);
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, {
    notifications: { smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', from: 'MFA Gateway <mfa@example.com>' } },
    mfa: {
      methods: ['totp'],
      first_enrollment: 'anywhere',
      trusted_ips: { ranges: ['10.0.0.0/8'] },
      lockout: { denials: 2, counter_reset_minutes: 10, auto_unblock_minutes: 15 },
      fraud_alert: { notify: ['secops@example.com'], sign_in_notice: 'always' },
    },
  });
  const configFile = join(gw.dir, 'gateway.yaml');

  // Trusted network: through the trusted proxy from 10.1.2.3. The skip is for users who have
  // a method; a user without one is led into enrollment first, so alice enrolls elsewhere.
  const aliceElsewhere = new Browser(gw.port);
  await signInWithEnrollment(aliceElsewhere, gw, 'alice');
  const office = new Browser(gw.port, { 'x-forwarded-for': '10.1.2.3' });
  const viaProxy = (b: Browser, target: string, form?: Record<string, string>) =>
    send(gw.port, target, {
      localAddress: '127.0.0.2',
      method: form ? 'POST' : 'GET',
      headers: { ...b.extraHeaders, cookie: b.cookieHeader(), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
  const page = await viaProxy(office, '/.gateway/sign-in');
  for (const c of page.headers['set-cookie'] ?? []) office.cookies.set(c.split('=')[0]!, c.split('=')[1]!.split(';')[0]!);
  await viaProxy(office, '/.gateway/sign-in', { username: 'alice', password: 'alice-test-password', csrf: field(page.body, 'csrf') });

  // Remembered browser: enroll, then a code with "don't ask again", then password only.
  const bob = new Browser(gw.port);
  const secret = await signInWithEnrollment(bob, gw, 'bob');
  // Closing the browser drops the session cookie (it has no Max-Age); remembered browsers stay.
  const closeBrowser = (b: Browser) => b.cookies.delete('mfa_gateway_session');
  closeBrowser(bob);
  gw.clock.now += 60_000;
  await signInPassword(bob, 'bob');
  const codePage = await bob.get('/.gateway/second-factor');
  await bob.post('/.gateway/second-factor', { code: totpCode(secret, gw.clock.now), remember: '1', csrf: field(codePage.body, 'csrf') });
  closeBrowser(bob);
  gw.clock.now += 60_000;
  await signInPassword(bob, 'bob');

  // Wrong code, then locked out (denials: 2).
  gw.clock.now += 60_000;
  const second = new Browser(gw.port);
  await signInPassword(second, 'alice');
  const codeForm = await second.get('/.gateway/second-factor');
  for (let i = 0; i < 3; i++) await second.post('/.gateway/second-factor', { code: '000000', csrf: field(codeForm.body, 'csrf') });

  // Blocked: the right password of a blocked user.
  await main(['block', 'bob', '--reason', 'left the company', '--config', configFile], {
    stdin: process.stdin,
    stdout: new Writable({ write: (_c, _e, d) => d() }),
    stderr: process.stderr,
    env: {},
  });
  await gw.revocations.refresh();
  const blocked = new Browser(gw.port);
  await signInPassword(blocked, 'bob');

  // Fraud reported: alice's sign-in notice, reported through its link.
  let notice = await smtp.next();
  while (!notice.to.includes('alice@example.com')) notice = await smtp.next();
  const link = /http:\/\/gateway\.test(\/\.gateway\/fraud-report\?t=[A-Za-z0-9_.-]+)/.exec(notice.text)![1]!;
  const reporter = new Browser(gw.port);
  const confirm = await reporter.get(pathOf(link));
  await reporter.post('/.gateway/fraud-report', { t: field(confirm.body, 't'), csrf: field(confirm.body, 'csrf') });

  const entries = await logCommand(configFile, []);
  const has = (user: string, outcome: string, detail: RegExp) =>
    t.ok(
      entries.some((e) => e.user.toLowerCase() === user && e.outcome === outcome && detail.test(e.detail)),
      `${user}: ${outcome}, ${detail}`,
    );
  has('alice', 'success', /second factor skipped: trusted network/);
  has('bob', 'success', /second factor skipped: remembered browser/);
  has('alice', 'denied', /^wrong code/);
  has('alice', 'denied', /locked out until/);
  has('bob', 'denied', /blocked until/);
  has('alice', 'denied', /fraud reported/);

  const onlyBob = await logCommand(configFile, ['--user', 'BOB']);
  t.ok(onlyBob.length > 0 && onlyBob.every((e) => e.user.toLowerCase() === 'bob'), '--user filters case-insensitively');
});
