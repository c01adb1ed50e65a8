// Issue 14 in real Chromium with its virtual authenticator (DevTools Protocol `WebAuthn.*`
// through playwright-core's CDP session), through a real gateway in front of the sample app:
// a security key (ctap2 over usb) and a platform passkey (internal, resident key, user
// verification) are registered from the account page and sign in as a second factor; the
// passkey signs in with no password; a rule with `mfa_methods: [webauthn]` makes a TOTP-only
// session step up; removing a key and `users reset-mfa` both work; and with JavaScript off the
// sign-in and code pages still work for a user without a key. Screenshots of every step land
// in test-artifacts/browser/webauthn-*.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import t from 'tap';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { main } from '../../src/cli/main.ts';
import { PASSWORDS, startTestGateway, totpCode, type TestGateway } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium, startSampleUpstream } from '../helpers/browser.ts';

const ARTIFACTS = 'test-artifacts/browser';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/webauthn-${name}.png`, fullPage: true });
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function newContext(browser: Browser, base: string, javaScriptEnabled = true): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: base, locale: 'en-US', viewport: { width: 1024, height: 800 }, javaScriptEnabled });
  context.setDefaultNavigationTimeout(20_000);
  context.setDefaultTimeout(10_000);
  return context;
}

/** A page with a virtual authenticator attached: a usb security key, or a platform passkey. */
async function withAuthenticator(context: BrowserContext, kind: 'security-key' | 'passkey'): Promise<Page> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options:
      kind === 'security-key'
        ? { protocol: 'ctap2', transport: 'usb', hasResidentKey: false, hasUserVerification: false, automaticPresenceSimulation: true }
        : {
            protocol: 'ctap2',
            transport: 'internal',
            hasResidentKey: true,
            hasUserVerification: true,
            isUserVerified: true,
            automaticPresenceSimulation: true,
          },
  });
  return page;
}

const remoteUser = async (page: Page) =>
  (
    await page
      .locator('tr')
      .filter({ has: page.locator('th code', { hasText: /^remote-user$/ }) })
      .locator('td')
      .innerText()
  ).trim();

async function password(page: Page, base: string, path: string, user: string): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(PASSWORDS[user]!);
  await Promise.all([page.waitForURL(/\/\.gateway\/second-factor/), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
}

async function code(page: Page, gw: TestGateway, next: RegExp): Promise<void> {
  await page.getByLabel('Verification code').fill(totpCode(SECRET, gw.clock.now));
  await Promise.all([page.waitForURL(next), page.getByRole('button', { name: 'Verify', exact: true }).click()]);
  gw.clock.now += 30_000; // the next code is a new time step
}

async function signOut(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/.gateway/account`);
  await Promise.all([page.waitForURL(/signed-out|sign-in|sign-out/), page.getByRole('button', { name: 'Sign out', exact: true }).click()]);
}

async function command(gw: TestGateway, ...args: string[]): Promise<string> {
  let out = '';
  const sink = new Writable({
    write: (c: Buffer, _e, cb) => {
      out += c.toString('utf8');
      cb();
    },
  });
  const status = await main([...args, '--config', join(gw.dir, 'gateway.yaml')], {
    stdin: new PassThrough(),
    stdout: sink,
    stderr: sink,
    env: {},
  });
  if (status !== 0) throw new Error(`${args.join(' ')} exited ${status}: ${out}`);
  return out;
}

