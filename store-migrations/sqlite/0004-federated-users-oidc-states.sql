-- federated users, used OpenID Connect states
CREATE TABLE federated_users (
  user_key       TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  email          TEXT,
  display_name   TEXT,
  -- JSON array of group names from the provider's groups claim
  groups_json    TEXT NOT NULL,
  issuer         TEXT NOT NULL,
  subject        TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  last_sign_in   INTEGER NOT NULL,
  -- bumped on every save, so other processes notice a change by polling SUM(version)
  version        INTEGER NOT NULL DEFAULT 1
) STRICT;

-- state_hash: SHA-256 of an authorization request's state, kept until the request expires
CREATE TABLE oidc_used_states (
  state_hash TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX oidc_used_states_by_expiry ON oidc_used_states (expires_at);
