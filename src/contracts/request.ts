/**
 * @module contracts/request
 * The contracts between the request chain (`server/chain`) and the layers it calls: the
 * per-request scope every step reads, the session layer's answer (`Authenticator`), and the
 * portal. They live below every folder that implements or uses them (session, portal,
 * server), so those folders depend on this one and not on each other or on the composition
 * root.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Addr } from '../client-ip/cidr.ts';
import type { CompiledRule, RuleTexts } from '../policy/compile.ts';
import type { Subject } from '../policy/access.ts';
import type { Identity } from '../proxy/headers.ts';
import type { GatewayError } from '../errors/errors.ts';

/** Everything one request carries through the chain; built once per request. */
export interface RequestScope {
  readonly req: IncomingMessage;
  readonly method: string;
  /** Lowercased, without port or trailing dot. */
  readonly host: string;
  /** The Host header as the client sent it, forwarded unchanged. */
  readonly hostHeader: string;
  /** Normalized path: what the policy sees and the upstream receives. */
  readonly path: string;
  /** Raw query string including `?`, or empty. */
  readonly query: string;
  readonly proto: 'http' | 'https';
  /** The connection comes from one of `server.trusted_proxies`. */
  readonly viaProxy: boolean;
  readonly clientIp: string;
  readonly clientAddr: Addr;
}

interface SessionFacts {
  id: string;
  expiresAt: number;
  amr: readonly string[];
  /** Epoch ms of the sign-in. */
  auth: number;
}

/** What the session layer tells the chain about the caller. */
export interface Authentication {
  subject: Subject | null;
  identity: Identity | null;
  /** A re-sealed session cookie to send back (the idle clock moved). */
  setCookie?: string;
  /**
   * The session behind a cookie sign-in (absent for HTTP Basic): its id, when it stops
   * working unless used again, how the user authenticated (`amr`) and when they signed in.
   */
  session?: SessionFacts;
}

/** The session layer, seen by the chain: one call per request that needs to know who is asking. */
export interface Authenticator {
  authenticate(scope: RequestScope): Promise<Authentication> | Authentication;
  /** Cookie names the upstream must never see. */
  readonly cookieNames: readonly string[];
  /** HTTP Basic with app passwords (see `factors/app-passwords`); absent when `mfa.app_passwords.enabled` is off. */
  readonly basic?: BasicAuthenticator;
}

/** Step 5 on rules with `app_passwords: true` when the request carries `Authorization: Basic`. */
export interface BasicAuthenticator {
  /** The `WWW-Authenticate` value of a 401 on such rules, e.g. `Basic realm="gateway.example.com", charset="UTF-8"`. */
  readonly challenge: string;
  authenticate(scope: RequestScope, authorization: string, rule: CompiledRule): Promise<Authentication>;
}

/** What a second-factor page must ask for beyond a code: a fresher one for a rule, or a kind of method. */
export interface StepUpAsk {
  /** The key of the rule whose `mfa_max_age` asks for a fresh code. */
  stepUp?: string;
  /** The method kinds a rule's `mfa_methods` accepts. */
  accepts?: readonly string[];
  /** The key of a rule whose texts (`explanation`, `remediation`) the page shows (only a rule that has texts is named). */
  rule?: string;
}

/** The gateway's own pages and endpoints under the reserved prefix. */
export interface Portal {
  handle(scope: RequestScope, res: ServerResponse): Promise<void> | void;
  /**
   * Where a caller who must sign in (or pass the second factor) is sent, with what that page
   * must ask for or explain (see {@link StepUpAsk}).
   */
  signInUrl(returnTo: string, step: 'sign_in' | 'second_factor', ask?: StepUpAsk): string;
  /**
   * Renders an error as a page in the caller's language (or JSON when it asked for JSON), with
   * a short request id; `context` gives the id the chain traced the request under and the
   * texts of the rule that refused it.
   */
  sendError(req: IncomingMessage, res: ServerResponse, err: GatewayError, context?: ErrorContext): void;
}

/** What the chain knows about a refusal that the error page shows. */
export interface ErrorContext {
  /** The id the decision trace is stored under (`mfa-gateway explain --request ID`). */
  requestId?: string;
  /** The refusing rule's `explanation` and `remediation`. */
  texts?: RuleTexts | null;
  /**
   * A 403 for a signed-in user: the page names them and offers "Sign out and use another
   * account", which ends this session and goes on to the sign-in page with `returnTo`.
   */
  signedIn?: SignedIn & { returnTo?: string };
}

/** Who a refusal is about when they have a session: its user and id (the id binds the sign-out form's token). */
interface SignedIn {
  user: string;
  sessionId: string;
}

/** What the chain decided for one request (steps 3 to 6); forward-auth answers the same verdicts for another proxy. */
export type Verdict =
  | { kind: 'portal' }
  | {
      kind: 'forward';
      identity: Identity | null;
      user: string | null;
      upstream: URL;
      setCookie?: string | undefined;
      basic?: boolean;
      session?: SessionFacts | undefined;
      /** The matched rule's `allowed_origins` (normalized); empty on bypass. */
      allowedOrigins?: readonly string[];
      /** The matched rule and how far the caller had signed in (absent on bypass): what a refused WebSocket's trace names. */
      rule?: CompiledRule | null;
      level?: 1 | 2;
    }
  /** A 401 asking for HTTP Basic credentials (rules with `app_passwords: true`). */
  | { kind: 'challenge'; challenge: string; why?: Why }
  /** `stepUp`/`accepts`: what the second-factor page must ask for (see {@link StepUpAsk}). */
  | ({ kind: 'redirect'; step: 'sign_in' | 'second_factor'; why?: Why } & StepUpAsk)
  | { kind: 'error'; error: GatewayError; why?: Why; signedIn?: SignedIn };

/** Why the policy refused or redirected a request: what its decision trace records and its pages explain. */
export interface Why {
  /** The matched rule; null when none matched. */
  rule: CompiledRule | null;
  trustedNetwork: boolean;
  session: 'none' | 'password' | 'second_factor';
  user: string | null;
  /** What the request lacked, in words. */
  missing: string;
  outcome: 'deny' | 'forbidden' | 'sign_in' | 'second_factor' | 'step_up' | 'challenge';
}
