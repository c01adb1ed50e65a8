-- methods, pending enrollments, revocations, change counter, sign-in log
CREATE TABLE methods (
  id            text COLLATE "C" PRIMARY KEY,
  user_key      text COLLATE "C" NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('totp', 'oath_token')),
  label         text NOT NULL,
  secret_sealed text NOT NULL,
  algorithm     text NOT NULL CHECK (algorithm IN ('sha1', 'sha256', 'sha512')),
  digits        integer NOT NULL CHECK (digits IN (6, 8)),
  period        integer NOT NULL CHECK (period IN (30, 60)),
  active        boolean NOT NULL,
  serial        text COLLATE "C",
  created_at    bigint NOT NULL,
  last_used_at  bigint,
  last_step     bigint
);
CREATE INDEX methods_by_user ON methods (user_key, created_at);
CREATE UNIQUE INDEX methods_by_serial ON methods (serial) WHERE serial IS NOT NULL;

CREATE TABLE pending_enrollments (
  id            text COLLATE "C" PRIMARY KEY,
  user_key      text COLLATE "C" NOT NULL UNIQUE,
  secret_sealed text NOT NULL,
  algorithm     text NOT NULL,
  digits        integer NOT NULL,
  period        integer NOT NULL,
  created_at    bigint NOT NULL,
  expires_at    bigint NOT NULL
);
CREATE INDEX pending_by_expiry ON pending_enrollments (expires_at);

CREATE TABLE user_state (
  user_key            text COLLATE "C" PRIMARY KEY,
  sessions_revoked_at bigint,
  devices_revoked_at  bigint,
  -- the change_seq value of the last revocation, for revocationsSince()
  changed_seq         bigint NOT NULL DEFAULT 0
);
CREATE INDEX user_state_by_change ON user_state (changed_seq);

-- one row; every change other gateways must notice bumps it (and takes its row lock
-- first, so changes commit in counter order)
CREATE TABLE change_seq (
  id  integer PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL
);
INSERT INTO change_seq (id, seq) VALUES (1, 0);

CREATE TABLE audit_log (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at         bigint NOT NULL,
  kind       text NOT NULL,
  user_typed text NOT NULL,
  user_key   text COLLATE "C" NOT NULL,
  client_ip  text NOT NULL,
  user_agent text NOT NULL,
  rule       text,
  outcome    text NOT NULL,
  detail     text NOT NULL
);
CREATE INDEX audit_by_time ON audit_log (at);
CREATE INDEX audit_by_user ON audit_log (user_key, at);
