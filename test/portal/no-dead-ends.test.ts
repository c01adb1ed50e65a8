// Issue 17 items 2 and 3 over HTTP, through a real gateway: a 403 names who is signed in and
// signs out to the sign-in page with the refused URL; every page links back to the app; the
// 502/503/504 pages offer "Try again" on the same origin only; the footer's help contact comes
// from `portal.help`; the code page names the method it asks for and "Use another method"
// lists every way in, the recovery code, and what to ask the IT team for.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import {
  Browser,
  field,
  pathOf,
  send,
  sendRaw,
  signInPassword,
  signInWithEnrollment,
  startTestGateway,
  startUpstream,
  totpCode,
} from '../helpers/gateway.ts';
import { freePort } from '../helpers/net.ts';
import { formatProblem, loadConfig } from '../../src/config/load.ts';
import { generateTotp } from '../../src/factors/totp/totp.ts';

const FINANCE = {
  name: 'finance',
  paths: ['/finance/**'],
  groups: ['finance'],
  policy: 'two_factor',
  explanation: 'The finance reports are for the finance team.',
};

const decode = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

/** The header's "Back to …" link: where it leads and what it says. */
function backLink(html: string): { href: string; label: string } | null {
  const m = /<a id="back-to-app" href="([^"]*)">([^<]*)<\/a>/.exec(html);
  return m ? { href: decode(m[1]!), label: m[2]! } : null;
}

/** The href of the link whose whole text is `text`. */
function hrefOf(html: string, text: string): string | null {
  const m = new RegExp(`<a [^>]*href="([^"]*)"[^>]*>${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</a>`).exec(html);
  return m ? decode(m[1]!) : null;
}

/** The code of a hardware token's secret now. */
const tokenCode = (secret: Buffer, now: number) => generateTotp({ secret, now, period: 30, digits: 6, algorithm: 'sha1' });

t.test('a 403 names who is signed in, and "Sign out and use another account" comes back to the refused URL', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { rules: [FINANCE, { paths: ['/**'], policy: 'two_factor' }] });
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  const refused = await bob.get('/finance/q3?year=2026');
  t.equal(refused.status, 403);
  t.match(refused.body, '<p id="signed-in-as">Signed in as bob</p>');
  t.match(refused.body, 'The finance reports are for the finance team.', "the rule's explanation stays");
  t.match(refused.body, '<form method="post" action="/.gateway/sign-out">');
  t.match(refused.body, '>Sign out and use another account</button>');
  t.equal(field(refused.body, 'rd'), 'http://gateway.test/finance/q3?year=2026');

  const de = await bob.get('/finance/q3', { 'accept-language': 'de' });
  t.match(de.body, '<p id="signed-in-as">Angemeldet als bob</p>');
  t.match(de.body, '>Abmelden und ein anderes Konto verwenden</button>');

  const forged = await bob.post('/.gateway/sign-out', { csrf: 'x'.repeat(43), rd: field(refused.body, 'rd') });
  t.equal(forged.status, 403, 'the button carries the session CSRF token; a forged one signs nobody out');
  t.equal((await bob.get('/app')).status, 200);

  const out = await bob.post('/.gateway/sign-out', { csrf: field(refused.body, 'csrf'), rd: field(refused.body, 'rd') });
  t.equal(out.status, 303);
  const signIn = pathOf(out.headers.location);
  t.equal(signIn, `/.gateway/sign-in?rd=${encodeURIComponent('http://gateway.test/finance/q3?year=2026')}`);
  t.equal((await bob.get('/app')).status, 302, 'signed out');
  const page = await bob.get(signIn);
  t.equal(field(page.body, 'rd'), 'http://gateway.test/finance/q3?year=2026', 'the next sign-in goes back to the refused page');
  const log = await gw.store.query({ user: 'bob', limit: 10 });
  t.ok(log.some((e) => e.kind === 'revocation' && e.detail === 'user signed out'));
});

