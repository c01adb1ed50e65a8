/**
 * @module test/browser/axe-states
 * Every page state of the gateway and how a real browser reaches it: the one table the
 * accessibility audit (`axe-<area>.test.ts`, one file per area of {@link AREAS}) walks. A
 * state is a page template in one of its variants (empty, with an error, locked, with a
 * notice, ...), reached through a real gateway in front of the sample app by the real flow
 * (sign-in, codes, forms, mail), in the browser of one of a few actors (each its own
 * context, so its own cookies and session).
 *
 * Adding a page or a variant: add an entry to its area next to its neighbours. `open` is
 * called once per language (the page's requests already ask for it) and must leave the page
 * showing the state; `shows` (and `status`, `title`, `hides`) prove it got there, so a state
 * that can no longer be reached fails instead of auditing the wrong page.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '@node-rs/argon2';
import YAML from 'yaml';
import type { Browser, CDPSession, Page } from 'playwright-core';
import type { Test } from 'tap';
import { issueAccessPass } from '../../src/factors/fallback/access-pass.ts';
import { base32Decode } from '../../src/factors/totp/totp.ts';
import { defaultMessages, type MessageKey } from '../../src/portal/messages.ts';
import type { PageName } from '../../src/portal/pages.ts';
import { axeViolations, describeViolations, loadAxe } from '../helpers/axe.ts';
import { startTestGateway, totpCode, type TestGateway } from '../helpers/gateway.ts';
import { launchChromium, publicOnLocalhost, skipWithoutChromium, startSampleUpstream } from '../helpers/browser.ts';
import { freePort } from '../helpers/net.ts';
import { startSmtp, type TestSmtp } from '../notify/smtp.ts';

const LANGS = ['en', 'de'] as const;
type Lang = (typeof LANGS)[number];
const SCHEMES = ['light', 'dark'] as const;
const VIEWPORTS = [
  { name: '320', width: 320, height: 640 },
  { name: 'phone', width: 390, height: 844 },
  { name: 'desktop', width: 1280, height: 900 },
] as const;
const ARTIFACTS = 'test-artifacts/axe';

/** Whose browser a state is shown in; see `openActor` for how each starts. */
type Actor = 'visitor' | 'alice' | 'alice-password' | 'bob' | 'carol' | 'frank';
type User = 'alice' | 'bob' | 'carol' | 'dave' | 'frank';

type ConfigPatch = NonNullable<Parameters<typeof publicOnLocalhost>[1]>;

interface Scene {
  gw: TestGateway;
  base: string;
  smtp: TestSmtp;
  /** A loopback port nothing listens on: the upstream that is down, the identity provider that never answers. */
  closedPort: number;
  /** The actor's page (its context is created, and the actor signed in, on first use). */
  page(actor: Actor): Promise<Page>;
  /** Reloads the gateway (as on SIGHUP) with the audit config, changed by `patch`. */
  configure(patch?: ConfigPatch): Promise<void>;
  /** The next TOTP code of alice's or bob's app: the clock moves one step first, so no code is used twice. */
  code(): string;
  /** The report links of frank's sign-in notices, one per language. */
  fraudLinks: string[];
}

interface PageState {
  /** `<page>/<variant>`, for the report. */
  name: string;
  /** The template the state shows (`views/pages/<page>.mustache`); every page has at least one state. */
  page: PageName;
  as: Actor;
  /** Runs once, before the first language: the steps and data the state builds on. */
  setup?: (s: Scene) => Promise<void>;
  /** Brings the actor's page into the state; returns the status of the response that showed it. */
  open: (s: Scene, page: Page, lang: Lang) => Promise<number>;
  /** A selector visible only in this state. */
  shows: string;
  /** A selector the state must not have (the form a lockout replaces, say). */
  hides?: string;
  status?: number;
  /** The page's h1, by message key. */
  title?: MessageKey;
  /** Runs once after the last language (lifting a lockout, say). */
  cleanup?: (s: Scene) => Promise<void>;
}

const G = '/.gateway';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const WRONG_CODE = '000000';
/** Well-formed (12 and 16 characters of the codes' alphabet), never issued. */
const WRONG_RECOVERY_CODE = 'abcd-efgh-jkmn';
const WRONG_ACCESS_PASS = 'abcd-efgh-jkmn-pqrs';
const REPORT_LINK = /\/\.gateway\/fraud-report\?t=[A-Za-z0-9_.-]+/;
const CODE_BUTTON = 'form:has(#code) button[type=submit]';
const PASS_BUTTON = 'form:has(#pass) button[type=submit]';

const USERS: Record<User, { name: string; email?: string; groups: string[] }> = {
  alice: { name: 'Alice Example', email: 'alice@example.com', groups: ['admins', 'users'] },
  bob: { name: 'Bob Builder', email: 'bob@example.com', groups: ['users'] },
  carol: { name: 'Carol Meyer', email: 'carol@example.com', groups: ['users'] },
  dave: { name: 'Dave Jones', groups: ['users'] },
  frank: { name: 'Frank Weber', email: 'frank@example.com', groups: ['users'] },
};
const passwordOf = (user: User) => `${user}-audit-password`;

