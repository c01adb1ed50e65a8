/**
 * @module factors/webauthn/ceremony
 * Security keys and passkeys (WebAuthn Level 3): the options a browser needs to register or
 * use a credential, and the checks of what it sends back. Cryptography, CBOR, attestation
 * formats and the client data checks (type, challenge, origin, RP id hash, flags, signature,
 * counter) are `@simplewebauthn/server`'s: maintained, dependency-light, used widely, and it
 * verifies every attestation format. This module adds what the library leaves to the relying
 * party: one-time challenges kept in the shared store (so any gateway instance can finish a
 * ceremony another started, and a response cannot be replayed), the admin's policy
 * (`mfa.webauthn`: user verification, AAGUID allow list, synced passkeys), and the signature
 * counter claimed forward-only in the store, where a cloned authenticator loses the race.
 *
 * Every refusal has a reason for the caller and a sentence for the sign-in log.
 */

import { randomBytes } from 'node:crypto';
import type * as SimpleWebAuthn from '@simplewebauthn/server';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { GatewayConfig } from '../../config/types.ts';
import { parseDuration } from '../../config/duration.ts';
import type { WebAuthnChallengePurpose, WebAuthnCredentialInfo, WebAuthnStore } from '../../store/types.ts';

/** `@simplewebauthn/server` (with its ASN.1 and X.509 stack, about 300 modules), loaded by the first ceremony, not at every start. */
let loaded: Promise<typeof SimpleWebAuthn> | undefined;
const simpleWebAuthn = (): Promise<typeof SimpleWebAuthn> => (loaded ??= import('@simplewebauthn/server'));

/** ES256, EdDSA, RS256: what authenticators in use today sign with (COSE algorithm ids). */
const ALGORITHMS = [-7, -8, -257];

/** `mfa.webauthn` resolved against `server.public_url`. */
export interface WebAuthnSettings {
  rpId: string;
  rpName: string;
  /** Origins a ceremony may come from: the gateway's public URL and protected hosts within the RP id. */
  origins: readonly string[];
  userVerification: 'preferred' | 'required';
  attestation: 'none' | 'direct';
  /** Lowercase; empty = any model. */
  allowedAaguids: ReadonlySet<string>;
  allowSynced: boolean;
  timeoutMs: number;
}

export function webauthnSettings(config: GatewayConfig): WebAuthnSettings {
  const w = config.mfa.webauthn;
  const publicUrl = new URL(config.server.public_url);
  const rpId = (w.rp_id ?? publicUrl.hostname).toLowerCase();
  const origins = new Set([publicUrl.origin]);
  // The portal answers on every protected host; those within the RP id may run a ceremony.
  for (const rule of config.rules) {
    for (const host of rule.hosts ?? []) {
      const name = host.toLowerCase();
      if (name.startsWith('*.') || (name !== rpId && !name.endsWith(`.${rpId}`))) continue;
      origins.add(new URL(`${publicUrl.protocol}//${name}${publicUrl.port ? `:${publicUrl.port}` : ''}`).origin);
    }
  }
  return {
    rpId,
    rpName: w.rp_name,
    origins: [...origins],
    userVerification: w.user_verification,
    attestation: w.attestation,
    allowedAaguids: new Set(w.allowed_aaguids.map((a) => a.toLowerCase())),
    allowSynced: w.allow_synced_passkeys,
    timeoutMs: parseDuration(w.timeout),
  };
}

type CeremonyStore = Pick<
  WebAuthnStore,
  'listCredentials' | 'addCredential' | 'credentialById' | 'claimSignCount' | 'saveChallenge' | 'takeChallenge'
>;

export interface CeremonyDeps {
  store: CeremonyStore;
  settings: WebAuthnSettings;
  clock: () => number;
}

/** 32 random bytes, kept (base64url, as the browser's client data carries them) until they are used or expire. */
async function newChallenge(deps: CeremonyDeps, purpose: WebAuthnChallengePurpose, user: string): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = randomBytes(32);
  await deps.store.saveChallenge({
    challenge: bytes.toString('base64url'),
    purpose,
    user,
    expiresAt: deps.clock() + deps.settings.timeoutMs,
  });
  return new Uint8Array(bytes);
}

