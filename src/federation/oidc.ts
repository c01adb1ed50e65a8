/**
 * @module federation/oidc
 * The OpenID Connect relying party, through openid-client: discovery from the issuer (read
 * lazily, kept, and tried again after a failure, so a provider that is down at start does
 * not stop the gateway), authorization URLs with PKCE (S256), state and nonce, and the code
 * exchange whose ID token openid-client verifies: signature against the provider's JWKS
 * (non-repudiation checks on), `iss`, `aud`/`azp`, `exp` and `nonce` (OpenID Connect Core
 * 1.0 section 3.1.3.7).
 *
 * ID token times are judged by the gateway's injected clock (passed to openid-client as
 * its clock skew), like every other expiry in the gateway.
 *
 * With `federation.oidc.revalidate_every` the client also asks the provider later whether a
 * session's user is still there ({@link OidcClient.revalidate}): a refresh token grant, else
 * userinfo with the access token while it is valid. Answers are sorted into what the provider
 * said (the user is gone: `invalid_grant`, a refused access token, another subject) and what only
 * means that no trustworthy answer came (unreachable, a 5xx, anything else): the caller ends a
 * session on the first and retries on the second.
 */
import type * as Client from 'openid-client';
import type { JWTVerifyGetKey } from 'jose';
import type { ProviderTokens } from '../store/types.ts';

/** openid-client, loaded by the first federated sign-in rather than at every start (about 150 ms). */
let loaded: Promise<typeof Client> | undefined;
const openidClient = (): Promise<typeof Client> => (loaded ??= import('openid-client'));

export interface OidcSettings {
  issuer: string;
  client_id: string;
  client_secret: string;
  scopes: string[];
}

/**
 * The scopes an authorization request asks for: the configured ones, but `offline_access` only
 * while sessions are revalidated (`revalidate_every`): a long-lived refresh token the gateway
 * would never use is only a liability.
 */
export function requestedScopes(settings: { scopes: readonly string[]; revalidate_every?: string | undefined }): string[] {
  return settings.revalidate_every === undefined ? settings.scopes.filter((s) => s !== 'offline_access') : [...settings.scopes];
}

/** What the code exchange yields: the verified ID token's claims, and the tokens that came with it. */
interface Redeemed {
  claims: Record<string, unknown>;
  tokens: ProviderTokens;
}

/**
 * The provider's answer about a session's user: still there (with the tokens to keep now), gone
 * (the provider said so), or unconfirmed (no answer to trust; `down` when the provider could not
 * be reached at all, so the caller need not ask it about other sessions right now).
 */
export type RevalidationAnswer =
  | { outcome: 'valid'; tokens: ProviderTokens }
  | { outcome: 'gone'; reason: string }
  | { outcome: 'unconfirmed'; reason: string; down: boolean };

interface AuthorizationRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

export interface OidcClient {
  /** A fresh authorization request: the provider URL and the secrets the callback needs back. */
  authorizationRequest(redirectUri: string): Promise<AuthorizationRequest>;
  /**
   * Exchanges the code in `callbackUrl` (the redirect URI with the provider's query) and
   * returns the verified ID token's claims with the access and refresh tokens that came with
   * them (the access token's expiry by the gateway's clock). Throws on any failed check.
   */
  redeem(callbackUrl: URL, checks: { state: string; nonce: string; codeVerifier: string }): Promise<Redeemed>;
  /**
   * Asks the provider whether the user of a session (provider subject `subject`) is still there:
   * a refresh token grant when there is a refresh token (the answer carries the new tokens; the
   * refresh token stays when the provider did not rotate it), else userinfo with the access token
   * while it has not expired. With neither, the provider can no longer be asked: `gone`.
   */
  revalidate(session: { subject: string | null; tokens: ProviderTokens }): Promise<RevalidationAnswer>;
  /** The provider's issuer and signing keys (from discovery), for checking logout tokens. */
  signingKeys(): Promise<{ issuer: string; keys: JWTVerifyGetKey }>;
  /**
   * The provider's RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0) with
   * `client_id` and `post_logout_redirect_uri`; null when the provider has no `end_session_endpoint`.
   */
  endSessionUrl(postLogoutRedirectUri: string): Promise<URL | null>;
}

