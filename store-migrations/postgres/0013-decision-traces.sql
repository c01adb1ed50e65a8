-- decision traces
-- why the gateway refused or redirected a request, by its request id (shown on the error page):
-- what `mfa-gateway explain --request ID` prints. Only what that needs: time, request, client
-- address and how it was derived (socket or proxy_header), network trust, the matched rule's
-- key, the session (none, password, second_factor) and user, what was missing, the outcome.
-- Pruned with the sign-in log (log.sign_in_retention).
CREATE TABLE decision_traces (
  request_id   text COLLATE "C" PRIMARY KEY,
  at           bigint NOT NULL,
  method       text NOT NULL,
  host         text NOT NULL,
  path         text NOT NULL,
  client_ip    text NOT NULL,
  client_from  text NOT NULL,
  trusted_net  boolean NOT NULL,
  rule         text,
  session      text NOT NULL,
  user_name    text,
  missing      text NOT NULL,
  outcome      text NOT NULL
);
CREATE INDEX decision_traces_at ON decision_traces (at);
