/**
 * @module portal/federation
 * Sign-in through the corporate identity provider, as a portal module:
 *
 *   GET {prefix}oidc/start?rd=...   seals state, nonce, PKCE verifier and `rd` into a
 *                                   10-minute cookie and sends the browser to the provider
 *   GET {prefix}oidc/callback       checks the cookie, marks the state used, lets openid-client
 *                                   exchange the code and verify the ID token, maps its claims
 *                                   to a gateway user and issues a session
 *
 *   POST {prefix}federation/backchannel-logout
 *                                   OpenID Connect Back-Channel Logout 1.0: a logout token from
 *                                   the provider (checked by `federation/logout-token`, its `jti`
 *                                   spent once in the store) ends the matching sessions on every
 *                                   gateway through the change feed; 200, or 400 for a bad token
 *
 * Sign-out of a federated session goes on to the provider's `end_session_endpoint` when
 * `federation.oidc.end_session` is on (RP-initiated logout), back to the signed-out page. With
 * `federation.oidc.revalidate_every`, the session is recorded with the provider's tokens for
 * `federation/revalidation` to ask the provider with later.
 *
 * The session is level 1 (`amr: ['oidc']`), so the gateway's own second factor is still
 * asked for; with `mfa.trusted_ips.federated_intranet_claim` a verified ID token carrying
 * the intranet claim sets `ic` (the access decision then skips the second factor), and with
 * `trust_amr_mfa` an `amr` containing `mfa` makes it level 2. Only the verified ID token is
 * believed. Every failure shows the same message on the sign-in page; the log says why.
 */
import type { FederationConfig, GatewayConfig } from '../config/types.ts';
import type { Federation } from '../federation/index.ts';
import type { FederationStore, SessionIndexStore } from '../store/types.ts';
import type { SessionRegistry } from '../session/registry.ts';
import type { SessionData } from '../session/session.ts';
import type { OidcClient } from '../federation/oidc.ts';
import type { CombinedDirectory } from '../federation/users.ts';
import type { UserRecord } from '../factors/password/index.ts';
import type { PortalContext, PortalKit, PortalModule } from './kit.ts';
import type { Logger } from 'pino';
import { appendSetCookie, gatewayCookieNames, readCookie, serializeCookie } from '../session/cookies.ts';
import { passwordMap } from '../session/session.ts';
import { FLOW_TTL_MS, sealFlow, stateKey, unsealFlow } from '../federation/flow-state.ts';
import { mapClaims, type FederatedIdentity } from '../federation/claims.ts';
import { errors } from '../errors/errors.ts';
import { jtiKeptUntil, verifyLogoutToken } from '../federation/logout-token.ts';
import { PORTAL_PATHS } from './paths.ts';
import { parseDuration } from '../config/duration.ts';

const OIDC_PATHS = Object.freeze({
  start: 'oidc/start',
  callback: 'oidc/callback',
  backchannelLogout: 'federation/backchannel-logout',
});

export interface FederationModuleDeps {
  settings: NonNullable<FederationConfig['oidc']>;
  /** `mfa.trusted_ips.federated_intranet_claim`. */
  intranetClaimEnabled: boolean;
  oidc: OidcClient;
  users: CombinedDirectory;
  store: Pick<FederationStore, 'saveFederatedUser' | 'consumeOidcState'> & Pick<SessionIndexStore, 'useLogoutToken'>;
  /** Ends the sessions a logout token names. */
  registry: Pick<SessionRegistry, 'endProviderSessions'>;
  /** The session secrets (iron-session password map) that seal the flow cookie. */
  sealPassword: Record<number, string>;
  /** The flow cookie's name, already prefixed for https. */
  cookieName: string;
  secure: boolean;
  /** Whether the user is blocked now (the block list), when the gateway has one. */
  blocked?: (user: string) => boolean;
  clock: () => number;
  log: Logger;
}

