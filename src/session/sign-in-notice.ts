/**
 * @module session/sign-in-notice
 * The note a sign-in leaves for the page after it when it ended older sessions of the user
 * (`session.max_per_user`): how many, and the limit. It is sealed (iron-session: AES-256-CBC +
 * HMAC-SHA256) together with the new session's id into a short-lived cookie scoped to the
 * portal's path, so the app never receives it. The first gateway page the browser shows next
 * reads and clears it, so the user is told once; a note left by another session of the browser,
 * or a forged one, is never shown.
 */
import { sealData, unsealData } from 'iron-session';

/** How long a note waits for the page after the sign-in. */
export const SIGN_IN_NOTICE_TTL_MS = 10 * 60_000;

/** How many older sessions a sign-in ended (`session.max_per_user`), and the limit then. */
export interface SessionsLimited {
  ended: number;
  max: number;
}

interface Sealed {
  s?: unknown;
  e?: unknown;
  m?: unknown;
}

export function sealSignInNotice(sid: string, limited: SessionsLimited, password: Record<number, string>): Promise<string> {
  const data: Sealed = { s: sid, e: limited.ended, m: limited.max };
  return sealData(data, { password, ttl: Math.ceil(SIGN_IN_NOTICE_TTL_MS / 1000) });
}

/** The note in `value` when it belongs to session `sid`; null when missing, forged, expired or another session's. */
export async function unsealSignInNotice(
  value: string | undefined,
  password: Record<number, string>,
  sid: string,
): Promise<SessionsLimited | null> {
  if (!value) return null;
  let d: Sealed;
  try {
    d = await unsealData<Sealed>(value, { password, ttl: Math.ceil(SIGN_IN_NOTICE_TTL_MS / 1000) });
  } catch {
    return null;
  }
  if (d.s !== sid || !Number.isSafeInteger(d.e) || !Number.isSafeInteger(d.m)) return null;
  return { ended: d.e as number, max: d.m as number };
}
