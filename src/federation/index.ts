/**
 * @module federation
 * Sign-in through an OpenID Connect provider, wired for the gateway: the combined user
 * directory (users file, then recorded federated users) that lives as long as the gateway,
 * and the provider client for each config (kept across reloads while issuer, client and
 * requested scopes stay the same, so discovery and keys are not re-read). The pages that use
 * them are the portal's (`portal/federation`); the background revalidation of federated
 * sessions is `federation/revalidation`.
 */
import type { Logger } from 'pino';
import type { FederationConfig } from '../config/types.ts';
import type { UserDirectory } from '../factors/password/index.ts';
import type { FederationStore } from '../store/types.ts';
import { createOidcClient, requestedScopes, type OidcClient } from './oidc.ts';
import { createCombinedDirectory, type CombinedDirectory } from './users.ts';

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
  /** The provider client for these settings (the same one while they stay the same). */
  clientFor(settings: NonNullable<FederationConfig['oidc']>): OidcClient;
  /** The block list the gateway was built with, if any. */
  readonly blocked?: (user: string) => boolean;
}

export async function createFederation(deps: FederationDeps): Promise<Federation> {
  const users = await createCombinedDirectory(deps.fileUsers, deps.store, {
    ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
    onError: deps.onPollError ?? ((err) => deps.log.error({ err }, 'federated users not refreshed')),
  });
  let cached: { key: string; client: OidcClient } | undefined;

  return {
    users,
    clientFor(settings) {
      const scopes = requestedScopes(settings);
      const key = JSON.stringify([settings.issuer, settings.client_id, settings.client_secret, scopes]);
      if (cached?.key !== key) cached = { key, client: createOidcClient({ ...settings, scopes }, { clock: deps.clock }) };
      return cached.client;
    },
    ...(deps.blocked ? { blocked: deps.blocked } : {}),
  };
}
