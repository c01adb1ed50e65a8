// Issue 10, items 1 and 2, in real Chromium through a real gateway in front of the sample app
// (which shows the identity it received): (a) a brand-new user on a trusted network sets up a
// first method under the DEFAULT `mfa.first_enrollment: trusted_networks` and reaches the app;
// (b) a remote user is refused first enrollment, enters a temporary access pass issued by the
// `users access-pass` command, enrolls and reaches the app, and the pass no longer works;
// (c) a user creates recovery codes on the account page, signs in once with one, is led to set
// up a new method, and the same code is refused afterwards. Screenshots of every step land in
// test-artifacts/browser/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import t from 'tap';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { main } from '../../src/cli/main.ts';
import { PASSWORDS, enrollmentSecret, startTestGateway, totpCode, type TestGateway } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium, startSampleUpstream } from '../helpers/browser.ts';

const ARTIFACTS = 'test-artifacts/browser';
const NAV_TIMEOUT = 20_000;

const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
const secretOn = async (page: Page) => enrollmentSecret(`<code class="secret">${await page.locator('code.secret').innerHTML()}</code>`);
const remoteUser = async (page: Page) =>
  (
    await page
      .locator('tr')
      .filter({ has: page.locator('th code', { hasText: /^remote-user$/ }) })
      .locator('td')
      .innerText()
  ).trim();

async function newContext(browser: Browser, base: string, locale = 'en-US'): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: base, locale, viewport: { width: 1024, height: 800 } });
  context.setDefaultNavigationTimeout(NAV_TIMEOUT);
  context.setDefaultTimeout(10_000);
  return context;
}

