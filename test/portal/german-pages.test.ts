// German throughout (issue 17 item 5): a German browser walks a real gateway (sign-in, code,
// first setup, account, adding a method, recovery codes, app passwords, a security key, sign-out,
// an error, the admin pages with their sign-in log) and every page it reads, and every e-mail
// the gateway writes in German, is scanned for English words and for "Passwort" (the German
// pages say "Kennwort"). Also every German text of the catalog and the templates themselves.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildCatalog } from '../../src/portal/i18n.ts';
import { MAIL_TEXTS } from '../../src/notify/texts.ts';
import { blockMail, fraudAlertMail, lockoutMail, signInNoticeMail, createDateFormatter } from '../../src/notify/compose.ts';
import { Browser, field, pathOf, signInPassword, startTestGateway, startUpstream, totpCode, enrollmentSecret } from '../helpers/gateway.ts';
import type { Reply } from '../helpers/gateway.ts';
import { ENGLISH_WORDS } from './german-words.ts';

const CHROME_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const GERMAN = { 'accept-language': 'de-DE,de;q=0.9,en;q=0.5', 'user-agent': CHROME_LINUX };

/** Technical literals a German text may quote as they are: config keys, commands, the token CSV's header. */
const LITERALS =
  /mfa-gateway (?:log --user|users make-admin)|upn,serial number,secret key,time interval,manufacturer,model|[\w-]+(?:\.[\w-]+)+/g;

/** Whole English words in `text`, placeholders and literals removed first. */
function englishIn(text: string): string[] {
  const plain = text.replace(/\{\w+\}/g, ' ').replace(LITERALS, ' ');
  return ENGLISH_WORDS.filter((w) => new RegExp(`(?<![\\p{L}\\-])${w}(?![\\p{L}\\-])`, 'iu').test(plain));
}

const decode = (s: string) =>
  s
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/**
 * What a reader of the page meets: its text and the attributes read aloud or shown (labels, placeholders, a field's value).
 * A `<code>` element is data, never words (a secret, a recovery code, an address): a random secret's last group can read "ON".
 */
function readable(html: string): string {
  const values = [...html.matchAll(/<input(?![^>]*type="hidden")[^>]*\svalue="([^"]*)"/g)].map((m) => m[1]);
  const attrs = [...html.matchAll(/\s(?:aria-label|title|alt|placeholder)="([^"]*)"/g)].map((m) => m[1]);
  const text = html
    .replace(/<svg[\s\S]*?<\/svg>/g, ' ')
    .replace(/<code[\s>][\s\S]*?<\/code>/g, ' ')
    .replace(/<input[^>]*type="hidden"[^>]*>/g, ' ')
    .replace(/<[^>]*>/g, ' ');
  return decode(`${text} ${attrs.join(' ')} ${values.join(' ')}`);
}

t.test('every German text of the pages and e-mails says Kennwort and has no English words', async (t) => {
  const de = buildCatalog({}).messages.de!;
  for (const [key, text] of Object.entries(de)) {
    t.notMatch(text, /Passwort/, `${key}: Kennwort, not Passwort`);
    t.same(englishIn(text), [], `${key}: ${text}`);
  }
  for (const [key, text] of Object.entries(MAIL_TEXTS.de!)) {
    t.notMatch(text, /Passwort/, `mail ${key}`);
    t.same(englishIn(text), [], `mail ${key}: ${text}`);
  }
  // Templates carry no words of their own: every text comes from the catalog.
  for (const dir of ['views', 'views/pages', 'views/partials']) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.mustache'))) {
      const html = readFileSync(join(dir, file), 'utf8').replace(/\{\{[^}]*\}\}\}?/g, ' ');
      t.same(englishIn(readable(html)), [], `${dir}/${file} has no literal English`);
    }
  }
});

t.test('the e-mails in German: sign-in notice to the user, and fraud alert, lockout and block to the admins', async (t) => {
  const ctx = { productName: 'MFA Gateway', formatDate: createDateFormatter('Europe/Berlin') };
  const at = Date.parse('2026-11-23T09:00:00Z');
  const mails = [
    signInNoticeMail(ctx, {
      to: 'bob@example.com',
      lang: 'de-DE',
      user: 'bob',
      name: 'Bob Builder',
      at,
      clientIp: '192.0.2.10',
      browser: 'Chrome unter Linux',
      reportUrl: 'https://gateway.example.com/.gateway/fraud-report?t=x',
      reportExpiresAt: at + 7 * 86_400_000,
      autoBlock: true,
    }),
    fraudAlertMail(ctx, {
      to: ['it@example.com'],
      lang: 'de',
      user: 'bob',
      at,
      clientIp: '192.0.2.10',
      browser: 'Chrome unter Linux',
      reportedAt: at + 60_000,
      reportedFrom: '192.0.2.11',
      blockedUntil: at + 90 * 86_400_000,
    }),
    lockoutMail(ctx, { to: ['it@example.com'], lang: 'de', user: 'bob', step: 'password', until: at, clientIp: '192.0.2.10' }),
    blockMail(ctx, { to: ['it@example.com'], lang: 'de', user: 'bob', reason: 'Laptop gestohlen', until: at, actor: 'alice' }),
  ];
  for (const mail of mails) {
    for (const [part, text] of [
      ['subject', mail.subject],
      ['text', mail.text],
      ['html', readable(mail.html)],
    ] as const) {
      t.notMatch(text, /Passwort/, `${mail.kind} ${part}`);
      t.same(englishIn(text.replace(/Bob Builder|MFA Gateway/g, ' ')), [], `${mail.kind} ${part} is German`);
    }
    t.match(mail.html, '<html lang="de">', `${mail.kind}: the HTML part says its language`);
  }
});

