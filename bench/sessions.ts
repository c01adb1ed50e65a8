/**
 * @module bench/sessions
 * The hook that gives the session scenarios their signed-in users. The bench calls it
 * once per gateway process, after the gateway listens, and sends the returned values as
 * the `Cookie` header: one value for a single-user scenario, thousands (one per distinct
 * user, rotated per request by wrk) for the many-sessions scenario.
 *
 * Whatever the config in `configFile` makes the sign-in flow ask for is what the session
 * holds: with the two_factor config the users must pass the second factor, with the
 * trusted-network config (127.0.0.1 trusted) the flow stops after the password, so the
 * cookie is a password-only session.
 *
 * To implement once the sign-in flow exists: either create the users with the CLI and sign
 * each one in through the real pages (`POST` the `username`/`password` form, then the
 * `code` form with a TOTP code from the enrolled secret), or call a helper the gateway
 * exports for tests that mints sealed session cookies. Until then it throws, and the bench
 * reports the session scenarios as skipped with this error's message.
 */

export async function mintSessions(gatewayUrl: string, configFile: string, count: number): Promise<string[]> {
  throw new Error('sign-in not available yet');
}
