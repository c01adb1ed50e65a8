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
 */
import type * as Client from 'openid-client';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';

/** openid-client, loaded by the first federated sign-in rather than at every start (about 150 ms). */
let loaded: Promise<typeof Client> | undefined;
const openidClient = (): Promise<typeof Client> => (loaded ??= import('openid-client'));

export interface OidcSettings {
  issuer: string;
  client_id: string;
  client_secret: string;
  scopes: string[];
}

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
   * returns the verified ID token's claims. Throws on any failed check.
   */
  redeem(callbackUrl: URL, checks: { state: string; nonce: string; codeVerifier: string }): Promise<Record<string, unknown>>;
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
        return { ...claims };
      } finally {
        jwksCache = client.getJwksCache(config) ?? jwksCache;
      }
    },
    async signingKeys() {
      const metadata = (await discover()).serverMetadata();
      if (!metadata.jwks_uri) throw new Error('the provider publishes no jwks_uri');
      // jose keeps the key set and re-reads it (at most every 30 s) when a token names an unknown key.
      if (logoutKeys?.uri !== metadata.jwks_uri)
        logoutKeys = { uri: metadata.jwks_uri, keys: createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: timeout * 1000 }) };
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
