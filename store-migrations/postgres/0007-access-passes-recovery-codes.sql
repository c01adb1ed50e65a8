-- temporary access passes, recovery codes
-- one pass per user, replaced on issue; pass_hash: SHA-256 of the user key and the pass
-- (a high-entropy random value, so a fast hash is enough)
CREATE TABLE access_passes (
  user_key   text COLLATE "C" PRIMARY KEY,
  pass_hash  text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  uses       integer NOT NULL,
  uses_left  integer NOT NULL CHECK (uses_left >= 0),
  actor      text NOT NULL
);

-- the user's current set of one-time recovery codes; used_at is set once, by a conditional UPDATE
CREATE TABLE recovery_codes (
  user_key   text COLLATE "C" NOT NULL,
  code_hash  text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL,
  used_at    bigint,
  PRIMARY KEY (user_key, code_hash)
);
