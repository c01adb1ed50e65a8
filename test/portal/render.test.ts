// The renderer: escaping, labels and ARIA wiring on every page, error pages for every
// status in both languages, templates read once, and the in-memory static file map.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildCatalog } from '../../src/portal/i18n.ts';
import { createRenderer } from '../../src/portal/render.ts';
import { PAGE_NAMES } from '../../src/portal/pages.ts';
import type { PageData, PageName } from '../../src/portal/pages.ts';
import { defaultMessages } from '../../src/portal/messages.ts';
import type { MessageKey } from '../../src/portal/messages.ts';
import { loadStaticAssets } from '../../src/portal/static.ts';
import { samplePages } from './render-fixtures.ts';

const catalog = buildCatalog({});
const renderer = createRenderer({ catalog, prefix: '/.gateway/' });
const samples = await samplePages();
const LANGS = ['en', 'de'] as const;

/** Every sample of every page, rendered in both languages. */
function allPages(): { label: string; html: string }[] {
  const out: { label: string; html: string }[] = [];
  for (const name of PAGE_NAMES) {
    for (const [variant, data] of Object.entries(samples[name] as Record<string, PageData[PageName]>)) {
      for (const lang of LANGS) out.push({ label: `${lang} ${name}/${variant}`, html: renderer.page(name, lang, data as never) });
    }
  }
  return out;
}

const tags = (html: string, name: string) => [...html.matchAll(new RegExp(`<${name}\\b[^>]*>`, 'g'))].map((m) => m[0]);
const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
const textOf = (html: string) => html.replace(/<[^>]*>/g, ' ');
/** An attribute value as the browser reads it (the entities mustache writes). */
const decodeEntities = (value: string) =>
  value.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot);/gi, (_, e: string) =>
    e[0] === '#'
      ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)))
      : ({ amp: '&', lt: '<', gt: '>', quot: '"' } as Record<string, string>)[e.toLowerCase()]!,
  );

t.test('every visible input has a label, and ARIA references resolve', async (t) => {
  for (const { label, html } of allPages()) {
    const ids = tags(html, '[a-z0-9]+')
      .map((tag) => attr(tag, 'id'))
      .filter((id) => id !== undefined);
    t.equal(new Set(ids).size, ids.length, `${label}: ids are unique`);
    const labelled = new Set(tags(html, 'label').map((tag) => attr(tag, 'for')));
    for (const input of tags(html, 'input')) {
      if (attr(input, 'type') === 'hidden') continue;
      const id = attr(input, 'id');
      t.ok(id && labelled.has(id), `${label}: ${input} has <label for>`);
    }
    for (const tag of tags(html, '[a-z]+').filter((x) => x.includes('aria-describedby='))) {
      for (const ref of attr(tag, 'aria-describedby')!.split(' ')) t.ok(ids.includes(ref), `${label}: #${ref} exists`);
    }
    // Only pages that offer a security key load a script, and only the gateway's own file (issue 14).
    const scripts = html.match(/<script[^>]*>/gi) ?? [];
    const keyed = /data-webauthn=/.test(html);
    t.same(
      scripts.map((s) => s.replace(/\?v=[0-9a-f]+/, '')),
      keyed ? ['<script src="/.gateway/static/webauthn.js" defer>'] : [],
      `${label}: ${keyed ? 'only the WebAuthn script' : 'no JavaScript'}`,
    );
    t.notMatch(html, /<script>|\son[a-z]+=/i, `${label}: no inline script`);
    t.notMatch(textOf(html), /\{\w+\}/, `${label}: no unfilled placeholder`);
    t.match(html, /<main[ >]/, `${label}: main landmark`);
  }
});

