-- Several hookd nodes on one database (docs/multi-node.md). Endpoints hash into 256 shards
-- (core/shard_ownership.h); a node dispatches the endpoints of the shards it holds a lease on.
-- Times here are the database's clock (timestamptz), never a node's.
CREATE TABLE shard_leases (
  shard      integer PRIMARY KEY,
  owner      text COLLATE "C",        -- node id; NULL: free
  epoch      bigint NOT NULL DEFAULT 0,  -- +1 at each change of owner: the fencing token
  expires_at timestamptz
);
INSERT INTO shard_leases(shard) SELECT g FROM generate_series(0, 255) AS g;

-- Live nodes: each renews its row with its leases. A fair share is 256 / (nodes seen within
-- the lease time).
CREATE TABLE nodes (
  id         text COLLATE "C" PRIMARY KEY,
  address    text NOT NULL,        -- "host pid N" (for operators)
  started_at timestamptz NOT NULL,
  seen_at    timestamptz NOT NULL
);
