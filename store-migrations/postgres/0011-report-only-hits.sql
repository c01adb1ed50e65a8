-- report-only rule hits
-- what report-only rules (mode: report_only) would have done, aggregated: one row per minute,
-- rule key, outcome (would_deny, would_require_second_factor, would_require_sign_in), user
-- ('' when anonymous), client address and path (cut to 200 characters), with a count.
-- Read by `mfa-gateway impact`; pruned with the sign-in log (log.sign_in_retention).
CREATE TABLE report_only_hits (
  minute     bigint NOT NULL,
  rule       text COLLATE "C" NOT NULL,
  outcome    text COLLATE "C" NOT NULL,
  user_name  text COLLATE "C" NOT NULL,
  address    text COLLATE "C" NOT NULL,
  path       text COLLATE "C" NOT NULL,
  count      bigint NOT NULL,
  PRIMARY KEY (minute, rule, outcome, user_name, address, path)
);