t.test('sign-out follows only a return URL the gateway protects', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  const account = await bob.get('/.gateway/account');
  const out = await bob.post('/.gateway/sign-out', { csrf: field(account.body, 'csrf'), rd: 'https://evil.example/' });
  t.equal(out.status, 200, 'the signed-out page, not a redirect');
  t.match(out.body, 'You’re signed out');
  t.equal((await bob.get('/app')).status, 302);
});

t.test('a refused portal page (the admin pages for a non-admin) offers another account too', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  const admin = await bob.get('/.gateway/admin');
  t.equal(admin.status, 403);
  t.match(admin.body, 'Signed in as bob');
  t.equal(field(admin.body, 'rd'), 'http://gateway.test/.gateway/admin');
  const badForm = await bob.post('/.gateway/account/forget-browsers', { csrf: 'x'.repeat(43) });
  t.equal(badForm.status, 403);
  t.notMatch(badForm.body, 'signed-in-as', 'a refused form offers no account switch: signing out would not help');
});

t.test('an anonymous 403 has no account line', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { rules: [{ paths: ['/**'], networks: ['10.0.0.0/8'], policy: 'bypass' }] });
  const denied = await send(gw.port, '/app', { headers: { accept: 'text/html' } });
  t.equal(denied.status, 403);
  t.match(denied.body, 'Access denied');
  t.notMatch(denied.body, 'signed-in-as');
  t.notMatch(denied.body, '/.gateway/sign-out');
  t.match(denied.body, 'Go to the start page');
});

t.test('every page links back to the app: the return URL, else the public URL; the brand links to the public URL', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const rd = 'http://gateway.test/reports?x=1&y=2';
  const bob = new Browser(gw.port);
  const brand = '<a class="brand" href="http://gateway.test/">';
  const check = (what: string, html: string, href: string, label = 'Back to gateway.test') => {
    t.match(html, brand, `${what}: the brand links to the public URL`);
    t.same(backLink(html), { href, label }, `${what}: back to ${href}`);
  };
  check('sign-in with rd', (await bob.get(`/.gateway/sign-in?rd=${encodeURIComponent(rd)}`)).body, rd);
  check('sign-in', (await bob.get('/.gateway/sign-in')).body, 'http://gateway.test/');
  check(
    'sign-in refusing a foreign rd',
    (await bob.get('/.gateway/sign-in?rd=https%3A%2F%2Fevil.example%2F')).body,
    'http://gateway.test/',
  );
  await signInPassword(bob, 'bob', undefined, rd);
  const enroll = await bob.get(`/.gateway/enroll?rd=${encodeURIComponent(rd)}`);
  check('enroll', enroll.body, rd);
  const done = await bob.post('/.gateway/enroll', {
    code: totpCode(
      /<code class="secret">(.*?)<\/code>/s
        .exec(enroll.body)![1]!
        .replace(/<[^>]+>/g, '')
        .replace(/\s+/g, ''),
      gw.clock.now,
    ),
    csrf: field(enroll.body, 'csrf'),
    rd,
  });
  t.equal(pathOf(done.headers.location), '/reports?x=1&y=2');
  check('account', (await bob.get('/.gateway/account')).body, 'http://gateway.test/');
  check('sign-out', (await bob.get('/.gateway/sign-out')).body, 'http://gateway.test/');
  const missing = await bob.get('/.gateway/no-such-page');
  t.equal(missing.status, 404);
  check('an error page', missing.body, '/');
  const other = await send(gw.port, '/.gateway/nothing', { headers: { host: 'app.example.com:8443', accept: 'text/html' } });
  t.same(backLink(other.body), { href: '/', label: 'Back to app.example.com:8443' }, 'an error page names the host it stands on');
  const de = await bob.get('/.gateway/account', { 'accept-language': 'de' });
  t.equal(backLink(de.body)?.label, 'Zurück zu gateway.test');

  const again = new Browser(gw.port);
  await signInPassword(again, 'bob', undefined, rd);
  check('code page', (await again.get(`/.gateway/second-factor?rd=${encodeURIComponent(rd)}`)).body, rd);
  const out = await again.post('/.gateway/sign-out', { csrf: field((await again.get('/.gateway/sign-out')).body, 'csrf') });
  check('signed out', out.body, 'http://gateway.test/');
});

