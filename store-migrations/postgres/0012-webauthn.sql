-- webauthn credentials and challenges
-- A security key or passkey of a user (WebAuthn, issue 14). Kept apart from `methods` (whose
-- kind CHECK and secret columns fit shared-secret codes only); the method limit counts both
-- tables. credential_id: the authenticator's credential id, base64url; public_key: the COSE
-- key, base64url (public, so not sealed); transports: a JSON array of strings.
CREATE TABLE webauthn_credentials (
  id              text COLLATE "C" PRIMARY KEY,
  credential_id   text COLLATE "C" NOT NULL UNIQUE,
  user_key        text COLLATE "C" NOT NULL,
  label           text NOT NULL,
  public_key      text NOT NULL,
  sign_count      bigint NOT NULL CHECK (sign_count >= 0),
  transports      jsonb NOT NULL,
  aaguid          text NOT NULL,
  backup_eligible boolean NOT NULL,
  backed_up       boolean NOT NULL,
  discoverable    boolean NOT NULL,
  created_at      bigint NOT NULL,
  last_used_at    bigint
);
CREATE INDEX webauthn_credentials_by_user ON webauthn_credentials (user_key, created_at);

-- A challenge handed to one browser, usable once before expires_at (deleted when used).
-- user_key is empty for a passkey sign-in, where the user is not known yet.
CREATE TABLE webauthn_challenges (
  challenge  text COLLATE "C" PRIMARY KEY,
  purpose    text NOT NULL CHECK (purpose IN ('register', 'authenticate', 'passwordless')),
  user_key   text COLLATE "C" NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX webauthn_challenges_by_expiry ON webauthn_challenges (expires_at);
