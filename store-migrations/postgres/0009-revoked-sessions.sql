-- sessions ended one by one (sign-out)
-- a session id ended on the server (sign-out): every copy of its cookie is refused on every
-- instance; kept until expires_at (the session's absolute timeout), after which no copy works
-- anyway; changed_seq: the change_seq value when it was recorded, for revokedSessionsSince()
CREATE TABLE revoked_sessions (
  sid         text COLLATE "C" PRIMARY KEY,
  user_key    text COLLATE "C" NOT NULL,
  revoked_at  bigint NOT NULL,
  expires_at  bigint NOT NULL,
  changed_seq bigint NOT NULL
);
CREATE INDEX revoked_sessions_by_change ON revoked_sessions (changed_seq);
CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions (expires_at);