t.test('502 and 504 pages offer "Try again" on the same path, never off the origin, and never for a POST', async (t) => {
  const deadPort = await freePort();
  const gw = await startTestGateway(
    t,
    { url: `http://127.0.0.1:${deadPort}`, server: undefined as never, requests: [] },
    {
      rules: [{ paths: ['/**'], policy: 'bypass' }],
    },
  );
  const html = { accept: 'text/html' };
  const dead = await send(gw.port, '/reports/q3?year=2026&x=%22', { headers: html });
  t.equal(dead.status, 502);
  t.equal(hrefOf(dead.body, 'Try again'), '/reports/q3?year=2026&x=%22');
  t.notMatch(dead.body, 'Go to the start page', '"Try again" replaces the start page');
  const de = await send(gw.port, '/reports', { headers: { ...html, 'accept-language': 'de' } });
  t.equal(hrefOf(de.body, 'Erneut versuchen'), '/reports');

  for (const [target, expected] of [
    ['//evil.example/x', '/evil.example/x'],
    ['/a/..//evil.example', '/evil.example'],
    ['http://gateway.test//evil.example/x?y=1', '/evil.example/x?y=1'],
  ] as const) {
    const raw = await sendRaw(gw.port, `GET ${target} HTTP/1.1\r\nHost: gateway.test\r\nAccept: text/html\r\nConnection: close\r\n\r\n`);
    t.equal(raw.status, 502, target);
    t.equal(hrefOf(raw.body, 'Try again'), expected, `${target}: the link stays on this origin`);
  }
  const post = await send(gw.port, '/reports', { method: 'POST', body: 'a=1', headers: { ...html, 'content-type': 'text/plain' } });
  t.equal(post.status, 502);
  t.equal(hrefOf(post.body, 'Try again'), null, 'a link cannot repeat a POST');
  t.match(post.body, 'Go to the start page');

  const slow = await startUpstream(t, (_req, res) => {
    setTimeout(() => res.end('late'), 2000).unref();
  });
  const gwSlow = await startTestGateway(t, slow, {
    server: { timeouts: { upstream_response: '300ms' } },
    rules: [{ paths: ['/**'], policy: 'bypass' }],
  });
  const timedOut = await send(gwSlow.port, '/slow/page', { headers: html });
  t.equal(timedOut.status, 504);
  t.equal(hrefOf(timedOut.body, 'Try again'), '/slow/page');
});

t.test('the 503 of a store that stopped answering offers "Try again" on the same page', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const bob = new Browser(gw.port);
  await signInWithEnrollment(bob, gw, 'bob');
  gw.revocations.stop();
  const started = performance.now();
  let reply = await bob.get('/app?tab=2');
  while (reply.status === 200 && performance.now() - started < 5000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    reply = await bob.get('/app?tab=2');
  }
  t.equal(reply.status, 503, 'the revocation records are no longer current');
  t.equal(reply.headers['retry-after'], '5');
  t.equal(hrefOf(reply.body, 'Try again'), '/app?tab=2');
  const account = await bob.get('/.gateway/account');
  t.equal(account.status, 503);
  t.equal(hrefOf(account.body, 'Try again'), '/.gateway/account');
});

