/**
 * @module federation
 * Sign-in through an OpenID Connect provider, wired for the gateway: the combined user
 * directory (users file, then recorded federated users) that lives as long as the gateway,
 * and the portal module built for each config (the provider client is kept across reloads
 * while issuer, client and scopes stay the same, so discovery and keys are not re-read).
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import type { UserDirectory } from '../factors/password/index.ts';
import type { FederationStore } from '../store/types.ts';
import type { PortalKit, PortalModule } from '../portal/kit.ts';
import { passwordMap } from '../session/session.ts';
import { gatewayCookieNames } from '../session/cookies.ts';
import { federationModule } from '../portal/federation.ts';
import { createOidcClient, type OidcClient } from './oidc.ts';
import { createCombinedDirectory, type CombinedDirectory } from './users.ts';

export { mapClaims, intranetClaimMatches } from './claims.ts';
export type { CombinedDirectory } from './users.ts';

export interface FederationDeps {
  fileUsers: UserDirectory;
  store: FederationStore;
  clock: () => number;
  log: Logger;
  /** The block list, when the gateway has one: a blocked user is refused at the callback. */
  blocked?: (user: string) => boolean;
  /** How often the recorded users are polled from the store. Default 1000 ms. */
  pollMs?: number;
  /** Handles a failed poll (the gateway's store-outage watch); default: log it. */
  onPollError?: (err: unknown) => void;
}

export interface Federation {
  /** The directory every consumer should look users up in; closing it closes the users file too. */
  readonly users: CombinedDirectory;
  /** The portal modules for this config: none without `federation.oidc`. */
  portalModules(config: GatewayConfig): Array<(kit: PortalKit) => PortalModule>;
}

export async function createFederation(deps: FederationDeps): Promise<Federation> {
  const users = await createCombinedDirectory(deps.fileUsers, deps.store, {
    ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
    onError: deps.onPollError ?? ((err) => deps.log.error({ err }, 'federated users not refreshed')),
  });
  let cached: { key: string; client: OidcClient } | undefined;

  return {
    users,
    portalModules(config) {
      const settings = config.federation.oidc;
      if (!settings) return [];
      const key = JSON.stringify([settings.issuer, settings.client_id, settings.client_secret, settings.scopes]);
      if (cached?.key !== key) cached = { key, client: createOidcClient(settings, { clock: deps.clock }) };
      const secure = new URL(config.server.public_url).protocol === 'https:';
      return [
        federationModule({
          settings,
          intranetClaimEnabled: config.mfa.trusted_ips.federated_intranet_claim,
          oidc: cached.client,
          users,
          store: deps.store,
          sealPassword: passwordMap(config.session),
          // Scoped to the callback path, so __Secure- rather than __Host- (which needs Path=/).
          cookieName: gatewayCookieNames(config.session.cookie_name, secure, config.session.domain).oidc,
          secure,
          ...(deps.blocked ? { blocked: deps.blocked } : {}),
          clock: deps.clock,
          log: deps.log,
        }),
      ];
    },
  };
}
