/**
 * @module errors
 * The one error base class of the gateway. Every error that reaches a client carries a
 * stable `code`, an HTTP `status` and an `expose` flag: exposed errors show their public
 * message key; anything else becomes a generic 500 page while the log keeps `detail`.
 */

export class GatewayError extends Error {
  /** Stable machine-readable code, `GW_...`; documented in README's error table. */
  readonly code: string;
  readonly status: number;
  /** Whether the client may see this error's own page text. */
  readonly expose: boolean;
  /** Message key (see `src/portal/messages.ts`) for the page or JSON body. */
  readonly messageKey: string;
  /** What only the log sees. */
  readonly detail: string | undefined;
  /** Seconds for a `Retry-After` header (RFC 9110 section 10.2.3) on 429 and 503 answers. */
  readonly retryAfter: number | undefined;
  /** Close the client's connection with this answer (a paced source with too many answers waiting). */
  readonly closeConnection: boolean;

  constructor(
    code: string,
    status: number,
    messageKey: string,
    options: { expose?: boolean; detail?: string; cause?: unknown; retryAfter?: number; closeConnection?: boolean } = {},
  ) {
    super(options.detail ?? code, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = status;
    this.expose = options.expose ?? status < 500;
    this.messageKey = messageKey;
    this.detail = options.detail;
    this.retryAfter = options.retryAfter === undefined ? undefined : Math.max(1, Math.ceil(options.retryAfter));
    this.closeConnection = options.closeConnection ?? false;
  }
}

/**
 * `Retry-After` of a 503 while the store is unreachable: the change feed polls every 250 ms, so a few seconds after the store is back
 * every request passes again.
 */
const STORE_RETRY_AFTER_S = 5;
/** Seconds a client is asked to wait when the directory behind sign-in does not answer. */
export const SIGN_IN_RETRY_AFTER_S = 30;

export const errors = {
  badRequest: (detail: string) => new GatewayError('GW_BAD_REQUEST', 400, 'error_400', { detail }),
  badPath: (detail: string) => new GatewayError('GW_BAD_PATH', 400, 'error_400', { detail }),
  forbidden: (detail: string) => new GatewayError('GW_FORBIDDEN', 403, 'error_403', { detail }),
  notFound: (detail: string) => new GatewayError('GW_NOT_FOUND', 404, 'error_404', { detail }),
  uriTooLong: (detail: string) => new GatewayError('GW_URI_TOO_LONG', 414, 'error_414', { detail }),
  headersTooLarge: (detail: string) => new GatewayError('GW_HEADERS_TOO_LARGE', 431, 'error_431', { detail }),
  tooManySignIns: (detail: string, retryAfter = 1, closeConnection = false) =>
    new GatewayError('GW_TOO_MANY_SIGN_INS', 429, 'error_429', { detail, retryAfter, closeConnection }),
  upstreamUnreachable: (detail: string, cause?: unknown) =>
    new GatewayError('GW_UPSTREAM_UNREACHABLE', 502, 'error_502', { expose: true, detail, cause }),
  upstreamTimeout: (detail: string, cause?: unknown) =>
    new GatewayError('GW_UPSTREAM_TIMEOUT', 504, 'error_504', { expose: true, detail, cause }),
  /** The store cannot be reached; the gateway fails closed and recovers by itself, so clients may retry soon. */
  storeUnavailable: (detail: string, cause?: unknown) =>
    new GatewayError('GW_STORE_UNAVAILABLE', 503, 'error_503', { expose: true, detail, cause, retryAfter: STORE_RETRY_AFTER_S }),
  signInUnavailable: (detail: string, cause?: unknown) =>
    new GatewayError('GW_SIGN_IN_UNAVAILABLE', 503, 'error_503', { expose: true, detail, cause, retryAfter: SIGN_IN_RETRY_AFTER_S }),
  internal: (detail: string, cause?: unknown) => new GatewayError('GW_INTERNAL', 500, 'error_500', { detail, cause }),
} as const;

/** Turns anything thrown into a GatewayError; unknown errors become an unexposed 500. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return errors.internal(detail, err);
}
