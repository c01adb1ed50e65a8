// Issue 12: identity-provider-driven logout against the real oidc-provider. Signing out at the
// provider ends the gateway session (Back-Channel Logout 1.0); a logout token that fails any
// check of section 2.6 (signature, issuer, audience, age, events, nonce, sid/sub, jti replay)
// changes nothing and is answered 400; sign-out with federation.oidc.end_session goes on to
// the provider's end_session_endpoint and back to the signed-out page.
import t from 'tap';
import type { Test } from 'tap';
import { createServer, request } from 'node:http';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { Browser, field, pathOf, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';
import { GATEWAY_CLIENT, loginAtProvider, signOutAtProvider, startProvider, type TestProvider } from './provider.ts';

const CALLBACK = 'http://gateway.test/.gateway/oidc/callback';
const SIGNED_OUT = 'http://gateway.test/.gateway/sign-out';
const ENDPOINT = '/.gateway/federation/backchannel-logout';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const SESSION = 'mfa_gateway_session';

interface Setup {
  gw: TestGateway;
  idp: TestProvider;
}

/**
 * The provider must know the gateway's back-channel URI before the gateway's port exists: it
 * is given a relay's, and the relay passes each request on to the gateway unchanged.
 */
async function setup(t: Test, oidc: Record<string, unknown> = {}): Promise<Setup> {
  let target = 0;
  const relay = createServer((req, res) => {
    const out = request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => relay.close(() => resolve())));
  const relayUri = `http://127.0.0.1:${(relay.address() as { port: number }).port}${ENDPOINT}`;
  const idp = await startProvider(t, { redirectUris: [CALLBACK], backchannelLogoutUri: relayUri, postLogoutRedirectUris: [SIGNED_OUT] });
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
    mfa: { trusted_ips: { ranges: ['10.0.0.0/8'], federated_intranet_claim: true } },
  });
  target = gw.port;
  gw.clock.now = Date.now();
  return { gw, idp };
}

/** Signs in through the provider (carol: the intranet claim, no second factor); returns her browser and the provider's cookies. */
async function signIn(s: Setup, login = 'carol'): Promise<{ browser: Browser; jar: Map<string, string> }> {
  const browser = new Browser(s.gw.port);
  const start = await browser.get('/.gateway/oidc/start?rd=http%3A%2F%2Fgateway.test%2Fapp');
  const jar = new Map<string, string>();
  const callback = await loginAtProvider(start.headers.location!, login, CALLBACK, jar);
  const done = await browser.get(pathOf(callback));
  if (done.status !== 303) throw new Error(`callback answered ${done.status}`);
  if (login === 'carol' && (await browser.get('/app')).status !== 200) throw new Error('not signed in');
  return { browser, jar };
}

const postToken = (port: number, token: string | null, type = 'application/x-www-form-urlencoded') =>
  fetch(`http://127.0.0.1:${port}${ENDPOINT}`, {
    method: 'POST',
    headers: { 'content-type': type },
    body: token === null ? '' : new URLSearchParams({ logout_token: token }).toString(),
  });

t.test('signing out at the provider ends the gateway session on the server', async (t) => {
  const s = await setup(t);
  const { browser, jar } = await signIn(s);
  const copy = new Browser(s.gw.port);
  copy.cookies.set(SESSION, browser.cookies.get(SESSION)!);
  const [record] = await s.gw.store.listSessions('carol');
  t.equal(record?.federated, true);
  t.equal(record?.providerSub, 'carol', "the ID token's sub is recorded");
  t.type(record?.providerSid, 'string', "the ID token's sid is recorded");
  await signIn(s, 'dave');

  await signOutAtProvider(`${s.idp.issuer}/session/end?client_id=${GATEWAY_CLIENT.id}`, jar);
  t.same(s.idp.backchannelErrors, [], 'the provider delivered its logout token');
  s.gw.clock.now += 1000;
  t.equal((await browser.get('/app')).status, 302, 'the browser is signed out');
  t.equal((await copy.get('/app')).status, 302, 'a copy of the cookie is refused too');
  t.same(await s.gw.store.listSessions('carol'), [], 'the index forgets the session');
  t.equal((await s.gw.store.listSessions('dave')).length, 1, "another user's session goes on");
  const entries = (await s.gw.store.query({ limit: 20 })).filter((e) => e.kind === 'revocation');
  t.match(entries[0]?.detail, /ended by Corp IdP \(back-channel logout\)/);
});

