// Issue 17 items 2 and 3 in real Chromium, in English and German: every page links back to the
// app and names where ("Back to …", the brand), the footer carries the configured help contact;
// a refused user sees who is signed in and switches account by keyboard, coming back to the
// refused page; the code page names its method and "Use another method" leads to a hardware
// token, the recovery code and what to ask the IT team for; a 502 page's "Try again" reloads
// the same URL once the app is back; the fraud report page says what happened and what to do;
// with JavaScript off, another method and the account switch still work.
// Screenshots land in test-artifacts/browser/no-dead-ends-*.png.
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PASSWORDS, enrollmentSecret, startTestGateway, totpCode, type TestGateway } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium, startSampleUpstream } from '../helpers/browser.ts';
import { freePort } from '../helpers/net.ts';
import { generateTotp } from '../../src/factors/totp/totp.ts';
import { createFraudLinks } from '../../src/regulation/fraud-link.ts';

const ARTIFACTS = 'test-artifacts/browser';
const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/no-dead-ends-${name}.png`, fullPage: true });

const FINANCE_RULE = {
  name: 'finance',
  paths: ['/finance/**'],
  groups: ['admins'],
  policy: 'two_factor',
  explanation: { en: 'The finance reports are for the finance team.', de: 'Die Finanzberichte sind nur für das Finanzteam.' },
};
const HELP = { text: { en: 'IT service desk', de: 'IT-Servicedesk' }, phone: '+49 30 1234 5678', email: 'it-help@example.com' };
const TOKEN_SECRET = Buffer.alloc(20, 9);

async function newContext(browser: Browser, base: string, locale: string): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: base, locale, viewport: { width: 1024, height: 800 } });
  context.setDefaultNavigationTimeout(20_000);
  context.setDefaultTimeout(10_000);
  return context;
}

/** What the sample app says the gateway told it. */
const remoteUser = async (page: Page) =>
  (
    await page
      .locator('tr', { has: page.locator('th code', { hasText: /^remote-user$/ }) })
      .locator('td')
      .innerText()
  ).trim();

/** The password step on the sign-in page in front of `page`; resolves once `then` is reached. */
async function password(page: Page, user: string, then: RegExp): Promise<void> {
  await page.locator('#username').fill(user);
  await page.locator('#password').fill(PASSWORDS[user]!);
  await Promise.all([page.waitForURL(then), page.locator('form:has(#password) button[type=submit]').click()]);
}

/** First enrollment on the page in front of `page`; returns the secret, once `then` is reached. */
async function enroll(page: Page, gw: TestGateway, then: RegExp | string): Promise<string> {
  const secret = enrollmentSecret(`<code class="secret">${await page.locator('code.secret').innerHTML()}</code>`);
  await page.locator('#code').fill(totpCode(secret, gw.clock.now));
  await Promise.all([page.waitForURL(then), page.locator('form:has(#code) button[type=submit]').click()]);
  return secret;
}

t.test('no dead ends and another way in, in a real browser', { skip: skipWithoutChromium, timeout: 240_000 }, async (t) => {
  const flakyPort = await freePort();
  const gw = await startTestGateway(t, await startSampleUpstream(t), {
    rules: [
      FINANCE_RULE,
      { paths: ['/flaky/**'], policy: 'two_factor', upstream: `http://127.0.0.1:${flakyPort}` },
      { paths: ['/**'], policy: 'two_factor' },
    ],
    portal: { help: HELP },
  });
  const base = await publicOnLocalhost(gw);
  const host = new URL(base).host;
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  mkdirSync(ARTIFACTS, { recursive: true });
  /** bob's authenticator app, from his first enrollment. */
  let bobPhone = '';

  await t.test('English: back links, the help contact, a refused user switches account by keyboard', async (t) => {
    const context = await newContext(browser, base, 'en-US');
    t.teardown(() => context.close());
    const page = await context.newPage();
    await page.goto('/finance/q3');
    await page.locator('#username').waitFor();
    const back = page.locator('#back-to-app');
    t.equal(await back.innerText(), `Back to ${host}`);
    t.equal(await back.getAttribute('href'), `${base}/finance/q3`, 'back to the return URL');
    t.equal(await page.getByRole('link', { name: 'MFA Gateway' }).getAttribute('href'), `${base}/`, 'the brand links to the public URL');
    t.equal(await page.locator('footer').innerText(), 'Need help? IT service desk · +49 30 1234 5678 · it-help@example.com');
    t.equal(await page.getByRole('link', { name: '+49 30 1234 5678' }).getAttribute('href'), 'tel:+493012345678');
    t.equal(await page.getByRole('link', { name: 'it-help@example.com' }).getAttribute('href'), 'mailto:it-help@example.com');
    await shot(page, 'en-1-sign-in');

    await password(page, 'bob', /\/\.gateway\/enroll\?rd=/);
    t.equal(await page.locator('#back-to-app').getAttribute('href'), `${base}/finance/q3`, 'enrollment keeps the way back');
    bobPhone = await enroll(page, gw, `${base}/finance/q3`);
    t.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Access denied');
    t.equal(await page.locator('#signed-in-as').innerText(), 'Signed in as bob');
    t.equal(await page.locator('#rule-explanation').innerText(), 'The finance reports are for the finance team.');
    t.equal(await page.locator('#back-to-app').innerText(), `Back to ${host}`);
    await shot(page, 'en-2-forbidden');

    // By keyboard: Tab from the page's start reaches the button (after the header's two links), Enter signs out.
    const focused = () => page.evaluate<string>('document.activeElement ? document.activeElement.textContent.trim() : ""');
    for (let i = 0; i < 10 && (await focused()) !== 'Sign out and use another account'; i++) await page.keyboard.press('Tab');
    t.equal(await focused(), 'Sign out and use another account', 'the button is reached with Tab');
    await Promise.all([page.waitForURL(/\/\.gateway\/sign-in\?rd=/), page.keyboard.press('Enter')]);
    t.equal(new URL(page.url()).searchParams.get('rd'), `${base}/finance/q3`, 'sign-in with the refused URL');
    await shot(page, 'en-3-sign-in-again');
    await password(page, 'alice', /\/\.gateway\/enroll\?rd=/);
    await enroll(page, gw, `${base}/finance/q3`);
    t.equal(await remoteUser(page), 'alice', 'the other account opens the refused page');

    await page.goto('/.gateway/account');
    await Promise.all([page.waitForURL(`${base}/`), page.getByRole('link', { name: 'MFA Gateway' }).click()]);
    t.equal(await remoteUser(page), 'alice', 'the brand leads to the app at the public URL');
  });

  // bob's phone gets a name, and a hardware token a minute later.
  const [phone] = await gw.store.listMethods('bob');
  await gw.store.renameMethod('bob', phone!.id, 'Phone');
  gw.clock.now += 60_000;
  await gw.store.addMethod(
    { user: 'bob', kind: 'oath_token', label: 'TK-200', secret: TOKEN_SECRET, period: 30, digits: 6, algorithm: 'sha1', active: true },
    5,
  );
  const tokenCode = () => generateTotp({ secret: TOKEN_SECRET, now: gw.clock.now, period: 30, digits: 6, algorithm: 'sha1' });

  await t.test('English: the code page names its method; "Use another method" leads to the token', async (t) => {
    const context = await newContext(browser, base, 'en-US');
    t.teardown(() => context.close());
    const page = await context.newPage();
    await page.goto('/reports');
    await password(page, 'bob', /\/\.gateway\/second-factor\?rd=/);
    t.equal(await page.locator('#code-intro').innerText(), 'Enter the code from your authenticator app “Phone”.');
    await shot(page, 'en-4-code-page');
    await Promise.all([page.waitForURL(/use=other/), page.getByRole('link', { name: 'Use another method' }).click()]);
    t.equal(await page.getByLabel('Verification code').count(), 0);
    t.ok(await page.getByRole('link', { name: 'Authenticator app “Phone”' }).isVisible());
    t.ok(await page.getByLabel('Recovery code').isVisible(), 'the recovery code is taken here');
    t.match(await page.locator('#lost-all').innerText(), /Ask your IT team to reset your sign-in methods/);
    await shot(page, 'en-5-other-ways');
    await Promise.all([page.waitForURL(/use=/), page.getByRole('link', { name: 'Hardware token “TK-200”' }).click()]);
    t.equal(await page.locator('#code-intro').innerText(), 'Enter the code shown on your hardware token “TK-200”.');
    await page.getByLabel('Verification code').fill(tokenCode());
    await shot(page, 'en-6-token');
    await Promise.all([page.waitForURL(`${base}/reports`), page.getByLabel('Verification code').press('Enter')]);
    t.equal(await remoteUser(page), 'bob', 'signed in with the token');
  });

  await t.test('German: the same pages, and a 502 that offers "Erneut versuchen"', async (t) => {
    const context = await newContext(browser, base, 'de-DE');
    t.teardown(() => context.close());
    const page = await context.newPage();
    await page.goto('/finance/q3');
    await page.locator('#username').waitFor();
    t.equal(await page.locator('#back-to-app').innerText(), `Zurück zu ${host}`);
    t.equal(await page.locator('footer').innerText(), 'Brauchen Sie Hilfe? IT-Servicedesk · +49 30 1234 5678 · it-help@example.com');
    await shot(page, 'de-1-sign-in');
    await password(page, 'bob', /\/\.gateway\/second-factor\?rd=/);
    const token = 'Geben Sie den Code ein, den Ihr Hardware-Token „TK-200“ anzeigt.';
    t.equal(await page.locator('#code-intro').innerText(), token, 'the method used last leads');
    await Promise.all([page.waitForURL(/use=other/), page.getByRole('link', { name: 'Andere Methode verwenden' }).click()]);
    t.match(await page.locator('#lost-all').innerText(), /Bitten Sie Ihre IT-Abteilung, Ihre Anmeldemethoden zurückzusetzen/);
    await shot(page, 'de-2-other-ways');
    await Promise.all([page.waitForURL(/use=/), page.getByRole('link', { name: 'Authenticator-App „Phone“' }).click()]);
    t.equal(await page.locator('#code-intro').innerText(), 'Geben Sie den Code aus Ihrer Authenticator-App „Phone“ ein.');
    await page.getByLabel('Bestätigungscode').fill(totpCode(bobPhone, gw.clock.now));
    await Promise.all([page.waitForURL(`${base}/finance/q3`), page.getByLabel('Bestätigungscode').press('Enter')]);
    t.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Zugriff verweigert');
    t.equal(await page.locator('#signed-in-as').innerText(), 'Angemeldet als bob');
    t.equal(await page.locator('#rule-explanation').innerText(), 'Die Finanzberichte sind nur für das Finanzteam.');
    await shot(page, 'de-3-forbidden');

    await page.goto('/flaky/page?x=1');
    t.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Anwendung antwortet nicht');
    t.equal(await page.getByRole('link', { name: 'Erneut versuchen' }).getAttribute('href'), '/flaky/page?x=1');
    t.equal(await page.getByRole('link', { name: 'Zur Startseite' }).count(), 0);
    await shot(page, 'de-4-bad-gateway');

    await Promise.all([
      page.waitForURL(/\/\.gateway\/sign-in\?rd=/),
      page.goto('/finance/q3').then(() => page.getByRole('button', { name: 'Abmelden und ein anderes Konto verwenden' }).click()),
    ]);
    t.equal(new URL(page.url()).searchParams.get('rd'), `${base}/finance/q3`);
  });

  await t.test('English: "Try again" on a 502 reloads the same URL once the app is back', async (t) => {
    const context = await newContext(browser, base, 'en-US');
    t.teardown(() => context.close());
    const page = await context.newPage();
    await page.goto('/flaky/page?x=1');
    gw.clock.now += 60_000;
    await password(page, 'bob', /\/\.gateway\/second-factor\?rd=/);
    await page.getByLabel('Verification code').fill(tokenCode());
    await Promise.all([page.waitForURL(`${base}/flaky/page?x=1`), page.getByLabel('Verification code').press('Enter')]);
    t.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Application not responding');
    t.equal(await page.getByRole('link', { name: 'Go to the start page' }).count(), 0, '"Try again", not the start page');
    await shot(page, 'en-7-bad-gateway');

    const flaky = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>Flaky</title><h1>flaky is back: ${req.url}</h1>`);
    });
    await new Promise<void>((resolve) => flaky.listen(flakyPort, '127.0.0.1', resolve));
    t.teardown(
      () =>
        new Promise<void>((resolve) => {
          flaky.closeAllConnections();
          flaky.close(() => resolve());
        }),
    );
    await Promise.all([page.waitForLoadState('load'), page.getByRole('link', { name: 'Try again' }).click()]);
    t.equal(page.url(), `${base}/flaky/page?x=1`, 'the same URL');
    t.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'flaky is back: /flaky/page?x=1');
  });

  await t.test('without JavaScript: another method, the refused page and the account switch all work', async (t) => {
    gw.clock.now += 60_000;
    const context = await browser.newContext({ baseURL: base, locale: 'en-US', javaScriptEnabled: false });
    context.setDefaultNavigationTimeout(20_000);
    context.setDefaultTimeout(10_000);
    t.teardown(() => context.close());
    const page = await context.newPage();
    await page.goto('/finance/q3');
    await password(page, 'bob', /\/\.gateway\/second-factor\?rd=/);
    await Promise.all([page.waitForURL(/use=other/), page.getByRole('link', { name: 'Use another method' }).click()]);
    await Promise.all([page.waitForURL(/use=/), page.getByRole('link', { name: 'Hardware token “TK-200”' }).click()]);
    await page.getByLabel('Verification code').fill(tokenCode());
    await Promise.all([page.waitForURL(`${base}/finance/q3`), page.getByRole('button', { name: 'Verify' }).click()]);
    t.equal(await page.locator('#signed-in-as').innerText(), 'Signed in as bob');
    await Promise.all([
      page.waitForURL(/\/\.gateway\/sign-in\?rd=/),
      page.getByRole('button', { name: 'Sign out and use another account' }).click(),
    ]);
    t.equal(new URL(page.url()).searchParams.get('rd'), `${base}/finance/q3`);
  });

  await t.test('the fraud report page says what happened and what to do, in English and German', async (t) => {
    const secret = (YAML.parse(readFileSync(join(gw.dir, 'gateway-localhost.yaml'), 'utf8')) as { session: { secret: string } }).session
      .secret;
    const links = createFraudLinks([secret]);
    for (const [user, locale, texts] of [
      ['bob', 'en-US', { button: 'This wasn’t me: report it', sessions: /^Every session of your account has ended/ }],
      ['alice', 'de-DE', { button: 'Das war ich nicht: melden', sessions: /^Alle Sitzungen Ihres Kontos wurden beendet/ }],
    ] as const) {
      const id = links.newId();
      const expiresAt = gw.clock.now + 86_400_000;
      await gw.store.createFraudReport({ id, user, createdAt: gw.clock.now, expiresAt, clientIp: '203.0.113.9', userAgent: 'curl/8' });
      const context = await newContext(browser, base, locale);
      t.teardown(() => context.close());
      const page = await context.newPage();
      await page.goto(`/.gateway/fraud-report?t=${links.sign(id, expiresAt)}`);
      await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: texts.button }).click()]);
      const items = await page.locator('#fraud-reported-done li').allInnerTexts();
      t.equal(items.length, 3, `${locale}: sessions, block, sign-in log`);
      t.match(items[0], texts.sessions);
      t.match(items[1], locale === 'en-US' ? /^Your account is blocked until / : /^Ihr Konto ist bis .* gesperrt/);
      t.match(items[2], locale === 'en-US' ? /sign-in log/ : /Anmeldeprotokoll/, 'no notify addresses: the log only');
      t.equal(await page.locator('#back-to-app').getAttribute('href'), `${base}/`, 'and a way on, to the app');
      await shot(page, `${locale.slice(0, 2)}-8-fraud-reported`);
    }
  });
});
