-- federated users, used OpenID Connect states
CREATE TABLE federated_users (
  user_key     text COLLATE "C" PRIMARY KEY,
  name         text NOT NULL,
  email        text,
  display_name text,
  -- group names from the provider's groups claim
  groups       jsonb NOT NULL,
  issuer       text NOT NULL,
  subject      text NOT NULL,
  created_at   bigint NOT NULL,
  last_sign_in bigint NOT NULL,
  -- bumped on every save, so other processes notice a change by polling SUM(version)
  version      bigint NOT NULL DEFAULT 1
);

-- state_hash: SHA-256 of an authorization request's state, kept until the request expires
CREATE TABLE oidc_used_states (
  state_hash text COLLATE "C" PRIMARY KEY,
  expires_at bigint NOT NULL
);
CREATE INDEX oidc_used_states_by_expiry ON oidc_used_states (expires_at);
