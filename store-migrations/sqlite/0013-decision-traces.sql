-- decision traces
-- why the gateway refused or redirected a request, by its request id (shown on the error page):
-- what `mfa-gateway explain --request ID` prints. Only what that needs: time, request, client
-- address and how it was derived (socket or proxy_header), network trust, the matched rule's
-- key, the session (none, password, second_factor) and user, what was missing, the outcome.
-- Pruned with the sign-in log (log.sign_in_retention).
CREATE TABLE decision_traces (
  request_id   TEXT PRIMARY KEY,
  at           INTEGER NOT NULL,
  method       TEXT NOT NULL,
  host         TEXT NOT NULL,
  path         TEXT NOT NULL,
  client_ip    TEXT NOT NULL,
  client_from  TEXT NOT NULL,
  trusted_net  INTEGER NOT NULL,
  rule         TEXT,
  session      TEXT NOT NULL,
  user_name    TEXT,
  missing      TEXT NOT NULL,
  outcome      TEXT NOT NULL
) STRICT;
CREATE INDEX decision_traces_at ON decision_traces (at);
