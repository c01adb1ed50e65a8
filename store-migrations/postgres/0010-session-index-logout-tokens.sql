-- session index and back-channel logout tokens
-- one row per live session, keyed by its stable id (SessionData.sid): who, since when, from
-- where, how each factor was satisfied; last_seen moves at most once per renewal interval.
-- skip: 'remembered' or 'trusted_network' when the second factor was skipped, else NULL.
-- provider_sid / provider_sub: the identity provider's session and subject of a federated
-- session (OpenID Connect Back-Channel Logout 1.0 ends sessions by them).
-- expires_at: the absolute timeout; the row goes when the session ends or expires.
CREATE TABLE sessions (
  sid           text COLLATE "C" PRIMARY KEY,
  user_key      text COLLATE "C" NOT NULL,
  user_name     text NOT NULL,
  created_at    bigint NOT NULL,
  last_seen     bigint NOT NULL,
  expires_at    bigint NOT NULL,
  created_ip    text NOT NULL,
  created_ua    text NOT NULL,
  last_ip       text NOT NULL,
  last_ua       text NOT NULL,
  amr           jsonb NOT NULL,
  skip          text,
  federated     boolean NOT NULL,
  provider_sid  text COLLATE "C",
  provider_sub  text COLLATE "C"
);
CREATE INDEX sessions_by_user ON sessions (user_key, created_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_provider_sid ON sessions (provider_sid);
CREATE INDEX sessions_by_provider_sub ON sessions (provider_sub);
-- logout tokens already used (their jti), kept until the token would have expired
CREATE TABLE logout_token_jtis (
  jti        text COLLATE "C" PRIMARY KEY,
  expires_at bigint NOT NULL
);
CREATE INDEX logout_token_jtis_by_expiry ON logout_token_jtis (expires_at);
