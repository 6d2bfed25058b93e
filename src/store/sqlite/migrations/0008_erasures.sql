-- Erasure per employee (issue 13, docs/personal-data.md). An erased event keeps its id, type and
-- times; its payload and subject are emptied and `erased_at` set. Its pending and held
-- deliveries become `canceled`, with the reason.
ALTER TABLE events ADD COLUMN erased_at INTEGER;
ALTER TABLE deliveries ADD COLUMN canceled_reason TEXT;
-- The subjects of the events an idempotency record answered for, each between newlines
-- ("\nemp_1\nemp_2\n"): an erasure deletes the records of its subject's events. Records written
-- before this migration have none (they expire within 24 h).
ALTER TABLE idempotency_keys ADD COLUMN subjects TEXT NOT NULL DEFAULT '';
-- One row per erasure request. `subject` is kept only while it runs (to resume after a
-- restart); then only `subject_hash` (HMAC-SHA256 under erasure_key) stays.
CREATE TABLE erasures (
  id                  TEXT PRIMARY KEY,
  company_id          TEXT NOT NULL,
  subject_hash        TEXT NOT NULL,
  subject             TEXT,
  event_bound         TEXT NOT NULL,    -- events with ids below it (accepted before the request)
  status              TEXT NOT NULL,    -- running | completed
  requested_by        TEXT NOT NULL,    -- token id
  requested_by_kind   TEXT NOT NULL,    -- operator | company
  requested_at        INTEGER NOT NULL,
  finished_at         INTEGER,
  events              INTEGER NOT NULL DEFAULT 0,
  attempts            INTEGER NOT NULL DEFAULT 0,
  idempotency_records INTEGER NOT NULL DEFAULT 0,
  deliveries_canceled INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX erasures_company ON erasures(company_id, id);
-- The key of the subject hashes: 32 random bytes, made by the first erasure.
CREATE TABLE erasure_key (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  key BLOB NOT NULL
);
