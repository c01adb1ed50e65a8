-- fraud report links, browsers seen per user
CREATE TABLE fraud_reports (
  id          text COLLATE "C" PRIMARY KEY,
  user_key    text COLLATE "C" NOT NULL,
  created_at  bigint NOT NULL,
  expires_at  bigint NOT NULL,
  client_ip   text NOT NULL,
  user_agent  text NOT NULL,
  consumed_at bigint
);
CREATE INDEX fraud_reports_by_expiry ON fraud_reports (expires_at);

-- browser_hash: SHA-256 of the random browser-id cookie; the cookie itself is never stored
CREATE TABLE known_browsers (
  user_key     text COLLATE "C" NOT NULL,
  browser_hash text COLLATE "C" NOT NULL,
  first_seen   bigint NOT NULL,
  last_seen    bigint NOT NULL,
  PRIMARY KEY (user_key, browser_hash)
);
CREATE INDEX known_browsers_by_last_seen ON known_browsers (last_seen);