t.test('portal.help puts a contact in every footer, in the reader language; without it a generic text', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), {
    portal: {
      help: {
        text: { en: 'IT service desk', de: 'IT-Servicedesk' },
        phone: '+49 30 1234 5678',
        email: 'it-help@example.com',
        url: 'https://intranet.example.com/it-help',
      },
    },
  });
  const en = await send(gw.port, '/.gateway/sign-in');
  t.match(
    en.body,
    '<p id="help-contact">Need help? IT service desk · <a href="tel:+493012345678">+49 30 1234 5678</a> · ' +
      '<a href="mailto:it-help@example.com">it-help@example.com</a> · <a href="https://intranet.example.com/it-help">Help pages</a></p>',
  );
  const de = await send(gw.port, '/.gateway/no-such-page', { headers: { 'accept-language': 'de', accept: 'text/html' } });
  t.match(de.body, '<p id="help-contact">Brauchen Sie Hilfe? IT-Servicedesk · <a href="tel:+493012345678">', 'error pages too');
  t.match(de.body, 'Hilfeseiten</a></p>');

  const plain = await startTestGateway(t, await startUpstream(t));
  t.match((await send(plain.port, '/.gateway/sign-in')).body, '<p>Need help? Contact your IT team.</p>');
});

t.test('portal.help is checked: text required, a phone number, an e-mail address, an http(s) URL', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-gw-help-'));
  const problems = async (help: unknown) => {
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      YAML.stringify({
        session: { secret: 'x'.repeat(40) },
        upstream: { url: 'http://127.0.0.1:3000' },
        rules: [{ paths: ['/**'], policy: 'two_factor' }],
        portal: { help },
      }),
    );
    const loaded = await loadConfig(file, {});
    return loaded.ok ? [] : loaded.problems.map(formatProblem);
  };
  t.same(await problems({ text: 'IT', phone: '+49 (30) 1234-5678', email: 'a@example.com', url: 'https://x.example/' }), []);
  t.match((await problems({ phone: '123456' })).join('\n'), /portal\.help\.text: required key "text" is missing/);
  t.match((await problems({ text: 'IT', phone: 'call me' })).join('\n'), /portal\.help\.phone: must be a phone number/);
  t.match((await problems({ text: 'IT', email: 'not-an-address' })).join('\n'), /portal\.help\.email/);
  t.match((await problems({ text: 'IT', url: 'javascript:alert(1)' })).join('\n'), /portal\.help\.url: must be an http/);
  t.match((await problems({ text: { de: 'nur Deutsch' } })).join('\n'), /portal\.help\.text/);
  t.match((await problems({ text: 'IT', fax: '1' })).join('\n'), /portal\.help\.fax: unknown key/);
});

