// Issue 17 item 6 in real Chromium, by keyboard only: an admin acting on her own account is
// warned on the confirmation page (block, reset MFA) and cancels by keyboard; as the only
// admin she cannot give up the rights. The same pages in German on a phone in dark mode, and
// the admin tables without sideways scrolling at 700 and 320 px; axe-core finds nothing.
// Screenshots land in test-artifacts/admin/careful-*.png.
import { mkdirSync } from 'node:fs';
import t from 'tap';
import { PASSWORDS, startTestGateway, startUpstream, totpCode } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium } from '../helpers/browser.ts';
import { ARTIFACTS, aliceSignsIn, enter, fits, heading, main, newContext, shot, tabTo, violations } from './careful-kit.ts';

const USER_PAGE = /\/\.gateway\/admin\/user\?name=bob$/;

t.test(
  'an admin acting on her own account is warned first, in English and in German',
  { skip: skipWithoutChromium, timeout: 300_000 },
  async (t) => {
    const gw = await startTestGateway(t, await startUpstream(t));
    const base = await publicOnLocalhost(gw);
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    mkdirSync(ARTIFACTS, { recursive: true });
    const adminContext = await newContext(browser, base);
    t.teardown(() => adminContext.close());
    const page = await adminContext.newPage();
    const aliceSecret = await aliceSignsIn(page, gw, base);
    // Something for the log table to show at narrow widths.
    for (let i = 0; i < 3; i++)
      await gw.store.record({
        kind: 'password',
        user: 'bob',
        clientIp: '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
        userAgent: 'ua',
        rule: null,
        outcome: 'denied',
        detail: 'wrong password',
      });

    await t.test('on her own page alice is warned first, and as the only admin cannot drop her rights', async (t) => {
      await page.goto('/.gateway/admin/user?name=alice');
      await tabTo(page, { id: 'block-reason' });
      await page.keyboard.type('testing');
      await tabTo(page, { name: 'Block alice' });
      await enter(page, /\/admin\/user\/block$/);
      const warning = page.locator('.alert--warn');
      t.match(await warning.innerText(), /^This is your own account\. You are signed out at once and cannot sign in again/);
      await shot(page, '11-confirm-block-self-en');
      t.same(await violations(page), [], 'axe: no violations with the self-warning');
      await tabTo(page, { name: 'Cancel and go back to alice' });
      await enter(page, /\/admin\/user\?name=alice$/);
      t.equal(await gw.store.blockOf('alice'), null);
      await tabTo(page, { name: 'Reset MFA' });
      await enter(page, /\/admin\/user\/reset-mfa$/);
      t.match(await warning.innerText(), 'To come back to these pages, you sign in and set up a new method first.');
      await shot(page, '12-confirm-reset-self-en');
      await page.goto('/.gateway/admin/user?name=alice');
      await tabTo(page, { name: 'Remove admin rights' });
      await enter(page, /\/admin\/user\/remove-admin$/);
      t.match(await page.getByRole('alert').innerText(), 'alice is the only admin. Make another user an admin first');
      await shot(page, '13-last-admin-en');
      t.equal((await gw.store.listMethods('alice')).length, 1);
    });

    await t.test('tables scroll inside their box: no sideways page scroll at 700 and 320 px', async (t) => {
      for (const width of [700, 320]) {
        await page.setViewportSize({ width, height: 900 });
        for (const path of ['/.gateway/admin/log', '/.gateway/admin/user?name=bob', '/.gateway/admin']) {
          await page.goto(path);
          t.ok(await fits(page), `${path} at ${width} px`);
        }
      }
      await shot(page, '14-users-320-en');
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    await t.test('in German, on a phone, in dark mode', async (t) => {
      const context = await newContext(browser, base, { locale: 'de-DE', colorScheme: 'dark', width: 390 });
      t.teardown(() => context.close());
      const de = await context.newPage();
      gw.clock.now += 30_000;
      await de.goto('/.gateway/admin');
      await de.locator('#username').fill('alice');
      await de.locator('#password').fill(PASSWORDS.alice!);
      await Promise.all([de.waitForURL(/\/\.gateway\/second-factor/), de.keyboard.press('Enter')]);
      await de.locator('#code').fill(totpCode(aliceSecret, gw.clock.now));
      await Promise.all([de.waitForURL(`${base}/.gateway/admin`), de.keyboard.press('Enter')]);
      t.equal(await de.getByRole('link', { name: 'Benutzer', exact: true }).getAttribute('aria-current'), 'page');
      t.ok(await de.getByRole('link', { name: 'Ihr Konto' }).isVisible());
      t.ok(await de.getByRole('link', { name: 'Zurück zur Anwendung' }).isVisible());
      await de.goto('/.gateway/admin/user?name=bob');
      t.match(await de.locator('main').innerText(), 'Keine offenen Sitzungen.');
      await shot(de, '15-user-bob-de-phone-dark');
      t.same(await violations(de), [], "axe: no violations on bob's page in German on a dark phone");
      await tabTo(de, { name: 'Sitzungen beenden und Browser vergessen' });
      await enter(de, /\/admin\/user\/revoke$/);
      t.equal(await heading(de), 'Alle Sitzungen von bob beenden und die gespeicherten Browser vergessen?');
      t.match(await main(de), 'bob hat keine offene Sitzung, die beendet werden könnte.');
      t.ok(await fits(de), 'no sideways scrolling on the phone');
      await shot(de, '16-confirm-sessions-de-phone-dark');
      await tabTo(de, { name: 'Abbrechen und zurück zu bob' });
      await enter(de, USER_PAGE);
      await de.goto('/.gateway/admin/user?name=alice');
      await tabTo(de, { name: 'MFA zurücksetzen' });
      await enter(de, /\/admin\/user\/reset-mfa$/);
      t.equal(await heading(de), 'MFA für alice zurücksetzen?');
      t.match(await de.locator('.alert--warn').innerText(), /^Das ist Ihr eigenes Konto\. Sie werden sofort abgemeldet\./);
      t.equal(await de.getByRole('button', { name: 'MFA für alice zurücksetzen' }).count(), 1);
      t.ok(await fits(de));
      await shot(de, '17-confirm-reset-self-de-phone-dark');
      t.same(await violations(de), [], 'axe: no violations in German on a dark phone');
      await tabTo(de, { name: 'Abbrechen und zurück zu alice' });
      await enter(de, /\/admin\/user\?name=alice$/);
      t.equal((await gw.store.listMethods('alice')).length, 1, 'cancelled: nothing removed');
    });
  },
);