/** A refusal: `reason` goes to the sign-in log, the user sees one generic message. */
class Refused extends Error {
  readonly user: string;
  constructor(reason: string, user = '') {
    super(reason);
    this.user = user;
  }
}

/**
 * The federation pages for this config: none without `federation.oidc`. The provider client
 * comes from `federation` (kept across reloads); the flow cookie is sealed with the session secrets.
 */
export function federationPortalModules(
  config: GatewayConfig,
  federation: Federation,
  deps: { store: FederationModuleDeps['store']; registry: FederationModuleDeps['registry']; clock: () => number; log: Logger },
): Array<(kit: PortalKit) => PortalModule> {
  const settings = config.federation.oidc;
  if (!settings) return [];
  const secure = new URL(config.server.public_url).protocol === 'https:';
  return [
    federationModule({
      settings,
      intranetClaimEnabled: config.mfa.trusted_ips.federated_intranet_claim,
      oidc: federation.clientFor(settings),
      users: federation.users,
      store: deps.store,
      registry: deps.registry,
      sealPassword: passwordMap(config.session),
      // Scoped to the callback path, so __Secure- rather than __Host- (which needs Path=/).
      cookieName: gatewayCookieNames(config.session.cookie_name, secure, config.session.domain).oidc,
      secure,
      ...(federation.blocked ? { blocked: federation.blocked } : {}),
      clock: deps.clock,
      log: deps.log,
    }),
  ];
}

