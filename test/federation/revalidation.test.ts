// Issue 12: federation.oidc.revalidate_every against the real oidc-provider. A federated session
// is asked about at the provider in the background (a refresh grant, else userinfo) on a frozen,
// advanced clock: a user the provider no longer knows is signed out (every copy of the cookie),
// a user still there keeps the session across several revalidations (with rotated refresh
// tokens, so a token kept wrong would show), a provider that is down keeps sessions until twice
// revalidate_every after the last confirmation, and with the key unset nothing is asked. Two
// gateways on one PostgreSQL ask about a due session once.
import t from 'tap';
import type { Test } from 'tap';
import { Browser, pathOf, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';
import { freshSchema } from '../helpers/postgres.ts';
import { GATEWAY_CLIENT, loginAtProvider, startProvider, type ProviderOptions, type TestProvider } from './provider.ts';

const CALLBACK = 'http://gateway.test/.gateway/oidc/callback';
const SESSION = 'mfa_gateway_session';
const MINUTE = 60_000;

interface Setup {
  gw: TestGateway;
  idp: TestProvider;
}

interface SetupOptions {
  /** Added to federation.oidc; `revalidate_every` defaults to 15m. */
  oidc?: Record<string, unknown>;
  provider?: Partial<ProviderOptions>;
  /** Further config sections (a shared store). */
  config?: Record<string, unknown>;
  /** A provider already running (a second gateway). */
  idp?: TestProvider;
}

async function setup(t: Test, opts: SetupOptions = {}): Promise<Setup> {
  // ID tokens (also those of refresh grants) outlive the hours the clock is moved on here.
  const idp = opts.idp ?? (await startProvider(t, { redirectUris: [CALLBACK], refreshTokens: true, idTokenTtl: 86_400, ...opts.provider }));
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, upstream, {
    federation: {
      oidc: {
        issuer: idp.issuer,
        client_id: GATEWAY_CLIENT.id,
        client_secret: GATEWAY_CLIENT.secret,
        display_name: 'Corp IdP',
        create_users: true,
        scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
        revalidate_every: '15m',
        ...opts.oidc,
      },
    },
    // Long enough that only revalidation can end a session here.
    session: { secret: 'x'.repeat(40), idle_timeout: '8h', absolute_timeout: '12h' },
    // The password step is enough for the app: a federated session reaches it without a code.
    rules: [{ paths: ['/**'], policy: 'one_factor' }],
    ...opts.config,
  });
  // The provider's tokens carry real times; the gateway's clock starts there and moves forward.
  gw.clock.now = Date.now();
  return { gw, idp };
}

/** Signs in through the provider as `login`; returns the browser and the authorization request's scope. */
async function signIn(s: Setup, login: string): Promise<{ browser: Browser; scope: string }> {
  const browser = new Browser(s.gw.port);
  const start = await browser.get('/.gateway/oidc/start?rd=http%3A%2F%2Fgateway.test%2Fapp');
  const scope = new URL(start.headers.location!).searchParams.get('scope') ?? '';
  const callback = await loginAtProvider(start.headers.location!, login, CALLBACK);
  const done = await browser.get(pathOf(callback));
  if (done.status !== 303) throw new Error(`callback answered ${done.status}: ${done.body.slice(0, 200)}`);
  if ((await browser.get('/app')).status !== 200) throw new Error('not signed in');
  return { browser, scope };
}

const copyOf = (port: number, from: Browser) => {
  const copy = new Browser(port);
  copy.cookies.set(SESSION, from.cookies.get(SESSION)!);
  return copy;
};

/** The provider's token and userinfo requests since the last call. */
function asked(idp: TestProvider): string[] {
  const calls = idp.requests.filter((r) => r === 'POST /token' || r.endsWith(' /me'));
  idp.requests.length = 0;
  return calls;
}

async function revalidationLog(gw: TestGateway, user: string): Promise<string[]> {
  return (await gw.store.query({ user, limit: 20 })).filter((e) => e.kind === 'revocation').map((e) => e.detail);
}

