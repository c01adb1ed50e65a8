-- session index and back-channel logout tokens
-- one row per live session, keyed by its stable id (SessionData.sid): who, since when, from
-- where, how each factor was satisfied; last_seen moves at most once per renewal interval.
-- skip: 'remembered' or 'trusted_network' when the second factor was skipped, else NULL.
-- provider_sid / provider_sub: the identity provider's session and subject of a federated
-- session (OpenID Connect Back-Channel Logout 1.0 ends sessions by them).
-- expires_at: the absolute timeout; the row goes when the session ends or expires.
CREATE TABLE sessions (
  sid           TEXT PRIMARY KEY,
  user_key      TEXT NOT NULL,
  user_name     TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  last_seen     INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  created_ip    TEXT NOT NULL,
  created_ua    TEXT NOT NULL,
  last_ip       TEXT NOT NULL,
  last_ua       TEXT NOT NULL,
  amr           TEXT NOT NULL,
  skip          TEXT,
  federated     INTEGER NOT NULL,
  provider_sid  TEXT,
  provider_sub  TEXT
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_key, created_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_provider_sid ON sessions (provider_sid);
CREATE INDEX sessions_by_provider_sub ON sessions (provider_sub);
-- logout tokens already used (their jti), kept until the token would have expired
CREATE TABLE logout_token_jtis (
  jti        TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX logout_token_jtis_by_expiry ON logout_token_jtis (expires_at);
