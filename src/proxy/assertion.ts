/**
 * @module proxy/assertion
 * The signed identity for the app (`identity.jwt`): a short-lived JWT of the signed-in user
 * that the app verifies with the keys published at `{prefix}jwks.json`, so an app reachable
 * by other paths than the gateway can still tell a real sign-in from a forged header.
 *
 * Keys come from PEM files (`key_file`, `previous_key_files`) rather than the store: every
 * instance reads the same file, the private key stays where the operator keeps secrets, and
 * rotating is "new file, reload". After a rotation the old key stays published for `ttl`,
 * the longest an assertion it signed can still be in use, then it is dropped.
 *
 * Signing costs an asymmetric signature (tens of µs), so one assertion is made per session
 * and reused for the first three quarters of its lifetime; the hot path then costs one map
 * lookup and two comparisons.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as Jose from 'jose';
import type { JWK } from 'jose';
import { LRUCache } from 'lru-cache';
import type { JwtAssertionConfig } from '../config/types.ts';
import { parseDuration } from '../config/duration.ts';
import type { Identity } from './headers.ts';

/** What an assertion says besides the identity headers: how and when the user authenticated. */
interface AssertionSubject {
  identity: Identity;
  /** Session id, or `basic:<user>` for HTTP Basic: what one cached assertion belongs to. */
  cacheKey: string;
  amr: readonly string[];
  /** Epoch ms of the sign-in. */
  authTime: number;
}

export interface AssertionSigner {
  /** Lower-case name of the request header that carries the assertion. */
  readonly header: string;
  /** The assertion for this subject: cached (a string) or freshly signed. */
  assertion(subject: AssertionSubject): string | Promise<string>;
  /** The JWKS document: the current key and those still published after a rotation. */
  jwks(): { keys: JWK[] };
}

interface SigningKey {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  privateKey: KeyObject;
  jwk: JWK;
}

interface Cached {
  token: string;
  /** Reuse until (epoch ms). */
  until: number;
  /** The identity's groups array when signed: a users-file reload makes a new one. */
  groups: readonly string[];
  kid: string;
}

/** Most sessions whose assertion is kept. */
const CACHE_MAX = 100_000;

/** jose, loaded by the first assertion rather than at every start (about 30 ms; most gateways sign none). */
let loaded: Promise<typeof Jose> | undefined;
const jose = (): Promise<typeof Jose> => (loaded ??= import('jose'));

/** Reads one PEM private key and names its algorithm; throws naming the file. */
function loadKey(file: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(file));
  } catch (err) {
    throw new Error(`identity.jwt: cannot read a private key from ${file}: ${(err as Error).message}`);
  }
  const type = privateKey.asymmetricKeyType;
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  let alg: SigningKey['alg'];
  if (type === 'ed25519') alg = 'EdDSA';
  else if (type === 'ec' && curve === 'prime256v1') alg = 'ES256';
  else throw new Error(`identity.jwt: ${file} holds a ${type ?? 'unknown'} key; use Ed25519 (EdDSA) or P-256 (ES256)`);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  // RFC 7638: the SHA-256 of the required members in lexicographic order.
  const required = type === 'ec' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  const kid = createHash('sha256').update(JSON.stringify(required)).digest('base64url');
  return { kid, alg, privateKey, jwk: { ...jwk, kid, alg, use: 'sig' } };
}

/**
 * The signer, kept across reloads: `configure` loads the keys of a (new) config; the key
 * it replaces stays in `jwks()` for the old ttl.
 */
export interface AssertionSigners {
  /** @throws Error naming the file when a key cannot be read or is of another kind. */
  configure(config: JwtAssertionConfig, issuer: string): AssertionSigner | null;
}

export function createAssertionSigners(clock: () => number): AssertionSigners {
  /** Keys no longer current, with when they stop being published. */
  const retired = new Map<string, { jwk: JWK; until: number }>();
  let current: SigningKey | null = null;
  let currentTtlMs = 0;

  return {
    configure(config, issuer) {
      if (!config.enabled) {
        if (current !== null) retired.set(current.kid, { jwk: current.jwk, until: clock() + currentTtlMs });
        current = null;
        return null;
      }
      const key = loadKey(config.key_file!);
      const previous = config.previous_key_files.map(loadKey);
      const ttlMs = parseDuration(config.ttl);
      if (current !== null && current.kid !== key.kid) retired.set(current.kid, { jwk: current.jwk, until: clock() + currentTtlMs });
      retired.delete(key.kid);
      current = key;
      currentTtlMs = ttlMs;
      const signing = key;
      const cache = new LRUCache<string, Cached>({ max: CACHE_MAX });
      const reuseMs = Math.floor((ttlMs * 3) / 4);
      const audience = config.audience!;

      async function sign(subject: AssertionSubject, now: number): Promise<string> {
        const { identity } = subject;
        const iat = Math.floor(now / 1000);
        const { SignJWT } = await jose();
        const token = await new SignJWT({
          ...(identity.email ? { email: identity.email } : {}),
          ...(identity.name ? { name: identity.name } : {}),
          groups: [...identity.groups],
          amr: [...subject.amr],
          auth_time: Math.floor(subject.authTime / 1000),
        })
          .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'JWT' })
          .setSubject(identity.user)
          .setIssuer(issuer)
          .setAudience(audience)
          .setIssuedAt(iat)
          .setExpirationTime(iat + Math.floor(ttlMs / 1000))
          .sign(signing.privateKey);
        cache.set(subject.cacheKey, { token, until: now + reuseMs, groups: identity.groups, kid: signing.kid });
        return token;
      }

      return {
        header: config.header.toLowerCase(),
        assertion(subject) {
          const now = clock();
          const hit = cache.get(subject.cacheKey);
          if (hit !== undefined && now < hit.until && hit.groups === subject.identity.groups) return hit.token;
          return sign(subject, now);
        },
        jwks() {
          const now = clock();
          const keys: JWK[] = [];
          if (current !== null) keys.push(current.jwk);
          for (const k of previous) if (k.kid !== current?.kid) keys.push(k.jwk);
          for (const [kid, r] of retired) {
            if (r.until <= now) retired.delete(kid);
            else if (!keys.some((k) => k.kid === kid)) keys.push(r.jwk);
          }
          return { keys };
        },
      };
    },
  };
}
