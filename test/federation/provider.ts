/**
 * @module test/federation/provider
 * A real OpenID provider (oidc-provider 9) on loopback for the federation tests: a client
 * for the gateway and one for another app, accounts whose ID tokens do or do not carry the
 * intranet claim, the provider's own login page (devInteractions), and a hook that may
 * rewrite the token endpoint's JSON on its way out, so tests can tamper with ID tokens the
 * way an attacker between the gateway and the provider would. For revalidation tests it may
 * issue (and rotate) refresh tokens, disable accounts, and go down (every connection dropped),
 * and it records the requests it was sent.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Test } from 'tap';
import Provider from 'oidc-provider';

export const INTRANET = 'http://schemas.microsoft.com/ws/2012/01/insidecorporatenetwork';
export const GATEWAY_CLIENT = { id: 'gateway', secret: 'gateway-client-secret-0123456789' };
export const OTHER_CLIENT = { id: 'other-app', secret: 'other-app-client-secret-0123456789', redirect: 'http://other.test/callback' };

/** Accounts by login name: the ID token claims besides `sub`. */
const ACCOUNTS: Record<string, Record<string, unknown>> = {
  // On the corporate network, per the provider.
  carol: { preferred_username: 'carol', email: 'carol@corp.example', name: 'Carol Corp', groups: ['staff', 'users'], [INTRANET]: true },
  // Signed in from outside.
  dave: { preferred_username: 'dave', email: 'dave@corp.example', name: 'Dave Remote', groups: ['users'] },
  // The users file's bob, spelled differently, on the intranet.
  bob: { preferred_username: 'BOB', email: 'bob@corp.example', name: 'Bob at Corp', groups: ['corp-only'], [INTRANET]: 'true' },
  // Says it is outside, explicitly.
  frank: { preferred_username: 'frank', groups: ['users'], [INTRANET]: false },
};

export interface TestProvider {
  issuer: string;
  /** Rewrites the token endpoint's successful JSON answer; null lets it through. */
  onToken: ((body: Record<string, unknown>) => Record<string, unknown>) | null;
  /** The provider's own signing key (to build tokens only the right key could sign). */
  key: KeyObject;
  kid: string;
  /** Back-channel logout deliveries that failed (the provider only emits these). */
  backchannelErrors: Error[];
  /** Accounts the provider no longer knows (disabled): their refresh tokens and access tokens stop working. */
  disabled: Set<string>;
  /** While true, every connection is dropped, as if the provider were down. */
  down: boolean;
  /** `METHOD /path` of every request received, in order. */
  requests: string[];
}

export interface ProviderOptions {
  /** `127.0.0.1` (default) or `localhost` (the browser test: cookies need a host name). */
  host?: string;
  redirectUris: string[];
  /** ID token lifetime in seconds. Default 3600. */
  idTokenTtl?: number;
  /** Turns on Back-Channel Logout (sid required) with this endpoint for the gateway's client. */
  backchannelLogoutUri?: string;
  /** Turns on RP-initiated logout with these return URIs for the gateway's client. */
  postLogoutRedirectUris?: string[];
  /**
   * The gateway's client may use refresh tokens: one is issued with every code (as Keycloak does,
   * offline_access or not) and rotated at every use, so a refresh token used twice revokes the grant.
   */
  refreshTokens?: boolean;
}