/** The challenge the browser signed, as its client data says; empty when unreadable. */
function signedChallenge(clientDataJSON: unknown): string {
  try {
    const data = JSON.parse(Buffer.from(String(clientDataJSON), 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' ? data.challenge : '';
  } catch {
    return '';
  }
}

/** Options for `navigator.credentials.create()`; the user's own credentials are excluded (no double registration). */
export async function registrationOptions(deps: CeremonyDeps, user: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { settings } = deps;
  const existing = await deps.store.listCredentials(user);
  const { generateRegistrationOptions } = await simpleWebAuthn();
  return generateRegistrationOptions({
    rpName: settings.rpName,
    rpID: settings.rpId,
    userName: user,
    // A random user handle, never the name (WebAuthn section 14.6.1); credentials are found by their own id.
    userID: new Uint8Array(randomBytes(32)),
    challenge: await newChallenge(deps, 'register', user),
    timeout: settings.timeoutMs,
    attestationType: settings.attestation,
    excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports })),
    // A discoverable credential is preferred so that the key can later sign in without a password.
    authenticatorSelection: { residentKey: 'preferred', userVerification: settings.userVerification },
    supportedAlgorithmIDs: ALGORITHMS,
  });
}

type RegistrationRefusal = 'challenge' | 'invalid' | 'aaguid' | 'synced' | 'user_verification' | 'limit_reached' | 'credential_taken';

export type RegistrationResult =
  | { ok: true; credential: WebAuthnCredentialInfo }
  | { ok: false; reason: RegistrationRefusal; detail: string };

/** Checks a registration response of `user` and stores the credential, named `label`. */
export async function finishRegistration(
  deps: CeremonyDeps,
  input: { user: string; response: RegistrationResponseJSON; label: string; maxPerUser: number },
): Promise<RegistrationResult> {
  const { settings } = deps;
  const challenge = signedChallenge(input.response?.response?.clientDataJSON);
  const issued = challenge === '' ? null : await deps.store.takeChallenge(challenge, 'register', deps.clock());
  if (issued === null || issued.user !== input.user.toLowerCase()) {
    return { ok: false, reason: 'challenge', detail: 'registration refused: unknown, used or expired challenge' };
  }
  const { verifyRegistrationResponse } = await simpleWebAuthn();
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verified = await verifyRegistrationResponse({
      response: input.response,
      expectedChallenge: challenge,
      expectedOrigin: [...settings.origins],
      expectedRPID: settings.rpId,
      requireUserVerification: settings.userVerification === 'required',
      supportedAlgorithmIDs: ALGORITHMS,
    });
  } catch (err) {
    return { ok: false, reason: 'invalid', detail: `registration refused: ${(err as Error).message}` };
  }
  if (!verified.verified) return { ok: false, reason: 'invalid', detail: 'registration refused: the attestation did not verify' };
  const info = verified.registrationInfo;
  const aaguid = info.aaguid.toLowerCase();
  if (settings.allowedAaguids.size > 0 && !settings.allowedAaguids.has(aaguid)) {
    return { ok: false, reason: 'aaguid', detail: `registration refused: authenticator model ${aaguid} is not in allowed_aaguids` };
  }
  const backupEligible = info.credentialDeviceType === 'multiDevice';
  if (backupEligible && !settings.allowSynced) {
    return {
      ok: false,
      reason: 'synced',
      detail: 'registration refused: a synced passkey (backup eligible) and allow_synced_passkeys is false',
    };
  }
  const discoverable = input.response.clientExtensionResults?.credProps?.rk === true;
  const added = await deps.store.addCredential(
    {
      user: input.user,
      credentialId: info.credential.id,
      label: input.label,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      signCount: info.credential.counter,
      transports: (input.response.response.transports ?? []).filter((t) => typeof t === 'string'),
      aaguid,
      backupEligible,
      backedUp: info.credentialBackedUp,
      discoverable,
    },
    input.maxPerUser,
  );
  if (!added.ok) {
    const detail = added.reason === 'limit_reached' ? 'the method limit is reached' : 'the credential is registered already';
    return { ok: false, reason: added.reason, detail: `registration refused: ${detail}` };
  }
  return { ok: true, credential: added.credential };
}

/**
 * Options for `navigator.credentials.get()`: for `user`, the user's credentials; for a
 * passkey sign-in (`user` null), none listed (the authenticator offers its discoverable
 * ones) and user verification required, since the passkey replaces the password too.
 */
