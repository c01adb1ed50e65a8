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
const assets = await loadStaticAssets('views/static');
const renderer = createRenderer({ catalog, prefix: '/.gateway/', assets });
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
/** The page's own part, without the layout's header and footer. */
const mainOf = (html: string) => html.slice(html.indexOf('<main'), html.indexOf('</main>'));
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
  const css = assets.get('gateway.css')!;
  t.match(html, /<html lang="de">/);
  t.match(html, /<title>Anmelden · MFA Gateway<\/title>/);
  t.equal(tags(html, 'link').filter((l) => attr(l, 'rel') === 'stylesheet').length, 1);
  t.match(html, `<link rel="stylesheet" href="/.gateway/static/gateway.css?v=${css.hash}">`);
  t.match(html, '<meta name="color-scheme" content="light dark">');
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the forms' POSTs, which the portal refuses.
  t.match(html, '<meta name="referrer" content="same-origin">');
  t.match(html, '<meta name="viewport" content="width=device-width, initial-scale=1">');
  t.match(renderer.page('sign-in', 'fr', samples['sign-in'].plain!), /<html lang="en">/, 'an unknown language renders English');
  const branded = createRenderer({ catalog, assets, prefix: '/auth/', productName: 'ACME Sign-in' });
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
  t.notMatch(
    mainOf(renderer.page('message', 'en', { title: 'continue', text: { key: 'account_browsers_many', params: { count: 3 } } })),
    '<a ',
  );
  t.match(
    renderer.page('message', 'en', { title: 'continue', text: { key: 'account_browsers_many', params: { count: 3 } } }),
    '<p>3 browsers currently skip',
  );
});

