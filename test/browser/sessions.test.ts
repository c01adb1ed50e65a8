// Issue 12, "must show": in real Chromium through a real gateway in front of the sample app,
// bob signs in from two browser contexts with different browsers (User-Agent); the account
// page of one lists both with the right browser description and address and marks "this
// browser"; ending the other signs it out (its next page load lands on sign-in). Then alice,
// an admin, ends one of bob's sessions on the admin user page and that browser is signed out
// too. With session.max_per_user, the page after a sign-in that ended older sessions says so: the
// code page, or a short page with a plain link on where the sign-in leads straight into the app.
// Screenshots land in test-artifacts/browser/sessions-*.png.
import { mkdirSync } from 'node:fs';
import t from 'tap';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PASSWORDS, enrollmentSecret, startTestGateway, totpCode } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium, startSampleUpstream } from '../helpers/browser.ts';
import { axeViolations, describeViolations, loadAxe } from '../helpers/axe.ts';

const ARTIFACTS = 'test-artifacts/browser';
const NAV_TIMEOUT = 20_000;
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const CHROME_ANDROID =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';

const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/sessions-${name}.png`, fullPage: true });
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function newContext(browser: Browser, base: string, userAgent: string, locale = 'en-US'): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: base, locale, userAgent, viewport: { width: 1024, height: 800 } });
  context.setDefaultNavigationTimeout(NAV_TIMEOUT);
  context.setDefaultTimeout(10_000);
  return context;
}

/** The password step from the app's URL; waits until the gateway's next page (`next`) is loaded. */
async function password(page: Page, base: string, user: string, next: RegExp): Promise<void> {
  await page.goto(`${base}/reports`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(PASSWORDS[user]!);
  await Promise.all([page.waitForURL(next), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** The table row of the sessions list whose browser column names `client`. */
const sessionRow = (page: Page, client: string) =>
  page.locator('table.sessions tbody tr').filter({ has: page.locator('td', { hasText: new RegExp(`^${literal(client)}`) }) });

t.test(
  'sessions in a real browser: listed per browser, ended by the user and by an admin',
  { skip: skipWithoutChromium, timeout: 180_000 },
  async (t) => {
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    mkdirSync(ARTIFACTS, { recursive: true });
    const gw = await startTestGateway(t, await startSampleUpstream(t));
    const base = await publicOnLocalhost(gw);
    const onApp = new RegExp(`^${literal(base)}/reports$`);
    const onSignIn = new RegExp(`^${literal(base)}/\\.gateway/sign-in`);

    // bob in "Firefox on Windows": first sign-in, sets up his authenticator app.
    const firefox = await newContext(browser, base, FIREFOX);
    t.teardown(() => firefox.close());
    const pageA = await firefox.newPage();
    await password(pageA, base, 'bob', /\/\.gateway\/enroll\?rd=/);
    const secret = enrollmentSecret(`<code class="secret">${await pageA.locator('code.secret').innerHTML()}</code>`);
    await pageA.getByLabel('Code from the app').fill(totpCode(secret, gw.clock.now));
    await Promise.all([pageA.waitForURL(onApp), pageA.getByRole('button', { name: 'Finish setup' }).click()]);

    // bob in "Chrome on Android": password and a code (the next 30-second step: the first is spent).
    const android = await newContext(browser, base, CHROME_ANDROID);
    t.teardown(() => android.close());
    const pageB = await android.newPage();
    await password(pageB, base, 'bob', /\/\.gateway\/second-factor\?rd=/);
    gw.clock.now += 30_000;
    await pageB.getByLabel('Verification code').fill(totpCode(secret, gw.clock.now));
    await Promise.all([pageB.waitForURL(onApp), pageB.getByRole('button', { name: 'Verify' }).click()]);
    t.equal((await gw.store.listSessions('bob')).length, 2, 'the index holds both sessions');

    await t.test('the account page lists both, with browser and address, and marks this browser', async (t) => {
      await pageA.goto(`${base}/.gateway/account`);
      await pageA.getByRole('heading', { name: 'Sessions' }).waitFor();
      await shot(pageA, '1-account-two');
      t.equal(await pageA.locator('table.sessions tbody tr').count(), 2, 'two rows');
      const mine = sessionRow(pageA, 'Firefox on Windows');
      const other = sessionRow(pageA, 'Chrome on Android');
      t.equal(await mine.count(), 1, 'Firefox on Windows is listed');
      t.equal(await other.count(), 1, 'Chrome on Android is listed');
      t.equal(await mine.getAttribute('aria-current'), 'true', 'the Firefox row is this browser');
      t.match(await mine.innerText(), /This browser/);
      t.equal(await other.getAttribute('aria-current'), null, 'the Android row is not');
      t.notMatch(await other.innerText(), /This browser/);
      t.equal(await mine.locator('code').innerText(), '127.0.0.1', 'the address Chromium connected from');
      t.equal(await other.locator('code').innerText(), '127.0.0.1');
      t.equal(await mine.locator('button').count(), 0, 'this browser ends through sign-out, not an End button');
    });

    await t.test('ending the other session signs that browser out', async (t) => {
      const other = sessionRow(pageA, 'Chrome on Android');
      await Promise.all([pageA.waitForURL(/\/\.gateway\/account\?done=session-ended$/), other.locator('button').click()]);
      await pageA.getByText('The session was ended. That browser has to sign in again.').waitFor();
      t.equal(await pageA.locator('table.sessions tbody tr').count(), 1, 'one row left');
      t.equal(await sessionRow(pageA, 'Firefox on Windows').count(), 1, 'this browser is the one left');
      await shot(pageA, '2-account-other-ended');
      await pageB.goto(`${base}/reports`);
      t.match(pageB.url(), onSignIn, "the Android browser's next page load goes to sign-in");
      await pageB.getByLabel('Username').waitFor();
      await shot(pageB, '3-android-signed-out');
      await pageA.goto(`${base}/reports`);
      t.match(pageA.url(), onApp, 'the Firefox browser goes on');
    });

    await t.test("an admin ends one of bob's sessions on the admin user page", async (t) => {
      const admin = await newContext(browser, base, FIREFOX);
      t.teardown(() => admin.close());
      const page = await admin.newPage();
      gw.clock.now += 30_000;
      await password(page, base, 'alice', /\/\.gateway\/enroll\?rd=/);
      const aliceSecret = enrollmentSecret(`<code class="secret">${await page.locator('code.secret').innerHTML()}</code>`);
      await page.getByLabel('Code from the app').fill(totpCode(aliceSecret, gw.clock.now));
      await Promise.all([page.waitForURL(onApp), page.getByRole('button', { name: 'Finish setup' }).click()]);
      await page.goto(`${base}/.gateway/admin/user?name=bob`);
      await page.locator('#sessions-heading').waitFor();
      const row = sessionRow(page, 'Firefox on Windows');
      t.equal(await page.locator('table.sessions tbody tr').count(), 1, "bob's one live session is listed");
      t.equal(await row.locator('code').innerText(), '127.0.0.1');
      await shot(page, '4-admin-user');
      // Ending a session is confirmed on a page of its own first (issue 17).
      await Promise.all([page.waitForURL(/\/\.gateway\/admin\/user\/end-session$/), row.locator('button').click()]);
      await Promise.all([
        page.waitForURL(/\/\.gateway\/admin\/user\?name=bob&done=revoked$/),
        page.getByRole('button', { name: 'End this session of bob' }).click(),
      ]);
      t.equal(await page.locator('table.sessions tbody tr').count(), 0, 'no session left in the list');
      await page.getByText('No open sessions.').waitFor();
      await shot(page, '5-admin-ended');
      t.same(await gw.store.listSessions('bob'), [], 'the index holds none of bob');
      await pageA.goto(`${base}/reports`);
      t.match(pageA.url(), onSignIn, "bob's Firefox is sent to sign-in");
      await shot(pageA, '6-firefox-signed-out');
      const log = await gw.store.query({ user: 'bob', limit: 5 });
      t.match(log[0], {
        kind: 'revocation',
        detail: /^session [0-9a-zA-Z_-]{8} \(Firefox on Windows, 127\.0\.0\.1\) ended by admin alice$/,
      });
      await page.goto(`${base}/reports`);
      t.match(page.url(), onApp, "the admin's own session goes on");
    });
  },
);

t.test(
  'max-per-user-told-at-sign-in in a real browser: the code page says it, or a page with a link on to the app, once',
  { skip: skipWithoutChromium, timeout: 180_000 },
  async (t) => {
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    mkdirSync(ARTIFACTS, { recursive: true });
    const gw = await startTestGateway(t, await startSampleUpstream(t), {
      session: { secret: 'x'.repeat(40), max_per_user: 1 },
      rules: [
        { paths: ['/public/**', '/health'], policy: 'bypass' },
        { paths: ['/notes/**'], policy: 'one_factor' },
        { paths: ['/**'], policy: 'two_factor' },
      ],
    });
    const base = await publicOnLocalhost(gw);
    const onReports = new RegExp(`^${literal(base)}/reports$`);
    const note = (page: Page) => page.locator('.alert--warn[role="status"]');

    // bob's first session: nothing ended, nothing said.
    const first = await newContext(browser, base, FIREFOX);
    t.teardown(() => first.close());
    const pageA = await first.newPage();
    await password(pageA, base, 'bob', /\/\.gateway\/enroll\?rd=/);
    t.equal(await note(pageA).count(), 0, 'a sign-in that ended nothing says nothing');
    const secret = enrollmentSecret(`<code class="secret">${await pageA.locator('code.secret').innerHTML()}</code>`);
    await pageA.getByLabel('Code from the app').fill(totpCode(secret, gw.clock.now));
    await Promise.all([pageA.waitForURL(onReports), pageA.getByRole('button', { name: 'Finish setup' }).click()]);

    await t.test('the code page after the sign-in says it', async (t) => {
      const second = await newContext(browser, base, CHROME_ANDROID);
      t.teardown(() => second.close());
      const page = await second.newPage();
      await password(page, base, 'bob', /\/\.gateway\/second-factor\?rd=/);
      t.equal(
        await note(page).innerText(),
        'Signing in on this browser ended your oldest session (the limit is 1 at a time).',
        'above the code form',
      );
      await shot(page, '7-code-page-told');
      gw.clock.now += 30_000;
      await page.getByLabel('Verification code').fill(totpCode(secret, gw.clock.now));
      await Promise.all([page.waitForURL(onReports), page.getByRole('button', { name: 'Verify' }).click()]);
      await pageA.goto(`${base}/reports`);
      t.match(pageA.url(), /\/\.gateway\/sign-in/, 'the older session ended');
    });

    await t.test('a sign-in that leads straight into the app shows a page with a link on, in German, once', async (t) => {
      const third = await newContext(browser, base, FIREFOX, 'de-DE');
      t.teardown(() => third.close());
      await loadAxe(third);
      const page = await third.newPage();
      await page.goto(`${base}/notes/today`);
      await page.locator('input[name="username"]').fill('bob');
      await page.locator('input[name="password"]').fill(PASSWORDS.bob!);
      await Promise.all([page.waitForURL(/\/\.gateway\/signed-in\?rd=/), page.getByRole('button', { name: 'Anmelden' }).click()]);
      await page.getByRole('heading', { name: 'Sie sind angemeldet' }).waitFor();
      t.equal(await note(page).innerText(), 'Die Anmeldung in diesem Browser hat Ihre älteste Sitzung beendet (höchstens 1 gleichzeitig).');
      const interstitial = page.url();
      await shot(page, '8-signed-in-told');
      // The page is shown once, so it is audited here rather than in test/browser/axe-states.ts:
      // light and dark, at 320 px and desktop width.
      for (const colorScheme of ['light', 'dark'] as const) {
        for (const width of [320, 1024]) {
          await page.emulateMedia({ colorScheme });
          await page.setViewportSize({ width, height: 800 });
          const violations = await axeViolations(page);
          t.same(violations, [], `axe on the signed-in page, ${colorScheme}, ${width} px: ${describeViolations(violations)}`);
        }
      }
      const link = page.getByRole('link', { name: `Weiter zu localhost:${gw.port}` });
      t.equal(await link.getAttribute('href'), `${base}/notes/today`, 'a plain link to the return URL');
      t.equal(await page.locator('script').count(), 0, 'no script on the page');
      await Promise.all([page.waitForURL(`${base}/notes/today`), link.click()]);
      t.match(await page.locator('body').innerText(), /bob/, 'the app, with bob signed in');
      await page.goto(interstitial);
      t.equal(page.url(), `${base}/notes/today`, 'once: the same page later goes straight on');
    });
  },
);
