// The sign-in flow in real Chromium, through a real gateway in front of the sample app
// (which echoes the Remote-* headers it received into its page): first sign-in with
// enrollment, a second sign-in with a code and "Don't ask again", a third that skips the
// code on the remembered browser, the sign-in page in German, and a keyboard and
// accessible-name smoke test. Screenshots of every step land in test-artifacts/browser/.
import { mkdirSync, writeFileSync } from 'node:fs';
import t from 'tap';
import type { Test } from 'tap';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PASSWORDS, enrollmentSecret, startTestGateway, totpCode } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium, startSampleUpstream } from '../helpers/browser.ts';

const ARTIFACTS = 'test-artifacts/browser';
/** Generous for a busy 2-core machine; a healthy step takes well under a second. */
const NAV_TIMEOUT = 20_000;
const ACTION_TIMEOUT = 10_000;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What the sample app says the gateway told it, read off its table. */
async function identity(page: Page): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of ['remote-user', 'remote-groups', 'remote-email', 'remote-name']) {
    const row = page.locator('tr').filter({ has: page.locator('th code', { hasText: new RegExp(`^${h}$`) }) });
    out[h] = (await row.locator('td').innerText()).trim();
  }
  return out;
}

/** The enrollment page's `<code class="secret">` element as HTML. */
async function secretHtml(page: Page): Promise<string> {
  return `<code class="secret">${await page.locator('code.secret').innerHTML()}</code>`;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

/** Runs `submit` and waits until the page has loaded a URL matching `to`; returns milliseconds. */
async function timed(page: Page, to: RegExp, submit: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await Promise.all([page.waitForURL(to, { timeout: NAV_TIMEOUT, waitUntil: 'load' }), submit()]);
  return Math.round(performance.now() - start);
}

/**
 * The focused element, described without DOM types (tsconfig has none), once autofocus has run:
 * Chromium moves the focus in a rendering step after `load`, which a busy machine delays. Waits
 * up to 2 s for the focus to leave the body; a page without autofocus then reads `body`.
 */
async function focused(page: Page): Promise<string> {
  await page
    .waitForFunction('document.activeElement !== null && document.activeElement !== document.body', undefined, { timeout: 2000 })
    .catch(() => undefined);
  return page.evaluate<string>(`(() => {
  const e = document.activeElement;
  return e ? e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.getAttribute('type') ? '[' + e.getAttribute('type') + ']' : '') : 'none';
})()`);
}

/**
 * Every visible form control (input, select, textarea, button) with its role and accessible
 * name as Chromium's accessibility tree computes them.
 */
async function controlNames(page: Page): Promise<{ id: string; role: string; name: string }[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: { ignored: boolean; role?: { value: string }; name?: { value: string }; backendDOMNodeId?: number }[];
    };
    const out: { id: string; role: string; name: string }[] = [];
    for (const node of nodes) {
      if (node.ignored || node.backendDOMNodeId === undefined) continue;
      const { node: dom } = (await cdp.send('DOM.describeNode', { backendNodeId: node.backendDOMNodeId })) as {
        node: { nodeName: string; attributes?: string[] };
      };
      if (!['INPUT', 'SELECT', 'TEXTAREA', 'BUTTON'].includes(dom.nodeName)) continue;
      const attrs = dom.attributes ?? [];
      const attr = (n: string) => {
        const i = attrs.indexOf(n);
        return i >= 0 && i % 2 === 0 ? attrs[i + 1] : undefined;
      };
      if (attr('type') === 'hidden') continue;
      out.push({
        id: `${dom.nodeName.toLowerCase()}${attr('id') ? `#${attr('id')}` : `[name=${attr('name') ?? ''}]`}`,
        role: node.role?.value ?? '',
        name: (node.name?.value ?? '').trim(),
      });
    }
    return out;
  } finally {
    await cdp.detach();
  }
}

/**
 * Visible controls as the page sees them, for comparing counts with the accessibility tree.
 * `checkVisibility()` also leaves out what a closed `<details>` hides (it still has boxes).
 */
const visibleControlCount = (page: Page) =>
  page.evaluate<number>(`[...document.querySelectorAll('input, select, textarea, button')]
  .filter((e) => e.type !== 'hidden' && e.checkVisibility()).length`);