const RULES = [
  { paths: ['/down/**'], policy: 'bypass', upstream: 'down' },
  { paths: ['/slow/**'], policy: 'bypass', upstream: 'slow' },
  {
    name: 'finance',
    paths: ['/finance/**'],
    groups: ['finance'],
    policy: 'two_factor',
    explanation: { en: 'The finance reports are for the finance team only.', de: 'Die Finanzberichte sind nur für das Finanzteam.' },
    remediation: {
      en: 'Ask finance-help@example.com to add you to the finance group.',
      de: 'Bitten Sie finance-help@example.com um Aufnahme in die Gruppe finance.',
    },
  },
  {
    name: 'payroll',
    paths: ['/payroll/**'],
    policy: 'two_factor',
    mfa_max_age: 0,
    explanation: {
      en: 'Payroll asks for a fresh code at every visit.',
      de: 'Die Lohnabrechnung verlangt bei jedem Besuch einen neuen Code.',
    },
  },
  { name: 'vault', paths: ['/keys/**'], policy: 'two_factor', mfa_methods: ['webauthn'] },
  { paths: ['/**'], policy: 'two_factor' },
];

/** Sign-in through an identity provider (which never answers) and with a passkey. */
const withProviderAndPasskey =
  (issuerPort: number): ConfigPatch =>
  (c) => {
    c.federation = {
      oidc: {
        issuer: `http://127.0.0.1:${issuerPort}`,
        client_id: 'mfa-gateway',
        client_secret: 'not-a-real-secret',
        display_name: 'Contoso ID',
      },
    };
    c.mfa.webauthn = { passwordless: true };
  };

const devtools = new WeakMap<Page, CDPSession>();

/**
 * Makes the page's requests ask for `lang`. A context's locale is fixed, and Chromium lets it
 * outrank an Accept-Language header set with `setExtraHTTPHeaders`; the DevTools override
 * lasts as long as its session, which is kept for the page.
 */
async function askFor(page: Page, lang: Lang): Promise<void> {
  let cdp = devtools.get(page);
  if (!cdp) {
    cdp = await page.context().newCDPSession(page);
    devtools.set(page, cdp);
  }
  await cdp.send('Emulation.setUserAgentOverride', { userAgent: await page.evaluate<string>('navigator.userAgent'), acceptLanguage: lang });
}

const go = async (page: Page, path: string): Promise<number> => (await page.goto(path))?.status() ?? 0;

/** Clicks `button` and waits for the page it leads to (after any redirects); that page's status. */
async function submit(page: Page, button: string): Promise<number> {
  const response = page.waitForResponse(
    (r) => r.request().isNavigationRequest() && r.frame() === page.mainFrame() && (r.status() < 300 || r.status() >= 400),
  );
  const [r] = await Promise.all([response, page.waitForEvent('load'), page.locator(button).click()]);
  return r.status();
}

async function fill(page: Page, fields: Record<string, string>): Promise<void> {
  for (const [selector, value] of Object.entries(fields)) await page.locator(selector).fill(value);
}

/** The password step; the clock moves a second first, so a session is never as old as a sign-out everywhere. */
async function password(s: Scene, page: Page, user: User): Promise<number> {
  s.gw.clock.now += 1000;
  await go(page, `${G}/sign-in`);
  await fill(page, { '#username': user, '#password': passwordOf(user) });
  return submit(page, 'form:has(#password) button[type=submit]');
}

/** Opens `path`; when the gateway first asks for a fresh code (account changes, admin pages), gives it. */
async function fresh(s: Scene, page: Page, path: string): Promise<number> {
  const status = await go(page, path);
  const verify = page.locator(`form[action$="/methods/verify"] #code, form[action="${G}/admin/verify"] #code`);
  if ((await verify.count()) === 0) return status;
  await verify.fill(s.code());
  return submit(page, CODE_BUTTON);
}

/** Posts a wrong `value` in `field` until the form gives way to the lockout notice. */
async function lockOut(page: Page, field: string, value: string, button: string): Promise<number> {
  let status = 200;
  for (let i = 0; i < 10 && (await page.locator(field).count()) > 0; i++) {
    await page.locator(field).fill(value);
    status = await submit(page, button);
  }
  return status;
}

const unlock = (user: User) => (s: Scene) => s.gw.store.clearLockout(user, 'second_factor');

/** frank signs in from two new browsers (one per language): each sends him a notice with a report link. */
async function mailFrankTwice(s: Scene): Promise<void> {
  const page = await s.page('frank');
  for (let i = 0; i < LANGS.length; i++) {
    await page.context().clearCookies();
    await password(s, page, 'frank');
  }
  await s.gw.mailer.idle();
  s.fraudLinks = s.smtp.mails
    .filter((m) => m.to.includes('frank@example.com'))
    .map((m) => REPORT_LINK.exec(m.text)?.[0])
    .filter((link) => link !== undefined);
  if (s.fraudLinks.length < LANGS.length) throw new Error(`${s.fraudLinks.length} report links mailed to frank`);
}
const fraudLink = (s: Scene, lang: Lang) => s.fraudLinks[LANGS.indexOf(lang)]!;

/** An admin's temporary access pass for carol, entered on her refused enrollment page: enrollment opens. */
async function carolEntersAccessPass(s: Scene): Promise<void> {
  const { pass } = await issueAccessPass({ store: s.gw.store, clock: () => s.gw.clock.now }, 'carol', {
    validMs: 8 * 3_600_000,
    uses: 1,
    actor: 'alice',
    context: { clientIp: '127.0.0.1', userAgent: '', rule: null },
  });
  const page = await s.page('carol');
  await go(page, `${G}/enroll`);
  await fill(page, { '#pass': pass });
  await submit(page, PASS_BUTTON);
}

