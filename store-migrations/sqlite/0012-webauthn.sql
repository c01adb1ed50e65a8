-- webauthn credentials and challenges
-- A security key or passkey of a user (WebAuthn, issue 14). Kept apart from `methods` (whose
-- kind CHECK and secret columns fit shared-secret codes only); the method limit counts both
-- tables. credential_id: the authenticator's credential id, base64url; public_key: the COSE
-- key, base64url (public, so not sealed); transports: a JSON array of strings.
CREATE TABLE webauthn_credentials (
  id              TEXT PRIMARY KEY,
  credential_id   TEXT NOT NULL UNIQUE,
  user_key        TEXT NOT NULL,
  label           TEXT NOT NULL,
  public_key      TEXT NOT NULL,
  sign_count      INTEGER NOT NULL CHECK (sign_count >= 0),
  transports      TEXT NOT NULL,
  aaguid          TEXT NOT NULL,
  backup_eligible INTEGER NOT NULL CHECK (backup_eligible IN (0, 1)),
  backed_up       INTEGER NOT NULL CHECK (backed_up IN (0, 1)),
  discoverable    INTEGER NOT NULL CHECK (discoverable IN (0, 1)),
  created_at      INTEGER NOT NULL,
  last_used_at    INTEGER
) STRICT;
CREATE INDEX webauthn_credentials_by_user ON webauthn_credentials (user_key, created_at);

-- A challenge handed to one browser, usable once before expires_at (deleted when used).
-- user_key is empty for a passkey sign-in, where the user is not known yet.
CREATE TABLE webauthn_challenges (
  challenge  TEXT PRIMARY KEY,
  purpose    TEXT NOT NULL CHECK (purpose IN ('register', 'authenticate', 'passwordless')),
  user_key   TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX webauthn_challenges_by_expiry ON webauthn_challenges (expires_at);