/** Password step for `user` from the app's URL; waits until the gateway's next page is loaded. */
async function signIn(page: Page, base: string, user: string, next: RegExp): Promise<void> {
  await page.goto(`${base}/reports`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(PASSWORDS[user]!);
  await Promise.all([page.waitForURL(next), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** `mfa-gateway users access-pass ...` in-process, as an admin would run it; returns its output. */
async function accessPassCommand(gw: TestGateway, ...args: string[]): Promise<string> {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write: (c: Buffer, _e, cb) => {
        add(c.toString('utf8'));
        cb();
      },
    });
  const code = await main(['users', 'access-pass', ...args, '--config', join(gw.dir, 'gateway.yaml')], {
    stdin: new PassThrough(),
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    env: {},
  });
  if (code !== 0) throw new Error(`users access-pass exited ${code}: ${err}`);
  return out;
}

const onApp = (base: string) => new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/reports$`);

t.test('first enrollment, access pass and recovery codes in a real browser', { skip: skipWithoutChromium, timeout: 180_000 }, async (t) => {
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  mkdirSync(ARTIFACTS, { recursive: true });

  await t.test('(a) a brand-new user on a trusted network sets up a first method under the default', async (t) => {
    const gw = await startTestGateway(t, await startSampleUpstream(t), { mfa: { first_enrollment: undefined } });
    // Chromium connects from 127.0.0.1: here that is the office network.
    let firstEnrollment: unknown = 'set';
    const base = await publicOnLocalhost(gw, (c) => {
      c.mfa.trusted_ips = { ranges: ['127.0.0.0/8'] };
      firstEnrollment = c.mfa.first_enrollment;
    });
    t.equal(firstEnrollment, undefined, 'mfa.first_enrollment is not set: the default, trusted_networks');
    const context = await newContext(browser, base);
    t.teardown(() => context.close());
    const page = await context.newPage();
    await signIn(page, base, 'bob', /\/\.gateway\/enroll\?rd=/);
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    await shot(page, 'first-a1-enroll-trusted');
    const secret = await secretOn(page);
    await page.getByLabel('Code from the app').fill(totpCode(secret, gw.clock.now));
    await Promise.all([page.waitForURL(onApp(base)), page.getByRole('button', { name: 'Finish setup' }).click()]);
    t.equal(await remoteUser(page), 'bob', 'bob reached the app with his new method');
    await shot(page, 'first-a2-app');
    t.equal(await gw.store.countMethods('bob'), 1);
  });

  await t.test('(b) a remote user: refused, enters an access pass from the command, enrolls, the pass is spent', async (t) => {
    const gw = await startTestGateway(t, await startSampleUpstream(t), { mfa: { first_enrollment: undefined } });
    // The command stamps the pass with the real clock.
    gw.clock.now = Date.now() - 60_000;
    const base = await publicOnLocalhost(gw);
    const context = await newContext(browser, base);
    t.teardown(() => context.close());
    const page = await context.newPage();
    await signIn(page, base, 'bob', /\/\.gateway\/enroll\?rd=/);
    await page.getByRole('heading', { name: 'Setup needs the office network' }).waitFor();
    t.equal(await page.locator('code.secret').count(), 0, 'no secret shown outside');
    await shot(page, 'first-b1-enroll-refused');

    // A wrong pass first: the field says so.
    await page.getByLabel('Temporary access pass').fill('abcd-efgh-jkmn-pqrs');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Continue with the pass' }).click()]);
    await page
      .getByRole('alert')
      .filter({ hasText: /didn.t work/ })
      .waitFor();
    t.equal(await page.getByLabel('Temporary access pass').getAttribute('aria-invalid'), 'true');
    await shot(page, 'first-b2-wrong-pass');

    const printed = await accessPassCommand(gw, 'bob', '--valid', '8h', '--uses', '1');
    const pass = /^ {2}(\S+)$/m.exec(printed)![1]!;
    await page.getByLabel('Temporary access pass').fill(pass);
    await Promise.all([page.waitForURL(/\/\.gateway\/enroll/), page.getByRole('button', { name: 'Continue with the pass' }).click()]);
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    await shot(page, 'first-b3-enroll-with-pass');
    const secret = await secretOn(page);
    await page.getByLabel('Code from the app').fill(totpCode(secret, gw.clock.now));
    await Promise.all([page.waitForURL(onApp(base)), page.getByRole('button', { name: 'Finish setup' }).click()]);
    t.equal(await remoteUser(page), 'bob', 'bob reached the app');
    await shot(page, 'first-b4-app');
    t.match(await gw.store.accessPassOf('bob'), { usesLeft: 0 }, 'the one use is spent');

    // The pass no longer works: a new browser, the password, then the pass as the code.
    const later = await newContext(browser, base);
    t.teardown(() => later.close());
    const p = await later.newPage();
    gw.clock.now += 30_000;
    await signIn(p, base, 'bob', /\/\.gateway\/second-factor\?rd=/);
    await p.getByLabel('Verification code').fill(pass);
    await Promise.all([p.waitForLoadState('load'), p.getByRole('button', { name: 'Verify' }).click()]);
    await p.getByRole('alert').waitFor();
    t.match(p.url(), /\/\.gateway\/second-factor/, 'still on the code page');
    await shot(p, 'first-b5-pass-refused');
    await p.goto(`${base}/.gateway/enroll`);
    t.notOk(
      /\/\.gateway\/enroll/.test(new URL(p.url()).pathname) && (await p.getByLabel('Temporary access pass').count()) > 0,
      'no pass form for a user with a method',
    );
    await p.goto(`${base}/reports`);
    t.match(p.url(), /\/\.gateway\/(sign-in|second-factor)/, 'the pass opened nothing');
  });

  await t.test('(c) recovery codes: created on the account page, one signs in once, then a new method', async (t) => {
    const gw = await startTestGateway(t, await startSampleUpstream(t));
    const base = await publicOnLocalhost(gw);
    const context = await newContext(browser, base);
    t.teardown(() => context.close());
    const page = await context.newPage();
    await signIn(page, base, 'bob', /\/\.gateway\/enroll\?rd=/);
    const phone = await secretOn(page);
    await page.getByLabel('Code from the app').fill(totpCode(phone, gw.clock.now));
    await Promise.all([page.waitForURL(onApp(base)), page.getByRole('button', { name: 'Finish setup' }).click()]);

    await page.goto(`${base}/.gateway/account`);
    await shot(page, 'recovery-c1-account');
    await Promise.all([page.waitForURL(/recovery-codes/), page.getByRole('link', { name: 'Recovery codes' }).click()]);
    await shot(page, 'recovery-c2-page');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Create recovery codes' }).click()]);
    const codes = (await page.locator('ol.codes li code').allInnerTexts()).map((c) => c.trim());
    t.equal(codes.length, 10, 'ten codes shown');
    t.equal(new Set(codes).size, 10, 'all different');
    await shot(page, 'recovery-c3-codes');

    // The phone is lost: a new browser signs in with the password and the first code.
    const lost = await newContext(browser, base);
    t.teardown(() => lost.close());
    const p = await lost.newPage();
    gw.clock.now += 30_000;
    await signIn(p, base, 'bob', /\/\.gateway\/second-factor\?rd=/);
    await Promise.all([p.waitForURL(/use=other/), p.getByRole('link', { name: 'Use another method' }).click()]);
    await p.getByLabel('Recovery code').fill(codes[0]!);
    await shot(p, 'recovery-c4-code-page');
    await Promise.all([
      p.waitForURL(/\/\.gateway\/account\/methods\/add\?after=recovery/),
      p.getByRole('button', { name: 'Sign in with recovery code' }).click(),
    ]);
    await p.getByText('You signed in with a recovery code, which works only once.').waitFor();
    await shot(p, 'recovery-c5-set-up-new-method');
    const newPhone = await secretOn(p);
    t.not(newPhone, phone);
    await p.getByLabel('Name').fill('New phone');
    await p.getByLabel('Code from the app').fill(totpCode(newPhone, gw.clock.now));
    await Promise.all([p.waitForURL(/\/\.gateway\/account\?done=added$/), p.getByRole('button', { name: 'Add app' }).click()]);
    await shot(p, 'recovery-c6-account-new-method');
    await p.goto(`${base}/reports`);
    t.equal(await remoteUser(p), 'bob', 'signed in to the app');

    // The same code again, in another new browser: refused.
    const again = await newContext(browser, base);
    t.teardown(() => again.close());
    const q = await again.newPage();
    await signIn(q, base, 'bob', /\/\.gateway\/second-factor\?rd=/);
    await Promise.all([q.waitForURL(/use=other/), q.getByRole('link', { name: 'Use another method' }).click()]);
    await q.getByLabel('Recovery code').fill(codes[0]!);
    await Promise.all([q.waitForLoadState('load'), q.getByRole('button', { name: 'Sign in with recovery code' }).click()]);
    const alert = q.getByRole('alert');
    await alert.waitFor();
    t.match(q.url(), /\/\.gateway\/second-factor/, 'a used code is refused');
    t.match(await alert.innerText(), /recovery code didn.t work/, 'the error speaks of the recovery code');
    t.equal(await q.getByLabel('Recovery code').isVisible(), true, 'next to the recovery field, shown open');
    t.equal(await q.getByLabel('Recovery code').getAttribute('aria-invalid'), 'true');
    t.equal(await q.getByLabel('Verification code').count(), 0, 'on the page of the recovery code, with no code field to mark');
    await shot(q, 'recovery-c7-used-code-refused');
    await q.goto(`${base}/reports`);
    t.match(q.url(), /\/\.gateway\/(sign-in|second-factor)/, 'the app stays closed');
    t.match(await gw.store.recoveryCodeSummary('bob'), { total: 10, unused: 9 });
  });
});
