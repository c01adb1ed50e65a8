/**
 * @module store/postgres/migrations
 * The PostgreSQL schema as an append-only list of versioned migrations, with the same
 * versions and meaning as the SQLite ones (`../sqlite/migrations.ts`): a database is at
 * version N with either backend after the same features shipped. Never edit a shipped
 * migration, add the next one.
 *
 * Times are `bigint` epoch milliseconds from the gateway's clock (not `timestamptz`), so
 * both backends store exactly what the injected clock said. Keys and ids use the "C"
 * collation: user keys are already normalized by `userKey`, and byte order sorts them the
 * same way SQLite does. `migrate` applies them under an advisory lock, so several gateways
 * starting together against a new database migrate it once.
 */

import { advisoryLock } from './db.ts';
import type { Db } from './db.ts';

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
        id            text COLLATE "C" PRIMARY KEY,
        user_key      text COLLATE "C" NOT NULL,
        kind          text NOT NULL CHECK (kind IN ('totp', 'oath_token')),
        label         text NOT NULL,
        secret_sealed text NOT NULL,
        algorithm     text NOT NULL CHECK (algorithm IN ('sha1', 'sha256', 'sha512')),
        digits        integer NOT NULL CHECK (digits IN (6, 8)),
        period        integer NOT NULL CHECK (period IN (30, 60)),
        active        boolean NOT NULL,
        serial        text COLLATE "C",
        created_at    bigint NOT NULL,
        last_used_at  bigint,
        last_step     bigint
      );
      CREATE INDEX methods_by_user ON methods (user_key, created_at);
      CREATE UNIQUE INDEX methods_by_serial ON methods (serial) WHERE serial IS NOT NULL;

      CREATE TABLE pending_enrollments (
        id            text COLLATE "C" PRIMARY KEY,
        user_key      text COLLATE "C" NOT NULL UNIQUE,
        secret_sealed text NOT NULL,
        algorithm     text NOT NULL,
        digits        integer NOT NULL,
        period        integer NOT NULL,
        created_at    bigint NOT NULL,
        expires_at    bigint NOT NULL
      );
      CREATE INDEX pending_by_expiry ON pending_enrollments (expires_at);

      CREATE TABLE user_state (
        user_key            text COLLATE "C" PRIMARY KEY,
        sessions_revoked_at bigint,
        devices_revoked_at  bigint,
        -- the change_seq value of the last revocation, for revocationsSince()
        changed_seq         bigint NOT NULL DEFAULT 0
      );
      CREATE INDEX user_state_by_change ON user_state (changed_seq);

      -- one row; every change other gateways must notice bumps it (and takes its row lock
      -- first, so changes commit in counter order)
      CREATE TABLE change_seq (
        id  integer PRIMARY KEY CHECK (id = 1),
        seq bigint NOT NULL
      );
      INSERT INTO change_seq (id, seq) VALUES (1, 0);

      CREATE TABLE audit_log (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at         bigint NOT NULL,
        kind       text NOT NULL,
        user_typed text NOT NULL,
        user_key   text COLLATE "C" NOT NULL,
        client_ip  text NOT NULL,
        user_agent text NOT NULL,
        rule       text,
        outcome    text NOT NULL,
        detail     text NOT NULL
      );
      CREATE INDEX audit_by_time ON audit_log (at);
      CREATE INDEX audit_by_user ON audit_log (user_key, at);
    `,
  },
  {
    version: 2,
    name: 'lockout counters, block list with history',
    sql: `
      -- the current block; blocked_until stays when a block expires (the clock decides), NULL after unblock
      ALTER TABLE user_state ADD COLUMN blocked_until bigint;
      ALTER TABLE user_state ADD COLUMN blocked_at bigint;
      ALTER TABLE user_state ADD COLUMN block_reason text;
      ALTER TABLE user_state ADD COLUMN blocked_by text;

      CREATE TABLE block_history (
        id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_key text COLLATE "C" NOT NULL,
        action   text NOT NULL CHECK (action IN ('block', 'unblock')),
        at       bigint NOT NULL,
        until    bigint,
        reason   text NOT NULL,
        actor    text NOT NULL
      );
      CREATE INDEX block_history_by_user ON block_history (user_key, at);

      CREATE TABLE lockout_counters (
        user_key     text COLLATE "C" NOT NULL,
        factor       text NOT NULL CHECK (factor IN ('password', 'second_factor')),
        -- denial times (epoch ms), oldest first, at most mfa.*lockout.denials long
        denials      jsonb NOT NULL,
        locked_until bigint,
        -- when the row no longer matters (lock over, no denial counting); purged after
        expires_at   bigint NOT NULL,
        PRIMARY KEY (user_key, factor)
      );
      CREATE INDEX lockout_counters_by_expiry ON lockout_counters (expires_at);
    `,
  },
  {
    version: 3,
    name: 'fraud report links, browsers seen per user',
    sql: `
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
    `,
  },
  {
    version: 4,
    name: 'federated users, used OpenID Connect states',
    sql: `
      CREATE TABLE federated_users (
        user_key     text COLLATE "C" PRIMARY KEY,
        name         text NOT NULL,
        email        text,
        display_name text,
        -- group names from the provider's groups claim
        groups       jsonb NOT NULL,
        issuer       text NOT NULL,
        subject      text NOT NULL,
        created_at   bigint NOT NULL,
        last_sign_in bigint NOT NULL,
        -- bumped on every save, so other processes notice a change by polling SUM(version)
        version      bigint NOT NULL DEFAULT 1
      );

      -- state_hash: SHA-256 of an authorization request's state, kept until the request expires
      CREATE TABLE oidc_used_states (
        state_hash text COLLATE "C" PRIMARY KEY,
        expires_at bigint NOT NULL
      );
      CREATE INDEX oidc_used_states_by_expiry ON oidc_used_states (expires_at);
    `,
  },
  {
    version: 5,
    name: 'OATH hardware tokens: manufacturer and model',
    sql: `
      -- serial (migration 1) identifies an imported token; these two are shown by tokens list
      ALTER TABLE methods ADD COLUMN manufacturer text;
      ALTER TABLE methods ADD COLUMN model text;
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
        id           text COLLATE "C" PRIMARY KEY,
        user_key     text COLLATE "C" NOT NULL,
        name         text NOT NULL,
        hint         text COLLATE "C" NOT NULL,
        hash         text NOT NULL,
        created_at   bigint NOT NULL,
        last_used_at bigint,
        revoked_at   bigint,
        changed_seq  bigint NOT NULL,
        -- insertion order, the tiebreak of equal created_at (what SQLite's rowid gives)
        added_order  bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE INDEX app_passwords_by_user ON app_passwords (user_key, hint);
      CREATE INDEX app_passwords_by_change ON app_passwords (changed_seq);

      -- the error CSV of a token import on the admin pages, for its download link
      CREATE TABLE token_import_reports (
        id         text COLLATE "C" PRIMARY KEY,
        actor_key  text COLLATE "C" NOT NULL,
        csv        text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL
      );
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
        user_key   text COLLATE "C" PRIMARY KEY,
        pass_hash  text COLLATE "C" NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        uses       integer NOT NULL,
        uses_left  integer NOT NULL CHECK (uses_left >= 0),
        actor      text NOT NULL
      );

      -- the user's current set of one-time recovery codes; used_at is set once, by a conditional UPDATE
      CREATE TABLE recovery_codes (
        user_key   text COLLATE "C" NOT NULL,
        code_hash  text COLLATE "C" NOT NULL,
        created_at bigint NOT NULL,
        used_at    bigint,
        PRIMARY KEY (user_key, code_hash)
      );
    `,
  },
  {
    version: 8,
    name: 'failed first-factor attempts per source address',
    sql: `
      -- source: an address or a network (IPv6 /64 by default) as regulation/source-throttle
      -- spells it; failures: the times (epoch ms) of its failed attempts within the sliding
      -- window, oldest first; expires_at: when the row no longer matters
      CREATE TABLE source_failures (
        source     text COLLATE "C" PRIMARY KEY,
        failures   jsonb NOT NULL,
        expires_at bigint NOT NULL
      );
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
        sid         text COLLATE "C" PRIMARY KEY,
        user_key    text COLLATE "C" NOT NULL,
        revoked_at  bigint NOT NULL,
        expires_at  bigint NOT NULL,
        changed_seq bigint NOT NULL
      );
      CREATE INDEX revoked_sessions_by_change ON revoked_sessions (changed_seq);
      CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions (expires_at);
    `,
  },
];

/** The advisory lock every migrating gateway takes; named per schema (see `advisoryLock`). */
const MIGRATION_LOCK = 'mfa-gateway schema migration';

/**
 * Applies every migration newer than the database's version, each in its own transaction
 * under one advisory lock: a second gateway starting at the same time waits, then sees the
 * first one's rows and skips. Refuses a database from a newer gateway.
 */
export async function migrate(db: Db, now: number): Promise<void> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const latest = ordered.at(-1)?.version ?? 0;
  for (const m of ordered) {
    await db.tx(`migration ${m.version}`, async (c) => {
      // Waiting for another gateway's migration, and the DDL itself, may take longer than the
      // statement timeout meant for requests.
      await c.query('SET LOCAL statement_timeout = 0');
      await advisoryLock(c, MIGRATION_LOCK);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
      const done = await c.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (done.rowCount > 0) return;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, now]);
    });
  }
  const { rows } = await db.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
  const v = rows[0]?.v ?? 0;
  if (v > latest) {
    throw new Error(`store: the database has schema version ${v}, newer than this gateway knows (${latest}); upgrade the gateway`);
  }
}