/** The actor registers a security key (Chromium's virtual authenticator) from the account pages. */
async function registerKey(s: Scene, page: Page, user: User): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: false, hasUserVerification: false, automaticPresenceSimulation: true },
  });
  await fresh(s, page, `${G}/account/security-keys/add`);
  await fill(page, { '#key-name': 'Blue key' });
  await submit(page, 'form[data-webauthn="register"] button[type=submit]');
  if ((await s.gw.store.listCredentials(user)).length !== 1) throw new Error(`${user}'s security key was not registered`);
}

/** bob gives his code, registers a security key and creates an app password. */
async function bobAddsKeyAndAppPassword(s: Scene): Promise<void> {
  const page = await s.page('bob');
  await go(page, `${G}/second-factor`);
  await fill(page, { '#code': s.code() });
  await submit(page, CODE_BUTTON);
  await registerKey(s, page, 'bob');
  await go(page, `${G}/account/app-passwords`);
  await fill(page, { '#name': 'Calendar' });
  await submit(page, 'form:has(#name) button[type=submit]');
}

/** bob on his account page with both factors, signing in again where needed. */
async function bobOnAccount(s: Scene, page: Page): Promise<void> {
  await go(page, `${G}/account`);
  if ((await page.locator('#password').count()) > 0) await password(s, page, 'bob');
  if ((await page.locator('#code').count()) > 0) {
    await fill(page, { '#code': s.code() });
    await submit(page, CODE_BUTTON);
    await go(page, `${G}/account`);
  }
}

const TOKENS_CSV = [
  'upn,serial number,secret key,time interval,manufacturer,model',
  'bob,TK-200,JBSWY3DPEHPK3PXP,30,Feitian,c200',
  'zed,TK-201,JBSWY3DPEHPK3PXP,30,Feitian,c200',
  'bob,TK-202,JBSWY3DPEHPK3PXP,45,Feitian,c200',
].join('\r\n');

/**
 * Every page state, by area, in the order they are reached: later states build on earlier
 * ones (bob passes his second factor before his 403, carol's access pass opens her
 * enrollment, ...). Each area runs in a gateway of its own (see `axe-<area>.test.ts`).
 */
