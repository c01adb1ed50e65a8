-- app passwords, token import reports
-- hash: argon2id of the whole app password; hint: its first characters (not secret on
-- their own), so a check verifies one hash; revoked ones stay so the store knows the
-- user once created one; changed_seq: the change_seq value of the last change
CREATE TABLE app_passwords (
  id           text COLLATE "C" PRIMARY KEY,
  user_key     text COLLATE "C" NOT NULL,
  name         text NOT NULL,
  hint         text COLLATE "C" NOT NULL,
  hash         text NOT NULL,
  created_at   bigint NOT NULL,
  last_used_at bigint,
  revoked_at   bigint,
  changed_seq  bigint NOT NULL,
  -- insertion order, the tiebreak of equal created_at (what SQLite's rowid gives)
  added_order  bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX app_passwords_by_user ON app_passwords (user_key, hint);
CREATE INDEX app_passwords_by_change ON app_passwords (changed_seq);

-- the error CSV of a token import on the admin pages, for its download link
CREATE TABLE token_import_reports (
  id         text COLLATE "C" PRIMARY KEY,
  actor_key  text COLLATE "C" NOT NULL,
  csv        text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX token_import_reports_by_expiry ON token_import_reports (expires_at);
