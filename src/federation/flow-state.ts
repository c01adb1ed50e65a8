/**
 * @module federation/flow-state
 * What one authorization request must remember until the provider sends the browser back:
 * state, nonce, PKCE verifier and the return URL, sealed (iron-session: AES-256-CBC +
 * HMAC-SHA256) into a short-lived cookie scoped to the callback path. The cookie binds the
 * callback to the browser that started the flow (no login CSRF); the store marks each
 * state used, so a replayed callback is refused even with the cookie copied.
 */
import { createHash } from 'node:crypto';
import { sealData, unsealData } from 'iron-session';

/** How long a user has at the provider. */
export const FLOW_TTL_MS = 10 * 60_000;

export interface FlowState {
  state: string;
  nonce: string;
  codeVerifier: string;
  rd: string | null;
  /** Epoch ms by the gateway's clock. */
  exp: number;
}

interface Sealed {
  s?: unknown;
  n?: unknown;
  v?: unknown;
  r?: unknown;
  e?: unknown;
}

export function sealFlow(flow: FlowState, password: Record<number, string>): Promise<string> {
  const data: Sealed = { s: flow.state, n: flow.nonce, v: flow.codeVerifier, r: flow.rd, e: flow.exp };
  return sealData(data, { password, ttl: Math.ceil(FLOW_TTL_MS / 1000) });
}

/** The flow in the cookie, or null when it is missing, forged, or past iron's own TTL. */
export async function unsealFlow(value: string | undefined, password: Record<number, string>): Promise<FlowState | null> {
  if (!value) return null;
  let d: Sealed;
  try {
    d = await unsealData<Sealed>(value, { password, ttl: Math.ceil(FLOW_TTL_MS / 1000) });
  } catch {
    return null;
  }
  if (typeof d.s !== 'string' || typeof d.n !== 'string' || typeof d.v !== 'string' || typeof d.e !== 'number') return null;
  if (d.r !== null && typeof d.r !== 'string') return null;
  return { state: d.s, nonce: d.n, codeVerifier: d.v, rd: d.r, exp: d.e };
}

/** The key a used state is stored under: its hash, so the store never holds a live value. */
export function stateKey(state: string): string {
  return createHash('sha256').update(state).digest('base64url');
}
