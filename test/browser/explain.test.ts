// Issue 13 item 3 in real Chromium: a user refused by a group rule reads the rule's
// explanation and remediation on the 403 page, in English and in German, with a short request
// id; an admin runs `mfa-gateway explain --request ID` (in-process, as on the command line)
// and finds that request's trace. Screenshots land in test-artifacts/browser/explain-*.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import t from 'tap';
import type { Browser, Page } from 'playwright-core';
import { main } from '../../src/cli/main.ts';
import { PASSWORDS, enrollmentSecret, startTestGateway, totpCode, type TestGateway } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium, startSampleUpstream } from '../helpers/browser.ts';

const ARTIFACTS = 'test-artifacts/browser';
const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });

const FINANCE_RULE = {
  name: 'finance',
  paths: ['/finance/**'],
  groups: ['finance'],
  policy: 'two_factor',
  explanation: { en: 'The finance reports are for the finance team <only>.', de: 'Die Finanzberichte sind nur für das Finanzteam.' },
  remediation: {
    en: 'Ask finance-help@example.com to add you to the finance group.',
    de: 'Bitten Sie finance-help@example.com um Aufnahme in die Gruppe finance.',
  },
};

/** `mfa-gateway explain ...` in-process; returns exit code and output. */
async function explain(gw: TestGateway, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write: (c: Buffer, _e, cb) => {
        add(c.toString('utf8'));
        cb();
      },
    });
  const code = await main(['explain', ...args, '--config', join(gw.dir, 'gateway.yaml')], {
    stdin: new PassThrough(),
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    env: {},
  });
  return { code, out, err };
}

/** Signs bob in (password, first enrollment) in `locale`; ends on the refused /finance page. */
async function bobOpensFinance(
  browser: Browser,
  gw: TestGateway,
  base: string,
  locale: string,
  prefix: string,
  enrolled?: string,
): Promise<{ page: Page; secret: string }> {
  const context = await browser.newContext({ baseURL: base, locale, viewport: { width: 1024, height: 800 } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  await page.goto(`${base}/finance/q3`);
  await page.locator('#rule-explanation').waitFor();
  await shot(page, `explain-${prefix}1-sign-in`);
  await page.locator('#username').fill('bob');
  await page.locator('#password').fill(PASSWORDS.bob!);
  await Promise.all([
    page.waitForURL(enrolled ? /\/\.gateway\/second-factor/ : /\/\.gateway\/enroll/),
    page.locator('button[type=submit]').first().click(),
  ]);
  const secret = enrolled ?? enrollmentSecret(`<code class="secret">${await page.locator('code.secret').innerHTML()}</code>`);
  await page.locator('#code').fill(totpCode(secret, gw.clock.now));
  await Promise.all([page.waitForURL(/\/finance\/q3$/), page.locator('form:has(#code) button[type=submit]').click()]);
  await page.locator('#request-id').waitFor();
  await shot(page, `explain-${prefix}2-denied`);
  return { page, secret };
}

t.test(
  'a denied user reads why, in English and German; an admin finds the trace by the id on the page',
  { skip: skipWithoutChromium, timeout: 180_000 },
  async (t) => {
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    mkdirSync(ARTIFACTS, { recursive: true });
    const gw = await startTestGateway(t, await startSampleUpstream(t), {
      rules: [FINANCE_RULE, { paths: ['/**'], policy: 'two_factor' }],
    });
    const base = await publicOnLocalhost(gw);

    const { page: en, secret } = await bobOpensFinance(browser, gw, base, 'en-US', 'en-');
    t.equal(await en.locator('h1').innerText(), 'Access denied');
    t.equal(
      await en.locator('#rule-explanation').innerText(),
      'The finance reports are for the finance team <only>.',
      'escaped, shown as text',
    );
    t.match(await en.locator('#rule-remediation').innerText(), /What you can do: Ask finance-help@example\.com/);
    const idLine = await en.locator('#request-id').innerText();
    const id = /Request ID: ([0-9a-f]{12})$/.exec(idLine.trim())?.[1];
    t.ok(id, `a short request id on the page: ${idLine}`);

    gw.clock.now += 60_000; // a new TOTP step: the first code is spent
    const { page: de } = await bobOpensFinance(browser, gw, base, 'de-DE', 'de-', secret);
    t.equal(await de.locator('#rule-explanation').innerText(), 'Die Finanzberichte sind nur für das Finanzteam.');
    t.match(await de.locator('#rule-remediation').innerText(), /Was Sie tun können: Bitten Sie/);
    t.match(await de.locator('#request-id').innerText(), /Anfrage-ID: [0-9a-f]{12}/);

    await gw.traces.flush();
    const text = await explain(gw, '--request', id!);
    t.equal(text.code, 0, text.err);
    t.match(text.out, new RegExp(`request ${id}`));
    t.match(text.out, /GET localhost\/finance\/q3/);
    t.match(text.out, /client address: 127\.0\.0\.1 \(from the connection\)/);
    t.match(text.out, /rule: finance/);
    t.match(text.out, /session: password and second factor, user bob/);
    t.match(text.out, /missing: user bob is not in any of the groups: finance/);
    t.match(text.out, /outcome: forbidden/);
    const json = await explain(gw, '--request', id!, '--json');
    t.match(JSON.parse(json.out), {
      requestId: id,
      rule: 'finance',
      user: 'bob',
      clientFrom: 'socket',
      trustedNetwork: false,
      outcome: 'forbidden',
    });
    const unknown = await explain(gw, '--request', '000000000000');
    t.equal(unknown.code, 1, 'an unknown id is an error');
    t.equal((await explain(gw, '--request', 'not-an-id')).code, 2, 'a malformed id is a usage error');
  },
);
