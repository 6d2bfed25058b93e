-- Erasure per employee (issue 13, docs/personal-data.md): as SQLite's 0008. An erased event
-- keeps its id, type and times; its payload and subject are emptied and `erased_at` set. Its
-- pending and held deliveries become `canceled`, with the reason.
ALTER TABLE events ADD COLUMN erased_at bigint;
ALTER TABLE deliveries ADD COLUMN canceled_reason text;
-- The subjects of the events an idempotency record answered for, each between newlines.
ALTER TABLE idempotency_keys ADD COLUMN subjects text NOT NULL DEFAULT '';
CREATE TABLE erasures (
  id                  text COLLATE "C" PRIMARY KEY,
  company_id          text COLLATE "C" NOT NULL,
  subject_hash        text NOT NULL,
  subject             text,              -- only while running
  event_bound         text COLLATE "C" NOT NULL,
  status              text NOT NULL,     -- running | completed
  requested_by        text NOT NULL,
  requested_by_kind   text NOT NULL,     -- operator | company
  requested_at        bigint NOT NULL,
  finished_at         bigint,
  events              bigint NOT NULL DEFAULT 0,
  attempts            bigint NOT NULL DEFAULT 0,
  idempotency_records bigint NOT NULL DEFAULT 0,
  deliveries_canceled bigint NOT NULL DEFAULT 0
);
CREATE INDEX erasures_company ON erasures(company_id, id);
CREATE TABLE erasure_key (
  id  integer PRIMARY KEY CHECK (id = 1),
  key bytea NOT NULL
);