t.test('the layout: language, title, one versioned stylesheet, metas', async (t) => {
  const html = renderer.page('sign-in', 'de', samples['sign-in'].plain!);
  const css = loadStaticAssets('views/static').get('gateway.css')!;
  t.match(html, /<html lang="de">/);
  t.match(html, /<title>Anmelden · MFA Gateway<\/title>/);
  t.equal(tags(html, 'link').filter((l) => attr(l, 'rel') === 'stylesheet').length, 1);
  t.match(html, `<link rel="stylesheet" href="/.gateway/static/gateway.css?v=${css.hash}">`);
  t.match(html, '<meta name="color-scheme" content="light dark">');
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the forms' POSTs, which the portal refuses.
  t.match(html, '<meta name="referrer" content="same-origin">');
  t.match(html, '<meta name="viewport" content="width=device-width, initial-scale=1">');
  t.match(renderer.page('sign-in', 'fr', samples['sign-in'].plain!), /<html lang="en">/, 'an unknown language renders English');
  const branded = createRenderer({ catalog, prefix: '/auth/', productName: 'ACME Sign-in' });
  const page = branded.page('sign-in', 'en', samples['sign-in'].plain!);
  t.match(page, '<title>Sign in · ACME Sign-in</title>');
  t.match(page, 'action="/auth/sign-in"');
  t.match(page, 'href="/auth/static/gateway.css?v=');
});

