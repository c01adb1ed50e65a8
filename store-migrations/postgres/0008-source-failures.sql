-- failed first-factor attempts per source address
-- source: an address or a network (IPv6 /64 by default) as regulation/source-throttle
-- spells it; failures: the times (epoch ms) of its failed attempts within the sliding
-- window, oldest first; expires_at: when the row no longer matters
CREATE TABLE source_failures (
  source     text COLLATE "C" PRIMARY KEY,
  failures   jsonb NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX source_failures_by_expiry ON source_failures (expires_at);