const AREAS = {
  'signed-out': [
    { name: 'sign-in/empty', page: 'sign-in', as: 'visitor', open: (_, p) => go(p, `${G}/sign-in`), shows: '#username', status: 200 },
    {
      name: 'sign-in/rule-explained',
      page: 'sign-in',
      as: 'visitor',
      open: (_, p) => go(p, '/finance/q3'),
      shows: '#rule-explanation',
      status: 200,
    },
    {
      name: 'sign-in/fields-missing',
      page: 'sign-in',
      as: 'visitor',
      async open(_, p) {
        await go(p, `${G}/sign-in`);
        return submit(p, 'form:has(#password) button[type=submit]');
      },
      shows: '#username-error',
      status: 400,
    },
    {
      name: 'sign-in/wrong-password',
      page: 'sign-in',
      as: 'visitor',
      async open(_, p) {
        await go(p, `${G}/sign-in`);
        await fill(p, { '#username': 'zoe', '#password': 'not-the-password' });
        return submit(p, 'form:has(#password) button[type=submit]');
      },
      shows: '.alert--error',
      status: 401,
    },
    {
      name: 'sign-in/locked',
      page: 'sign-in',
      as: 'visitor',
      async open(_, p) {
        let status = 0;
        for (let i = 0; i < 6 && status !== 429; i++) {
          await go(p, `${G}/sign-in`);
          await fill(p, { '#username': 'mallory', '#password': 'not-the-password' });
          status = await submit(p, 'form:has(#password) button[type=submit]');
        }
        return status;
      },
      shows: '.alert--error',
      status: 429,
    },
    {
      name: 'signed-out',
      page: 'signed-out',
      as: 'visitor',
      open: (_, p) => go(p, `${G}/sign-out`),
      shows: '.icon-badge--ok',
      status: 200,
    },
    {
      name: 'error/404',
      page: 'error',
      as: 'visitor',
      open: (_, p) => go(p, `${G}/no-such-page`),
      shows: '#request-id',
      title: 'error_404',
      status: 404,
    },
    {
      name: 'error/502',
      page: 'error',
      as: 'visitor',
      open: (_, p) => go(p, '/down/report'),
      shows: '#request-id',
      title: 'error_502',
      status: 502,
    },
    {
      name: 'error/504',
      page: 'error',
      as: 'visitor',
      open: (_, p) => go(p, '/slow/report'),
      shows: '#request-id',
      title: 'error_504',
      status: 504,
    },
    {
      name: 'fraud-report',
      page: 'fraud-report',
      as: 'visitor',
      setup: mailFrankTwice,
      open: (s, p, lang) => go(p, fraudLink(s, lang)),
      shows: 'form:has(input[name="t"]) button',
      status: 200,
    },
    {
      name: 'fraud-reported',
      page: 'fraud-reported',
      as: 'visitor',
      async open(s, p, lang) {
        await go(p, fraudLink(s, lang));
        return submit(p, 'form:has(input[name="t"]) button[type=submit]');
      },
      shows: 'h1',
      title: 'fraud_reported_title',
      status: 200,
    },
    {
      name: 'message/fraud-already-reported',
      page: 'message',
      as: 'visitor',
      open: (s, p, lang) => go(p, fraudLink(s, lang)),
      shows: 'h1',
      title: 'fraud_already_title',
    },
    {
      name: 'message/fraud-link-invalid',
      page: 'message',
      as: 'visitor',
      open: (_, p) => go(p, `${G}/fraud-report?t=not-a-report-link`),
      shows: 'h1',
      title: 'fraud_link_invalid_title',
      status: 400,
    },
    {
      name: 'sign-in/provider-and-passkey',
      page: 'sign-in',
      as: 'visitor',
      setup: (s) => s.configure(withProviderAndPasskey(s.closedPort)),
      open: (_, p) => go(p, `${G}/sign-in`),
      shows: 'form[data-webauthn="passwordless"]:not([hidden]) button',
      status: 200,
    },
    {
      name: 'sign-in/provider-refused',
      page: 'sign-in',
      as: 'visitor',
      open: (_, p) => go(p, `${G}/oidc/callback?state=forged&code=forged`),
      shows: '.alert--error',
      status: 401,
    },
    {
      name: 'error/502-identity-provider',
      page: 'error',
      as: 'visitor',
      open: (_, p) => go(p, `${G}/oidc/start`),
      shows: '#request-id',
      title: 'error_502',
      status: 502,
      cleanup: (s) => s.configure(),
    },
  ],
  // The code step (bob, password done), then first enrollment (carol, no method yet, not on the office network).
  'sign-in-steps': [
    { name: 'second-factor/empty', page: 'second-factor', as: 'bob', open: (_, p) => go(p, `${G}/second-factor`), shows: '#remember' },
    {
      name: 'second-factor/wrong-code',
      page: 'second-factor',
      as: 'bob',
      async open(s, p) {
        await unlock('bob')(s);
        await go(p, `${G}/second-factor`);
        await fill(p, { '#code': WRONG_CODE });
        return submit(p, CODE_BUTTON);
      },
      shows: '#code-error',
      status: 401,
    },
    {
      name: 'second-factor/wrong-recovery-code',
      page: 'second-factor',
      as: 'bob',
      async open(s, p) {
        await unlock('bob')(s);
        // The recovery code is on the "Use another method" page.
        await go(p, `${G}/second-factor?use=other`);
        await fill(p, { '#recovery-code': WRONG_RECOVERY_CODE });
        return submit(p, 'form:has(#recovery-code) button[type=submit]');
      },
      shows: '#recovery-error',
      status: 401,
    },
    {
      name: 'second-factor/locked',
      page: 'second-factor',
      as: 'bob',
      async open(_, p) {
        await go(p, `${G}/second-factor`);
        return lockOut(p, '#code', WRONG_CODE, CODE_BUTTON);
      },
      shows: '.alert--error',
      hides: '#code',
      title: 'second_factor_locked_title',
      cleanup: unlock('bob'),
    },
    {
      name: 'error/403-explained',
      page: 'error',
      as: 'bob',
      async setup(s) {
        const p = await s.page('bob');
        await go(p, `${G}/second-factor`);
        await fill(p, { '#code': s.code() });
        await submit(p, CODE_BUTTON);
      },
      open: (_, p) => go(p, '/finance/q3'),
      shows: '#rule-explanation',
      status: 403,
    },
    { name: 'second-factor/step-up', page: 'second-factor', as: 'bob', open: (_, p) => go(p, '/payroll/run'), shows: '#step-up-reason' },
    {
      name: 'second-factor/needs-security-key',
      page: 'second-factor',
      as: 'bob',
      open: (_, p) => go(p, '/keys/vault'),
      shows: `a[href="${G}/account/security-keys/add"]`,
      hides: '#code',
    },
    { name: 'error/403-not-admin', page: 'error', as: 'bob', open: (_, p) => go(p, `${G}/admin`), shows: '#request-id', status: 403 },
    {
      name: 'sign-out',
      page: 'sign-out',
      as: 'bob',
      open: (_, p) => go(p, `${G}/sign-out`),
      shows: 'form button',
      title: 'sign_out_title',
    },

    { name: 'enroll-refused/access-pass', page: 'enroll-refused', as: 'carol', open: (_, p) => go(p, `${G}/enroll`), shows: '#pass' },
    {
      name: 'enroll-refused/wrong-pass',
      page: 'enroll-refused',
      as: 'carol',
      async open(s, p) {
        await unlock('carol')(s);
        await go(p, `${G}/enroll`);
        await fill(p, { '#pass': WRONG_ACCESS_PASS });
        return submit(p, PASS_BUTTON);
      },
      shows: '#pass-error',
      status: 401,
    },
    {
      name: 'enroll-refused/locked',
      page: 'enroll-refused',
      as: 'carol',
      async open(_, p) {
        await go(p, `${G}/enroll`);
        return lockOut(p, '#pass', WRONG_ACCESS_PASS, PASS_BUTTON);
      },
      shows: '.alert--error',
      hides: '#pass',
      cleanup: unlock('carol'),
    },
    {
      name: 'enroll',
      page: 'enroll',
      as: 'carol',
      setup: carolEntersAccessPass,
      open: (_, p) => go(p, `${G}/enroll`),
      shows: '.qr svg',
      status: 200,
    },
    {
      name: 'enroll/wrong-code',
      page: 'enroll',
      as: 'carol',
      async open(_, p) {
        await go(p, `${G}/enroll`);
        await fill(p, { '#code': WRONG_CODE });
        return submit(p, CODE_BUTTON);
      },
      shows: '#code-error',
      status: 400,
    },
    {
      name: 'message/hardware-tokens-only',
      page: 'message',
      as: 'carol',
      setup: (s) =>
        s.configure((c) => {
          c.mfa.methods = ['oath_token'];
          // A rule may not ask for a kind no one can set up.
          c.rules = c.rules.filter((r: { mfa_methods?: string[] }) => r.mfa_methods === undefined);
        }),
      open: (_, p) => go(p, `${G}/enroll`),
      shows: 'h1',
      title: 'enroll_token_title',
      cleanup: (s) => s.configure(),
    },

    // Last: it ends bob's sessions.
    {
      name: 'message/signed-out-everywhere',
      page: 'message',
      as: 'bob',
      async open(s, p) {
        await bobOnAccount(s, p);
        return submit(p, `form[action="${G}/account/sign-out-everywhere"] button`);
      },
      shows: 'h1',
      title: 'signed_out_everywhere_title',
      status: 200,
    },
  ],
  // The account pages (alice: both factors, browser remembered).
  account: [
    {
      name: 'account',
      page: 'account',
      as: 'alice',
      // A second session of alice's (password only), which her account lists with an "End" button.
      async setup(s) {
        await s.page('alice-password');
      },
      open: (_, p) => go(p, `${G}/account`),
      shows: `form[action="${G}/account/sessions/end"] button`,
      status: 200,
    },
    { name: 'account/notice', page: 'account', as: 'alice', open: (_, p) => go(p, `${G}/account?done=renamed`), shows: '.alert--success' },
    {
      name: 'method-verify',
      page: 'method-verify',
      as: 'alice',
      open: (_, p) => go(p, `${G}/account/methods/verify?next=add`),
      shows: '#code',
      title: 'method_verify_title',
    },
    {
      name: 'method-verify/wrong-code',
      page: 'method-verify',
      as: 'alice',
      async open(s, p) {
        await unlock('alice')(s);
        await go(p, `${G}/account/methods/verify?next=add`);
        await fill(p, { '#code': WRONG_CODE });
        return submit(p, CODE_BUTTON);
      },
      shows: '#code-error',
      status: 401,
    },
    {
      name: 'method-verify/locked',
      page: 'method-verify',
      as: 'alice',
      async open(_, p) {
        await go(p, `${G}/account/methods/verify?next=add`);
        return lockOut(p, '#code', WRONG_CODE, CODE_BUTTON);
      },
      shows: '.alert--error',
      hides: '#code',
      title: 'second_factor_locked_title',
      cleanup: unlock('alice'),
    },
    { name: 'method-add', page: 'method-add', as: 'alice', open: (s, p) => fresh(s, p, `${G}/account/methods/add`), shows: '.qr svg' },
    {
      name: 'method-add/name-missing',
      page: 'method-add',
      as: 'alice',
      async open(s, p) {
        await fresh(s, p, `${G}/account/methods/add`);
        await fill(p, { '#name': '', '#code': WRONG_CODE });
        return submit(p, CODE_BUTTON);
      },
      shows: '#name-error',
      status: 400,
    },
    {
      name: 'method-add/wrong-code',
      page: 'method-add',
      as: 'alice',
      async open(s, p) {
        await fresh(s, p, `${G}/account/methods/add`);
        await fill(p, { '#name': 'Tablet', '#code': WRONG_CODE });
        return submit(p, CODE_BUTTON);
      },
      shows: '#code-error',
      status: 400,
    },
    {
      name: 'method-add/after-recovery-code',
      page: 'method-add',
      as: 'alice',
      open: (s, p) => fresh(s, p, `${G}/account/methods/add?after=recovery`),
      shows: '.alert--success',
    },
    {
      name: 'method-remove/last-method',
      page: 'method-remove',
      as: 'alice',
      async open(s, p) {
        const [method] = await s.gw.store.listMethods('alice');
        return fresh(s, p, `${G}/account/methods/remove?id=${encodeURIComponent(method!.id)}`);
      },
      shows: '.alert--error',
      status: 200,
    },
    {
      name: 'recovery-codes/none-yet',
      page: 'recovery-codes',
      as: 'alice',
      open: (s, p) => fresh(s, p, `${G}/account/recovery-codes`),
      shows: `form[action="${G}/account/recovery-codes"] button`,
      hides: '#recovery-warning',
    },
    {
      name: 'recovery-codes/shown-once',
      page: 'recovery-codes',
      as: 'alice',
      async open(s, p) {
        await fresh(s, p, `${G}/account/recovery-codes`);
        return submit(p, `form[action="${G}/account/recovery-codes"] button`);
      },
      shows: 'ol.codes',
      status: 200,
    },
    {
      name: 'recovery-codes/replace',
      page: 'recovery-codes',
      as: 'alice',
      open: (s, p) => fresh(s, p, `${G}/account/recovery-codes`),
      shows: '#recovery-warning',
    },
    {
      name: 'security-key-add',
      page: 'security-key-add',
      as: 'alice',
      open: (s, p) => fresh(s, p, `${G}/account/security-keys/add`),
      shows: 'form[data-webauthn="register"]:not([hidden]) #key-name',
    },
    {
      name: 'account/security-key',
      page: 'account',
      as: 'alice',
      setup: async (s) => registerKey(s, await s.page('alice'), 'alice'),
      open: (_, p) => go(p, `${G}/account`),
      shows: 'section[aria-labelledby="keys-heading"] table',
    },
    {
      name: 'second-factor/security-key-step-up',
      page: 'second-factor',
      as: 'alice',
      open: (_, p) => go(p, '/keys/vault'),
      shows: 'form[data-webauthn="authenticate"]:not([hidden]) button',
      hides: '#code',
    },
    {
      name: 'second-factor/security-key-or-code',
      page: 'second-factor',
      as: 'alice-password',
      open: (_, p) => go(p, `${G}/second-factor`),
      shows: 'form[data-webauthn="authenticate"]:not([hidden]) ~ form #code',
    },
    {
      name: 'app-passwords/none',
      page: 'app-passwords',
      as: 'alice',
      open: (_, p) => go(p, `${G}/account/app-passwords`),
      shows: '#name',
      hides: 'table',
    },
    {
      name: 'app-passwords/name-missing',
      page: 'app-passwords',
      as: 'alice',
      async open(_, p) {
        await go(p, `${G}/account/app-passwords`);
        return submit(p, 'form:has(#name) button[type=submit]');
      },
      shows: '#name-error',
      status: 400,
    },
    {
      name: 'app-passwords/created',
      page: 'app-passwords',
      as: 'alice',
      async open(_, p, lang) {
        await go(p, `${G}/account/app-passwords`);
        await fill(p, { '#name': `Mail (${lang})` });
        return submit(p, 'form:has(#name) button[type=submit]');
      },
      shows: '#new-app-password',
      status: 200,
    },
    {
      name: 'app-passwords/revoked',
      page: 'app-passwords',
      as: 'alice',
      async open(_, p) {
        await go(p, `${G}/account/app-passwords`);
        return submit(p, `tbody tr:first-child form[action="${G}/account/app-passwords/revoke"] button`);
      },
      shows: '.alert--success',
      status: 200,
    },
    {
      // Last: with one session per user, alice's new sign-in ends her others.
      name: 'account/older-sessions-ended',
      page: 'account',
      as: 'alice-password',
      async setup(s) {
        await s.configure((c) => {
          c.session.max_per_user = 1;
        });
        const p = await s.page('alice-password');
        await p.context().clearCookies();
        await password(s, p, 'alice');
        await fill(p, { '#code': s.code() });
        await submit(p, CODE_BUTTON);
      },
      open: (_, p) => go(p, `${G}/account`),
      shows: '.alert--warn',
      cleanup: (s) => s.configure(),
    },
  ],
  admin: [
    {
      name: 'admin-verify',
      page: 'admin-verify',
      as: 'alice',
      open: (_, p) => go(p, `${G}/admin/verify?rd=${encodeURIComponent(`${G}/admin`)}`),
      shows: '#code',
      status: 200,
    },
    {
      name: 'admin-verify/wrong-code',
      page: 'admin-verify',
      as: 'alice',
      async open(s, p) {
        await unlock('alice')(s);
        await go(p, `${G}/admin/verify?rd=${encodeURIComponent(`${G}/admin`)}`);
        await fill(p, { '#code': WRONG_CODE });
        return submit(p, CODE_BUTTON);
      },
      shows: '#code-error',
      status: 401,
    },
    {
      name: 'admin-verify/locked',
      page: 'admin-verify',
      as: 'alice',
      async open(_, p) {
        await go(p, `${G}/admin/verify?rd=${encodeURIComponent(`${G}/admin`)}`);
        return lockOut(p, '#code', WRONG_CODE, CODE_BUTTON);
      },
      shows: '.alert--error',
      hides: '#code',
      title: 'second_factor_locked_title',
      cleanup: unlock('alice'),
    },
    {
      name: 'admin-users',
      page: 'admin-users',
      as: 'alice',
      open: (s, p) => fresh(s, p, `${G}/admin`),
      shows: `table a[href="${G}/admin/user?name=bob"]`,
      status: 200,
    },
    {
      name: 'admin-users/no-match',
      page: 'admin-users',
      as: 'alice',
      open: (s, p) => fresh(s, p, `${G}/admin?q=nobody-by-that-name`),
      shows: '#q',
      hides: 'table',
    },
    {
      name: 'admin-user',
      page: 'admin-user',
      as: 'alice',
      // bob's session (password done) is listed with an "End" button.
      async setup(s) {
        await s.page('bob');
      },
      open: (s, p) => fresh(s, p, `${G}/admin/user?name=bob`),
      shows: `form[action="${G}/admin/user/end-session"] button`,
      status: 200,
    },
    {
      name: 'admin-user/reason-missing',
      page: 'admin-user',
      as: 'alice',
      async open(s, p) {
        await fresh(s, p, `${G}/admin/user?name=dave`);
        return submit(p, 'form:has(#block-reason) button[type=submit]');
      },
      shows: '.alert--error[role="alert"]',
      status: 400,
    },
    {
      name: 'admin-user/blocked',
      page: 'admin-user',
      as: 'alice',
      async open(s, p) {
        const status = await fresh(s, p, `${G}/admin/user?name=dave`);
        if ((await p.locator('#block-reason').count()) === 0) return status;
        await fill(p, { '#block-reason': 'laptop stolen' });
        // Blocking asks first (a confirmation page); its button confirms.
        await submit(p, 'form:has(#block-reason) button[type=submit]');
        return submit(p, 'form:has(input[name="confirm"]) button[type=submit]');
      },
      shows: '#unblock-reason',
      status: 200,
    },
    {
      name: 'admin-confirm',
      page: 'admin-confirm',
      as: 'alice',
      async open(s, p) {
        await fresh(s, p, `${G}/admin/user?name=dave`);
        // End sessions: the page that says what will happen, before anything does.
        return submit(p, 'form[action$="/user/revoke"] button[value="sessions"]');
      },
      shows: 'form:has(input[name="confirm"])',
      status: 200,
    },
    {
      name: 'admin-user/access-pass-issued',
      page: 'admin-user',
      as: 'alice',
      async open(s, p) {
        await fresh(s, p, `${G}/admin/user?name=dave`);
        return submit(p, 'form:has(#pass-hours) button[type=submit]');
      },
      shows: '#issued-pass',
      status: 200,
    },
    {
      name: 'admin-tokens',
      page: 'admin-tokens',
      as: 'alice',
      open: (s, p) => fresh(s, p, `${G}/admin/tokens`),
      shows: '#csv',
      hides: '#result-heading',
    },
    {
      name: 'admin-tokens/nothing-uploaded',
      page: 'admin-tokens',
      as: 'alice',
      async open(s, p) {
        await fresh(s, p, `${G}/admin/tokens`);
        return submit(p, 'form:has(#csv) button[type=submit]');
      },
      shows: '.alert--error',
      status: 400,
    },
    {
      name: 'admin-tokens/import-with-errors',
      page: 'admin-tokens',
      as: 'alice',
      async open(s, p) {
        await fresh(s, p, `${G}/admin/tokens`);
        await p.locator('#file').setInputFiles({ name: 'tokens.csv', mimeType: 'text/csv', buffer: Buffer.from(TOKENS_CSV) });
        return submit(p, 'form:has(#csv) button[type=submit]');
      },
      shows: 'a[download]',
      status: 200,
    },
    {
      name: 'admin-user/token-to-activate',
      page: 'admin-user',
      as: 'alice',
      open: (s, p) => fresh(s, p, `${G}/admin/user?name=bob`),
      shows: 'input[id^="code-"]',
    },
    {
      name: 'admin-user/security-key-and-app-password',
      page: 'admin-user',
      as: 'alice',
      setup: bobAddsKeyAndAppPassword,
      open: (s, p) => fresh(s, p, `${G}/admin/user?name=bob`),
      shows: `main:has(form[action="${G}/admin/user/revoke-app-passwords"]) form[action="${G}/admin/user/remove-key"] button`,
    },
    { name: 'admin-log', page: 'admin-log', as: 'alice', open: (s, p) => fresh(s, p, `${G}/admin/log`), shows: 'table', status: 200 },
    {
      name: 'admin-log/no-match',
      page: 'admin-log',
      as: 'alice',
      open: (s, p) => fresh(s, p, `${G}/admin/log?user=nobody-by-that-name`),
      shows: '.empty',
      hides: 'table',
    },
  ],
} satisfies Record<string, readonly PageState[]>;