function federationModule(deps: FederationModuleDeps): (kit: PortalKit) => PortalModule {
  const { settings, oidc, users, store, clock, log } = deps;
  const revalidateEveryMs = settings.revalidate_every === undefined ? null : parseDuration(settings.revalidate_every);
  return (kit) => {
    const redirectUri = new URL(`${kit.prefix}${OIDC_PATHS.callback}`, kit.publicUrl).href;
    const cookiePath = `${kit.prefix}oidc/`;
    const provider = { name: settings.display_name, url: `${kit.prefix}${OIDC_PATHS.start}` };
    const clearCookie = serializeCookie(deps.cookieName, '', { secure: deps.secure, path: cookiePath, maxAge: 0 });

    function buttonFor(rd: string | null) {
      return { name: provider.name, url: rd ? `${provider.url}?rd=${encodeURIComponent(rd)}` : provider.url };
    }

    async function start(ctx: PortalContext): Promise<void> {
      const rd = kit.returnTo(new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('rd'));
      let request;
      try {
        request = await oidc.authorizationRequest(redirectUri);
      } catch (err) {
        throw errors.upstreamUnreachable(`identity provider ${settings.issuer}: ${(err as Error).message}`, err);
      }
      const sealed = await sealFlow(
        { state: request.state, nonce: request.nonce, codeVerifier: request.codeVerifier, rd, exp: clock() + FLOW_TTL_MS },
        deps.sealPassword,
      );
      // Lax: the provider sends the browser back with a top-level GET from another site.
      appendSetCookie(
        ctx.res,
        serializeCookie(deps.cookieName, sealed, { secure: deps.secure, path: cookiePath, maxAge: FLOW_TTL_MS / 1000, sameSite: 'Lax' }),
      );
      kit.redirect(ctx.res, request.url.href, 302);
    }

    /** The gateway user the identity is, or a refusal. */
    async function resolveUser(identity: FederatedIdentity): Promise<UserRecord> {
      const existing = users.get(identity.username);
      if (existing?.disabled) throw new Refused('the matching user is disabled in the users file', existing.name);
      // A users-file user of that name (any letter case) is that person; nothing is recorded.
      if (existing && users.federated(identity.username) === undefined) return existing;
      if (!existing && !settings.create_users) {
        throw new Refused('no gateway user of that name (federation.oidc.create_users is off)', identity.username);
      }
      const saved = await store.saveFederatedUser(
        {
          name: identity.username,
          email: identity.email,
          displayName: identity.displayName,
          groups: identity.groups,
          issuer: identity.issuer,
          subject: identity.subject,
        },
        clock(),
      );
      users.remember(saved);
      return users.get(saved.name)!;
    }

    async function callback(ctx: PortalContext): Promise<void> {
      const target = new URL(ctx.req.url ?? '/', 'http://x');
      const params = target.searchParams;
      const flow = await unsealFlow(readCookie(ctx.req.headers.cookie, deps.cookieName), deps.sealPassword);
      appendSetCookie(ctx.res, clearCookie);
      try {
        if (!flow) throw new Refused('no sign-in in progress in this browser (flow cookie missing, forged or expired)');
        const providerError = params.get('error');
        if (providerError)
          throw new Refused(`the provider answered ${providerError}: ${(params.get('error_description') ?? '').slice(0, 200)}`);
        if (flow.exp <= clock()) throw new Refused('the sign-in took longer than 10 minutes');
        if (params.get('state') !== flow.state) throw new Refused("the state does not match this browser's sign-in");
        if (!(await store.consumeOidcState(stateKey(flow.state), flow.exp, clock())))
          throw new Refused('the state was already used (replayed callback)');

        let redeemed: Awaited<ReturnType<OidcClient['redeem']>>;
        try {
          redeemed = await oidc.redeem(new URL(`${redirectUri}${target.search}`), flow);
        } catch (err) {
          throw new Refused(`the provider's answer failed verification: ${describe(err)}`);
        }
        const { claims } = redeemed;
        const mapped = mapClaims(claims, settings);
        if (!mapped.ok) throw new Refused(mapped.reason, typeof claims.sub === 'string' ? `sub:${claims.sub}` : '');
        const identity = mapped.identity;
        if (identity.dropped.length > 0)
          log.warn({ user: identity.username, dropped: identity.dropped }, 'federated groups ignored: not valid group names');
        const user = await resolveUser(identity);
        if (deps.blocked?.(user.name)) throw new Refused('the user is blocked', user.name);

        const ic = deps.intranetClaimEnabled && identity.intranet;
        const mfa = settings.trust_amr_mfa && identity.amrMfa;
        const sub = claims.sub as string;
        const sid = typeof claims.sid === 'string' && claims.sid !== '' ? claims.sid : undefined;
        // With revalidation, the session keeps (sealed, in the store) what the provider is asked with later.
        const revalidation = revalidateEveryMs === null ? undefined : { tokens: redeemed.tokens, dueAt: clock() + revalidateEveryMs };
        const issued = await kit.issueSession(
          ctx,
          { user: user.name, level: mfa ? 2 : 1, amr: mfa ? ['oidc', 'mfa'] : ['oidc'], ic, auth: clock() },
          { sub, sid, revalidation },
        );
        await kit.audit(ctx, {
          kind: 'federated',
          user: user.name,
          outcome: 'success',
          detail: `federated sign-in via ${settings.display_name}${detailOf(identity, ic, mfa, deps.intranetClaimEnabled)}`,
        });
        await kit.redirectAfterSignIn(ctx, issued, flow.rd ?? kit.defaultLanding);
      } catch (err) {
        if (!(err instanceof Refused)) throw err;
        await kit.audit(ctx, { kind: 'federated', user: err.user, outcome: 'denied', detail: `federated sign-in refused: ${err.message}` });
        const rd = flow?.rd ?? null;
        kit.page(ctx, 401, 'sign-in', {
          ...signInExtras(rd),
          csrf: kit.csrfToken(kit.anonymousBinding(ctx), 'sign-in'),
          ...(rd ? { rd } : {}),
          formError: 'sign_in_error_provider',
        });
      }
    }

    /** Back-Channel Logout 1.0 section 2.8: 200 when done, 400 with a JSON error otherwise; never cached. */
    function answer(ctx: PortalContext, status: 200 | 400, error?: string): void {
      const body = error ? JSON.stringify({ error: 'invalid_request', error_description: error }) : '';
      ctx.res.writeHead(status, {
        'cache-control': 'no-store',
        ...(body ? { 'content-type': 'application/json' } : {}),
        'content-length': Buffer.byteLength(body),
      });
      ctx.res.end(body);
    }

    async function backchannelLogout(ctx: PortalContext): Promise<void> {
      const form = await kit.readForm(ctx.req);
      const token = form.get('logout_token');
      const refuse = async (reason: string) => {
        await kit.audit(ctx, { kind: 'revocation', user: '', outcome: 'denied', detail: `back-channel logout refused: ${reason}` });
        answer(ctx, 400, 'the logout token is not valid');
      };
      if (!token) return refuse('no logout_token in the request');
      let checks;
      try {
        checks = await oidc.signingKeys();
      } catch (err) {
        throw errors.upstreamUnreachable(`identity provider ${settings.issuer}: ${(err as Error).message}`, err);
      }
      const verdict = await verifyLogoutToken(token, { ...checks, clientId: settings.client_id, now: clock() });
      if (!verdict.ok) return refuse(verdict.reason);
      const { logout } = verdict;
      if (!(await store.useLogoutToken(`${checks.issuer} ${logout.jti}`, jtiKeptUntil(logout))))
        return refuse('the jti was already used (replayed logout token)');
      const ended = await deps.registry.endProviderSessions({
        ...(logout.sid !== undefined ? { sid: logout.sid } : {}),
        ...(logout.sub !== undefined ? { sub: logout.sub } : {}),
      });
      for (const s of ended)
        await kit.audit(ctx, {
          kind: 'revocation',
          user: s.user,
          outcome: 'success',
          detail: `session ${s.sid.slice(0, 8)} ended by ${settings.display_name} (back-channel logout)`,
        });
      log.info({ sid: logout.sid, sub: logout.sub, ended: ended.length }, 'back-channel logout');
      answer(ctx, 200);
    }

    async function afterSignOut(_ctx: PortalContext, session: SessionData): Promise<string | null> {
      if (!settings.end_session || !session.amr.includes('oidc')) return null;
      const back = new URL(`${kit.prefix}${PORTAL_PATHS.signOut}`, kit.publicUrl).href;
      try {
        return (await oidc.endSessionUrl(back))?.href ?? null;
      } catch (err) {
        // The gateway session is already ended; only the provider's stays.
        log.warn({ err }, 'could not reach the identity provider for RP-initiated logout');
        return null;
      }
    }

    function signInExtras(rd: string | null) {
      return { provider: buttonFor(rd), ...(settings.local_passwords ? {} : { hideLocalForm: true }) };
    }

    return {
      async handle(ctx, sub, method) {
        if (sub === OIDC_PATHS.backchannelLogout && method === 'POST') {
          await backchannelLogout(ctx);
          return true;
        }
        if (method !== 'GET') return false;
        if (sub === OIDC_PATHS.start) await start(ctx);
        else if (sub === OIDC_PATHS.callback) await callback(ctx);
        else return false;
        return true;
      },
      signInPage: (_ctx, rd) => signInExtras(rd),
      afterSignOut,
    };
  };
}

function detailOf(identity: FederatedIdentity, ic: boolean, mfa: boolean, intranetEnabled: boolean): string {
  if (mfa) return '; second factor done at the provider (amr contains mfa)';
  if (ic) return '; second factor skipped: intranet claim';
  if (identity.intranet && !intranetEnabled) return '; intranet claim present but mfa.trusted_ips.federated_intranet_claim is off';
  return '';
}

/** An openid-client error with its cause: "unexpected JWT claim value encountered: unexpected JWT "aud" ...". */
function describe(err: unknown): string {
  const e = err as Error;
  const cause = e.cause instanceof Error && e.cause.message !== e.message ? `: ${e.cause.message}` : '';
  return `${e.message}${cause}`.slice(0, 300);
}