t.test('user data is escaped; only the QR SVG is inserted raw', async (t) => {
  const evil = '<script>alert(1)</script>';
  const rd = 'https://app.example.com/?a="><img src=x onerror=alert(1)>';
  const signIn = renderer.page('sign-in', 'en', { csrf: 'x"y', rd, username: evil, provider: { name: evil, url: 'javascript:"x"' } });
  t.notMatch(signIn, evil);
  t.match(signIn, 'value="&lt;script&gt;alert(1)&lt;/script&gt;"');
  t.match(signIn, 'value="https://app.example.com/?a=&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
  t.match(signIn, 'value="x&quot;y"');
  t.match(signIn, 'Sign in with &lt;script&gt;');
  t.notMatch(signIn, '<img');

  const second = renderer.page('second-factor', 'en', { csrf: 'c', user: evil, rd: '"' });
  t.notMatch(second, evil);
  t.match(second, 'Signed in as &lt;script&gt;alert(1)&lt;/script&gt;');
  t.match(second, 'name="rd" value="&quot;"');

  const enroll = renderer.page('enroll', 'en', { ...samples.enroll.plain!, account: evil, issuer: '"&' });
  t.match(enroll, '<svg xmlns="http://www.w3.org/2000/svg"', 'the QR code SVG is markup');
  t.notMatch(enroll, evil);
  t.match(enroll, '<dd>&quot;&amp;</dd>');
  t.match(enroll, 'aria-label="QR code that adds &lt;script&gt;');

  const account = renderer.page('account', 'en', {
    sessions: [{ id: evil, startedAt: 0, lastSeenAt: 0, ip: evil, userAgent: evil, current: false }],
    csrf: 'c',
    user: { username: evil, name: evil, email: evil },
    methods: [{ name: evil, kind: 'totp', addedAt: 0 }],
    signIns: [{ at: 0, result: 'denied', ip: evil, userAgent: evil, steps: [{ detail: evil, ok: false }] }],
  });
  t.notMatch(account, evil);
  const message = renderer.page('message', 'en', { title: 'continue', text: 'continue', link: { href: '"><x', label: 'continue' } });
  t.match(message, 'href="&quot;&gt;&lt;x"');
});

t.test('sign-in variants', async (t) => {
  const failed = renderer.page('sign-in', 'en', samples['sign-in'].failed!);
  t.match(failed, /<div class="alert alert--error" role="alert">The username or password is incorrect.<\/div>/);
  t.match(failed, /id="password"[^>]* autofocus aria-invalid="true" aria-describedby="password-error">/);
  t.match(failed, /id="username"[^>]*value="alice"/);
  t.match(
    failed,
    /<input id="username" name="username" type="text" value="alice" autocomplete="username" autocapitalize="none" spellcheck="false"/,
  );
  t.match(failed, /type="password" autocomplete="current-password"/);
  t.match(failed, /<form class="form" method="post" action="\/.gateway\/sign-in"/);
  const plain = renderer.page('sign-in', 'en', samples['sign-in'].plain!);
  t.match(plain, /id="username"[^>]*autofocus/, 'an empty form focuses the username');
  t.notMatch(plain, /role="alert"/);
  t.notMatch(plain, 'Sign in with');
  const onlyProvider = renderer.page('sign-in', 'de', samples['sign-in'].providerOnly!);
  t.notMatch(onlyProvider, 'name="password"');
  t.match(onlyProvider, /<a class="button button--primary" href="\/.gateway\/oidc\/start">Mit Contoso ID anmelden<\/a>/);
  t.notMatch(onlyProvider, 'oder');
  const both = renderer.page('sign-in', 'en', samples['sign-in'].provider!);
  t.match(both, 'name="password"');
  t.match(both, /<span>or<\/span>[\s\S]*Sign in with Contoso ID/);
  const fieldError = renderer.page('sign-in', 'en', { csrf: 'c', fieldErrors: { username: 'field_required_username' } });
  t.match(fieldError, /id="username"[^>]* autofocus aria-invalid="true" aria-describedby="username-error"/);
  t.match(fieldError, /<p class="field-error" id="username-error" role="alert">Enter your username.<\/p>/);
});

t.test('second-factor variants', async (t) => {
  const plain = renderer.page('second-factor', 'en', samples['second-factor'].plain!);
  const code = tags(plain, 'input').find((i) => attr(i, 'name') === 'code')!;
  for (const [k, v] of [
    ['autocomplete', 'one-time-code'],
    ['inputmode', 'numeric'],
    ['pattern', '[0-9]*'],
    ['maxlength', '8'],
  ]) {
    t.equal(attr(code, k!), v, `code ${k}`);
  }
  t.match(plain, 'Don’t ask again on this browser for 14 days');
  t.notMatch(plain, / checked/);
  t.notMatch(plain, 'aria-invalid');
  t.match(plain, /<form class="whoami" method="post" action="\/.gateway\/sign-out">/);
  t.match(plain, /Not you\? <button type="submit" class="link-button">Sign out<\/button>/);

  const error = renderer.page('second-factor', 'de', samples['second-factor'].error!);
  t.match(error, /aria-describedby="code-hint code-error" aria-invalid="true"/);
  t.match(error, /id="code-error" role="alert">Dieser Code ist ungültig/);
  t.match(error, /name="remember" type="checkbox" value="1" checked/);
  t.match(error, 'Auf diesem Browser 14 Tage lang nicht mehr fragen');

  const noRemember = renderer.page('second-factor', 'en', { csrf: 'c', user: 'alice' });
  t.notMatch(noRemember, 'name="remember"', 'no checkbox when remembering is off');

  const locked = renderer.page('second-factor', 'de', samples['second-factor'].locked!);
  t.notMatch(locked, 'name="code"', 'the locked variant has no form');
  t.match(
    locked,
    /role="alert">Es wurden zu viele falsche Codes eingegeben\. Zu Ihrer Sicherheit können Sie es ab 12\.03\.2026, \d\d:\d\d erneut versuchen\./,
  );
  t.match(locked, '<title>Bestätigung vorübergehend gesperrt · MFA Gateway</title>');
  t.match(locked, 'Abmelden', 'a locked-out user can still sign out');
});

t.test('issue 17: enrollment and add-a-method offer the otpauth URI as a link beside the one named QR image', async (t) => {
  const evil = "otpauth://totp/A%3A%22%3E%3Cx:b?secret=JBSWY3DPEHPK3PXP&issuer=A\"><script>&x='1'";
  for (const [name, data] of [
    ['enroll', samples.enroll.plain!],
    ['method-add', samples['method-add'].plain!],
  ] as const) {
    for (const [lang, text] of [
      ['en', 'Open in your authenticator app'],
      ['de', 'In Ihrer Authenticator-App öffnen'],
    ] as const) {
      const html = renderer.page(name, lang, data);
      const link = /<a class="[^"]*\bqr-app\b[^"]*" href="([^"]*)">([^<]*)<\/a>/.exec(html);
      t.ok(link, `${name} ${lang}: the link is there`);
      t.equal(decodeEntities(link![1]!), data.otpUri, `${name} ${lang}: its href is the QR code's otpauth URI`);
      t.equal(link![2], text, `${name} ${lang}: its text`);
      t.equal(html.match(/role="img"/g)?.length, 1, `${name} ${lang}: one image role, the named wrapper`);
      t.ok(
        html.indexOf('class="qr"') < html.indexOf('qr-app'),
        `${name} ${lang}: beside the QR code (after it in reading order on wide screens)`,
      );
    }
    const escaped = renderer.page(name, 'en', { ...data, otpUri: evil });
    const href = /qr-app[^"]*" href="([^"]*)"/.exec(escaped)![1]!;
    t.notMatch(href, /[<>"']/, `${name}: the URI is escaped in the attribute`);
    t.equal(decodeEntities(href), evil, `${name}: and reads back as the same URI`);
  }
});