t.test(
  'security keys and passkeys in real Chromium with a virtual authenticator',
  { skip: skipWithoutChromium, timeout: 240_000 },
  async (t) => {
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    mkdirSync(ARTIFACTS, { recursive: true });
    const gw = await startTestGateway(t, await startSampleUpstream(t), {
      mfa: { methods: ['totp', 'webauthn'], first_enrollment: 'anywhere', webauthn: { passwordless: true } },
      rules: [
        { paths: ['/payroll/**'], mfa_methods: ['webauthn'], policy: 'two_factor' },
        { paths: ['/**'], policy: 'two_factor' },
      ],
    });
    const base = await publicOnLocalhost(gw);
    const onApp = (path: string) => new RegExp(`^${escapeRegExp(base)}${escapeRegExp(path)}$`);
    for (const user of ['alice', 'bob']) {
      const added = await gw.store.addMethod(
        { user, kind: 'totp', label: 'phone', secret: base32(SECRET), period: 30, digits: 6, algorithm: 'sha1', active: true },
        5,
      );
      t.equal(added.ok, true);
    }

    await t.test('a security key (ctap2, usb): a TOTP session steps up, the key is registered and used', async (t) => {
      const context = await newContext(browser, base);
      t.teardown(() => context.close());
      const page = await withAuthenticator(context, 'security-key');
      await password(page, base, '/reports', 'alice');
      await shot(page, '01-code-page');
      await code(page, gw, onApp('/reports'));
      await page.goto(`${base}/payroll/run`);
      await page.waitForURL(/\/\.gateway\/second-factor\?.*need=webauthn/);
      await page.getByText('This app asks for a security key or passkey').waitFor();
      await shot(page, '02-step-up-no-key');
      await Promise.all([page.waitForURL(/security-keys\/add/), page.getByRole('link', { name: 'Add a security key or passkey' }).click()]);
      await page.getByLabel('Name').fill('Blue key');
      await shot(page, '03-register');
      await Promise.all([
        page.waitForURL(/account\?done=security_key_added/),
        page.getByRole('button', { name: 'Register security key or passkey' }).click(),
      ]);
      await page.getByText('Your security key or passkey is ready to use.').waitFor();
      await shot(page, '04-account-with-key');
      const keys = await gw.store.listCredentials('alice');
      t.match(keys, [{ label: 'Blue key', transports: ['usb'], backupEligible: false }]);

      // The step up: the TOTP session is sent to the key, which lets it through.
      await page.goto(`${base}/payroll/run`);
      await page.waitForURL(/need=webauthn/);
      t.equal(await page.getByLabel('Verification code').count(), 0, 'a webauthn-only rule offers no code field');
      await shot(page, '05-step-up');
      await Promise.all([
        page.waitForURL(onApp('/payroll/run')),
        page.getByRole('button', { name: 'Use your security key or passkey' }).click(),
      ]);
      t.equal(await remoteUser(page), 'alice', 'the step up let alice in');
      await shot(page, '06-payroll');

      // Second factor with the key after a new password sign-in.
      await signOut(page, base);
      await password(page, base, '/reports', 'alice');
      t.equal(await page.getByLabel('Verification code').count(), 1, 'the code field stays for users who have both');
      await Promise.all([
        page.waitForURL(onApp('/reports')),
        page.getByRole('button', { name: 'Use your security key or passkey' }).click(),
      ]);
      t.equal(await remoteUser(page), 'alice');
      await page.goto(`${base}/payroll/run`);
      t.equal(await remoteUser(page), 'alice', 'a key session satisfies the webauthn rule at once');
      const log = await gw.store.query({ user: 'alice', limit: 20 });
      t.ok(
        log.some((e) => e.kind === 'second_factor' && e.outcome === 'success' && e.detail.startsWith('security key accepted ("Blue key"')),
      );
      t.ok((await gw.store.listCredentials('alice'))[0]!.signCount > 0, 'the counter moved');

      // Remove the key from the account page (the session's second factor is fresh).
      await page.goto(`${base}/.gateway/account`);
      await Promise.all([page.waitForURL(/done=security_key_removed/), page.getByRole('button', { name: 'Remove' }).click()]);
      await shot(page, '07-key-removed');
      t.same(await gw.store.listCredentials('alice'), [], 'removed');
    });

    await t.test(
      'a platform passkey (internal, resident key, user verification): second factor, then sign-in with no password, then reset-mfa',
      async (t) => {
        const context = await newContext(browser, base);
        t.teardown(() => context.close());
        const page = await withAuthenticator(context, 'passkey');
        await password(page, base, '/reports', 'bob');
        await code(page, gw, onApp('/reports'));
        await page.goto(`${base}/.gateway/account`);
        await Promise.all([
          page.waitForURL(/security-keys\/add/),
          page.getByRole('link', { name: 'Add a security key or passkey' }).click(),
        ]);
        await page.getByLabel('Name').fill('Laptop');
        await Promise.all([
          page.waitForURL(/done=security_key_added/),
          page.getByRole('button', { name: 'Register security key or passkey' }).click(),
        ]);
        t.match(await gw.store.listCredentials('bob'), [{ label: 'Laptop', discoverable: true }]);

        await signOut(page, base);
        await password(page, base, '/reports', 'bob');
        await Promise.all([
          page.waitForURL(onApp('/reports')),
          page.getByRole('button', { name: 'Use your security key or passkey' }).click(),
        ]);
        t.equal(await remoteUser(page), 'bob', 'the passkey as a second factor');

        await signOut(page, base);
        await page.goto(`${base}/reports`);
        await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
        await shot(page, '08-sign-in-passkey');
        await Promise.all([page.waitForURL(onApp('/reports')), page.getByRole('button', { name: 'Sign in with a passkey' }).click()]);
        t.equal(await remoteUser(page), 'bob', 'signed in with the passkey alone');
        await page.goto(`${base}/payroll/run`);
        t.equal(await remoteUser(page), 'bob', 'the passkey session satisfies the webauthn rule');
        const log = await gw.store.query({ user: 'bob', limit: 20 });
        t.ok(log.some((e) => e.outcome === 'success' && /^passkey sign-in: passkey "Laptop" accepted \(user verified\)/.test(e.detail)));

        await command(gw, 'users', 'reset-mfa', 'bob');
        t.same(await gw.store.listCredentials('bob'), [], 'reset-mfa removed the passkey');
        // reset-mfa also ends bob's sessions (running gateways notice within their poll interval); start signed out.
        await context.clearCookies();
        await page.goto(`${base}/reports`);
        await page.waitForURL(/sign-in/);
        await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in with a passkey' }).click()]);
        await page.getByText('Your security key or passkey was not accepted').first().waitFor();
        await shot(page, '09-passkey-after-reset');
        t.match(page.url(), /sign-in/, 'the removed passkey no longer signs in');
      },
    );

    await t.test('with JavaScript disabled, the sign-in and code pages work for a user without a key', async (t) => {
      const context = await newContext(browser, base, false);
      t.teardown(() => context.close());
      const page = await context.newPage();
      await password(page, base, '/reports', 'alice');
      t.equal(await page.getByRole('button', { name: 'Use your security key or passkey' }).count(), 0, 'no key button');
      t.equal(await page.getByRole('button', { name: 'Sign in with a passkey' }).count(), 0);
      await shot(page, '10-code-page-no-js');
      await code(page, gw, onApp('/reports'));
      t.equal(await remoteUser(page), 'alice');
    });
  },
);

function base32(s: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  return Buffer.from(bits.match(/.{8}/g)!.map((b) => Number.parseInt(b, 2)));
}