type Area = keyof typeof AREAS;

/** The users file: alice (admin), bob, carol (no method yet), dave (never signs in) and frank (gets sign-in notices). */
async function writeUsers(dir: string): Promise<string> {
  const users: Record<string, unknown> = {};
  for (const [user, u] of Object.entries(USERS)) users[user] = { password: await hash(passwordOf(user as User), { algorithm: 2 }), ...u };
  const file = join(dir, 'users.yaml');
  writeFileSync(file, YAML.stringify({ users }));
  return file;
}

/** How each actor's browser starts: signed out, or through the sign-in pages as far as the actor goes. */
async function openActor(s: Scene, browser: Browser, actor: Actor): Promise<Page> {
  const context = await browser.newContext({ baseURL: s.base, locale: 'en-US', viewport: VIEWPORTS[2] });
  context.setDefaultNavigationTimeout(20_000);
  context.setDefaultTimeout(10_000);
  await loadAxe(context);
  const page = await context.newPage();
  if (actor === 'alice') {
    await password(s, page, 'alice');
    await fill(page, { '#code': s.code() });
    await page.locator('#remember').check();
    await submit(page, CODE_BUTTON);
  } else if (actor === 'alice-password') await password(s, page, 'alice');
  else if (actor === 'bob' || actor === 'carol') await password(s, page, actor);
  return page;
}

