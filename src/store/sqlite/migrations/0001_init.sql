-- hookd schema v1 (SQLite). Times are INTEGER milliseconds since the Unix epoch.
CREATE TABLE companies (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE tokens (
  id          TEXT PRIMARY KEY,
  company_id  TEXT,                    -- NULL: operator token
  hash        TEXT NOT NULL UNIQUE,    -- SHA-256 of the token; the token itself is never stored
  scopes      TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
) WITHOUT ROWID;

CREATE TABLE event_types (
  name            TEXT PRIMARY KEY,
  description     TEXT NOT NULL,
  schema          TEXT NOT NULL,
  example         TEXT NOT NULL,
  subject_pointer TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE endpoints (
  id                      TEXT PRIMARY KEY,
  company_id              TEXT NOT NULL,
  config                  TEXT NOT NULL,   -- JSON: url, event_types, filter, headers, limits…
  status                  TEXT NOT NULL,
  disabled_reason         TEXT NOT NULL DEFAULT '',
  kind                    TEXT NOT NULL,
  secret                  TEXT NOT NULL,
  previous_secret         TEXT NOT NULL DEFAULT '',
  previous_secret_expires INTEGER NOT NULL DEFAULT 0,
  consecutive_failures    INTEGER NOT NULL DEFAULT 0,
  failing_since           INTEGER NOT NULL DEFAULT 0,
  created_at              INTEGER NOT NULL,
  updated_at              INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX endpoints_company ON endpoints(company_id, id);

CREATE TABLE events (
  id          TEXT PRIMARY KEY,
  company_id  TEXT NOT NULL,
  type        TEXT NOT NULL,
  subject     TEXT NOT NULL DEFAULT '',
  occurred_at INTEGER,
  created_at  INTEGER NOT NULL,
  payload     BLOB NOT NULL
);
CREATE INDEX events_company ON events(company_id, id);

CREATE TABLE deliveries (
  id              TEXT PRIMARY KEY,
  company_id      TEXT NOT NULL,
  event_id        TEXT NOT NULL,
  endpoint_id     TEXT NOT NULL,
  status          TEXT NOT NULL,          -- pending | succeeded | failed | held
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_attempt_at INTEGER,
  created_at      INTEGER NOT NULL
) WITHOUT ROWID;
-- No index contains `status`: an outcome then rewrites only the row itself. Queries by
-- endpoint seek deliveries_endpoint and filter on status.
CREATE INDEX deliveries_company ON deliveries(company_id, id);
CREATE INDEX deliveries_endpoint ON deliveries(endpoint_id, id);
CREATE INDEX deliveries_event ON deliveries(event_id);

-- Clustered by delivery: one b-tree insert per attempt, and a delivery's attempts together.
CREATE TABLE attempts (
  delivery_id      TEXT NOT NULL,
  id               TEXT NOT NULL,
  company_id       TEXT NOT NULL,
  number           INTEGER NOT NULL,
  started_at       INTEGER NOT NULL,
  duration_ms      INTEGER NOT NULL,
  status_code      INTEGER,
  error            TEXT,
  response_headers TEXT NOT NULL DEFAULT '{}',
  response_body    BLOB NOT NULL DEFAULT '',
  PRIMARY KEY (delivery_id, id)
) WITHOUT ROWID;

CREATE TABLE idempotency_keys (
  company_id   TEXT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  response     TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (company_id, key)
) WITHOUT ROWID;