t.test('max-per-user-told-at-sign-in: the page after the sign-in says how many sessions ended, in both languages', async (t) => {
  const note = (html: string) => /<div class="alert alert--warn" role="status">([^<]*)<\/div>/.exec(html)?.[1];
  const one = 'Signing in on this browser ended your oldest session (the limit is 1 at a time).';
  const signedIn = renderer.page('signed-in', 'en', samples['signed-in'].plain!);
  t.match(signedIn, '<h1>You’re signed in</h1>');
  t.equal(note(signedIn), one);
  t.match(signedIn, '<a class="button button--primary" href="https://wiki.example.com/start">Continue to wiki.example.com</a>');
  t.match(signedIn, 'href="/.gateway/account#sessions-heading">See your sessions</a>');
  t.notMatch(signedIn, /<script|http-equiv/i, 'a plain link: no script, no automatic redirect');
  const many = renderer.page('signed-in', 'de', samples['signed-in'].many!);
  t.equal(note(many), 'Die Anmeldung in diesem Browser hat Ihre 3 ältesten Sitzungen beendet (höchstens 2 gleichzeitig).');
  t.match(many, 'href="https://wiki.example.com:8443/a?b=1&amp;c=2">Weiter zu wiki.example.com:8443</a>', 'the URL escaped, the app named');
  t.match(many, '<h1>Sie sind angemeldet</h1>');

  t.equal(
    note(renderer.page('second-factor', 'en', samples['second-factor'].sessionsLimited!)),
    'Signing in on this browser ended your oldest session (the limit is 3 at a time).',
    'the code page',
  );
  t.equal(
    note(
      renderer.page('second-factor', 'en', {
        ...samples['second-factor'].sessionsLimited!,
        lockedUntil: Date.parse('2026-03-12T14:05:00Z'),
      }),
    ),
    'Signing in on this browser ended your oldest session (the limit is 3 at a time).',
    'the code page while locked',
  );
  t.equal(note(renderer.page('enroll', 'en', { ...samples.enroll.plain!, sessionsLimited: { ended: 1, max: 1 } })), one, 'enrollment');
  t.equal(note(renderer.page('enroll-refused', 'en', samples['enroll-refused'].sessionsLimited!)), one, 'enrollment refused here');
  t.equal(
    note(renderer.page('security-key-add', 'de', samples['security-key-add'].sessionsLimited!)),
    'Die Anmeldung in diesem Browser hat Ihre 2 ältesten Sitzungen beendet (höchstens 1 gleichzeitig).',
    'a first security key',
  );
  for (const [name, sample] of [
    ['second-factor', samples['second-factor'].plain!],
    ['enroll', samples.enroll.plain!],
    ['enroll-refused', samples['enroll-refused'].plain!],
    ['security-key-add', samples['security-key-add'].plain!],
  ] as const)
    t.equal(note(renderer.page(name, 'en', sample as never)), undefined, `${name}: no note without one`);
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

t.test('issue 17: the brand and "Back to <host>" in the header, the help contact in the footer', async (t) => {
  const plain = renderer.page('signed-out', 'en', {});
  t.match(plain, /<a class="brand" href="\/"><svg/, 'the brand links to / without a public URL');
  t.notMatch(plain, 'id="back-to-app"', 'no back link without a place to go back to');
  const linked = createRenderer({ catalog, assets, prefix: '/.gateway/', homeUrl: 'https://gw.example.com/' });
  const back = { href: 'https://wiki.example.com/start?a=1&b="2"', host: 'wiki.example.com' };
  for (const [lang, label] of [
    ['en', 'Back to wiki.example.com'],
    ['de', 'Zurück zu wiki.example.com'],
  ] as const) {
    const html = linked.page('sign-in', lang, samples['sign-in'].plain!, { back });
    t.match(html, '<a class="brand" href="https://gw.example.com/">');
    t.match(html, `<a id="back-to-app" href="https://wiki.example.com/start?a=1&amp;b=&quot;2&quot;">${label}</a>`);
  }
  t.match(
    linked.errorPage(404, 'en', {}, { back: { href: '/', host: 'app.example.com:8443' } }),
    'href="/">Back to app.example.com:8443</a>',
  );

  const help = createRenderer({
    assets,
    catalog,
    prefix: '/.gateway/',
    help: {
      text: { en: 'IT service desk', de: 'IT-Servicedesk' },
      phone: '+49 (30) 1234-5678',
      email: 'it-help@example.com',
      url: 'https://intranet.example.com/it-help?x=1&y=2',
    },
  });
  t.match(
    help.page('signed-out', 'en', {}),
    '<p id="help-contact">Need help? IT service desk · <a href="tel:+493012345678">+49 (30) 1234-5678</a> · ' +
      '<a href="mailto:it-help@example.com">it-help@example.com</a> · ' +
      '<a href="https://intranet.example.com/it-help?x=1&amp;y=2">Help pages</a></p>',
  );
  t.match(help.page('signed-out', 'de', {}), /<p id="help-contact">Brauchen Sie Hilfe\? IT-Servicedesk · .*Hilfeseiten<\/a><\/p>/);
  t.notMatch(help.page('signed-out', 'en', {}), 'Contact your IT team', 'the contact replaces the generic text');
  const plainText = createRenderer({ catalog, assets, prefix: '/.gateway/', help: { text: 'Service desk <ext. 1234>' } });
  t.match(
    plainText.page('signed-out', 'de', {}),
    '<p id="help-contact">Brauchen Sie Hilfe? Service desk &lt;ext. 1234&gt;</p>',
    'one text for all',
  );
});

t.test('issue 17: a 403 for a signed-in user offers another account; 5xx pages offer "Try again" on this origin only', async (t) => {
  const signedIn = samples.error.signedIn!;
  for (const [lang, who, button] of [
    ['en', 'Signed in as bob', 'Sign out and use another account'],
    ['de', 'Angemeldet als bob', 'Abmelden und ein anderes Konto verwenden'],
  ] as const) {
    const html = renderer.page('error', lang, signedIn);
    t.match(html, `<p id="signed-in-as">${who}</p>`);
    t.match(
      html,
      '<form method="post" action="/.gateway/sign-out">\n<input type="hidden" name="csrf" value="c12">\n' +
        '<input type="hidden" name="rd" value="https://wiki.example.com/finance/q3">',
    );
    t.match(html, `<button type="submit" class="button button--primary">${button}</button>`);
    t.match(html, 'id="rule-explanation">The finance reports are for the finance team.</p>', "the rule's texts stay");
  }
  const anonymous = renderer.errorPage(403, 'en', { requestId: 'r' });
  t.notMatch(anonymous, 'signed-in-as', 'an anonymous 403 has no account line');
  t.notMatch(anonymous, 'sign-out');

  const retry = renderer.page('error', 'de', samples.error.retry!);
  t.match(retry, '<a class="button button--primary" href="/reports?year=2026">Erneut versuchen</a>');
  t.notMatch(retry, 'Zur Startseite', '"Try again" replaces the start page');
  for (const evil of ['//evil.example/x', '/\\evil.example/x', 'https://evil.example/', 'javascript:alert(1)']) {
    const html = renderer.errorPage(502, 'en', { retryUrl: evil });
    t.notMatch(html, 'Try again', `${evil}: no "Try again" off this origin`);
    t.match(html, 'Go to the start page');
  }
});

t.test('issue 17: the code page names the method it asks for and lists every other way in', async (t) => {
  const named = renderer.page('second-factor', 'en', samples['second-factor'].named!);
  t.match(named, '<p class="lead" id="code-intro">Enter the code from your authenticator app “Phone”.</p>');
  t.match(named, '<p><a href="/.gateway/second-factor?use=other&amp;rd=https%3A%2F%2Fwiki.example.com%2Fstart">Use another method</a></p>');
  t.notMatch(named, 'recovery-code', 'the recovery code is on the other page');
  t.match(
    renderer.page('second-factor', 'de', samples['second-factor'].named!),
    'Geben Sie den Code aus Ihrer Authenticator-App „Phone“ ein.',
  );
  t.match(
    renderer.page('second-factor', 'en', { csrf: 'c', user: 'a', methods: [{ id: 'x', kind: 'totp', name: 'Authenticator app' }] }),
    'Enter the code from your authenticator app or hardware token.',
    'a method named after its kind is not named twice',
  );

  const pinned = renderer.page('second-factor', 'en', samples['second-factor'].pinned!);
  t.match(pinned, 'Enter the code shown on your hardware token “TK-200”.');
  t.match(pinned, '<input type="hidden" name="use" value="m-2">', 'a retry keeps asking for the token');
  t.notMatch(pinned, 'data-webauthn', 'a method picked by name is asked for alone');
  t.match(pinned, 'aria-invalid="true"');

  const other = renderer.page('second-factor', 'en', samples['second-factor'].other!);
  t.notMatch(other, 'id="code"', 'no code field on the list');
  t.notMatch(other, 'data-webauthn', 'no key button on the list: the key is one of its links');
  t.notMatch(other, 'webauthn.js', 'and no script');
  const ways = [...other.matchAll(/<a class="button button--secondary" href="([^"]*)">([^<]*)<\/a>/g)].map((m) => [
    decodeEntities(m[1]!),
    m[2],
  ]);
  t.same(ways, [
    ['/.gateway/second-factor?use=m-1&rd=https%3A%2F%2Fwiki.example.com%2Fstart', 'Authenticator app “Phone”'],
    ['/.gateway/second-factor?use=m-2&rd=https%3A%2F%2Fwiki.example.com%2Fstart', 'Hardware token “TK-200”'],
    ['/.gateway/second-factor?use=m-3&rd=https%3A%2F%2Fwiki.example.com%2Fstart', 'Authenticator app'],
    ['/.gateway/second-factor?use=key&rd=https%3A%2F%2Fwiki.example.com%2Fstart', 'Security key or passkey'],
  ]);
  t.match(other, '<label for="recovery-code">Recovery code</label>');
  t.match(
    other,
    'id="lost-all">Lost every method and your recovery codes too? Ask your IT team to reset your sign-in methods and to give you a ' +
      'temporary access pass',
  );
  t.notMatch(other, 'Use another method</a>', 'the list does not link to itself');
  const otherDe = renderer.page('second-factor', 'de', samples['second-factor'].otherRecoveryError!);
  t.match(otherDe, 'Hardware-Token „TK-200“');
  t.match(otherDe, /id="recovery-code"[^>]* aria-invalid="true" autofocus>/);
  t.match(
    otherDe,
    'id="lost-all">Alle Methoden und auch die Wiederherstellungscodes verloren? Bitten Sie Ihre IT-Abteilung, Ihre Anmeldemethoden ' +
      'zurückzusetzen: Bei',
  );

  const keyOnly = renderer.page('second-factor', 'en', samples['second-factor'].keyOnly!);
  t.match(keyOnly, 'data-webauthn="authenticate"');
  t.match(keyOnly, '<input type="hidden" name="use" value="key">');
  t.notMatch(keyOnly, 'id="code"', 'the key alone');
  t.match(keyOnly, '<noscript><p class="hint">To use your security key or passkey, turn on JavaScript in your browser.</p></noscript>');
  const needKey = renderer.page('second-factor', 'en', { ...samples['second-factor'].other!, need: ['webauthn'] });
  t.notMatch(needKey, 'TK-200', 'a rule that wants a key lists no code methods');
  t.match(needKey, 'use=key&amp;rd=https%3A%2F%2Fwiki.example.com%2Fstart&amp;need=webauthn');
});

