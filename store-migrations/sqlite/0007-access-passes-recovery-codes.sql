-- temporary access passes, recovery codes
-- one pass per user, replaced on issue; pass_hash: SHA-256 of the user key and the pass
-- (a high-entropy random value, so a fast hash is enough)
CREATE TABLE access_passes (
  user_key   TEXT PRIMARY KEY,
  pass_hash  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  uses       INTEGER NOT NULL,
  uses_left  INTEGER NOT NULL CHECK (uses_left >= 0),
  actor      TEXT NOT NULL
) STRICT;

-- the user's current set of one-time recovery codes; used_at is set once, by a conditional UPDATE
CREATE TABLE recovery_codes (
  user_key   TEXT NOT NULL,
  code_hash  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  used_at    INTEGER,
  PRIMARY KEY (user_key, code_hash)
) STRICT, WITHOUT ROWID;
