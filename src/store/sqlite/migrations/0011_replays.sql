-- Replays of a time range (issue 14, core/replay.h): one row per replay with its selection
-- (fixed at creation) and the runner's progress; its deliveries are ordinary deliveries
-- carrying its id. At most one running replay per endpoint.
CREATE TABLE replays (
  id          TEXT PRIMARY KEY,
  company_id  TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  status      TEXT NOT NULL,            -- running | completed | canceled
  since       INTEGER NOT NULL,         -- events created in [since, until)
  until       INTEGER NOT NULL,
  event_types TEXT,                     -- JSON array as asked; NULL: all of the endpoint's
  selection   TEXT NOT NULL,            -- JSON {"types":[…],"filter":…}: what it sends
  total       INTEGER NOT NULL,         -- events selected at creation
  created     INTEGER NOT NULL DEFAULT 0,  -- deliveries made so far
  cursor      TEXT NOT NULL DEFAULT '', -- the last event id examined
  scan_done   INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  finished_at INTEGER
) WITHOUT ROWID;
CREATE INDEX replays_endpoint ON replays(endpoint_id, id);
CREATE UNIQUE INDEX replays_running ON replays(endpoint_id) WHERE status = 'running';
-- NULL for every delivery but a replay's: the partial index costs ingestion nothing, and holds
-- no `status` (an outcome still rewrites the delivery row alone).
ALTER TABLE deliveries ADD COLUMN replay_id TEXT;
CREATE INDEX deliveries_replay ON deliveries(replay_id, id) WHERE replay_id IS NOT NULL;
