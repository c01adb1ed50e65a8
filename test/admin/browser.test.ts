// The admin pages in real Chromium through a real gateway: alice signs in (password, first
// enrollment, code), finds bob, blocks him with a reason, resets his MFA, uploads a token
// CSV and downloads its error CSV. Screenshots land in test-artifacts/admin/.
import { mkdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { PASSWORDS, enrollmentSecret, startTestGateway, startUpstream, totpCode } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium } from '../helpers/browser.ts';

const ARTIFACTS = 'test-artifacts/admin';
const CSV = [
  'upn,serial number,secret key,time interval,manufacturer,model',
  'bob,TK-200,JBSWY3DPEHPK3PXP,30,Feitian,c200',
  'zed,TK-201,JBSWY3DPEHPK3PXP,30,Feitian,c200',
  'bob,TK-202,JBSWY3DPEHPK3PXP,45,Feitian,c200',
].join('\r\n');

t.test(
  'an admin blocks a user, resets MFA and imports tokens in a real browser',
  { skip: skipWithoutChromium, timeout: 90_000 },
  async (t) => {
    const up = await startUpstream(t);
    const gw = await startTestGateway(t, up);
    const base = await publicOnLocalhost(gw);
    await gw.store.addMethod(
      { user: 'bob', kind: 'totp', label: 'Phone', secret: Buffer.alloc(20, 7), period: 30, digits: 6, algorithm: 'sha1', active: true },
      5,
    );
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    mkdirSync(ARTIFACTS, { recursive: true });
    const context = await browser.newContext({
      baseURL: base,
      locale: 'en-US',
      viewport: { width: 1200, height: 900 },
      acceptDownloads: true,
    });
    context.setDefaultNavigationTimeout(20_000);
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();

    // Signing in on the way to the admin pages comes back to them.
    await page.goto('/.gateway/admin');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORDS.alice!);
    await Promise.all([page.waitForURL(/\/\.gateway\/enroll/), page.getByRole('button', { name: 'Sign in' }).click()]);
    const secret = enrollmentSecret(`<code class="secret">${await page.locator('code.secret').innerHTML()}</code>`);
    await page.getByLabel('Code from the app').fill(totpCode(secret, gw.clock.now));
    await Promise.all([page.waitForURL(`${base}/.gateway/admin`), page.getByRole('button', { name: 'Finish setup' }).click()]);
    t.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Users');
    await page.screenshot({ path: `${ARTIFACTS}/users.png`, fullPage: true });

    await page.getByLabel('Find users').fill('bob');
    await Promise.all([page.waitForURL(/\?q=bob/), page.getByRole('button', { name: 'Search' }).click()]);
    await Promise.all([page.waitForURL(/\/admin\/user\?name=bob/), page.getByRole('link', { name: 'bob', exact: true }).click()]);
    t.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'User bob');

    await page.locator('#block-reason').fill('laptop stolen');
    await Promise.all([page.waitForURL(/\/admin\/user\/block$/), page.getByRole('button', { name: 'Block bob', exact: true }).click()]);
    t.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Block bob?', 'the block is confirmed first');
    await Promise.all([page.waitForURL(/done=blocked/), page.getByRole('button', { name: 'Block bob', exact: true }).click()]);
    t.ok(await page.getByText('The user was blocked and their sessions were ended.').isVisible());
    t.ok(await page.getByText(/Blocked until .* by alice: laptop stolen/).isVisible());
    t.match(await gw.store.blockOf('bob'), { reason: 'laptop stolen', actor: 'alice' });
    await page.screenshot({ path: `${ARTIFACTS}/user-blocked.png`, fullPage: true });

    await Promise.all([page.waitForURL(/\/admin\/user\/reset-mfa$/), page.getByRole('button', { name: 'Reset MFA' }).click()]);
    await Promise.all([page.waitForURL(/done=reset/), page.getByRole('button', { name: 'Reset MFA for bob' }).click()]);
    t.ok(await page.getByText('MFA was reset: 1 methods removed').isVisible());
    t.equal((await gw.store.listMethods('bob')).length, 0);
    t.ok(await page.getByText('No methods. The user sets one up at the next sign-in.').isVisible());

    await Promise.all([page.waitForURL(/\/admin\/tokens$/), page.getByRole('link', { name: 'Hardware tokens' }).click()]);
    await page.getByLabel('CSV file').setInputFiles({ name: 'tokens.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await Promise.all([page.waitForURL(/\/admin\/tokens\/import$/), page.getByRole('button', { name: 'Import' }).click()]);
    t.ok(await page.getByText('Imported: 1. Already there: 0. Refused: 2.').isVisible());
    t.equal(await page.locator('table').first().locator('tbody tr').count(), 2, 'the refused rows are listed');
    await page.screenshot({ path: `${ARTIFACTS}/tokens-import.png`, fullPage: true });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download the error CSV' }).click(),
    ]);
    t.equal(download.suggestedFilename(), 'token-import-errors.csv');
    const errorsCsv = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split(/\r?\n/);
    t.equal(errorsCsv[0], 'line,upn,serial number,error');
    t.match(errorsCsv[1], /^3,zed,TK-201,.*unknown user/i);
    t.match(errorsCsv[2], /^4,bob,TK-202,/);
    t.equal((await gw.store.tokenBySerial('TK-200'))?.active, false, 'imported, inactive until activated');

    await Promise.all([page.waitForURL(/\/admin\/log/), page.getByRole('link', { name: 'Sign-in log' }).click()]);
    t.ok(await page.getByText('blocked by alice until').first().isVisible(), 'the block is in the log with the admin');
  },
);