export interface OidcClientDeps {
  clock: () => number;
  /** Seconds per request to the provider. Default 10. */
  timeoutSeconds?: number;
}

export function createOidcClient(settings: OidcSettings, deps: OidcClientDeps): OidcClient {
  const issuer = new URL(settings.issuer);
  // Plain http only ever reaches a provider on a test machine; the schema allows it for that.
  const insecure = issuer.protocol === 'http:';
  const timeout = deps.timeoutSeconds ?? 10;
  let discovered: Promise<Client.Configuration> | undefined;
  let jwksCache: Client.ExportedJWKSCache | undefined;
  let logoutKeys: { uri: string; keys: JWTVerifyGetKey } | undefined;

  function discover(): Promise<Client.Configuration> {
    discovered ??= openidClient()
      .then((client) =>
        client.discovery(
          issuer,
          settings.client_id,
          { client_secret: settings.client_secret },
          client.ClientSecretBasic(settings.client_secret),
          {
            execute: insecure ? [client.allowInsecureRequests] : [],
            timeout,
          },
        ),
      )
      .catch((err: unknown) => {
        discovered = undefined;
        throw err;
      });
    return discovered;
  }

  /** The tokens of a token endpoint answer; `kept` stays when it carries no refresh token (no rotation). */
  function tokensOf(answer: Client.TokenEndpointResponse & Client.TokenEndpointResponseHelpers, kept: string | null): ProviderTokens {
    const expiresIn = answer.expiresIn();
    return {
      refreshToken: answer.refresh_token ?? kept,
      accessToken: answer.access_token,
      accessExpiresAt: expiresIn === undefined ? null : deps.clock() + expiresIn * 1000,
    };
  }

  /** A configuration whose clock is the gateway's, sharing the discovered metadata and JWKS. */
  async function configuration(): Promise<Client.Configuration> {
    const [client, base] = await Promise.all([openidClient(), discover()]);
    const skew = Math.round((deps.clock() - Date.now()) / 1000);
    const config = new client.Configuration(
      base.serverMetadata(),
      settings.client_id,
      { client_secret: settings.client_secret, [client.clockSkew]: skew },
      client.ClientSecretBasic(settings.client_secret),
    );
    if (insecure) client.allowInsecureRequests(config);
    // OpenID Connect Core 3.1.3.7 lets a client skip the signature of an ID token fetched over
    // TLS; this one checks it anyway: the token's intranet claim lowers the bar for MFA, so
    // nothing on the path to the provider (a TLS-inspecting proxy included) may mint one.
    client.enableNonRepudiationChecks(config);
    config.timeout = timeout;
    if (jwksCache) client.setJwksCache(config, jwksCache);
    return config;
  }

  return {
    async authorizationRequest(redirectUri) {
      const [client, config] = await Promise.all([openidClient(), discover()]);
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: settings.scopes.join(' '),
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url, state, nonce, codeVerifier };
    },
    async redeem(callbackUrl, checks) {
      const [client, config] = await Promise.all([openidClient(), configuration()]);
      try {
        const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        if (!claims) throw new Error('the token response carried no ID token');
        return { claims: { ...claims }, tokens: tokensOf(tokens, null) };
      } finally {
        jwksCache = client.getJwksCache(config) ?? jwksCache;
      }
    },
    async revalidate({ subject, tokens }) {
      let client: typeof Client;
      let config: Client.Configuration;
      try {
        [client, config] = await Promise.all([openidClient(), configuration()]);
      } catch (err) {
        return { outcome: 'unconfirmed', reason: `discovery failed: ${describe(err)}`, down: true };
      }
      if (tokens.refreshToken !== null) {
        try {
          const refreshed = await client.refreshTokenGrant(config, tokens.refreshToken);
          const sub = refreshed.claims()?.sub;
          if (sub !== undefined && subject !== null && sub !== subject)
            return { outcome: 'gone', reason: `the refreshed ID token names another subject (${sub.slice(0, 64)})` };
          return { outcome: 'valid', tokens: tokensOf(refreshed, tokens.refreshToken) };
        } catch (err) {
          return answerOf(client, err, 'the refresh token');
        } finally {
          jwksCache = client.getJwksCache(config) ?? jwksCache;
        }
      }
      if (tokens.accessToken !== null && (tokens.accessExpiresAt === null || tokens.accessExpiresAt > deps.clock())) {
        try {
          await client.fetchUserInfo(config, tokens.accessToken, subject ?? client.skipSubjectCheck);
          return { outcome: 'valid', tokens };
        } catch (err) {
          return answerOf(client, err, 'the access token');
        }
      }
      return {
        outcome: 'gone',
        reason:
          'no refresh token, and the access token has expired: the provider cannot be asked any more ' +
          '(a refresh token usually needs offline_access in federation.oidc.scopes)',
      };
    },
    async signingKeys() {
      const metadata = (await discover()).serverMetadata();
      if (!metadata.jwks_uri) throw new Error('the provider publishes no jwks_uri');
      // jose keeps the key set and re-reads it (at most every 30 s) when a token names an unknown key.
      if (logoutKeys?.uri !== metadata.jwks_uri) {
        const { createRemoteJWKSet } = await import('jose');
        logoutKeys = { uri: metadata.jwks_uri, keys: createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: timeout * 1000 }) };
      }
      return { issuer: metadata.issuer, keys: logoutKeys.keys };
    },
    async endSessionUrl(postLogoutRedirectUri) {
      const metadata = (await discover()).serverMetadata();
      if (!metadata.end_session_endpoint) return null;
      const url = new URL(metadata.end_session_endpoint);
      url.searchParams.set('client_id', settings.client_id);
      url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
      return url;
    },
  };
}