t.test('enroll, enroll-refused, signed-out and message pages', async (t) => {
  const enroll = renderer.page('enroll', 'en', samples.enroll.error!);
  t.match(
    enroll,
    '<code class="secret"><span>JBSW</span><wbr><span>Y3DP</span><wbr><span>EHPK</span><wbr><span>3PXP</span><wbr><span>JBSW</span>',
  );
  t.match(enroll, '<dd>alice</dd>');
  t.match(enroll, '<dd>mfa-gateway</dd>');
  t.match(enroll, 'Time-based, every 30 seconds');
  t.match(enroll, /action="\/.gateway\/enroll"/);
  t.match(enroll, /aria-describedby="code-help code-error" aria-invalid="true" autofocus>/);
  t.equal(tags(enroll, 'li').length, 3, 'three steps');
  t.match(
    renderer.page('enroll', 'en', { ...samples.enroll.plain!, secret: 'jbsw y3dp ehpk 3pxp====' }),
    '<span>jbsw</span><wbr><span>y3dp</span><wbr><span>ehpk</span><wbr><span>3pxp</span><wbr></code>',
  );

  const refused = renderer.page('enroll-refused', 'de', samples['enroll-refused'].plain!);
  t.match(refused, 'Einrichtung nur im Firmennetz möglich');
  t.match(refused, 'IT-Abteilung');
  t.match(refused, 'href="/.gateway/enroll">Erneut versuchen</a>');
  t.notMatch(renderer.page('enroll-refused', 'en', { csrf: 'c', user: 'a' }), 'Try again');

  t.match(renderer.page('signed-out', 'en', {}), 'href="/.gateway/sign-in">Sign in again</a>');
  t.match(renderer.page('signed-out', 'en', { signInUrl: '/.gateway/sign-in?rd=%2Fx' }), 'href="/.gateway/sign-in?rd=%2Fx"');

  const message = renderer.page('message', 'de', samples.message.plain!);
  t.match(message, '<h1>Überall abgemeldet</h1>');
  t.match(message, 'href="/.gateway/sign-in">Weiter</a>');
  t.notMatch(renderer.page('message', 'en', { title: 'continue', text: { key: 'account_browsers_many', params: { count: 3 } } }), '<a ');
  t.match(
    renderer.page('message', 'en', { title: 'continue', text: { key: 'account_browsers_many', params: { count: 3 } } }),
    '<p>3 browsers currently skip',
  );
});

