-- sessions ended one by one (sign-out)
-- a session id ended on the server (sign-out): every copy of its cookie is refused on every
-- instance; kept until expires_at (the session's absolute timeout), after which no copy works
-- anyway; changed_seq: the change_seq value when it was recorded, for revokedSessionsSince()
CREATE TABLE revoked_sessions (
  sid         TEXT PRIMARY KEY,
  user_key    TEXT NOT NULL,
  revoked_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  changed_seq INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX revoked_sessions_by_change ON revoked_sessions (changed_seq);
CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions (expires_at);