t.test('a German browser reads German on every page it visits, the admin log included', async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, up, {
    mfa: { methods: ['totp', 'webauthn'], app_passwords: { enabled: true } },
    portal: { organization: 'Beispiel GmbH' },
  });
  const pages: { label: string; reply: Reply }[] = [];
  const keep = (label: string, reply: Reply) => {
    pages.push({ label, reply });
    return reply;
  };

  // bob: the sign-in page, a wrong password, then password and first setup with a wrong code first.
  const bob = new Browser(gw.port, GERMAN);
  const signIn = keep('sign-in', await bob.get('/.gateway/sign-in'));
  keep(
    'sign-in: wrong password',
    await bob.post('/.gateway/sign-in', { username: 'bob', password: 'nope', csrf: field(signIn.body, 'csrf') }),
  );
  keep('sign-in: empty', await bob.post('/.gateway/sign-in', { username: '', password: '', csrf: field(signIn.body, 'csrf') }));
  t.equal((await signInPassword(bob, 'bob')).status, 303);
  const enroll = keep('enroll', await bob.get('/.gateway/enroll'));
  t.match(enroll.body, 'Beispiel GmbH', 'the issuer is the organization');
  keep('enroll: wrong code', await bob.post('/.gateway/enroll', { code: '000000', csrf: field(enroll.body, 'csrf') }));
  const secret = enrollmentSecret(enroll.body);
  t.equal((await bob.post('/.gateway/enroll', { code: totpCode(secret, gw.clock.now), csrf: field(enroll.body, 'csrf') })).status, 303);

  const account = keep('account', await bob.get('/.gateway/account'));
  t.match(account.body, 'Chrome unter Linux', 'the browser in German');
  t.match(account.body, /<td data-label="Name">Authenticator-App<\/td>/, 'the first method is named in the language of its setup');
  const methodId = /name="id" value="([^"]+)"/.exec(account.body)![1]!;
  const add = keep('method add', await bob.get('/.gateway/account/methods/add'));
  t.match(add.body, 'value="Authenticator-App 2"', 'the default name of a second app is German');
  keep('recovery codes', await bob.get('/.gateway/account/recovery-codes'));
  keep('recovery codes: new', await bob.post('/.gateway/account/recovery-codes', { csrf: field(account.body, 'csrf') }));
  const apps = keep('app passwords', await bob.get('/.gateway/account/app-passwords'));
  keep(
    'app passwords: created',
    await bob.post('/.gateway/account/app-passwords', { name: 'Mailprogramm', csrf: field(apps.body, 'csrf') }),
  );
  const key = keep('security key add', await bob.get('/.gateway/account/security-keys/add'));
  t.match(key.body, 'value="Sicherheitsschlüssel"', 'the default name of a key is German');
  const renamed = await bob.post('/.gateway/account/methods/rename', { id: methodId, name: '   ', csrf: field(account.body, 'csrf') });
  t.equal(renamed.status, 303);
  keep('account: rename refused', await bob.get(pathOf(renamed.headers.location)));
  keep('method remove', await bob.get(`/.gateway/account/methods/remove?id=${methodId}`));
  keep('not found', await bob.get('/.gateway/nothing-here'));
  keep('sign-out', await bob.get('/.gateway/sign-out'));

  // The code page, wrong and right, after signing in again.
  gw.clock.now += 60_000;
  const again = new Browser(gw.port, GERMAN);
  await signInPassword(again, 'bob');
  const code = keep('second factor', await again.get('/.gateway/second-factor'));
  keep('second factor: wrong code', await again.post('/.gateway/second-factor', { code: '000000', csrf: field(code.body, 'csrf') }));
  t.equal(
    (await again.post('/.gateway/second-factor', { code: totpCode(secret, gw.clock.now), csrf: field(code.body, 'csrf') })).status,
    303,
  );
  const out = await again.get('/.gateway/sign-out');
  keep('signed out', await again.post('/.gateway/sign-out', { csrf: field(out.body, 'csrf') }));

  // alice, an admin: the users, bob's page with his sign-in log, the whole log, the tokens.
  const alice = new Browser(gw.port, GERMAN);
  t.equal((await signInPassword(alice, 'alice')).status, 303);
  const aliceEnroll = await alice.get('/.gateway/enroll');
  await alice.post('/.gateway/enroll', {
    code: totpCode(enrollmentSecret(aliceEnroll.body), gw.clock.now),
    csrf: field(aliceEnroll.body, 'csrf'),
  });
  keep('admin users', await alice.get('/.gateway/admin'));
  const bobPage = keep('admin user', await alice.get('/.gateway/admin/user?name=bob'));
  t.match(bobPage.body, 'Chrome unter Linux', 'the sessions list the browser in German');
  const log = keep('admin log', await alice.get('/.gateway/admin/log'));
  t.match(log.body, 'Falsches Kennwort', 'a log detail in German');
  t.match(log.body, 'Zweiter Schritt', 'an event kind in German');
  keep('admin tokens', await alice.get('/.gateway/admin/tokens'));

  for (const { label, reply } of pages) {
    t.match(reply.headers['content-type'], /^text\/html/, `${label}: a page`);
    t.match(reply.body, '<html lang="de">', `${label}: German`);
    // Data, not words: the users' names, groups and e-mail addresses, and the product's name.
    const html = reply.body.replace(/<dd>(?:admins, )?users<\/dd>/g, '<dd></dd>');
    const text = readable(html).replace(/Alice Example|Bob Builder|\S+@example\.com|MFA Gateway/g, ' ');
    t.notMatch(text, /Passwort/, `${label}: Kennwort, not Passwort`);
    t.same(englishIn(text), [], `${label}: no English left`);
  }
});
