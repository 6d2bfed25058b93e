-- Replays of a time range (issue 14, core/replay.h): one row per replay with its selection
-- (fixed at creation) and the runner's progress; its deliveries are ordinary deliveries
-- carrying its id. At most one running replay per endpoint.
CREATE TABLE replays (
  id          text COLLATE "C" PRIMARY KEY,
  company_id  text COLLATE "C" NOT NULL,
  endpoint_id text COLLATE "C" NOT NULL,
  status      text NOT NULL,             -- running | completed | canceled
  since       bigint NOT NULL,           -- events created in [since, until)
  until       bigint NOT NULL,
  event_types text,                      -- JSON array as asked; NULL: all of the endpoint's
  selection   text NOT NULL,             -- JSON {"types":[…],"filter":…}: what it sends
  total       bigint NOT NULL,           -- events selected at creation
  created     bigint NOT NULL DEFAULT 0, -- deliveries made so far
  cursor      text COLLATE "C" NOT NULL DEFAULT '',  -- the last event id examined
  scan_done   boolean NOT NULL DEFAULT false,
  created_at  bigint NOT NULL,
  finished_at bigint
);
CREATE INDEX replays_endpoint ON replays(endpoint_id, id);
CREATE UNIQUE INDEX replays_running ON replays(endpoint_id) WHERE status = 'running';
-- NULL for every delivery but a replay's: the partial index costs ingestion nothing, and holds
-- no `status`, so an outcome stays a HOT update of the row alone (0005).
ALTER TABLE deliveries ADD COLUMN replay_id text COLLATE "C";
CREATE INDEX deliveries_replay ON deliveries(replay_id, id) WHERE replay_id IS NOT NULL;
