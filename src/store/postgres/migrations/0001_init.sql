-- hookd schema v1 (PostgreSQL): the schema SQLite reaches after its migrations 0001-0004
-- (attempts.error_detail, endpoints.version included). Times are bigint milliseconds since the
-- Unix epoch. Ids and keys are compared and ordered byte-wise (COLLATE "C"), whatever the
-- database's locale: pagination cursors and LoadPending's "dlv_~" bound rely on it. Payloads and
-- response bodies are bytea: kept byte-exact (payloads are signed).
CREATE TABLE companies (
  id         text COLLATE "C" PRIMARY KEY,
  name       text NOT NULL,
  created_at bigint NOT NULL
);

CREATE TABLE tokens (
  id          text COLLATE "C" PRIMARY KEY,
  company_id  text COLLATE "C",          -- NULL: operator token
  hash        text COLLATE "C" NOT NULL UNIQUE,  -- SHA-256 of the token; never the token
  scopes      text NOT NULL,
  description text NOT NULL DEFAULT '',
  created_at  bigint NOT NULL,
  revoked_at  bigint
);

CREATE TABLE event_types (
  name            text COLLATE "C" PRIMARY KEY,
  description     text NOT NULL,
  schema          text NOT NULL,
  example         text NOT NULL,
  subject_pointer text NOT NULL DEFAULT '',
  created_at      bigint NOT NULL
);

CREATE TABLE endpoints (
  id                      text COLLATE "C" PRIMARY KEY,
  company_id              text COLLATE "C" NOT NULL,
  config                  text NOT NULL,   -- JSON: url, event_types, filter, headers, limits…
  status                  text NOT NULL,
  disabled_reason         text NOT NULL DEFAULT '',
  kind                    text NOT NULL,
  secret                  text NOT NULL,
  previous_secret         text NOT NULL DEFAULT '',
  previous_secret_expires bigint NOT NULL DEFAULT 0,
  consecutive_failures    integer NOT NULL DEFAULT 0,
  failing_since           bigint NOT NULL DEFAULT 0,
  created_at              bigint NOT NULL,
  updated_at              bigint NOT NULL,
  -- The version of what an admin edits (config, secrets): the ETag of GET …/endpoints/{id},
  -- checked by every config write. What hookd changes itself (status, health) does not count.
  version                 bigint NOT NULL DEFAULT 1
);
CREATE INDEX endpoints_company ON endpoints(company_id, id);

CREATE TABLE events (
  id          text COLLATE "C" PRIMARY KEY,
  company_id  text COLLATE "C" NOT NULL,
  type        text COLLATE "C" NOT NULL,
  subject     text NOT NULL DEFAULT '',
  occurred_at bigint,
  created_at  bigint NOT NULL,
  payload     bytea NOT NULL
);
CREATE INDEX events_company ON events(company_id, id);

CREATE TABLE deliveries (
  id              text COLLATE "C" PRIMARY KEY,
  company_id      text COLLATE "C" NOT NULL,
  event_id        text COLLATE "C" NOT NULL,
  endpoint_id     text COLLATE "C" NOT NULL,
  status          text NOT NULL,          -- pending | succeeded | failed | held
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at bigint,
  last_attempt_at bigint,
  created_at      bigint NOT NULL
);
-- As in SQLite, no index contains `status`: an outcome stays a HOT update of the row alone.
CREATE INDEX deliveries_company ON deliveries(company_id, id);
CREATE INDEX deliveries_endpoint ON deliveries(endpoint_id, id);
CREATE INDEX deliveries_event ON deliveries(event_id);

CREATE TABLE attempts (
  delivery_id      text COLLATE "C" NOT NULL,
  id               text COLLATE "C" NOT NULL,
  company_id       text COLLATE "C" NOT NULL,
  number           integer NOT NULL,
  started_at       bigint NOT NULL,
  duration_ms      bigint NOT NULL,
  status_code      integer,
  error            text,
  response_headers text NOT NULL DEFAULT '{}',
  response_body    bytea NOT NULL DEFAULT '',   -- only ever what a receiver sent
  error_detail     text NOT NULL DEFAULT '',    -- hookd's own words (curl, SSRF guard)
  PRIMARY KEY (delivery_id, id)
);

CREATE TABLE idempotency_keys (
  company_id   text COLLATE "C" NOT NULL,
  key          text COLLATE "C" NOT NULL,
  request_hash text NOT NULL,
  response     text NOT NULL,
  created_at   bigint NOT NULL,
  PRIMARY KEY (company_id, key)
);

-- /readyz, while writes fail, probes with a write of its own (PostgresStore::Ping): a row
-- inserted and deleted in one transaction. Always empty.
CREATE TABLE readiness_probe (id bigserial PRIMARY KEY, data bytea NOT NULL);