t.test('account page, full and empty', async (t) => {
  const full = renderer.page('account', 'en', samples.account.plain!);
  t.match(full, '<dd>Alice Wagner</dd>');
  t.match(full, '<dd>alice.wagner@example.com</dd>');
  t.match(full, '2 of 5 in use');
  t.match(full, /<td data-label="Type">Authenticator app<\/td>/);
  t.match(full, /<td data-label="Type">Hardware token<\/td>/);
  t.match(full, /<td data-label="Last used">Never<\/td>/);
  t.match(full, '2 browsers currently skip the second step.');
  t.match(full, /action="\/.gateway\/account\/forget-browsers"/);
  t.match(full, /action="\/.gateway\/account\/sign-out-everywhere"/);
  t.match(full, /<div class="alert alert--success" role="status">Remembered browsers were forgotten/);
  t.match(full, /status--bad">Locked out</);
  t.match(full, /status--bad">Not completed</);
  t.match(full, '<li>Password correct</li><li>Code of the authenticator app “iPhone” accepted; browser remembered for 14 days</li>');
  t.match(full, /<td data-label="Browser">Firefox on Windows/);
  t.match(renderer.page('account', 'de', samples.account.plain!), /<td data-label="Browser">Firefox unter Windows/);
  t.match(full, '<code>2001:db8::42</code>');
  t.equal(
    tags(full, 'form').every((f) => attr(f, 'method') === 'post'),
    true,
    'every form posts',
  );
  t.equal((full.match(/name="csrf" value="c5"/g) ?? []).length, tags(full, 'form').length, 'every form carries the CSRF token');

  const empty = renderer.page('account', 'de', samples.account.empty!);
  t.match(empty, 'Es sind noch keine Methoden für den zweiten Schritt eingerichtet.');
  t.match(empty, 'Bisher wurden keine Anmeldungen aufgezeichnet.');
  t.match(empty, 'Derzeit überspringt kein Browser den zweiten Schritt.');
  t.notMatch(empty, 'forget-browsers', 'nothing to forget');
  t.notMatch(empty, '<table');
  t.notMatch(empty, 'E-Mail');
  t.notMatch(empty, 'Methode hinzufügen');
  const one = renderer.page('account', 'en', { ...samples.account.empty!, rememberedBrowsers: 1 });
  t.match(one, 'One browser currently skips the second step.');
  const off = renderer.page('account', 'en', { ...samples.account.empty!, rememberedBrowsers: undefined });
  t.notMatch(off, 'Remembered browsers', 'no section when remembering is off');
  t.match(
    full,
    '<div class="alert alert--warn" role="status">Signing in on this browser ended your 2 oldest sessions (the limit is 2 at a time).</div>',
  );
  t.match(
    renderer.page('account', 'de', samples.account.plain!),
    'Die Anmeldung in diesem Browser hat Ihre 2 ältesten Sitzungen beendet (höchstens 2 gleichzeitig).',
  );
  t.notMatch(empty, 'alert--warn', 'no limit notice when no sign-in ended sessions');
});

t.test('error pages for every status in both languages', async (t) => {
  for (const status of [400, 403, 404, 414, 431, 500, 502, 503, 504]) {
    for (const lang of LANGS) {
      const html = renderer.errorPage(status, lang, { requestId: 'req-1' });
      const texts = defaultMessages[lang];
      t.match(html, `<html lang="${lang}">`);
      t.match(html, `<h1>${texts[`error_${status}` as MessageKey]}</h1>`, `${lang} ${status} title`);
      t.match(html, `<p>${texts[`error_${status}_text` as MessageKey]}</p>`, `${lang} ${status} sentence`);
      t.match(html, `${lang === 'en' ? 'Error' : 'Fehler'} ${status}`);
      t.match(html, `<p class="fine-print" id="request-id">${lang === 'en' ? 'Request ID' : 'Anfrage-ID'}: req-1</p>`);
      t.match(html, 'href="/"');
    }
  }
  t.match(renderer.errorPage(502, 'en'), 'The application behind this gateway is not answering');
  t.notMatch(renderer.errorPage(500, 'en'), 'fine-print', 'no request id, no small print');
  t.match(renderer.errorPage(418, 'en'), '<h1>Bad request</h1>', 'an unknown 4xx uses the 400 texts');
  t.match(renderer.errorPage(418, 'en'), 'Error 418');
  t.match(renderer.errorPage(599, 'de'), '<h1>Etwas ist schiefgelaufen</h1>', 'an unknown 5xx uses the 500 texts');
  t.match(renderer.errorPage(403, 'en', { detailKey: 'error_form_expired' }), '<p>This form has expired.');
  t.match(renderer.errorPage(400, 'en', { detailKey: 'error_403' }), `<p>${defaultMessages.en.error_403_text}</p>`);
  t.match(renderer.errorPage(403, 'en', { detailKey: 'no_such_key' }), `<p>${defaultMessages.en.error_403_text}</p>`);
  t.match(renderer.errorPage(502, 'en', { requestId: '<b>' }), 'Request ID: &lt;b&gt;');
  t.match(renderer.page('error', 'en', { status: 404, homeUrl: '/app/' }), 'href="/app/"');
});

t.test('config overrides reach the pages', async (t) => {
  const custom = createRenderer({
    catalog: buildCatalog({ de: { footer_help: 'Hilfe: Durchwahl 1234', product_name: 'ACME Anmeldung' } }),
    prefix: '/.gateway/',
  });
  const de = custom.page('signed-out', 'de', {});
  t.match(de, '<p>Hilfe: Durchwahl 1234</p>');
  t.match(de, '<title>Sie sind abgemeldet · ACME Anmeldung</title>');
  t.match(custom.page('signed-out', 'en', {}), '<p>Need help? Contact your IT team.</p>');
});

t.test('templates are read once, when the renderer is created', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'views-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync('views', dir, { recursive: true });
  const r = createRenderer({ catalog, prefix: '/.gateway/', viewsDir: dir });
  const before = r.page('signed-out', 'en', {});
  writeFileSync(join(dir, 'pages', 'signed-out.mustache'), 'changed');
  writeFileSync(join(dir, 'layout.mustache'), 'changed');
  t.equal(r.page('signed-out', 'en', {}), before);
  t.throws(() => createRenderer({ catalog, prefix: '/', viewsDir: join(dir, 'missing') }), /ENOENT/);
});

t.test('static assets: served from memory only', async (t) => {
  const assets = loadStaticAssets('views/static');
  const css = assets.get('gateway.css');
  t.ok(css);
  t.equal(css!.type, 'text/css; charset=utf-8');
  t.match(css!.etag, /^"[A-Za-z0-9_-]{43}"$/);
  t.match(css!.hash, /^[0-9a-f]{10}$/);
  t.ok(css!.body.length < 10_000, `stylesheet stays small (${css!.body.length} bytes)`);
  t.equal(assets.get('favicon.svg')?.type, 'image/svg+xml');
  t.same(assets.names, ['favicon.svg', 'gateway.css', 'webauthn.js']);
  for (const name of [
    '../package.json',
    '../../package.json',
    '/etc/passwd',
    './gateway.css',
    'x/../gateway.css',
    '%2e%2e/package.json',
    '..\\package.json',
    '',
    'GATEWAY.CSS',
    '__proto__',
    'constructor',
  ]) {
    t.equal(assets.get(name), undefined, JSON.stringify(name));
  }
  const dir = mkdtempSync(join(tmpdir(), 'static-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync('views/static', join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'blob.bin'), 'x');
  const nested = loadStaticAssets(dir);
  t.equal(nested.get('sub/gateway.css')?.etag, css!.etag, 'nested names use forward slashes');
  t.equal(nested.get('blob.bin')?.type, 'application/octet-stream');
});
