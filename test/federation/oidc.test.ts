// Federated sign-in against a real OpenID provider (oidc-provider on loopback) and a real
// gateway: the intranet claim, the gateway's own second factor, and every way an ID token or
// a callback can be forged, replayed or spoofed.
import t from 'tap';
import type { Test } from 'tap';
import {
  Browser,
  enrollmentSecret,
  field,
  pathOf,
  send,
  startTestGateway,
  startUpstream,
  totpCode,
  type TestGateway,
  type Upstream,
} from '../helpers/gateway.ts';
import {
  GATEWAY_CLIENT,
  INTRANET,
  OTHER_CLIENT,
  decodeJwt,
  loginAtProvider,
  signRs256,
  startProvider,
  unsigned,
  withPayload,
  type TestProvider,
} from './provider.ts';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';

const CALLBACK = 'http://gateway.test/.gateway/oidc/callback';

interface Setup {
  upstream: Upstream;
  gw: TestGateway;
  idp: TestProvider;
}

async function setup(
  t: Test,
  oidc: Record<string, unknown> = {},
  opts: { intranetClaim?: boolean; idTokenTtl?: number } = {},
): Promise<Setup> {
  const idp = await startProvider(t, { redirectUris: [CALLBACK], ...(opts.idTokenTtl ? { idTokenTtl: opts.idTokenTtl } : {}) });
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, {
    federation: {
      oidc: {
        issuer: idp.issuer,
        client_id: GATEWAY_CLIENT.id,
        client_secret: GATEWAY_CLIENT.secret,
        display_name: 'Corp IdP',
        create_users: true,
        ...oidc,
      },
    },
    mfa: { trusted_ips: { ranges: ['10.0.0.0/8'], federated_intranet_claim: opts.intranetClaim ?? true } },
  });
  // The provider stamps tokens with the real time; the gateway judges them by its own clock.
  gw.clock.now = Date.now();
  return { upstream, gw, idp };
}

