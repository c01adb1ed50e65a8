-- methods, pending enrollments, revocations, change counter, sign-in log
CREATE TABLE methods (
  id            TEXT PRIMARY KEY,
  user_key      TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('totp', 'oath_token')),
  label         TEXT NOT NULL,
  secret_sealed TEXT NOT NULL,
  algorithm     TEXT NOT NULL CHECK (algorithm IN ('sha1', 'sha256', 'sha512')),
  digits        INTEGER NOT NULL CHECK (digits IN (6, 8)),
  period        INTEGER NOT NULL CHECK (period IN (30, 60)),
  active        INTEGER NOT NULL CHECK (active IN (0, 1)),
  serial        TEXT,
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER,
  last_step     INTEGER
) STRICT;
CREATE INDEX methods_by_user ON methods (user_key, created_at);
CREATE UNIQUE INDEX methods_by_serial ON methods (serial) WHERE serial IS NOT NULL;

CREATE TABLE pending_enrollments (
  id            TEXT PRIMARY KEY,
  user_key      TEXT NOT NULL UNIQUE,
  secret_sealed TEXT NOT NULL,
  algorithm     TEXT NOT NULL,
  digits        INTEGER NOT NULL,
  period        INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_by_expiry ON pending_enrollments (expires_at);

CREATE TABLE user_state (
  user_key            TEXT PRIMARY KEY,
  sessions_revoked_at INTEGER,
  devices_revoked_at  INTEGER,
  -- the change_seq value of the last revocation, for revocationsSince()
  changed_seq         INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX user_state_by_change ON user_state (changed_seq);

CREATE TABLE change_seq (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
) STRICT;
INSERT INTO change_seq (id, seq) VALUES (1, 0);

CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  kind       TEXT NOT NULL,
  user_typed TEXT NOT NULL,
  user_key   TEXT NOT NULL,
  client_ip  TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  rule       TEXT,
  outcome    TEXT NOT NULL,
  detail     TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_time ON audit_log (at);
CREATE INDEX audit_by_user ON audit_log (user_key, at);
