/**
 * @module portal/paths
 * Where every portal page and form target lives, relative to the reserved path prefix:
 * handlers redirect to these and the templates receive them finished (`paths.*`).
 */

/** Paths of the portal's pages and form targets, relative to the path prefix. */
export const PORTAL_PATHS = Object.freeze({
  signIn: 'sign-in',
  signedIn: 'signed-in',
  secondFactor: 'second-factor',
  enroll: 'enroll',
  enrollAccessPass: 'enroll/access-pass',
  signOut: 'sign-out',
  account: 'account',
  forgetBrowsers: 'account/forget-browsers',
  signOutEverywhere: 'account/sign-out-everywhere',
  endSession: 'account/sessions/end',
  endOtherSessions: 'account/sessions/end-others',
  methodAdd: 'account/methods/add',
  methodVerify: 'account/methods/verify',
  methodRename: 'account/methods/rename',
  methodRemove: 'account/methods/remove',
  recoveryCodes: 'account/recovery-codes',
  securityKeyAdd: 'account/security-keys/add',
  securityKeyRemove: 'account/security-keys/remove',
  webauthnOptions: 'webauthn/options',
  passkeySignIn: 'sign-in/passkey',
  appPasswords: 'account/app-passwords',
  admin: 'admin',
  static: 'static/',
});
