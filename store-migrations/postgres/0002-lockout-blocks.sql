-- lockout counters, block list with history
-- the current block; blocked_until stays when a block expires (the clock decides), NULL after unblock
ALTER TABLE user_state ADD COLUMN blocked_until bigint;
ALTER TABLE user_state ADD COLUMN blocked_at bigint;
ALTER TABLE user_state ADD COLUMN block_reason text;
ALTER TABLE user_state ADD COLUMN blocked_by text;

CREATE TABLE block_history (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_key text COLLATE "C" NOT NULL,
  action   text NOT NULL CHECK (action IN ('block', 'unblock')),
  at       bigint NOT NULL,
  until    bigint,
  reason   text NOT NULL,
  actor    text NOT NULL
);
CREATE INDEX block_history_by_user ON block_history (user_key, at);

CREATE TABLE lockout_counters (
  user_key     text COLLATE "C" NOT NULL,
  factor       text NOT NULL CHECK (factor IN ('password', 'second_factor')),
  -- denial times (epoch ms), oldest first, at most mfa.*lockout.denials long
  denials      jsonb NOT NULL,
  locked_until bigint,
  -- when the row no longer matters (lock over, no denial counting); purged after
  expires_at   bigint NOT NULL,
  PRIMARY KEY (user_key, factor)
);
CREATE INDEX lockout_counters_by_expiry ON lockout_counters (expires_at);
