-- memberwire's one schema: the Node server applies these files to SQLite at start, and
-- `wrangler d1 migrations apply` applies the same files to D1. Plain SQLite SQL only: no PRAGMA,
-- no BEGIN (D1 refuses both; the Node host sets its PRAGMAs in code).

-- Members. `seq` is the member id's number (the id is 'm' || seq). The whole record lives in
-- the columns below plus `data`, the JSON of the fields the store never looks into (contact
-- link, names, tags, welcome state, the creating event).
CREATE TABLE members (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  version        INTEGER NOT NULL,
  email          TEXT    NOT NULL,
  contact_key    TEXT,
  credentials    TEXT    NOT NULL DEFAULT 'none',
  password_hash  TEXT,
  search         TEXT    NOT NULL DEFAULT '',
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  data           TEXT    NOT NULL
);
CREATE INDEX members_created ON members (created_at DESC, seq DESC);

-- Uniqueness, enforced by the database: one row per contact key and per normalized email,
-- claimed in the same transaction that inserts or updates the member. A lost race fails on
-- this primary key and the caller reads the existing owner.
CREATE TABLE identities (
  kind        TEXT    NOT NULL CHECK (kind IN ('contact', 'email')),
  value       TEXT    NOT NULL,
  member_seq  INTEGER NOT NULL REFERENCES members (seq),
  PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX identities_member ON identities (member_seq);

-- Set-password tokens, by the SHA-256 digest of the token (never the token).
CREATE TABLE tokens (
  token_hash  TEXT    PRIMARY KEY,
  member_seq  INTEGER NOT NULL REFERENCES members (seq),
  expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_member ON tokens (member_seq);

-- A statement that must not succeed: a batch inserts 0 here to abort itself (and roll back
-- everything it did) when a condition fails, e.g. a member's version is not the one expected.
-- The constraint's name is the reason the caller reads from the error.
CREATE TABLE guards (
  reason  TEXT NOT NULL,
  ok      INTEGER NOT NULL,
  CONSTRAINT guard_failed CHECK (ok = 1)
);

-- The inbox: every accepted event, keyed by its id, with the workflow's saved state (which
-- never holds a secret) and how it ended.
CREATE TABLE events (
  id            TEXT    PRIMARY KEY,
  source        TEXT    NOT NULL,
  received_at   INTEGER NOT NULL,
  contact_key   TEXT,
  contact       TEXT    NOT NULL,
  status        TEXT    NOT NULL CHECK (status IN ('running', 'pending', 'done', 'dead')),
  state         TEXT    NOT NULL,
  outcome       TEXT,
  outcome_kind  TEXT,
  pending       TEXT,
  attempts      INTEGER NOT NULL DEFAULT 0,
  -- Until when one runner holds the event (Workers: a queue consumer), so a redelivered or
  -- re-driven event is never run twice at once.
  lease_until   INTEGER,
  updated_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX events_received ON events (received_at DESC, id DESC);
CREATE INDEX events_status ON events (status, received_at DESC);

-- Bulk runs: one row per run, replaced as the run advances; plans as JSON.
CREATE TABLE bulk_runs (
  run_id      TEXT    PRIMARY KEY,
  plan_id     TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  data        TEXT    NOT NULL
) WITHOUT ROWID;
CREATE TABLE bulk_plans (
  plan_id     TEXT    PRIMARY KEY,
  created_at  INTEGER NOT NULL,
  data        TEXT    NOT NULL
) WITHOUT ROWID;

-- Administrator sessions, by the SHA-256 digest of the session id (never the id).
CREATE TABLE sessions (
  sid_hash    TEXT    PRIMARY KEY,
  csrf        TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL
) WITHOUT ROWID;

-- Small named documents: the access key's digest, the administrator's password hash, access
-- rules, settings. Values are JSON text.
CREATE TABLE settings (
  name        TEXT    PRIMARY KEY,
  value       TEXT    NOT NULL,
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