t.test('a user the provider disables is signed out at the next revalidation; a user still there keeps the session', async (t) => {
  const s = await setup(t);
  const carol = await signIn(s, 'carol');
  const dave = await signIn(s, 'dave');
  t.ok(carol.scope.split(' ').includes('offline_access'), 'offline_access is requested while revalidation is on and scopes list it');
  const daveCopy = copyOf(s.gw.port, dave.browser);
  asked(s.idp);

  t.same(await s.gw.revalidation.sweep(), { valid: 0, ended: 0, unconfirmed: 0 }, 'nothing is due before revalidate_every');
  t.same(asked(s.idp), [], 'and the provider is not asked');
  // Three rounds: the provider rotates the refresh token at every use, so each round works only
  // if the gateway kept the new one (reusing an old one would make the provider revoke the grant).
  for (let round = 1; round <= 3; round++) {
    s.gw.clock.now += 15 * MINUTE;
    t.same(await s.gw.revalidation.sweep(), { valid: 2, ended: 0, unconfirmed: 0 }, `round ${round}: both confirmed`);
    t.same(asked(s.idp), ['POST /token', 'POST /token'], `round ${round}: one refresh grant per session`);
    t.equal((await carol.browser.get('/app')).status, 200, `round ${round}: carol goes on`);
    t.equal((await dave.browser.get('/app')).status, 200, `round ${round}: dave goes on`);
  }

  s.idp.disabled.add('dave');
  s.gw.clock.now += 14 * MINUTE;
  t.same(await s.gw.revalidation.sweep(), { valid: 0, ended: 0, unconfirmed: 0 }, 'not yet due');
  t.equal((await dave.browser.get('/app')).status, 200, 'the session goes on until it is due');
  s.gw.clock.now += MINUTE;
  t.same(await s.gw.revalidation.sweep(), { valid: 1, ended: 1, unconfirmed: 0 });
  const refused = await dave.browser.get('/app');
  t.equal(refused.status, 302, "dave's cookie is refused");
  t.match(pathOf(refused.headers.location), /^\/\.gateway\/sign-in\?rd=/, 'and he is sent to sign in again');
  t.equal((await daveCopy.get('/app')).status, 302, 'a copy of his cookie is refused too');
  t.same(await s.gw.store.listSessions('dave'), [], 'the session index forgets the session');
  t.equal((await carol.browser.get('/app')).status, 200, 'carol goes on');
  const [entry] = await revalidationLog(s.gw, 'dave');
  t.match(
    entry,
    /^session \S{8} ended by revalidation: the provider refused the refresh token: 400 invalid_grant \(grant request is invalid\)$/,
    'the sign-in log says why, with the user',
  );
  t.same(await revalidationLog(s.gw, 'carol'), [], 'nothing ended for carol');
});

t.test('without a refresh token: userinfo with the access token while it is valid, then the session ends', async (t) => {
  const s = await setup(t, { provider: { refreshTokens: false } });
  const carol = await signIn(s, 'carol');
  const dave = await signIn(s, 'dave');
  asked(s.idp);

  s.gw.clock.now += 15 * MINUTE;
  t.same(await s.gw.revalidation.sweep(), { valid: 2, ended: 0, unconfirmed: 0 });
  t.same(asked(s.idp), ['GET /me', 'GET /me'], 'userinfo with each access token');

  s.idp.disabled.add('dave');
  s.gw.clock.now += 15 * MINUTE;
  t.same(await s.gw.revalidation.sweep(), { valid: 1, ended: 1, unconfirmed: 0 });
  t.same(asked(s.idp), ['GET /me', 'GET /me']);
  t.equal((await dave.browser.get('/app')).status, 302, 'refused access token: dave is signed out');
  t.match((await revalidationLog(s.gw, 'dave'))[0], /ended by revalidation: userinfo refused the access token: 401 invalid_token$/);
  t.equal((await carol.browser.get('/app')).status, 200);

  // The provider's access tokens last an hour: after that there is nothing left to ask with.
  s.gw.clock.now += 31 * MINUTE;
  t.same(await s.gw.revalidation.sweep(), { valid: 0, ended: 1, unconfirmed: 0 });
  t.same(asked(s.idp), [], 'an expired access token is not even tried');
  t.equal((await carol.browser.get('/app')).status, 302, 'carol is signed out once her access token expired');
  t.match((await revalidationLog(s.gw, 'carol'))[0], /ended by revalidation: no refresh token, and the access token has expired/);
});