/**
 * A gateway with everything on that a page can show: TOTP, hardware tokens and security keys,
 * app passwords, fraud alerts by mail (a real SMTP server), step-up and explained rules, an
 * upstream that is down and one that never answers; first enrollment only from the office
 * network (the browser is not on it), and three denials to a lockout.
 */
async function startScene(t: Test, browser: Browser): Promise<Scene> {
  const smtp = await startSmtp(t);
  const slow = createServer(() => {});
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        slow.closeAllConnections();
        slow.close(() => resolve());
      }),
  );
  const usersFile = await writeUsers(mkdtempSync(join(tmpdir(), 'mfa-axe-')));
  const closedPort = await freePort();
  const gw = await startTestGateway(t, await startSampleUpstream(t), {
    users: { file: usersFile },
    notifications: { smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', from: 'MFA Gateway <mfa@example.com>' } },
    server: { timeouts: { upstream_response: '1s' } },
    upstreams: {
      down: { url: `http://127.0.0.1:${closedPort}` },
      slow: { url: `http://127.0.0.1:${(slow.address() as { port: number }).port}` },
    },
    mfa: {
      methods: ['totp', 'oath_token', 'webauthn'],
      first_enrollment: 'trusted_networks',
      lockout: { denials: 3 },
      password_lockout: { denials: 3 },
      app_passwords: { enabled: true },
    },
    rules: RULES,
  });
  for (const user of ['alice', 'bob']) {
    const secret = base32Decode(SECRET);
    await gw.store.addMethod({ user, kind: 'totp', label: 'Phone', secret, period: 30, digits: 6, algorithm: 'sha1', active: true }, 5);
  }
  const pages = new Map<Actor, Promise<Page>>();
  const scene: Scene = {
    gw,
    base: await publicOnLocalhost(gw),
    smtp,
    closedPort,
    fraudLinks: [],
    page(actor) {
      let page = pages.get(actor);
      if (!page) {
        page = openActor(scene, browser, actor);
        pages.set(actor, page);
      }
      return page;
    },
    async configure(patch) {
      await publicOnLocalhost(gw, patch);
    },
    code() {
      gw.clock.now += 30_000;
      return totpCode(SECRET, gw.clock.now);
    },
  };
  return scene;
}

