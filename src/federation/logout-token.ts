/**
 * @module federation/logout-token
 * The checks of OpenID Connect Back-Channel Logout 1.0 section 2.6 on a logout token, in
 * one place: a JWS signed with an asymmetric key of the provider's JWKS (never `none`, never
 * a shared secret), `iss` the configured issuer, `aud` our client id, `iat` recent (within
 * {@link LOGOUT_TOKEN_MAX_AGE_S} plus the skew, and not in the future), `exp` not passed when
 * present, an `events` object holding the back-channel logout event, `sid` and/or `sub`,
 * a `jti`, and no `nonce` (so an ID token can never pass as a logout token). Replay is the
 * caller's (`jti` spent in the store); {@link jtiKeptUntil} says how long the `jti` must be kept.
 */
import type { JWTVerifyGetKey } from 'jose';

const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout token older than this (by its `iat`) is refused: it is sent the moment the user signs out. */
const LOGOUT_TOKEN_MAX_AGE_S = 300;
/** Clock difference tolerated between the provider and the gateway. */
const LOGOUT_TOKEN_SKEW_S = 60;

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** What a valid logout token asks for. */
export interface LogoutRequest {
  jti: string;
  iat: number;
  sid?: string;
  sub?: string;
}

export type LogoutTokenVerdict = { ok: true; logout: LogoutRequest } | { ok: false; reason: string };

export interface LogoutTokenChecks {
  /** The provider's signing keys (a JWKS resolver). */
  keys: JWTVerifyGetKey;
  issuer: string;
  clientId: string;
  /** Now, epoch ms (the gateway's clock). */
  now: number;
}

export async function verifyLogoutToken(token: string, checks: LogoutTokenChecks): Promise<LogoutTokenVerdict> {
  let payload: Record<string, unknown>;
  // jose is loaded by the first logout token rather than at every start.
  const { jwtVerify } = await import('jose');
  try {
    ({ payload } = await jwtVerify(token, checks.keys, {
      issuer: checks.issuer,
      audience: checks.clientId,
      algorithms: ASYMMETRIC,
      currentDate: new Date(checks.now),
      clockTolerance: LOGOUT_TOKEN_SKEW_S,
      maxTokenAge: LOGOUT_TOKEN_MAX_AGE_S,
      requiredClaims: ['iat', 'jti', 'events'],
    }));
  } catch (err) {
    return { ok: false, reason: (err as Error).message.slice(0, 200) };
  }
  const events = payload.events;
  if (typeof events !== 'object' || events === null || Array.isArray(events))
    return { ok: false, reason: 'the events claim is not an object' };
  const event = (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT];
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    return { ok: false, reason: 'the events claim lacks the back-channel logout event' };
  if ('nonce' in payload) return { ok: false, reason: 'a logout token must not carry a nonce' };
  if (typeof payload.jti !== 'string' || payload.jti === '') return { ok: false, reason: 'the jti claim is not a string' };
  const sid = payload.sid;
  const sub = payload.sub;
  if (sid !== undefined && (typeof sid !== 'string' || sid === '')) return { ok: false, reason: 'the sid claim is not a string' };
  if (sub !== undefined && (typeof sub !== 'string' || sub === '')) return { ok: false, reason: 'the sub claim is not a string' };
  if (sid === undefined && sub === undefined) return { ok: false, reason: 'neither sid nor sub' };
  return {
    ok: true,
    logout: {
      jti: payload.jti,
      iat: payload.iat as number,
      ...(sid !== undefined ? { sid } : {}),
      ...(sub !== undefined ? { sub } : {}),
    },
  };
}

/** Until when (epoch ms) a used `jti` must be remembered: after that its token is refused as too old anyway. */
export function jtiKeptUntil(logout: LogoutRequest): number {
  return (logout.iat + LOGOUT_TOKEN_MAX_AGE_S + LOGOUT_TOKEN_SKEW_S) * 1000;
}
