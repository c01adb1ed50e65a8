// The shared-mailbox case in real Chromium through a real gateway and the sample app: a user
// who signed in with their authenticator adds a second one on the account page (a second QR
// code, confirmed with its code), and at the next sign-ins a code from either app works.
// Screenshots land in test-artifacts/browser/.
import { mkdirSync } from 'node:fs';
import t from 'tap';
import type { Page } from 'playwright-core';
import { PASSWORDS, enrollmentSecret, startTestGateway, totpCode } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium, startSampleUpstream } from '../helpers/browser.ts';

const ARTIFACTS = 'test-artifacts/browser';

const secretOn = async (page: Page) => enrollmentSecret(`<code class="secret">${await page.locator('code.secret').innerHTML()}</code>`);

t.test(
  'shared mailbox: a second authenticator added on the account page, either code signs in',
  { skip: skipWithoutChromium, timeout: 90_000 },
  async (t) => {
    const gw = await startTestGateway(t, await startSampleUpstream(t));
    const base = await publicOnLocalhost(gw);
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    mkdirSync(ARTIFACTS, { recursive: true });
    const context = await browser.newContext({ baseURL: base, locale: 'en-US', viewport: { width: 1024, height: 900 } });
    t.teardown(() => context.close());
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();

    const password = async () => {
      await page.goto(`${base}/.gateway/sign-in`);
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill(PASSWORDS.alice!);
      await Promise.all([page.waitForURL(/\/\.gateway\/(second-factor|enroll)/), page.getByRole('button', { name: 'Sign in' }).click()]);
    };

    // First sign-in: enroll Anna's phone.
    await password();
    const anna = await secretOn(page);
    await page.getByLabel('Code from the app').fill(totpCode(anna, gw.clock.now));
    await Promise.all([
      page.waitForURL((u) => !u.pathname.startsWith('/.gateway/')),
      page.getByRole('button', { name: 'Finish setup' }).click(),
    ]);

    // The account page: add Ben's phone.
    gw.clock.now += 1000; // methods list by creation time
    await page.goto(`${base}/.gateway/account`);
    await page.getByRole('link', { name: 'Add a method' }).click();
    await page.getByRole('heading', { name: 'Add an authenticator app' }).waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/methods-add.png`, fullPage: true });
    const ben = await secretOn(page);
    t.not(ben, anna, 'a second, different secret');
    await page.getByLabel('Name').fill('Shared mailbox, Ben');
    await page.getByLabel('Code from the app').fill(totpCode(ben, gw.clock.now));
    await Promise.all([page.waitForURL(/\/\.gateway\/account\?done=added$/), page.getByRole('button', { name: 'Add app' }).click()]);
    await page.getByText('Your new sign-in method is ready to use.').waitFor();
    const rows = page.locator('table').first().locator('tbody tr');
    t.equal(await rows.count(), 2);
    t.match(await rows.nth(1).innerText(), /Shared mailbox, Ben/);
    await page.screenshot({ path: `${ARTIFACTS}/methods-account.png`, fullPage: true });

    // Next sign-ins: Ben's code, then Anna's.
    for (const [who, secret] of [
      ['Ben', ben],
      ['Anna', anna],
    ] as const) {
      // Opening the sign-out address only asks; the button signs out.
      await page.goto(`${base}/.gateway/sign-out`);
      await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/.gateway/sign-out') && r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Sign out' }).click(),
      ]);
      gw.clock.now += 30_000;
      await password();
      await page.getByLabel('Verification code').fill(totpCode(secret, gw.clock.now));
      await Promise.all([
        page.waitForURL((u) => !u.pathname.startsWith('/.gateway/')),
        page.getByRole('button', { name: 'Verify' }).click(),
      ]);
      t.pass(`${who}'s code signed in`);
    }
    const log = await gw.store.query({ user: 'alice', limit: 20 });
    t.equal(log.filter((e) => e.kind === 'second_factor' && e.outcome === 'success').length, 2);
  },
);