async function checkAccessibleNames(t: Test, page: Page, where: string): Promise<void> {
  const controls = await controlNames(page);
  t.equal(controls.length, await visibleControlCount(page), `${where}: every visible control is in the accessibility tree`);
  for (const c of controls) t.ok(c.name.length > 0, `${where}: ${c.id} (${c.role}) has an accessible name: ${JSON.stringify(c.name)}`);
}

async function newContext(browser: Browser, base: string, locale = 'en-US'): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: base, locale, viewport: { width: 1024, height: 800 } });
  context.setDefaultNavigationTimeout(NAV_TIMEOUT);
  context.setDefaultTimeout(ACTION_TIMEOUT);
  return context;
}

t.test('signing in through the gateway in a real browser', { skip: skipWithoutChromium, timeout: 90_000 }, async (t) => {
  const app = await startSampleUpstream(t);
  const gw = await startTestGateway(t, app);
  const base = await publicOnLocalhost(gw);
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  mkdirSync(ARTIFACTS, { recursive: true });
  const timings: Record<string, number> = {};
  const target = `${base}/reports?x=1`;
  const landed = new RegExp(`^${escapeRe(target)}$`);
  /** alice's authenticator secret, from the first sign-in. */
  const secretBox = { value: '' };

  // Chromium's own form POST is accepted, not refused as cross-origin. Guards the bug where
  // the pages' `<meta name="referrer" content="no-referrer">` made Chromium send
  // `Origin: null` with every form POST and the portal's same-origin check answered 403.
  await t.test("a real browser's sign-in POST is accepted", async (t) => {
    const ctx = await newContext(browser, base);
    t.teardown(() => ctx.close());
    const p = await ctx.newPage();
    const origins: string[] = [];
    p.on('request', (r) => {
      if (r.method() === 'POST') origins.push(r.headers().origin ?? '(none)');
    });
    await p.goto(target);
    await p.getByLabel('Username').fill('alice');
    await p.getByLabel('Password').fill('a-wrong-password');
    const [reply] = await Promise.all([
      p.waitForResponse((r) => r.request().method() === 'POST'),
      p.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    t.equal(
      reply.status(),
      401,
      `a wrong password is answered 401 with the form again (got ${reply.status()}; the POST carried Origin: ${origins[0]})`,
    );
  });

  const context = await newContext(browser, base);
  t.teardown(() => context.close());
  const page = await context.newPage();

  const signIn = async (password: string, then: RegExp, key: string, how: 'click' | 'enter' = 'click') => {
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(password);
    timings[key] = await timed(page, then, () =>
      how === 'click' ? page.getByRole('button', { name: 'Sign in' }).click() : page.getByLabel('Password').press('Enter'),
    );
  };
  const signOut = async () => {
    // The sample app's own link, GET /.gateway/sign-out through the gateway: it only asks,
    // and still signed in; the button (a POST with the session's token) signs out.
    await Promise.all([page.waitForURL(/\/\.gateway\/sign-out$/), page.getByRole('link', { name: 'Sign out' }).click()]);
    t.ok(
      (await context.cookies(base)).some((c) => c.name === 'mfa_gateway_session'),
      'opening the sign-out link alone signs nobody out',
    );
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: /signed out/i }).waitFor();
    const names = (await context.cookies(base)).map((c) => c.name);
    t.notOk(names.includes('mfa_gateway_session'), 'the session cookie is gone after signing out');
  };

  await t.test('first sign-in: password, enrollment, then the app with the identity', async (t) => {
    await page.goto(target);
    t.match(page.url(), /\/\.gateway\/sign-in\?rd=/, 'a protected URL leads to the sign-in page with rd=');
    t.equal(new URL(page.url()).searchParams.get('rd'), target, 'rd carries the requested URL');
    await page.getByLabel('Username').waitFor();
    await shot(page, '1-sign-in');

    await signIn(PASSWORDS.alice!, /\/\.gateway\/enroll\?rd=/, 'password → enrollment page');
    t.equal(await page.locator('html').getAttribute('lang'), 'en');
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    const secret = enrollmentSecret(await secretHtml(page));
    t.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit Base32 secret is shown');
    await shot(page, '2-enrollment');
    // What copying puts on the clipboard: a click selects the whole key (user-select: all),
    // and the selection's text is the clipboard's text/plain.
    await page.locator('code.secret').click();
    const copied = await page.evaluate<string>('String(getSelection())');
    t.equal(copied.replace(/\s+/g, ''), secret, 'a click selects the whole key');
    t.equal(copied, secret, `copying the key gives the bare secret, no spaces or line breaks (got ${JSON.stringify(copied)})`);

    await page.getByLabel('Code from the app').fill(totpCode(secret, gw.clock.now));
    timings['enrollment code → app'] = await timed(page, landed, () => page.getByRole('button', { name: 'Finish setup' }).click());
    t.equal(page.url(), target, 'lands on the originally requested URL, query intact');
    t.same(
      await identity(page),
      {
        'remote-user': 'alice',
        'remote-groups': 'admins,users',
        'remote-email': 'alice@example.com',
        'remote-name': 'Alice Example',
      },
      "the app received alice's identity",
    );
    await page.getByText('Signed in as alice').waitFor();
    await shot(page, '3-app-after-enrollment');

    const cookies = await context.cookies(base);
    const session = cookies.find((c) => c.name === 'mfa_gateway_session');
    t.ok(session, 'a session cookie is set');
    t.equal(session?.httpOnly, true, 'the session cookie is HttpOnly');
    t.equal(session?.sameSite, 'Lax', 'the session cookie is SameSite=Lax');
    t.equal(session?.expires, -1, 'the session cookie ends with the browser session');
    await signOut();
    await shot(page, '4-signed-out');
    secretBox.value = secret;
  });

  await t.test('second sign-in: password, a fresh code and "Don\'t ask again"', async (t) => {
    await page.goto(target);
    await signIn(PASSWORDS.alice!, /\/\.gateway\/second-factor\?rd=/, 'password → code page');
    await page.getByRole('heading', { name: /Verify it/ }).waitFor();
    // The enrollment code's 30-second step is spent (replay protection); move to the next one.
    gw.clock.now += 30_000;
    const remember = page.getByLabel(/Don.t ask again on this browser for 14 days/);
    t.equal(await remember.isChecked(), false, '"Don\'t ask again" starts unticked');
    await page.getByLabel('Verification code').fill(totpCode(secretBox.value, gw.clock.now));
    await remember.check();
    await shot(page, '5-code-page');
    timings['code → app'] = await timed(page, landed, () => page.getByRole('button', { name: 'Verify' }).click());
    t.equal((await identity(page))['remote-user'], 'alice', 'the app sees alice');
    const device = (await context.cookies(base)).find(
      (c) => c.name !== 'mfa_gateway_session' && c.name !== 'mfa_gateway_session_csrf' && c.expires > Date.now() / 1000,
    );
    t.ok(device, `a persistent remember-browser cookie is set (${device?.name})`);
    t.ok(device && device.expires - Date.now() / 1000 > 13 * 86_400, 'it lasts about 14 days');
    t.equal(device?.httpOnly, true, 'the remember-browser cookie is HttpOnly');
    await shot(page, '6-app-after-code');
    await signOut();
  });

  await t.test('third sign-in: the remembered browser skips the code page', async (t) => {
    await page.goto(target);
    t.match(page.url(), /\/\.gateway\/sign-in\?rd=/, 'signed out: the sign-in page again');
    const seen: string[] = [];
    const onNav = (f: { url(): string }) => seen.push(f.url());
    page.on('framenavigated', onNav);
    await signIn(PASSWORDS.alice!, landed, 'password → app (remembered browser)', 'enter');
    page.off('framenavigated', onNav);
    t.notOk(
      seen.some((u) => /second-factor|enroll/.test(u)),
      `no code page on the way (${seen.join(' → ')})`,
    );
    t.equal((await identity(page))['remote-user'], 'alice', 'the app sees alice');
    await shot(page, '7-app-remembered');
  });

  await t.test('the sign-in page in German', async (t) => {
    const de = await newContext(browser, base, 'de-DE');
    t.teardown(() => de.close());
    const p = await de.newPage();
    await p.goto(target);
    t.match(p.url(), /\/\.gateway\/sign-in\?rd=/);
    t.equal(await p.locator('html').getAttribute('lang'), 'de', 'html lang=de');
    await p.getByLabel('Benutzername').waitFor();
    t.equal(await p.getByLabel('Kennwort').count(), 1, 'the password field is labelled "Kennwort" (one term, as Microsoft’s German UI)');
    t.equal(await p.getByRole('heading', { name: 'Anmelden' }).count(), 1, 'the heading is "Anmelden"');
    t.equal(await p.getByRole('button', { name: 'Anmelden' }).count(), 1, 'the button is "Anmelden"');
    t.match(await p.title(), /^Anmelden · /, 'the title is German');
    t.match(await p.locator('footer').innerText(), /Brauchen Sie Hilfe/, 'the footer is German');
    await shot(p, '8-sign-in-de');
    // A wrong password, in German.
    await p.getByLabel('Benutzername').fill('alice');
    await p.getByLabel('Kennwort').fill('not-the-password');
    await Promise.all([p.waitForLoadState('load'), p.getByRole('button', { name: 'Anmelden' }).click()]);
    const alert = p.getByRole('alert');
    await alert.waitFor();
    t.match(await alert.innerText(), /Benutzername oder (das )?Kennwort/i, `a German error: ${await alert.innerText()}`);
    t.equal(await p.getByLabel('Benutzername').inputValue(), 'alice', 'the user name is kept');
    t.equal(await focused(p), 'input#password[password]', 'focus is on the password field after a failure');
    await shot(p, '9-sign-in-de-failed');
  });

  await t.test('keyboard and accessible names', async (t) => {
    const ctx = await newContext(browser, base);
    t.teardown(() => ctx.close());
    const p = await ctx.newPage();
    await p.goto(target);
    await p.getByLabel('Username').waitFor();
    t.equal(await focused(p), 'input#username[text]', 'the username field has focus on load (autofocus)');
    await p.keyboard.press('Tab');
    t.equal(await focused(p), 'input#password[password]', 'Tab: username → password');
    await p.keyboard.press('Tab');
    t.equal(await focused(p), 'button[submit]', 'Tab: password → submit');
    await p.keyboard.press('Shift+Tab');
    t.equal(await focused(p), 'input#password[password]', 'Shift+Tab goes back');
    await checkAccessibleNames(t, p, 'sign-in');

    // bob's first sign-in, entirely by keyboard, to check the enrollment and code pages too.
    await p.getByLabel('Username').focus();
    await p.keyboard.type('bob');
    await p.keyboard.press('Tab');
    await p.keyboard.type(PASSWORDS.bob!);
    await Promise.all([p.waitForURL(/\/\.gateway\/enroll\?rd=/), p.keyboard.press('Enter')]);
    await checkAccessibleNames(t, p, 'enroll');
    const qr = p.getByRole('img', { name: /QR code that adds bob/ });
    t.equal(await qr.count(), 1, 'the QR code has an accessible name');
    const secret = enrollmentSecret(await secretHtml(p));
    // A wrong code first: the error is announced and tied to the field.
    await p.getByLabel('Code from the app').fill('000000' === totpCode(secret, gw.clock.now) ? '111111' : '000000');
    await Promise.all([p.waitForLoadState('load'), p.getByLabel('Code from the app').press('Enter')]);
    await p.getByRole('alert').waitFor();
    const code = p.getByLabel('Code from the app');
    t.equal(await code.getAttribute('aria-invalid'), 'true', 'the code field is marked invalid');
    t.match((await code.getAttribute('aria-describedby')) ?? '', /code-error/, 'and described by the error');
    t.equal(await focused(p), 'input#code[text]', 'focus is on the code field after a wrong code');
    const secretAfter = enrollmentSecret(await secretHtml(p));
    t.equal(secretAfter, secret, 'a wrong code keeps the key (the one already scanned still works)');
    await shot(p, '10-enroll-wrong-code');
    await p.keyboard.type(totpCode(secretAfter, gw.clock.now));
    await Promise.all([p.waitForURL(landed), p.keyboard.press('Enter')]);
    t.equal((await identity(p))['remote-user'], 'bob', 'bob reached the app by keyboard alone');

    // The code page: sign out, sign in again, check names there.
    await Promise.all([p.waitForURL(/sign-out$/), p.getByRole('link', { name: 'Sign out' }).click()]);
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByRole('heading', { name: /signed out/i }).waitFor();
    await p.goto(target);
    await p.getByLabel('Username').fill('bob');
    await p.getByLabel('Password').fill(PASSWORDS.bob!);
    await Promise.all([p.waitForURL(/\/\.gateway\/second-factor\?rd=/), p.getByRole('button', { name: 'Sign in' }).click()]);
    t.equal(await focused(p), 'input#code[text]', 'the code field has focus on the code page');
    await checkAccessibleNames(t, p, 'second-factor');
  });

  t.comment(`timings (ms): ${JSON.stringify(timings)}`);
  writeFileSync(`${ARTIFACTS}/timings.json`, `${JSON.stringify(timings, null, 2)}\n`);
});