/**
 * Sorts a failed refresh grant or userinfo call. Gone: the token endpoint answered `invalid_grant`
 * (RFC 6749 section 5.2: the refresh token is invalid, expired or revoked; providers also answer it
 * for a disabled or deleted user), userinfo refused the access token with 401 (RFC 6750 section 3.1),
 * or userinfo answered for another subject. Everything else is unconfirmed: an unreachable provider,
 * a 5xx, a refused client (a configuration problem, not the user's), an answer that failed its checks.
 */
function answerOf(client: typeof Client, err: unknown, used: 'the refresh token' | 'the access token'): RevalidationAnswer {
  const atUserinfo = used === 'the access token';
  if (err instanceof client.ResponseBodyError) {
    const said = `${err.status} ${err.error}${err.error_description ? ` (${err.error_description.slice(0, 200)})` : ''}`;
    if (!atUserinfo && err.error === 'invalid_grant') return { outcome: 'gone', reason: `the provider refused ${used}: ${said}` };
    return { outcome: 'unconfirmed', reason: `the provider answered ${said}`, down: err.status >= 500 };
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const said = `${err.status} ${err.cause.map((c) => c.parameters.error ?? c.scheme).join(', ')}`;
    if (atUserinfo && err.status === 401) return { outcome: 'gone', reason: `userinfo refused ${used}: ${said}` };
    return { outcome: 'unconfirmed', reason: `the provider answered ${said}`, down: false };
  }
  if (err instanceof client.ClientError) {
    const status = err.cause instanceof Response ? err.cause.status : undefined;
    if (atUserinfo && status === 401) return { outcome: 'gone', reason: `userinfo refused ${used}: 401` };
    if (atUserinfo && err.code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED')
      return { outcome: 'gone', reason: 'userinfo answered for another subject' };
    const down = err.code === 'OAUTH_TIMEOUT' || (status !== undefined && status >= 500);
    return { outcome: 'unconfirmed', reason: `${status === undefined ? '' : `the provider answered ${status}: `}${describe(err)}`, down };
  }
  // fetch's TypeError ("fetch failed": refused, reset, DNS) and anything else: no answer at all.
  return { outcome: 'unconfirmed', reason: `the provider could not be reached: ${describe(err)}`, down: true };
}

/** An error with its cause, shortened: "fetch failed: connect ECONNREFUSED 127.0.0.1:9". */
function describe(err: unknown): string {
  const e = err as Error;
  const cause = e.cause instanceof Error && e.cause.message !== e.message ? `: ${e.cause.message}` : '';
  return `${e.message}${cause}`.slice(0, 300);
}
