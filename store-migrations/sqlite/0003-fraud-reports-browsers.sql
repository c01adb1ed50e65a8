-- fraud report links, browsers seen per user
CREATE TABLE fraud_reports (
  id          TEXT PRIMARY KEY,
  user_key    TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  client_ip   TEXT NOT NULL,
  user_agent  TEXT NOT NULL,
  consumed_at INTEGER
) STRICT;
CREATE INDEX fraud_reports_by_expiry ON fraud_reports (expires_at);

-- browser_hash: SHA-256 of the random browser-id cookie; the cookie itself is never stored
CREATE TABLE known_browsers (
  user_key     TEXT NOT NULL,
  browser_hash TEXT NOT NULL,
  first_seen   INTEGER NOT NULL,
  last_seen    INTEGER NOT NULL,
  PRIMARY KEY (user_key, browser_hash)
) STRICT, WITHOUT ROWID;
CREATE INDEX known_browsers_by_last_seen ON known_browsers (last_seen);
