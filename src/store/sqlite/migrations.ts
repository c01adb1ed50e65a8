/**
 * @module store/sqlite/migrations
 * The SQLite schema as an append-only list of versioned migrations. Each runs once, in its
 * own immediate transaction, and is recorded in `schema_migrations`; never edit a shipped
 * migration, add the next one.
 *
 * Room for later issues without rework: `user_state` is the per-user row that block and
 * lockout columns join; `methods.active`/`serial` carry imported OATH tokens; the
 * `change_seq` row is bumped by every change other processes must notice.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'methods, pending enrollments, revocations, change counter, sign-in log',
    sql: `
      CREATE TABLE methods (
        id            TEXT PRIMARY KEY,
        user_key      TEXT NOT NULL,
        kind          TEXT NOT NULL CHECK (kind IN ('totp', 'oath_token')),
        label         TEXT NOT NULL,
        secret_sealed TEXT NOT NULL,
        algorithm     TEXT NOT NULL CHECK (algorithm IN ('sha1', 'sha256', 'sha512')),
        digits        INTEGER NOT NULL CHECK (digits IN (6, 8)),
        period        INTEGER NOT NULL CHECK (period IN (30, 60)),
        active        INTEGER NOT NULL CHECK (active IN (0, 1)),
        serial        TEXT,
        created_at    INTEGER NOT NULL,
        last_used_at  INTEGER,
        last_step     INTEGER
      ) STRICT;
      CREATE INDEX methods_by_user ON methods (user_key, created_at);
      CREATE UNIQUE INDEX methods_by_serial ON methods (serial) WHERE serial IS NOT NULL;

      CREATE TABLE pending_enrollments (
        id            TEXT PRIMARY KEY,
        user_key      TEXT NOT NULL UNIQUE,
        secret_sealed TEXT NOT NULL,
        algorithm     TEXT NOT NULL,
        digits        INTEGER NOT NULL,
        period        INTEGER NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX pending_by_expiry ON pending_enrollments (expires_at);

      CREATE TABLE user_state (
        user_key            TEXT PRIMARY KEY,
        sessions_revoked_at INTEGER,
        devices_revoked_at  INTEGER,
        -- the change_seq value of the last revocation, for revocationsSince()
        changed_seq         INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX user_state_by_change ON user_state (changed_seq);

      CREATE TABLE change_seq (
        id  INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL
      ) STRICT;
      INSERT INTO change_seq (id, seq) VALUES (1, 0);

      CREATE TABLE audit_log (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at         INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        user_typed TEXT NOT NULL,
        user_key   TEXT NOT NULL,
        client_ip  TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        rule       TEXT,
        outcome    TEXT NOT NULL,
        detail     TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_by_time ON audit_log (at);
      CREATE INDEX audit_by_user ON audit_log (user_key, at);
    `,
  },
  {
    version: 2,
    name: 'lockout counters, block list with history',
    sql: `
      -- the current block; blocked_until stays when a block expires (the clock decides), NULL after unblock
      ALTER TABLE user_state ADD COLUMN blocked_until INTEGER;
      ALTER TABLE user_state ADD COLUMN blocked_at INTEGER;
      ALTER TABLE user_state ADD COLUMN block_reason TEXT;
      ALTER TABLE user_state ADD COLUMN blocked_by TEXT;

      CREATE TABLE block_history (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        user_key TEXT NOT NULL,
        action   TEXT NOT NULL CHECK (action IN ('block', 'unblock')),
        at       INTEGER NOT NULL,
        until    INTEGER,
        reason   TEXT NOT NULL,
        actor    TEXT NOT NULL
      ) STRICT;
      CREATE INDEX block_history_by_user ON block_history (user_key, at);

      CREATE TABLE lockout_counters (
        user_key     TEXT NOT NULL,
        factor       TEXT NOT NULL CHECK (factor IN ('password', 'second_factor')),
        -- JSON array of denial times (epoch ms), oldest first, at most mfa.*lockout.denials long
        denials      TEXT NOT NULL,
        locked_until INTEGER,
        -- when the row no longer matters (lock over, no denial counting); purged after
        expires_at   INTEGER NOT NULL,
        PRIMARY KEY (user_key, factor)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX lockout_counters_by_expiry ON lockout_counters (expires_at);
    `,
  },
  {
    version: 3,
    name: 'fraud report links, browsers seen per user',
    sql: `
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
    `,
  },
  {
    version: 4,
    name: 'federated users, used OpenID Connect states',
    sql: `
      CREATE TABLE federated_users (
        user_key       TEXT PRIMARY KEY,
        name           TEXT NOT NULL,
        email          TEXT,
        display_name   TEXT,
        -- JSON array of group names from the provider's groups claim
        groups_json    TEXT NOT NULL,
        issuer         TEXT NOT NULL,
        subject        TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        last_sign_in   INTEGER NOT NULL,
        -- bumped on every save, so other processes notice a change by polling SUM(version)
        version        INTEGER NOT NULL DEFAULT 1
      ) STRICT;

      -- state_hash: SHA-256 of an authorization request's state, kept until the request expires
      CREATE TABLE oidc_used_states (
        state_hash TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX oidc_used_states_by_expiry ON oidc_used_states (expires_at);
    `,
  },
  {
    version: 5,
    name: 'OATH hardware tokens: manufacturer and model',
    sql: `
      -- serial (migration 1) identifies an imported token; these two are shown by tokens list
      ALTER TABLE methods ADD COLUMN manufacturer TEXT;
      ALTER TABLE methods ADD COLUMN model TEXT;
    `,
  },
  {
    version: 6,
    name: 'app passwords, token import reports',
    sql: `
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
    `,
  },
  {
    version: 7,
    name: 'temporary access passes, recovery codes',
    sql: `
      -- one pass per user, replaced on issue; pass_hash: SHA-256 of the user key and the pass
      -- (a high-entropy random value, so a fast hash is enough)
      CREATE TABLE access_passes (
        user_key   TEXT PRIMARY KEY,
        pass_hash  TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        uses       INTEGER NOT NULL,
        uses_left  INTEGER NOT NULL CHECK (uses_left >= 0),
        actor      TEXT NOT NULL
      ) STRICT;

      -- the user's current set of one-time recovery codes; used_at is set once, by a conditional UPDATE
      CREATE TABLE recovery_codes (
        user_key   TEXT NOT NULL,
        code_hash  TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        used_at    INTEGER,
        PRIMARY KEY (user_key, code_hash)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 8,
    name: 'failed first-factor attempts per source address',
    sql: `
      -- source: an address or a network (IPv6 /64 by default) as regulation/source-throttle
      -- spells it; failures: JSON array of the times (epoch ms) of its failed attempts within
      -- the sliding window, oldest first; expires_at: when the row no longer matters
      CREATE TABLE source_failures (
        source     TEXT PRIMARY KEY,
        failures   TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX source_failures_by_expiry ON source_failures (expires_at);
    `,
  },
  {
    version: 9,
    name: 'sessions ended one by one (sign-out)',
    sql: `
      -- a session id ended on the server (sign-out): every copy of its cookie is refused on every
      -- instance; kept until expires_at (the session's absolute timeout), after which no copy works
      -- anyway; changed_seq: the change_seq value when it was recorded, for revokedSessionsSince()
      CREATE TABLE revoked_sessions (
        sid         TEXT PRIMARY KEY,
        user_key    TEXT NOT NULL,
        revoked_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        changed_seq INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX revoked_sessions_by_change ON revoked_sessions (changed_seq);
      CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions (expires_at);
    `,
  },
];
