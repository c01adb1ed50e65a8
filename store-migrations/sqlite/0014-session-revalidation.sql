-- federated sessions revalidated at the identity provider
-- federation.oidc.revalidate_every: what a federated session keeps to ask the provider later
-- whether its user is still there, sealed with the store's key like second-factor secrets
-- (v1.<keyid>.<iv>.<tag>.<ciphertext>, bound to the session id): the refresh token, and the
-- access token with when it expires. revalidate_at: when the session is next due (while one
-- gateway works on it, the end of that gateway's claim); NULL for a session that is not
-- revalidated. revalidated_at: when the provider last vouched for the user (the sign-in at
-- first). The row, tokens included, goes when the session ends or expires.
ALTER TABLE sessions ADD COLUMN revalidate_at INTEGER;
ALTER TABLE sessions ADD COLUMN revalidated_at INTEGER;
ALTER TABLE sessions ADD COLUMN refresh_token_sealed TEXT;
ALTER TABLE sessions ADD COLUMN access_token_sealed TEXT;
ALTER TABLE sessions ADD COLUMN access_expires_at INTEGER;
CREATE INDEX sessions_by_revalidate_at ON sessions (revalidate_at) WHERE revalidate_at IS NOT NULL;