/** A logout token for carol's provider session, signed with `key` (the provider's by default), with `change` applied. */
async function token(s: Setup, sid: string, change: (p: Record<string, unknown>) => void = () => {}, key?: KeyObject, kid?: string) {
  const payload: Record<string, unknown> = {
    iss: s.idp.issuer,
    aud: GATEWAY_CLIENT.id,
    iat: Math.floor(s.gw.clock.now / 1000),
    exp: Math.floor(s.gw.clock.now / 1000) + 120,
    jti: randomUUID(),
    sub: 'carol',
    sid,
    events: { [EVENT]: {} },
  };
  change(payload);
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: kid ?? s.idp.kid, typ: 'logout+jwt' }).sign(key ?? s.idp.key);
}

t.test('logout tokens that fail a check change nothing', async (t) => {
  const s = await setup(t);
  const { browser } = await signIn(s);
  const sid = (await s.gw.store.listSessions('carol'))[0]!.providerSid!;
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const now = () => Math.floor(s.gw.clock.now / 1000);
  const [head, body] = (await token(s, sid)).split('.');
  const corpus: Array<[string, () => Promise<string | null>]> = [
    ['bad-signature: signed by a key the provider does not publish', () => token(s, sid, undefined, stranger)],
    ['bad-signature: a key outside the JWKS under the right kid', () => token(s, sid, undefined, stranger, s.idp.kid)],
    ['bad-signature: payload changed, signature kept', async () => `${head}.${body}x.${(await token(s, sid)).split('.')[2]}`],
    ['unsigned: alg none', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${body}.`],
    [
      'wrong-issuer',
      () =>
        token(s, sid, (p) => {
          p.iss = 'http://evil.test';
        }),
    ],
    [
      'wrong-audience: another client',
      () =>
        token(s, sid, (p) => {
          p.aud = 'other-app';
        }),
    ],
    [
      'no-audience',
      () =>
        token(s, sid, (p) => {
          delete p.aud;
        }),
    ],
    [
      'missing-event: no events claim',
      () =>
        token(s, sid, (p) => {
          delete p.events;
        }),
    ],
    [
      'missing-event: another event',
      () =>
        token(s, sid, (p) => {
          p.events = { 'http://schemas.openid.net/event/other': {} };
        }),
    ],
    [
      'missing-event: event not an object',
      () =>
        token(s, sid, (p) => {
          p.events = { [EVENT]: true };
        }),
    ],
    [
      'nonce: an ID token shape',
      () =>
        token(s, sid, (p) => {
          p.nonce = 'n-0S6_WzA2Mj';
        }),
    ],
    [
      'no-sid-no-sub',
      () =>
        token(s, sid, (p) => {
          delete p.sid;
          delete p.sub;
        }),
    ],
    [
      'no-jti',
      () =>
        token(s, sid, (p) => {
          delete p.jti;
        }),
    ],
    [
      'no-iat',
      () =>
        token(s, sid, (p) => {
          delete p.iat;
        }),
    ],
    [
      'stale-iat: older than five minutes',
      () =>
        token(s, sid, (p) => {
          p.iat = now() - 600;
          p.exp = now() + 60;
        }),
    ],
    [
      'future-iat',
      () =>
        token(s, sid, (p) => {
          p.iat = now() + 600;
        }),
    ],
    [
      'expired',
      () =>
        token(s, sid, (p) => {
          p.exp = now() - 120;
        }),
    ],
    [
      'sid-not-a-string',
      () =>
        token(s, sid, (p) => {
          p.sid = 42;
        }),
    ],
    ['no-token', async () => null],
  ];
  for (const [name, make] of corpus) {
    const res = await postToken(s.gw.port, await make());
    t.equal(res.status, 400, `${name}: 400`);
    t.equal(res.headers.get('cache-control'), 'no-store', `${name}: not cached`);
    t.equal((await browser.get('/app')).status, 200, `${name}: the session goes on`);
  }
  t.equal((await s.gw.store.listSessions('carol')).length, 1, 'still listed');

  // A valid token is accepted once; its replay is refused (and a second session stays).
  const valid = await token(s, sid);
  const second = await signIn(s);
  t.equal((await postToken(s.gw.port, valid)).status, 200, 'the valid token ends the session');
  s.gw.clock.now += 1000;
  t.equal((await browser.get('/app')).status, 302, 'ended');
  t.equal((await second.browser.get('/app')).status, 200, 'a session with another provider sid goes on');
  const replayed = await postToken(s.gw.port, valid);
  t.equal(replayed.status, 400, 'replayed-jti: refused');
  // sub alone ends every session of the provider subject.
  t.equal(
    (
      await postToken(
        s.gw.port,
        await token(s, sid, (p) => {
          delete p.sid;
        }),
      )
    ).status,
    200,
  );
  s.gw.clock.now += 1000;
  t.equal((await second.browser.get('/app')).status, 302, 'sub-only token ends all of the subject');
});

t.test('a replayed jti is refused before it can end a session started after it', async (t) => {
  const s = await setup(t);
  await signIn(s);
  const sid = (await s.gw.store.listSessions('carol'))[0]!.providerSid!;
  const once = await token(s, sid, (p) => {
    delete p.sid;
  });
  t.equal((await postToken(s.gw.port, once)).status, 200);
  const again = await signIn(s);
  t.equal((await postToken(s.gw.port, once)).status, 400, 'replayed-jti: 400');
  t.equal((await again.browser.get('/app')).status, 200, 'the new session goes on');
});

t.test('a form posted as something else is refused', async (t) => {
  const s = await setup(t);
  const res = await postToken(s.gw.port, 'x', 'application/json');
  t.equal(res.status, 400);
});

t.test('end_session: sign-out goes on to the provider and back to the signed-out page', async (t) => {
  const s = await setup(t, { end_session: true });
  const { browser, jar } = await signIn(s);
  const page = await browser.get('/.gateway/sign-out');
  const out = await browser.post('/.gateway/sign-out', { csrf: field(page.body, 'csrf') });
  t.equal(out.status, 303);
  const to = new URL(out.headers.location!);
  t.equal(`${to.origin}${to.pathname}`, `${s.idp.issuer}/session/end`);
  t.equal(to.searchParams.get('client_id'), GATEWAY_CLIENT.id);
  t.equal(to.searchParams.get('post_logout_redirect_uri'), SIGNED_OUT);
  t.equal((await browser.get('/app')).status, 302, 'the gateway session ended already');
  const back = await signOutAtProvider(to.href, jar);
  t.equal(back, SIGNED_OUT, 'the provider sends the browser back to the signed-out page');
  // The provider's session is gone: a new sign-in asks for the login again.
  const start = await new Browser(s.gw.port).get('/.gateway/oidc/start');
  const login = await fetch(start.headers.location!, {
    redirect: 'manual',
    headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
  });
  t.match(login.headers.get('location') ?? '', /\/interaction\//, 'the provider asks to sign in again');
});

t.test('without end_session, sign-out stays at the gateway', async (t) => {
  const s = await setup(t);
  const { browser } = await signIn(s);
  const page = await browser.get('/.gateway/sign-out');
  t.equal((await browser.post('/.gateway/sign-out', { csrf: field(page.body, 'csrf') })).status, 200);
});
