-- app passwords, token import reports
-- hash: argon2id of the whole app password; hint: its first characters (not secret on
-- their own), so a check verifies one hash; revoked ones stay so the store knows the
-- user once created one; changed_seq: the change_seq value of the last change
CREATE TABLE app_passwords (
  id           TEXT PRIMARY KEY,
  user_key     TEXT NOT NULL,
  name         TEXT NOT NULL,
  hint         TEXT NOT NULL,
  hash         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER,
  changed_seq  INTEGER NOT NULL
) STRICT;
CREATE INDEX app_passwords_by_user ON app_passwords (user_key, hint);
CREATE INDEX app_passwords_by_change ON app_passwords (changed_seq);

-- the error CSV of a token import on the admin pages, for its download link
CREATE TABLE token_import_reports (
  id         TEXT PRIMARY KEY,
  actor_key  TEXT NOT NULL,
  csv        TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX token_import_reports_by_expiry ON token_import_reports (expires_at);