/** From the app through the sign-in page and the provider; returns the callback URL (not yet visited). */
async function throughProvider(browser: Browser, login: string, app = '/app'): Promise<{ callback: string; authorization: string }> {
  const first = await browser.get(app);
  if (first.status !== 302) throw new Error(`app answered ${first.status}`);
  const signIn = await browser.get(pathOf(first.headers.location));
  const href = /<a class="button[^"]*" href="([^"]+)">Sign in with Corp IdP<\/a>/.exec(signIn.body)?.[1];
  if (!href) throw new Error('no provider button on the sign-in page');
  const start = await browser.get(href.replace(/&amp;/g, '&'));
  if (start.status !== 302) throw new Error(`oidc/start answered ${start.status}`);
  const authorization = start.headers.location!;
  return { callback: await loginAtProvider(authorization, login, CALLBACK), authorization };
}

async function signInFederated(browser: Browser, login: string, app = '/app') {
  const { callback } = await throughProvider(browser, login, app);
  return browser.get(pathOf(callback));
}

async function lastLog(s: Setup) {
  return (await s.gw.store.query({ limit: 20 })).filter((e) => e.kind === 'federated');
}

t.test('the intranet claim in a verified ID token skips the second factor', async (t) => {
  const s = await setup(t);
  const browser = new Browser(s.gw.port);
  const done = await signInFederated(browser, 'carol');
  t.equal(done.status, 303);
  t.equal(done.headers.location, 'http://gateway.test/app', 'back to where the user was going');
  const app = await browser.get('/app');
  t.equal(app.status, 200, 'no second factor asked');
  const seen = s.upstream.requests.at(-1)!.headers;
  t.equal(seen['remote-user'], 'carol');
  t.equal(seen['remote-groups'], 'staff,users');
  t.equal(seen['remote-email'], 'carol@corp.example');
  t.equal(seen['remote-name'], 'Carol Corp');
  const [entry] = await lastLog(s);
  t.equal(entry?.outcome, 'success');
  t.equal(entry?.user, 'carol');
  t.match(entry?.detail, /federated sign-in via Corp IdP; second factor skipped: intranet claim/);
});

t.test('without the claim the gateway asks for its own second factor', async (t) => {
  const s = await setup(t);
  const browser = new Browser(s.gw.port);
  t.equal((await signInFederated(browser, 'dave')).status, 303);
  const app = await browser.get('/app');
  t.equal(app.status, 302);
  t.match(pathOf(app.headers.location), /^\/\.gateway\/second-factor/);
  const sf = await browser.get(pathOf(app.headers.location));
  t.equal(sf.status, 302, 'no method yet: off to enrollment');
  t.match(pathOf(sf.headers.location), /^\/\.gateway\/enroll/);
  // The federated user enrolls an authenticator like anyone else, and then gets through.
  const page = await browser.get(pathOf(sf.headers.location));
  t.equal(page.status, 200);
  const secret = enrollmentSecret(page.body);
  const enrolled = await browser.post('/.gateway/enroll', { code: totpCode(secret, s.gw.clock.now), csrf: field(page.body, 'csrf') });
  t.equal(enrolled.status, 303);
  t.equal((await browser.get('/app')).status, 200);
  t.equal(s.upstream.requests.at(-1)!.headers['remote-user'], 'dave');
  t.equal((await s.gw.store.listMethods('dave')).length, 1, 'the federated user holds a method');
  const [entry] = await lastLog(s);
  t.equal(entry?.detail, 'federated sign-in via Corp IdP', 'no skip recorded');

  // Revocation works for federated users too.
  await s.gw.store.revokeSessions('dave');
  await s.gw.revocations.refresh();
  s.gw.clock.now += 1000;
  t.equal((await browser.get('/app')).status, 302, 'revoked: signed out');
});

t.test('the claim counts only when mfa.trusted_ips.federated_intranet_claim is on', async (t) => {
  const s = await setup(t, {}, { intranetClaim: false });
  const browser = new Browser(s.gw.port);
  t.equal((await signInFederated(browser, 'carol')).status, 303);
  const app = await browser.get('/app');
  t.equal(app.status, 302);
  t.match(pathOf(app.headers.location), /^\/\.gateway\/second-factor/);
  const [entry] = await lastLog(s);
  t.match(entry?.detail, /intranet claim present but mfa\.trusted_ips\.federated_intranet_claim is off/);
});

t.test('a provider user is matched to the users-file user of that name in any case', async (t) => {
  const s = await setup(t, { create_users: false });
  const browser = new Browser(s.gw.port);
  t.equal((await signInFederated(browser, 'bob')).status, 303);
  t.equal((await browser.get('/app')).status, 200, 'the string "true" counts for intranet_claim.value true');
  const seen = s.upstream.requests.at(-1)!.headers;
  t.equal(seen['remote-user'], 'bob', "the users file's spelling");
  t.equal(seen['remote-groups'], 'users', "the users file's groups, not the provider's");
  t.equal(seen['remote-email'], 'bob@example.com');
});

t.test('unknown provider users are refused unless create_users is on', async (t) => {
  const s = await setup(t, { create_users: false });
  const browser = new Browser(s.gw.port);
  const refused = await signInFederated(browser, 'carol');
  t.equal(refused.status, 401);
  t.match(refused.body, /Signing in with Corp IdP did not complete/);
  t.equal((await browser.get('/app')).status, 302, 'no session');
  const [entry] = await lastLog(s);
  t.equal(entry?.outcome, 'denied');
  t.match(entry?.detail, /no gateway user of that name/);
});

t.test('created users are recorded with the claims and found by the session check', async (t) => {
  const s = await setup(t);
  const browser = new Browser(s.gw.port);
  await signInFederated(browser, 'carol');
  const [carol] = await s.gw.store.listFederatedUsers();
  t.match(carol, {
    name: 'carol',
    email: 'carol@corp.example',
    displayName: 'Carol Corp',
    groups: ['staff', 'users'],
    issuer: s.idp.issuer,
    subject: 'carol',
  });
  t.equal(carol?.lastSignInAt, s.gw.clock.now);
});

t.test('the sign-in page offers the provider, alone when local passwords are off', async (t) => {
  const s = await setup(t, { local_passwords: false });
  const page = await send(s.gw.port, '/.gateway/sign-in?rd=http%3A%2F%2Fgateway.test%2Fapp');
  t.equal(page.status, 200);
  t.match(page.body, /href="\/\.gateway\/oidc\/start\?rd=http%3A%2F%2Fgateway\.test%2Fapp">Sign in with Corp IdP/);
  t.notMatch(page.body, /name="password"/, 'no password form');
});

// ---- refusals --------------------------------------------------------------------------

async function expectRefused(t: Test, s: Setup, browser: Browser, reply: { status: number; body: string }, why: RegExp) {
  t.equal(reply.status, 401, 'refused with the sign-in page');
  t.match(reply.body, /Signing in with Corp IdP did not complete/);
  t.equal((await browser.get('/app')).status, 302, 'no session');
  t.equal(s.upstream.requests.length, 0, 'nothing reached the app');
  const [entry] = await lastLog(s);
  t.equal(entry?.outcome, 'denied');
  t.match(entry?.detail, why);
}

t.test('a tampered ID token (claim added, signature kept) is refused', async (t) => {
  const s = await setup(t);
  s.idp.onToken = (body) => ({ ...body, id_token: withPayload(String(body.id_token), (p) => (p[INTRANET] = true)) });
  const browser = new Browser(s.gw.port);
  await expectRefused(t, s, browser, await signInFederated(browser, 'dave'), /failed verification: .*signature/i);
});

t.test('an ID token signed by a key the gateway does not trust is refused', async (t) => {
  const s = await setup(t);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  s.idp.onToken = (body) => {
    const { header, payload } = decodeJwt(String(body.id_token));
    return { ...body, id_token: signRs256(header, { ...payload, [INTRANET]: true }, privateKey) };
  };
  const browser = new Browser(s.gw.port);
  await expectRefused(t, s, browser, await signInFederated(browser, 'dave'), /failed verification: .*signature/i);
});

t.test('an unsigned ID token saying the same is refused', async (t) => {
  const s = await setup(t);
  s.idp.onToken = (body) => ({ ...body, id_token: unsigned({ ...decodeJwt(String(body.id_token)).payload, [INTRANET]: true }) });
  const browser = new Browser(s.gw.port);
  await expectRefused(t, s, browser, await signInFederated(browser, 'dave'), /failed verification/);
});

t.test('an ID token for another client (wrong audience) is refused', async (t) => {
  const s = await setup(t);
  const browser = new Browser(s.gw.port);
  const { callback, authorization } = await throughProvider(browser, 'carol');
  // The same provider and nonce, issued to another app: properly signed by the provider, wrong aud.
  const verifier = randomBytes(32).toString('base64url');
  const other = new URL(authorization);
  other.searchParams.set('client_id', OTHER_CLIENT.id);
  other.searchParams.set('redirect_uri', OTHER_CLIENT.redirect);
  other.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
  const otherCallback = new URL(await loginAtProvider(other.href, 'carol', OTHER_CLIENT.redirect));
  const tokenRes = await fetch(`${s.idp.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${OTHER_CLIENT.id}:${OTHER_CLIENT.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: otherCallback.searchParams.get('code')!,
      redirect_uri: OTHER_CLIENT.redirect,
      code_verifier: verifier,
    }).toString(),
  });
  t.equal(tokenRes.status, 200);
  const foreign = String(((await tokenRes.json()) as { id_token: string }).id_token);
  t.equal(decodeJwt(foreign).payload.aud, OTHER_CLIENT.id);
  t.equal(decodeJwt(foreign).payload.nonce, new URL(authorization).searchParams.get('nonce'), "the gateway's nonce");
  s.idp.onToken = (body) => ({ ...body, id_token: foreign });
  await expectRefused(t, s, browser, await browser.get(pathOf(callback)), /failed verification: .*"aud"/);
});

t.test('a replayed callback (same state, same cookie) is refused', async (t) => {
  const s = await setup(t);
  const browser = new Browser(s.gw.port);
  const { callback } = await throughProvider(browser, 'carol');
  const copied = browser.cookieHeader();
  t.equal((await browser.get(pathOf(callback))).status, 303, 'the first use signs in');
  const attacker = new Browser(s.gw.port);
  const replay = await send(s.gw.port, pathOf(callback), { headers: { cookie: copied } });
  t.equal(replay.status, 401);
  t.equal((await attacker.get('/app')).status, 302);
  const [entry] = await lastLog(s);
  t.match(entry?.detail, /state was already used/);
});

t.test("a callback with another browser's state is refused (login CSRF)", async (t) => {
  const s = await setup(t);
  const attacker = new Browser(s.gw.port);
  const { callback } = await throughProvider(attacker, 'dave');
  const victim = new Browser(s.gw.port);
  await victim.get('/.gateway/oidc/start');
  const refused = await victim.get(pathOf(callback));
  t.equal(refused.status, 401);
  t.match((await lastLog(s))[0]?.detail, /state does not match/);
  const noCookie = await send(s.gw.port, pathOf(callback));
  t.equal(noCookie.status, 401);
  t.match((await lastLog(s))[0]?.detail, /no sign-in in progress/);
});

t.test('an expired ID token is refused', async (t) => {
  const s = await setup(t, {}, { idTokenTtl: 60 });
  const browser = new Browser(s.gw.port);
  const { callback } = await throughProvider(browser, 'carol');
  // The token the provider issues at the exchange lives 60 s; the gateway's clock is 5 min on.
  s.gw.clock.now += 5 * 60_000;
  await expectRefused(t, s, browser, await browser.get(pathOf(callback)), /failed verification: .*"exp"/);
});

t.test('a sign-in left at the provider for more than 10 minutes is refused', async (t) => {
  const s = await setup(t);
  const browser = new Browser(s.gw.port);
  const { callback } = await throughProvider(browser, 'carol');
  s.gw.clock.now += 11 * 60_000;
  await expectRefused(t, s, browser, await browser.get(pathOf(callback)), /longer than 10 minutes/);
});

t.test('an error from the provider (user cancelled) is shown as a failed sign-in', async (t) => {
  const s = await setup(t);
  const browser = new Browser(s.gw.port);
  const start = await browser.get('/.gateway/oidc/start');
  const state = new URL(start.headers.location!).searchParams.get('state')!;
  const reply = await browser.get(`/.gateway/oidc/callback?error=access_denied&error_description=End-User+aborted&state=${state}`);
  await expectRefused(t, s, browser, reply, /provider answered access_denied: End-User aborted/);
});

// ---- spoofing --------------------------------------------------------------------------

t.test('the intranet claim in headers, cookies or the callback query has no effect', async (t) => {
  const s = await setup(t);
  const spoof = {
    insidecorporatenetwork: 'true',
    'x-ms-insidecorporatenetwork': 'true',
    'x-intranet-claim': 'true',
    'remote-user': 'carol',
  };
  const browser = new Browser(s.gw.port, spoof);
  const { callback } = await throughProvider(browser, 'dave');
  const fakeToken = unsigned({ iss: s.idp.issuer, aud: GATEWAY_CLIENT.id, sub: 'dave', preferred_username: 'carol', [INTRANET]: true });
  const tampered = new URL(callback);
  tampered.searchParams.set(INTRANET, 'true');
  tampered.searchParams.set('insidecorporatenetwork', 'true');
  browser.cookies.set('insidecorporatenetwork', 'true');
  browser.cookies.set(encodeURIComponent(INTRANET), 'true');
  browser.cookies.set('id_token', fakeToken);
  const done = await browser.get(pathOf(tampered.href));
  t.equal(done.status, 303, 'the sign-in itself succeeds: the extra parameters are ignored');
  const app = await browser.get('/app');
  t.equal(app.status, 302, 'still asked for the second factor');
  t.match(pathOf(app.headers.location), /^\/\.gateway\/second-factor/);
  t.equal(s.upstream.requests.length, 0);
  const [entry] = await lastLog(s);
  t.equal(entry?.user, 'dave', 'the verified token decides who signed in');
  t.equal(entry?.detail, 'federated sign-in via Corp IdP');
});

t.test('an unsigned ID token slipped into the callback query is refused', async (t) => {
  const s = await setup(t);
  const browser = new Browser(s.gw.port);
  const { callback } = await throughProvider(browser, 'dave');
  const fakeToken = unsigned({ iss: s.idp.issuer, aud: GATEWAY_CLIENT.id, sub: 'carol', preferred_username: 'carol', [INTRANET]: true });
  const tampered = new URL(callback);
  tampered.searchParams.set('id_token', fakeToken);
  await expectRefused(
    t,
    s,
    browser,
    await browser.get(pathOf(tampered.href)),
    /failed verification: unsupported operation: implicit and hybrid flows/,
  );
});
