-- report-only rule hits
-- what report-only rules (mode: report_only) would have done, aggregated: one row per minute,
-- rule key, outcome (would_deny, would_require_second_factor, would_require_sign_in), user
-- ('' when anonymous), client address and path (cut to 200 characters), with a count.
-- Read by `mfa-gateway impact`; pruned with the sign-in log (log.sign_in_retention).
CREATE TABLE report_only_hits (
  minute     INTEGER NOT NULL,
  rule       TEXT NOT NULL,
  outcome    TEXT NOT NULL,
  user_name  TEXT NOT NULL,
  address    TEXT NOT NULL,
  path       TEXT NOT NULL,
  count      INTEGER NOT NULL,
  PRIMARY KEY (minute, rule, outcome, user_name, address, path)
) STRICT, WITHOUT ROWID;
