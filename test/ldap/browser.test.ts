// A directory user in real Chromium: signs in with the directory password (typed in another
// case), sets up an authenticator on the first enrollment, and lands on the app, which
// receives the directory's spelling, e-mail, display name and groups (nested ones too).
// Then the directory goes down: the sign-in page says sign-in is unavailable (503).
import { mkdirSync } from 'node:fs';
import t from 'tap';
import type { Page } from 'playwright-core';
import { enrollmentSecret, startTestGateway, totpCode } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium, startSampleUpstream } from '../helpers/browser.ts';
import { LDAP_PASSWORDS, ldapConfig, slapdMissing, startSlapd } from '../helpers/ldap.ts';

const ARTIFACTS = 'test-artifacts/browser';

async function identity(page: Page): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of ['remote-user', 'remote-groups', 'remote-email', 'remote-name']) {
    const row = page.locator('tr').filter({ has: page.locator('th code', { hasText: new RegExp(`^${h}$`) }) });
    out[h] = (await row.locator('td').innerText()).trim();
  }
  return out;
}

t.test(
  'a directory user signs in through first enrollment to the app in Chromium',
  { skip: skipWithoutChromium || slapdMissing, timeout: 90_000 },
  async (t) => {
    const slapd = await startSlapd(t);
    const app = await startSampleUpstream(t);
    const gw = await startTestGateway(t, app, { users: { ldap: ldapConfig(slapd, { timeout: '1s' }) } });
    const base = await publicOnLocalhost(gw);
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    mkdirSync(ARTIFACTS, { recursive: true });
    const context = await browser.newContext({ baseURL: base, locale: 'en-US' });
    context.setDefaultNavigationTimeout(20_000);
    context.setDefaultTimeout(10_000);
    t.teardown(() => context.close());
    const page = await context.newPage();
    const target = `${base}/reports`;

    await page.goto(target);
    await page.getByLabel('Username').fill('alice.SMITH');
    await page.getByLabel('Password').fill(LDAP_PASSWORDS['Alice.Smith']!);
    await Promise.all([page.waitForURL(/\/\.gateway\/enroll\?rd=/), page.getByRole('button', { name: 'Sign in' }).click()]);
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    const secret = enrollmentSecret(`<code class="secret">${await page.locator('code.secret').innerHTML()}</code>`);
    await page.screenshot({ path: `${ARTIFACTS}/ldap-1-enrollment.png`, fullPage: true });
    await page.getByLabel('Code from the app').fill(totpCode(secret, gw.clock.now));
    await Promise.all([page.waitForURL(target), page.getByRole('button', { name: 'Finish setup' }).click()]);
    t.same(
      await identity(page),
      {
        'remote-user': 'Alice.Smith',
        'remote-groups': 'engineering,staff,platform',
        'remote-email': 'alice.smith@example.com',
        'remote-name': 'Alice Smith',
      },
      "the app received the directory's identity, canonical name and nested groups",
    );
    await page.getByText('Signed in as Alice.Smith').waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/ldap-2-app.png`, fullPage: true });

    await slapd.stop();
    const other = await browser.newContext({ baseURL: base, locale: 'en-US' });
    t.teardown(() => other.close());
    const p2 = await other.newPage();
    await p2.goto(target);
    await p2.getByLabel('Username').fill('bob.nobody');
    await p2.getByLabel('Password').fill('whatever');
    const [reply] = await Promise.all([
      p2.waitForResponse((r) => r.request().method() === 'POST'),
      p2.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    t.equal(reply.status(), 503);
    await p2.getByText('Sign-in is unavailable right now').waitFor();
    await p2.screenshot({ path: `${ARTIFACTS}/ldap-3-unavailable.png`, fullPage: true });
    await page.reload();
    t.equal(page.url(), target, 'the signed-in user keeps working while the directory is down');
  },
);