t.test('provider down: sessions are kept and asked about again, and end once unconfirmed for twice revalidate_every', async (t) => {
  const s = await setup(t);
  const carol = await signIn(s, 'carol');
  const signedIn = s.gw.clock.now;
  const at = (minutes: number) => {
    s.gw.clock.now = signedIn + minutes * MINUTE;
  };

  s.idp.down = true;
  at(15);
  t.same(await s.gw.revalidation.sweep(), { valid: 0, ended: 0, unconfirmed: 1 }, 'at 15 min: no answer, kept');
  t.equal((await carol.browser.get('/app')).status, 200);
  at(15.5);
  t.same(await s.gw.revalidation.sweep(), { valid: 0, ended: 0, unconfirmed: 0 }, 'asked again after a minute, not sooner');
  at(16);
  t.same(await s.gw.revalidation.sweep(), { valid: 0, ended: 0, unconfirmed: 1 }, 'at 16 min: asked again');

  s.idp.down = false;
  at(20);
  t.same(await s.gw.revalidation.sweep(), { valid: 1, ended: 0, unconfirmed: 0 }, 'back at 20 min: confirmed');
  t.equal((await carol.browser.get('/app')).status, 200);

  // Twice revalidate_every counts from the last confirmation (20 min), not from the sign-in.
  s.idp.down = true;
  at(35);
  t.same(await s.gw.revalidation.sweep(), { valid: 0, ended: 0, unconfirmed: 1 }, 'due at 35 min: no answer, kept');
  at(49);
  t.same(await s.gw.revalidation.sweep(), { valid: 0, ended: 0, unconfirmed: 1 }, 'at 49 min: still kept');
  t.equal((await carol.browser.get('/app')).status, 200, 'the session works while the provider is briefly down');
  at(50);
  t.same(await s.gw.revalidation.sweep(), { valid: 0, ended: 1, unconfirmed: 0 }, 'at 50 min, 30 min after the last confirmation: ended');
  t.equal((await carol.browser.get('/app')).status, 302, 'signed out');
  t.match(
    (await revalidationLog(s.gw, 'carol'))[0],
    /ended by revalidation: Corp IdP has not confirmed the user since \S+ \(twice revalidate_every\): the provider could not be reached/,
  );
});

t.test('with revalidate_every unset, nothing is kept and the provider is never asked', async (t) => {
  const s = await setup(t, { oidc: { revalidate_every: undefined } });
  const carol = await signIn(s, 'carol');
  t.notOk(carol.scope.split(' ').includes('offline_access'), 'offline_access is not requested though scopes list it');
  t.ok(carol.scope.split(' ').includes('groups'), 'the other scopes are');
  asked(s.idp);
  for (let hour = 1; hour <= 3; hour++) {
    s.gw.clock.now += 60 * MINUTE;
    t.same(await s.gw.revalidation.sweep(), { valid: 0, ended: 0, unconfirmed: 0 });
    t.equal((await carol.browser.get('/app')).status, 200);
  }
  t.same(asked(s.idp), [], 'no token or userinfo request');
  t.same(await s.gw.store.claimRevalidations(s.gw.clock.now, s.gw.clock.now + 1, 10), [], 'the session keeps no tokens');
});

t.test('two gateways on one PostgreSQL: exactly one asks the provider about a due session', async (t) => {
  const schema = await freshSchema();
  t.teardown(() => schema.drop());
  const store = { postgres: { url: schema.url }, encryption_key: 'e'.repeat(64) };
  const a = await setup(t, { config: { store } });
  const b = await setup(t, { config: { store }, idp: a.idp });
  b.gw.clock.now = a.gw.clock.now;
  const carol = await signIn(a, 'carol');
  const onB = copyOf(b.gw.port, carol.browser);
  // The other gateway learns of the user recorded at her first sign-in within a poll (a second).
  let status = 0;
  for (let i = 0; i < 40 && status !== 200; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    status = (await onB.get('/app')).status;
  }
  t.equal(status, 200, 'the session works on both gateways');
  asked(a.idp);
  for (let round = 1; round <= 2; round++) {
    a.gw.clock.now += 15 * MINUTE;
    b.gw.clock.now = a.gw.clock.now;
    const [x, y] = await Promise.all([a.gw.revalidation.sweep(), b.gw.revalidation.sweep()]);
    t.equal(x.valid + y.valid, 1, `round ${round}: one of the two gateways confirmed the session`);
    t.same(asked(a.idp), ['POST /token'], `round ${round}: the provider was asked once`);
    t.equal((await carol.browser.get('/app')).status, 200);
    t.equal((await onB.get('/app')).status, 200);
  }
});
