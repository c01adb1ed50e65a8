-- lockout counters, block list with history
-- the current block; blocked_until stays when a block expires (the clock decides), NULL after unblock
ALTER TABLE user_state ADD COLUMN blocked_until INTEGER;
ALTER TABLE user_state ADD COLUMN blocked_at INTEGER;
ALTER TABLE user_state ADD COLUMN block_reason TEXT;
ALTER TABLE user_state ADD COLUMN blocked_by TEXT;

CREATE TABLE block_history (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  user_key TEXT NOT NULL,
  action   TEXT NOT NULL CHECK (action IN ('block', 'unblock')),
  at       INTEGER NOT NULL,
  until    INTEGER,
  reason   TEXT NOT NULL,
  actor    TEXT NOT NULL
) STRICT;
CREATE INDEX block_history_by_user ON block_history (user_key, at);

CREATE TABLE lockout_counters (
  user_key     TEXT NOT NULL,
  factor       TEXT NOT NULL CHECK (factor IN ('password', 'second_factor')),
  -- JSON array of denial times (epoch ms), oldest first, at most mfa.*lockout.denials long
  denials      TEXT NOT NULL,
  locked_until INTEGER,
  -- when the row no longer matters (lock over, no denial counting); purged after
  expires_at   INTEGER NOT NULL,
  PRIMARY KEY (user_key, factor)
) STRICT, WITHOUT ROWID;
CREATE INDEX lockout_counters_by_expiry ON lockout_counters (expires_at);