t.test('issue 17: the fraud report says what it did and what to do now', async (t) => {
  const blocked = renderer.page('fraud-reported', 'en', samples['fraud-reported'].blocked!);
  t.match(blocked, 'Every session of your account has ended, so whoever signed in with your password is signed out.');
  t.match(blocked, /Your account is blocked until Jun 10, 2026, \d\d?:\d\d [AP]M: nobody can sign in with it, not even you/);
  t.match(blocked, 'Your IT team has been sent an e-mail about the report.');
  t.match(blocked, 'ask your IT team to unblock your account');
  t.notMatch(mainOf(blocked), '<a ', 'no sign-in button while blocked');
  const open = renderer.page('fraud-reported', 'de', samples['fraud-reported'].notBlocked!);
  t.notMatch(open, 'gesperrt');
  t.match(open, 'Die Meldung ist im Anmeldeprotokoll vermerkt, das Ihre IT-Abteilung einsehen kann.');
  t.match(open, '<a class="button button--primary" href="/.gateway/sign-in">Zur Anmeldung</a>');
});

t.test('config overrides reach the pages', async (t) => {
  const custom = createRenderer({
    assets,
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
  const r = createRenderer({ catalog, assets, prefix: '/.gateway/', viewsDir: dir });
  const before = r.page('signed-out', 'en', {});
  writeFileSync(join(dir, 'pages', 'signed-out.mustache'), 'changed');
  writeFileSync(join(dir, 'layout.mustache'), 'changed');
  t.equal(r.page('signed-out', 'en', {}), before);
  t.throws(() => createRenderer({ catalog, assets, prefix: '/', viewsDir: join(dir, 'missing') }), /ENOENT/);
});

t.test('static assets: served from memory only', async (t) => {
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
  const nested = await loadStaticAssets(dir);
  t.equal(nested.get('sub/gateway.css')?.etag, css!.etag, 'nested names use forward slashes');
  t.equal(nested.get('blob.bin')?.type, 'application/octet-stream');
});