export async function authenticationOptions(deps: CeremonyDeps, user: string | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { settings } = deps;
  const credentials = user === null ? [] : await deps.store.listCredentials(user);
  const { generateAuthenticationOptions } = await simpleWebAuthn();
  return generateAuthenticationOptions({
    rpID: settings.rpId,
    allowCredentials: credentials.map((c) => ({ id: c.credentialId, transports: c.transports })),
    challenge: await newChallenge(deps, user === null ? 'passwordless' : 'authenticate', user ?? ''),
    timeout: settings.timeoutMs,
    userVerification: user === null ? 'required' : settings.userVerification,
  });
}

type AssertionRefusal = 'challenge' | 'unknown_credential' | 'wrong_user' | 'invalid' | 'counter' | 'aaguid' | 'synced';

export type AssertionResult =
  | { ok: true; credential: WebAuthnCredentialInfo; userVerified: boolean }
  | { ok: false; reason: AssertionRefusal; detail: string };

/**
 * Checks an assertion: as a second factor of `user`, or as a passkey sign-in (`user` null:
 * the credential names its owner, and user verification is required).
 */
export async function verifyAssertion(
  deps: CeremonyDeps,
  input: { user: string | null; response: AuthenticationResponseJSON },
): Promise<AssertionResult> {
  const { settings, store } = deps;
  const purpose: WebAuthnChallengePurpose = input.user === null ? 'passwordless' : 'authenticate';
  const challenge = signedChallenge(input.response?.response?.clientDataJSON);
  const issued = challenge === '' ? null : await store.takeChallenge(challenge, purpose, deps.clock());
  if (issued === null || (input.user !== null && issued.user !== input.user.toLowerCase())) {
    return { ok: false, reason: 'challenge', detail: 'security key refused: unknown, used or expired challenge' };
  }
  const id = typeof input.response?.id === 'string' ? input.response.id : '';
  const credential = id === '' ? null : await store.credentialById(id);
  if (credential === null) return { ok: false, reason: 'unknown_credential', detail: 'security key refused: unknown credential' };
  if (input.user !== null && credential.user !== input.user.toLowerCase()) {
    return { ok: false, reason: 'wrong_user', detail: `security key refused: the credential belongs to another user` };
  }
  const name = `"${credential.label}"`;
  if (settings.allowedAaguids.size > 0 && !settings.allowedAaguids.has(credential.aaguid)) {
    return {
      ok: false,
      reason: 'aaguid',
      detail: `security key ${name} refused: its model ${credential.aaguid} is no longer in allowed_aaguids`,
    };
  }
  if (credential.backupEligible && !settings.allowSynced) {
    return { ok: false, reason: 'synced', detail: `security key ${name} refused: a synced passkey and allow_synced_passkeys is false` };
  }
  const { verifyAuthenticationResponse } = await simpleWebAuthn();
  let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    verified = await verifyAuthenticationResponse({
      response: input.response,
      expectedChallenge: challenge,
      expectedOrigin: [...settings.origins],
      expectedRPID: settings.rpId,
      credential: {
        id: credential.credentialId,
        publicKey: new Uint8Array(Buffer.from(credential.publicKey, 'base64url')),
        counter: credential.signCount,
      },
      requireUserVerification: input.user === null || settings.userVerification === 'required',
    });
  } catch (err) {
    const message = (err as Error).message;
    if (/counter/i.test(message)) {
      return {
        ok: false,
        reason: 'counter',
        detail: `security key ${name} refused: signature counter went backwards (cloned authenticator?): ${message}`,
      };
    }
    return { ok: false, reason: 'invalid', detail: `security key ${name} refused: ${message}` };
  }
  const info = verified.authenticationInfo;
  if (!verified.verified) return { ok: false, reason: 'invalid', detail: `security key ${name} refused: the signature did not verify` };
  if (info.credentialDeviceType === 'multiDevice' && !settings.allowSynced) {
    return {
      ok: false,
      reason: 'synced',
      detail: `security key ${name} refused: it became a synced passkey and allow_synced_passkeys is false`,
    };
  }
  if (!(await store.claimSignCount(credential.id, info.newCounter, info.credentialBackedUp, deps.clock()))) {
    return {
      ok: false,
      reason: 'counter',
      detail: `security key ${name} refused: signature counter ${info.newCounter} was used already (cloned authenticator?)`,
    };
  }
  return { ok: true, credential: { ...credential, signCount: info.newCounter, lastUsedAt: deps.clock() }, userVerified: info.userVerified };
}