t.test('the code page names the method it asks for; "Use another method" lists every way in', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t));
  const setup = new Browser(gw.port);
  await signInWithEnrollment(setup, gw, 'bob');
  const [phone] = await gw.store.listMethods('bob');
  await gw.store.renameMethod('bob', phone!.id, 'Phone');
  gw.clock.now += 60_000; // the token comes a minute later: neither was used since, so the phone, set up first, leads
  const tokenSecret = Buffer.alloc(20, 9);
  const added = await gw.store.addMethod(
    { user: 'bob', kind: 'oath_token', label: 'TK-200', secret: tokenSecret, period: 30, digits: 6, algorithm: 'sha1', active: true },
    5,
  );
  t.ok(added.ok);
  const token = (await gw.store.listMethods('bob')).find((m) => m.label === 'TK-200')!;

  const rd = 'http://gateway.test/reports';
  const bob = new Browser(gw.port);
  await signInPassword(bob, 'bob', undefined, rd);
  const page = await bob.get(`/.gateway/second-factor?rd=${encodeURIComponent(rd)}`);
  t.match(page.body, '<p class="lead" id="code-intro">Enter the code from your authenticator app “Phone”.</p>', 'the last used method');
  t.notMatch(page.body, 'id="recovery-code"', 'the recovery code is one click away, not on the code page');
  const otherUrl = hrefOf(page.body, 'Use another method')!;
  t.equal(otherUrl, `/.gateway/second-factor?use=other&rd=${encodeURIComponent(rd)}`);

  const other = await bob.get(otherUrl);
  t.equal(other.status, 200);
  t.notMatch(other.body, 'id="code"');
  t.equal(hrefOf(other.body, 'Authenticator app “Phone”'), `/.gateway/second-factor?use=${phone!.id}&rd=${encodeURIComponent(rd)}`);
  const tokenUrl = hrefOf(other.body, 'Hardware token “TK-200”')!;
  t.equal(tokenUrl, `/.gateway/second-factor?use=${token.id}&rd=${encodeURIComponent(rd)}`);
  t.match(other.body, '<label for="recovery-code">Recovery code</label>');
  t.match(
    other.body,
    'Lost every method and your recovery codes too? Ask your IT team to reset your sign-in methods: you then set up a new one at ' +
      'your next sign-in.',
    'first_enrollment: anywhere needs no access pass',
  );
  t.match((await bob.get(otherUrl, { 'accept-language': 'de' })).body, 'Hardware-Token „TK-200“');

  const pinned = await bob.get(tokenUrl);
  t.match(pinned.body, 'Enter the code shown on your hardware token “TK-200”.');
  t.equal(field(pinned.body, 'use'), token.id);
  const wrong = await bob.post('/.gateway/second-factor', { code: '000000', csrf: field(pinned.body, 'csrf'), rd, use: token.id });
  t.equal(wrong.status, 401);
  t.match(wrong.body, 'Enter the code shown on your hardware token “TK-200”.', 'a wrong code keeps asking for the token');
  const unknown = await bob.get(`/.gateway/second-factor?use=not-a-method&rd=${encodeURIComponent(rd)}`);
  t.match(unknown.body, 'Enter the code from your authenticator app “Phone”.', 'an unknown method is the default page');

  const refusedRecovery = await bob.post('/.gateway/second-factor', { code: 'abcd-efgh-jkmn', csrf: field(pinned.body, 'csrf'), rd });
  t.equal(refusedRecovery.status, 401);
  t.match(refusedRecovery.body, /id="recovery-code"[^>]* aria-invalid="true" autofocus>/, 'answered on the page that has the field');
  t.match(refusedRecovery.body, 'Hardware token “TK-200”', 'with the other ways still listed');

  const done = await bob.post('/.gateway/second-factor', {
    code: tokenCode(tokenSecret, gw.clock.now),
    csrf: field(pinned.body, 'csrf'),
    rd,
    use: token.id,
  });
  t.equal(done.status, 303);
  t.equal(pathOf(done.headers.location), '/reports');
  const log = await gw.store.query({ user: 'bob', limit: 10 });
  t.ok(log.some((e) => e.kind === 'second_factor' && e.outcome === 'success' && e.detail === 'oath_token code accepted (TK-200)'));

  const next = new Browser(gw.port);
  await signInPassword(next, 'bob');
  t.match((await next.get('/.gateway/second-factor')).body, 'Enter the code shown on your hardware token “TK-200”.', 'the last used leads');
});

t.test('what the code page says when everything is lost follows the config', async (t) => {
  for (const [mfa, says] of [
    [{ first_enrollment: 'trusted_networks' }, 'Ask your IT team to reset your sign-in methods and to give you a temporary access pass'],
    [{ methods: ['oath_token'] }, 'Lost your token and your recovery codes too? Ask your IT team for a new hardware token.'],
    [{ methods: ['webauthn', 'oath_token'], first_enrollment: 'trusted_networks' }, 'at your next sign-in from the office network or VPN.'],
  ] as const) {
    const gw = await startTestGateway(t, await startUpstream(t), { mfa });
    await gw.store.addMethod(
      {
        user: 'bob',
        kind: 'oath_token',
        label: 'TK-1',
        secret: Buffer.alloc(20, 3),
        period: 30,
        digits: 6,
        algorithm: 'sha1',
        active: true,
      },
      5,
    );
    const bob = new Browser(gw.port);
    await signInPassword(bob, 'bob');
    const other = await bob.get('/.gateway/second-factor?use=other');
    t.match(other.body, says, JSON.stringify(mfa));
  }
});
