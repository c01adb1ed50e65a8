/**
 * @module test/admin/careful-kit
 * What the Chromium tests of the careful admin actions share: contexts, keyboard moves (Tab to
 * a control, Enter), the axe-core audit, screenshots into test-artifacts/admin/, and alice's
 * first sign-in.
 */
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PASSWORDS, enrollmentSecret, totpCode, type TestGateway } from '../helpers/gateway.ts';

export const ARTIFACTS = 'test-artifacts/admin';

const AXE = readFileSync(new URL(import.meta.resolve('axe-core/axe.min.js')), 'utf8');

/** axe-core's WCAG 2.1 A/AA and best-practice violations on the page, as "rule: targets" (injected by evaluate: the CSP stays). */
export async function violations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  return page.evaluate<string[]>(`axe
    .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
    .then((r) => r.violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`);
}

export const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/careful-${name}.png`, fullPage: true });

export async function newContext(
  browser: Browser,
  base: string,
  options: { locale?: string; userAgent?: string; colorScheme?: 'light' | 'dark'; width?: number } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    baseURL: base,
    locale: options.locale ?? 'en-US',
    colorScheme: options.colorScheme ?? 'light',
    viewport: { width: options.width ?? 1280, height: 900 },
    ...(options.userAgent ? { userAgent: options.userAgent } : {}),
  });
  context.setDefaultNavigationTimeout(20_000);
  context.setDefaultTimeout(10_000);
  return context;
}

/** The focused element's id and accessible name (its aria-label, else its text). A string: tsconfig has no DOM types. */
const focused = (page: Page) =>
  page.evaluate<{ id: string; name: string }>(`(() => {
    const e = document.activeElement;
    return { id: (e && e.id) || '', name: ((e && (e.getAttribute('aria-label') || e.textContent)) || '').trim() };
  })()`);

/**
 * Moves the focus with Tab, as a keyboard user does, until the wanted control has it. The
 * presses needed are counted from the controls shown in document order, pressed, and the
 * focus is checked; where the tab order differs, it goes on one press at a time.
 */
export async function tabTo(page: Page, want: { name: string | RegExp } | { id: string }): Promise<void> {
  const matches = (got: { id: string; name: string }) =>
    'id' in want ? got.id === want.id : typeof want.name === 'string' ? got.name === want.name : want.name.test(got.name);
  const spec = JSON.stringify(
    'id' in want ? { id: want.id } : typeof want.name === 'string' ? { name: want.name } : { re: want.name.source },
  );
  const presses = await page.evaluate<number>(`(() => {
    const want = ${spec};
    const nameOf = (e) => (e.getAttribute('aria-label') || e.textContent || '').trim();
    const shown = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')]
      .filter((e) => !e.disabled && e.getClientRects().length > 0);
    const hit = (e) =>
      want.id !== undefined ? e.id === want.id : want.re !== undefined ? new RegExp(want.re).test(nameOf(e)) : nameOf(e) === want.name;
    const at = shown.findIndex(hit);
    return at - shown.indexOf(document.activeElement);
  })()`);
  for (let i = 0; i < presses; i++) await page.keyboard.press('Tab');
  const seen: string[] = [];
  for (let i = 0; i < 150; i++) {
    const got = await focused(page);
    if (matches(got)) return;
    seen.push(got.name || `#${got.id}`);
    await page.keyboard.press('Tab');
  }
  throw new Error(`${'id' in want ? `#${want.id}` : want.name} not reached by Tab; focus went through: ${seen.slice(0, 60).join(' | ')}`);
}

/** Enter on the focused control, and the page it leads to. */
export async function enter(page: Page, url: RegExp): Promise<void> {
  await Promise.all([page.waitForURL(url), page.keyboard.press('Enter')]);
}

export const heading = (page: Page) => page.getByRole('heading', { level: 1 }).innerText();
export const main = (page: Page) => page.locator('main').innerText();

/** No sideways scrolling: the document is no wider than the window. */
export async function fits(page: Page): Promise<boolean> {
  return page.evaluate<boolean>('document.documentElement.scrollWidth <= document.documentElement.clientWidth');
}

/** alice signs in (password, first enrollment) and lands on the admin pages; returns her TOTP secret. */
export async function aliceSignsIn(page: Page, gw: TestGateway, base: string): Promise<string> {
  await page.goto('/.gateway/admin');
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(PASSWORDS.alice!);
  await Promise.all([page.waitForURL(/\/\.gateway\/enroll/), page.getByRole('button', { name: 'Sign in' }).click()]);
  const secret = enrollmentSecret(`<code class="secret">${await page.locator('code.secret').innerHTML()}</code>`);
  await page.getByLabel('Code from the app').fill(totpCode(secret, gw.clock.now));
  await Promise.all([page.waitForURL(`${base}/.gateway/admin`), page.getByRole('button', { name: 'Finish setup' }).click()]);
  return secret;
}