export async function startProvider(t: Test, opts: ProviderOptions): Promise<TestProvider> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'test-key-1';
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const tp: TestProvider = {
    issuer: '',
    onToken: null,
    key: privateKey,
    kid,
    backchannelErrors: [],
    disabled: new Set(),
    down: false,
    requests: [],
  };

  const server = createServer((req, res) => {
    if (tp.down) {
      req.socket.destroy();
      return;
    }
    tp.requests.push(`${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}`);
    if (tp.onToken && req.method === 'POST' && req.url?.startsWith('/token')) rewriteTokenResponse(res, tp.onToken);
    handler!(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as { port: number }).port;
  tp.issuer = `http://${opts.host ?? '127.0.0.1'}:${port}`;

  const provider = new Provider(tp.issuer, {
    clients: [
      {
        client_id: GATEWAY_CLIENT.id,
        client_secret: GATEWAY_CLIENT.secret,
        redirect_uris: opts.redirectUris,
        grant_types: opts.refreshTokens ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
        response_types: ['code'],
        ...(opts.backchannelLogoutUri
          ? { backchannel_logout_uri: opts.backchannelLogoutUri, backchannel_logout_session_required: true }
          : {}),
        ...(opts.postLogoutRedirectUris ? { post_logout_redirect_uris: opts.postLogoutRedirectUris } : {}),
      },
      {
        client_id: OTHER_CLIENT.id,
        client_secret: OTHER_CLIENT.secret,
        redirect_uris: [OTHER_CLIENT.redirect],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
    // Custom claims (the intranet claim, groups) reach the ID token only this way.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub', INTRANET],
      profile: ['name', 'preferred_username'],
      email: ['email'],
      groups: ['groups'],
    },
    features: {
      devInteractions: { enabled: true },
      backchannelLogout: { enabled: opts.backchannelLogoutUri !== undefined },
      rpInitiatedLogout: { enabled: true },
    },
    ttl: { IdToken: opts.idTokenTtl ?? 3600 },
    ...(opts.refreshTokens
      ? {
          issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
            client.grantTypeAllowed('refresh_token'),
          rotateRefreshToken: true,
        }
      : {}),
    // Its outgoing requests (back-channel logout) refuse loopback addresses; the gateway here is on loopback.
    fetch: (url: string | URL, init: RequestInit & { dispatcher?: unknown }) => {
      const { dispatcher: _ssrfGuard, ...rest } = init;
      return fetch(url, rest);
    },
    async findAccount(_ctx: unknown, id: string) {
      if (tp.disabled.has(id)) return undefined;
      const claims = ACCOUNTS[id] ?? { preferred_username: id };
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
  });
  provider.on('backchannel.error', (_ctx, err) => {
    tp.backchannelErrors.push(err as Error);
  });
  handler = provider.callback();
  return tp;
}

/** Lets the token endpoint's answer pass through `rewrite` (Koa ends the response with one string). */
function rewriteTokenResponse(res: ServerResponse, rewrite: (body: Record<string, unknown>) => Record<string, unknown>): void {
  const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
  res.end = ((chunk?: unknown) => {
    if (res.statusCode !== 200 || chunk === undefined || typeof chunk === 'function') return end(chunk);
    const out = Buffer.from(JSON.stringify(rewrite(JSON.parse(String(chunk)) as Record<string, unknown>)));
    res.setHeader('content-length', out.length);
    return end(out);
  }) as ServerResponse['end'];
}

// ---- ID token surgery ----------------------------------------------------------------

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const unb64 = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;

export function decodeJwt(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: string } {
  const [h = '', p = '', s = ''] = jwt.split('.');
  return { header: unb64(h), payload: unb64(p), signature: s };
}

/** The same header and signature over a changed payload. */
export function withPayload(jwt: string, change: (p: Record<string, unknown>) => void): string {
  const { payload } = decodeJwt(jwt);
  change(payload);
  const [h, , s] = jwt.split('.');
  return `${h}.${b64(payload)}.${s}`;
}

/** Signed RS256 with `key` under header `kid`. */
export function signRs256(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64({ ...header, alg: 'RS256' })}.${b64(payload)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(key).toString('base64url')}`;
}

/** An unsigned (`alg: none`) token. */
export function unsigned(payload: Record<string, unknown>): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}

// ---- driving the provider's login pages over HTTP ---------------------------------------

/**
 * Follows an authorization URL through the provider's own login (and consent) forms as
 * `login`, keeping the provider's cookies in `jar`, until the provider redirects to a URL starting
 * with `until`; returns that URL (the callback with code and state).
 */
export async function loginAtProvider(
  authorizationUrl: string,
  login: string,
  until: string,
  /** The provider's cookies (its session), kept for a later sign-out there. */
  jar = new Map<string, string>(),
): Promise<string> {
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  };
  let url = authorizationUrl;
  let init: RequestInit = {};
  for (let hop = 0; hop < 12; hop++) {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: cookie() },
    });
    keep(res);
    init = {};
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location')!, url).href;
      if (next.startsWith(until)) return next;
      url = next;
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    if (res.status !== 200 || !action || !prompt) throw new Error(`provider answered ${res.status}: ${html.slice(0, 300)}`);
    url = new URL(action.replace(/&amp;/g, '&'), url).href;
    const form: Record<string, string> = prompt === 'login' ? { prompt, login, password: 'any password' } : { prompt };
    init = { method: 'POST', body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error('too many redirects at the provider');
}

/**
 * Signs out at the provider as the browser holding `jar` would: its end-session page, then
 * "Yes, sign me out". The provider sends its back-channel logout tokens before it answers.
 * Returns where the provider sends the browser afterwards.
 */
export async function signOutAtProvider(endSessionUrl: string, jar: Map<string, string>): Promise<string> {
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const page = await fetch(endSessionUrl, { redirect: 'manual', headers: { cookie: cookie() } });
  const html = await page.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (page.status !== 200 || !action || !xsrf) throw new Error(`end-session page answered ${page.status}: ${html.slice(0, 300)}`);
  const done = await fetch(new URL(action.replace(/&amp;/g, '&'), endSessionUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
  });
  if (done.status < 300 || done.status >= 400) throw new Error(`end-session confirm answered ${done.status}`);
  return new URL(done.headers.get('location')!, endSessionUrl).href;
}
