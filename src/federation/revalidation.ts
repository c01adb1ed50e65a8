/**
 * @module federation/revalidation
 * `federation.oidc.revalidate_every`: a background job in every gateway process asks the
 * identity provider whether the user of each federated session is still there, and ends the
 * session when the provider says no. Requests never wait for it: it ends sessions through the
 * session index, and the change feed carries each end to every gateway within a poll.
 *
 * Every pass (each {@link REVALIDATION_TICK_MS}, and at once when called) claims the sessions
 * that are due (the store moves each one's due time to a lease, so of several gateways on one
 * database exactly one asks about a session) and asks the provider about each:
 *
 * - the provider vouches for the user (a refresh grant or userinfo succeeded): the session goes
 *   on, with the tokens it has now, and is due again after `revalidate_every`;
 * - the provider says the user is gone (`invalid_grant`, a refused access token, another
 *   subject), or can no longer be asked (no refresh token, the access token expired): the
 *   session ends, logged as "ended by revalidation: <reason>" and in the sign-in log;
 * - no answer to trust (the provider unreachable, a 5xx, ...): fail open for a while, because a
 *   short outage of the provider must not sign everyone out. The session goes on and is asked
 *   about again after {@link REVALIDATION_RETRY_MS}, until the last answer that vouched for the
 *   user is older than twice `revalidate_every`: then it ends. Once the provider was unreachable
 *   in a pass, the rest of that pass does not call it again (each call would wait for its timeout).
 */
import type { Logger } from 'pino';
import type { AuditEvent, DueRevalidation, RevalidationStore } from '../store/types.ts';
import type { OidcClient, RevalidationAnswer } from './oidc.ts';

/** How often each process looks for due sessions. */
const REVALIDATION_TICK_MS = 30_000;
/** How soon a session whose provider gave no answer is asked about again. */
const REVALIDATION_RETRY_MS = 60_000;
/** How long a claimed session is this process's: longer than any one provider call (10 s). */
const LEASE_MS = 5 * 60_000;
/** Sessions claimed at a time; a pass claims again while whole batches come back. */
const BATCH = 50;

/** What revalidation needs of the current config: the provider's client, its name and the interval; null when off. */
export interface RevalidationSettings {
  oidc: Pick<OidcClient, 'revalidate'>;
  /** The provider's display name, for the log. */
  provider: string;
  everyMs: number;
}

export interface RevalidationDeps {
  store: RevalidationStore;
  /** Read at every pass, so a config reload applies; null: revalidation is off (nothing is asked, not even the store). */
  settings: () => RevalidationSettings | null;
  /** Ends a session through the session index (the change feed carries it to every gateway); false when it had ended already. */
  endSession: (user: string, sid: string) => Promise<boolean>;
  /** The sign-in log. */
  record: (event: AuditEvent) => Promise<void>;
  clock: () => number;
  log: Logger;
  /** Handles a failed pass (the gateway's store-outage watch); default: log it. */
  onError?: (err: unknown) => void;
}

/** What one pass did. */
interface RevalidationPass {
  valid: number;
  ended: number;
  unconfirmed: number;
}

export interface Revalidation {
  /** One pass now (a pass already under way is joined, not doubled). */
  sweep(): Promise<RevalidationPass>;
  /** No more passes; resolves when the one under way, if any, has finished. */
  stop(): Promise<void>;
}

/** How the sign-in log names this job where a request would give an address and a browser. */
const BACKGROUND = Object.freeze({ clientIp: 'local', userAgent: 'mfa-gateway revalidation', rule: null });

export function startRevalidation(deps: RevalidationDeps): Revalidation {
  const { store, clock, log } = deps;
  let running: Promise<RevalidationPass> | null = null;

  async function end(due: DueRevalidation, reason: string, provider: string): Promise<void> {
    if (!(await deps.endSession(due.user, due.sid))) return;
    log.info({ user: due.user, sid: due.sid.slice(0, 8), provider }, `session ended by revalidation: ${reason}`);
    await deps.record({
      kind: 'revocation',
      user: due.user,
      outcome: 'success',
      detail: `session ${due.sid.slice(0, 8)} ended by revalidation: ${reason}`,
      ...BACKGROUND,
    });
  }

  async function one(due: DueRevalidation, s: RevalidationSettings, answer: RevalidationAnswer, pass: RevalidationPass): Promise<void> {
    const now = clock();
    if (answer.outcome === 'valid') {
      pass.valid++;
      await store.finishRevalidation(due.sid, due.claim, { dueAt: now + s.everyMs, confirmed: { at: now, tokens: answer.tokens } });
      return;
    }
    if (answer.outcome === 'gone') {
      pass.ended++;
      return end(due, answer.reason, s.provider);
    }
    const deadline = due.revalidatedAt + 2 * s.everyMs;
    if (now >= deadline) {
      pass.ended++;
      const since = new Date(due.revalidatedAt).toISOString();
      return end(due, `${s.provider} has not confirmed the user since ${since} (twice revalidate_every): ${answer.reason}`, s.provider);
    }
    pass.unconfirmed++;
    log.debug({ user: due.user, sid: due.sid.slice(0, 8), reason: answer.reason }, 'session not revalidated; kept for now');
    await store.finishRevalidation(due.sid, due.claim, { dueAt: Math.min(now + REVALIDATION_RETRY_MS, deadline) });
  }

  async function pass(): Promise<RevalidationPass> {
    const done: RevalidationPass = { valid: 0, ended: 0, unconfirmed: 0 };
    const s = deps.settings();
    if (s === null) return done;
    let down: RevalidationAnswer | null = null;
    let unconfirmed: string | null = null;
    for (;;) {
      const now = clock();
      const claimed = await store.claimRevalidations(now, now + LEASE_MS, BATCH);
      for (const due of claimed) {
        const answer: RevalidationAnswer = down ?? (await s.oidc.revalidate({ subject: due.providerSub, tokens: due.tokens }));
        if (answer.outcome === 'unconfirmed') {
          unconfirmed ??= answer.reason;
          if (answer.down) down = answer;
        }
        await one(due, s, answer, done);
      }
      if (claimed.length < BATCH) break;
    }
    // One line per pass, not one per session, while the provider gives no answer.
    if (unconfirmed !== null)
      log.warn(
        { provider: s.provider, kept: done.unconfirmed, ended: done.ended },
        `sessions not revalidated, kept until twice revalidate_every: ${unconfirmed}`,
      );
    return done;
  }

  function sweep(): Promise<RevalidationPass> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  const onError = deps.onError ?? ((err: unknown) => log.error({ err }, 'session revalidation failed; will retry at the next pass'));
  const timer = setInterval(() => {
    sweep().catch(onError);
  }, REVALIDATION_TICK_MS);
  timer.unref();

  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}