/**
 * The audit of one area: a gateway of its own, one browser, one page per actor. Each state is
 * opened once per language and checked (status, `shows`, `hides`, title, `<html lang>`), then
 * axe runs at every colour scheme and viewport without reloading. A violation prints its rule,
 * the element and what to fix, and leaves a screenshot in test-artifacts/axe/ (with
 * AXE_SCREENSHOTS=1, every variant does).
 */
export function auditStates(t: Test, area: Area): void {
  // A busy 2-core machine may take several times as long as a quiet one; the project's 120 s would cut the audit short.
  t.setTimeout(360_000);
  t.test(`axe finds no violation on any ${area} page state`, { skip: skipWithoutChromium, timeout: 340_000 }, async (t) => {
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    mkdirSync(ARTIFACTS, { recursive: true });
    const scene = await startScene(t, browser);
    let audits = 0;
    for (const state of AREAS[area] as readonly PageState[]) {
      await t.test(state.name, async (t) => {
        await state.setup?.(scene);
        const page = await scene.page(state.as);
        for (const lang of LANGS) {
          await askFor(page, lang);
          await page.setViewportSize(VIEWPORTS[2]);
          await page.emulateMedia({ colorScheme: 'light' });
          const status = await state.open(scene, page, lang);
          const here = `${state.name} (${lang}, ${page.url()})`;
          if (state.status !== undefined) t.equal(status, state.status, `${here}: status`);
          t.ok(await page.locator(state.shows).first().isVisible(), `${here}: shows ${state.shows}`);
          if (state.hides !== undefined) t.equal(await page.locator(state.hides).count(), 0, `${here}: no ${state.hides}`);
          if (state.title !== undefined)
            t.equal((await page.locator('h1').first().innerText()).trim(), defaultMessages[lang][state.title], `${here}: title`);
          t.equal(await page.evaluate<string>('document.documentElement.lang'), lang, `${here}: in ${lang}`);
          for (const colorScheme of SCHEMES) {
            await page.emulateMedia({ colorScheme });
            for (const viewport of VIEWPORTS) {
              await page.setViewportSize(viewport);
              const variant = `${state.name} ${lang} ${colorScheme} ${viewport.name}`;
              const applied = await page.evaluate<string>(
                `(matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light') + innerWidth`,
              );
              if (applied !== `${colorScheme}${viewport.width}`) t.fail(`${variant}: the page has ${applied}`);
              const violations = await axeViolations(page);
              audits++;
              if (violations.length > 0 || process.env.AXE_SCREENSHOTS)
                await page.screenshot({ path: `${ARTIFACTS}/${variant.replace(/[/ ]/g, '-')}.png`, fullPage: true });
              if (violations.length === 0) t.pass(variant);
              else t.fail(`${variant}: ${violations.length} violations\n${describeViolations(violations)}`);
            }
          }
        }
        await state.cleanup?.(scene);
      });
    }
    t.comment(`${area}: ${AREAS[area].length} states, ${audits} audits`);
  });
}

/** Pages without a state in the table (every page needs one). */
/**
 * Pages audited elsewhere because the table's gateways cannot reach them: `signed-in` needs
 * `session.max_per_user` and shows once (audited in test/browser/sessions.test.ts).
 */
const AUDITED_ELSEWHERE: readonly PageName[] = ['signed-in'];

export function pagesWithoutState(pages: readonly PageName[]): PageName[] {
  const all: readonly PageState[] = Object.values(AREAS).flat();
  return pages.filter((name) => !AUDITED_ELSEWHERE.includes(name) && !all.some((s) => s.page === name));
}
