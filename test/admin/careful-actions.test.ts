// Issue 17 item 6 in real Chromium through a real gateway, by keyboard only (Tab to the
// control, Enter): alice, an admin, walks every careful action on bob's page. Each first
// shows a page that says what will happen, with a button naming the action and a way back;
// cancelling changes nothing, confirming acts. Also the admin nav (the current page, links to
// the account and the app, and back), "No open sessions", and axe-core finding nothing.
// Her own account and the German pages: careful-actions-self.test.ts. Screenshots land in
// test-artifacts/admin/careful-*.png.
import { mkdirSync } from 'node:fs';
import t from 'tap';
import { base32Encode } from '../../src/factors/totp/totp.ts';
import { PASSWORDS, startTestGateway, startUpstream, totpCode } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium } from '../helpers/browser.ts';
import { ARTIFACTS, aliceSignsIn, enter, heading, main, newContext, shot, tabTo, violations } from './careful-kit.ts';

const BOB_SECRET = Buffer.alloc(20, 7);
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const USER_PAGE = /\/\.gateway\/admin\/user\?name=bob$/;
const done = (what: string) => new RegExp(`/\\.gateway/admin/user\\?name=bob&done=${what}`);

t.test(
  'careful admin actions by keyboard: each says what will happen first; cancel changes nothing; confirm acts',
  { skip: skipWithoutChromium, timeout: 300_000 },
  async (t) => {
    const gw = await startTestGateway(t, await startUpstream(t), {
      mfa: { methods: ['totp', 'webauthn'], app_passwords: { enabled: true } },
    });
    const base = await publicOnLocalhost(gw);
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    mkdirSync(ARTIFACTS, { recursive: true });

    // bob: an authenticator app, a security key, two app passwords, recovery codes, and a session in Firefox.
    await gw.store.addMethod(
      { user: 'bob', kind: 'totp', label: 'Phone', secret: BOB_SECRET, period: 30, digits: 6, algorithm: 'sha1', active: true },
      5,
    );
    await gw.store.addCredential(
      {
        user: 'bob',
        credentialId: 'c1',
        label: 'Blue key',
        publicKey: 'pQ',
        signCount: 0,
        transports: ['usb'],
        aaguid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8',
        backupEligible: false,
        backedUp: false,
        discoverable: true,
      },
      5,
    );
    await gw.store.addAppPassword({ user: 'bob', name: 'Mail', hint: 'abcd', hash: 'x' }, 20);
    await gw.store.addAppPassword({ user: 'bob', name: 'Calendar', hint: 'efgh', hash: 'y' }, 20);
    await gw.store.replaceRecoveryCodes('bob', ['h1', 'h2', 'h3', 'h4'], gw.clock.now);
    const bobContext = await newContext(browser, base, { userAgent: FIREFOX });
    t.teardown(() => bobContext.close());
    const bob = await bobContext.newPage();
    await bob.goto('/app');
    await bob.getByLabel('Username').fill('bob');
    await bob.getByLabel('Password').fill(PASSWORDS.bob!);
    await Promise.all([bob.waitForURL(/\/\.gateway\/second-factor/), bob.getByRole('button', { name: 'Sign in' }).click()]);
    await bob.getByLabel('Verification code').fill(totpCode(base32Encode(BOB_SECRET), gw.clock.now));
    await Promise.all([bob.waitForURL(`${base}/app`), bob.getByRole('button', { name: 'Verify' }).click()]);
    gw.clock.now += 30_000;

    const adminContext = await newContext(browser, base);
    t.teardown(() => adminContext.close());
    const page = await adminContext.newPage();
    await aliceSignsIn(page, gw, base);
    const log = async () => (await gw.store.query({ user: 'bob', limit: 1000 })).length;

    await t.test('the admin nav marks the page and links to the account and the app; the account page links back', async (t) => {
      t.equal(await page.getByRole('link', { name: 'Users', exact: true }).getAttribute('aria-current'), 'page');
      t.equal(await page.getByRole('link', { name: 'Sign-in log' }).getAttribute('aria-current'), null);
      t.equal(await page.getByRole('link', { name: 'Back to the app' }).getAttribute('href'), `${base}/`);
      await shot(page, '01-users-nav-en');
      await tabTo(page, { name: 'Your account' });
      await enter(page, /\/\.gateway\/account$/);
      await tabTo(page, { name: 'Admin pages' });
      await enter(page, /\/\.gateway\/admin$/);
      t.equal(await heading(page), 'Users', 'there and back by keyboard');
      await page.goto('/.gateway/admin/user?name=bob');
      t.equal(
        await page.getByRole('link', { name: 'Users', exact: true }).getAttribute('aria-current'),
        'true',
        "bob's page is in the users section",
      );
      t.equal(await page.getByRole('button', { name: 'Both' }).count(), 0, 'no button named "Both"');
      t.ok(await page.getByRole('button', { name: 'End sessions and forget browsers' }).isVisible());
      await shot(page, '02-user-bob-en');
      t.same(await violations(page), [], "axe: no violations on bob's page");
    });

    await t.test('end one session: the page names the browser; confirming signs that browser out', async (t) => {
      const before = await log();
      await tabTo(page, { name: /^End the session started / });
      await enter(page, /\/admin\/user\/end-session$/);
      t.equal(await heading(page), 'End this session of bob?');
      t.match(await main(page), /The session in Firefox on Windows from 127\.0\.0\.1, started .+, ends at once/);
      t.match(await main(page), 'It is the only open session of bob.');
      await shot(page, '03-confirm-end-session-en');
      t.equal(await log(), before, 'asking logs nothing');
      await tabTo(page, { name: 'End this session of bob' });
      await enter(page, done('revoked'));
      await page.getByText('No open sessions.').waitFor();
      await bob.goto('/app');
      t.match(bob.url(), /\/\.gateway\/sign-in/, "bob's Firefox is signed out");
      t.match((await gw.store.query({ user: 'bob', limit: 1 }))[0], {
        detail: /\(Firefox on Windows, 127\.0\.0\.1\) ended by admin alice$/,
      });
    });

    await t.test('reset MFA: cancel keeps everything; confirm removes the methods', async (t) => {
      await page.goto('/.gateway/admin/user?name=bob');
      await tabTo(page, { name: 'Reset MFA' });
      await enter(page, /\/admin\/user\/reset-mfa$/);
      t.equal(await heading(page), 'Reset MFA for bob?');
      const text = await main(page);
      t.match(text, 'These sign-in methods are removed:');
      t.match(text, '“Phone” (Authenticator app)');
      t.match(text, '“Blue key” (Security key or passkey, YubiKey 5 Series)');
      t.match(text, 'The recovery codes stop working (4 unused).');
      t.match(text, 'bob has no open session to end.');
      t.match(text, 'At the next sign-in, bob enters the password and sets up a new method before going on.');
      t.notMatch(text, 'This is your own account.');
      await shot(page, '04-confirm-reset-mfa-en');
      t.same(await violations(page), [], 'axe: no violations on the confirmation page');
      await tabTo(page, { name: 'Cancel and go back to bob' });
      await enter(page, USER_PAGE);
      t.equal((await gw.store.listMethods('bob')).length, 1, 'cancelled: the app stays');
      t.equal((await gw.store.listCredentials('bob')).length, 1, 'and the key');
      // Remove the key alone first: its own confirmation.
      await tabTo(page, { name: 'Remove Blue key' });
      await enter(page, /\/admin\/user\/remove-key$/);
      t.equal(await heading(page), 'Remove “Blue key” of bob?');
      t.match(await main(page), 'The other sign-in methods of bob stay.');
      await shot(page, '05-confirm-remove-key-en');
      await tabTo(page, { name: 'Remove “Blue key” of bob' });
      await enter(page, done('key_removed'));
      t.same(await gw.store.listCredentials('bob'), []);
      await tabTo(page, { name: 'Reset MFA' });
      await enter(page, /\/admin\/user\/reset-mfa$/);
      await tabTo(page, { name: 'Reset MFA for bob' });
      await enter(page, done('reset'));
      t.ok(await page.getByText('MFA was reset: 1 methods removed').isVisible());
      t.same(await gw.store.listMethods('bob'), []);
    });

    await t.test('app passwords, browsers and sessions, each confirmed on its own page', async (t) => {
      await tabTo(page, { name: 'Revoke all app passwords' });
      await enter(page, /\/admin\/user\/revoke-app-passwords$/);
      t.equal(await heading(page), 'Revoke all app passwords of bob?');
      t.match(await main(page), /These app passwords stop working at once, on every gateway within a second:\s*“Mail”\s*“Calendar”/);
      await shot(page, '06-confirm-app-passwords-en');
      await tabTo(page, { name: 'Revoke all app passwords of bob' });
      await enter(page, done('app_passwords'));
      t.same(await gw.store.listAppPasswords('bob'), []);

      for (const [button, confirm, what] of [
        ['Forget remembered browsers', 'Forget the remembered browsers of bob', 'devices'],
        ['End sessions', 'End all sessions of bob', 'sessions'],
        ['End sessions and forget browsers', 'End sessions and forget browsers of bob', 'all'],
      ] as const) {
        await tabTo(page, { name: button });
        await enter(page, /\/admin\/user\/revoke$/);
        t.equal(await page.getByRole('button', { name: confirm, exact: true }).count(), 1, `${what}: the button says "${confirm}"`);
        if (what === 'all') await shot(page, '07-confirm-sessions-and-browsers-en');
        await tabTo(page, { name: confirm });
        await enter(page, done('revoked'));
      }
      t.equal(await gw.store.devicesRevokedAt('bob'), gw.clock.now);
      t.equal(await gw.store.sessionsRevokedAt('bob'), gw.clock.now);
    });

    await t.test('make admin, then take the rights away again', async (t) => {
      await tabTo(page, { name: 'Make admin' });
      await enter(page, /\/admin\/user\/make-admin$/);
      t.equal(await heading(page), 'Make bob an admin?');
      t.match(await main(page), 'bob joins the group admins in the users file.');
      await shot(page, '08-confirm-make-admin-en');
      await tabTo(page, { name: 'Make bob an admin' });
      await enter(page, done('admin'));
      await tabTo(page, { name: 'Remove admin rights' });
      await enter(page, /\/admin\/user\/remove-admin$/);
      t.match(await main(page), 'bob leaves the group admins in the users file and can no longer open these pages.');
      await shot(page, '09-confirm-remove-admin-en');
      await tabTo(page, { name: 'Remove the admin rights of bob' });
      await enter(page, done('admin_removed'));
      t.ok(await page.getByText('The user is no longer an admin.').isVisible());
    });

    await t.test('block: the reason typed in, then what the block does, then the block', async (t) => {
      await tabTo(page, { id: 'block-reason' });
      await page.keyboard.type('laptop stolen');
      await tabTo(page, { name: 'Block bob' });
      await enter(page, /\/admin\/user\/block$/);
      t.equal(await heading(page), 'Block bob?');
      const text = await main(page);
      t.match(text, /bob cannot sign in until .+: the password, codes and app passwords are all refused\./);
      t.match(text, 'The reason is kept in the block history and the sign-in log: “laptop stolen”.');
      await shot(page, '10-confirm-block-en');
      t.equal(await gw.store.blockOf('bob'), null, 'not blocked before the confirmation');
      await tabTo(page, { name: 'Block bob' });
      await enter(page, done('blocked'));
      t.match(await gw.store.blockOf('bob'), { reason: 'laptop stolen', actor: 'alice' });
    });
  },
);
