#pragma once
// Several nodes sharing one database split the endpoints between them: endpoints hash into
// kLeaseShards shards, and a node dispatches the endpoints of the shards it holds a lease on
// (store/postgres/pg_cluster.h takes and renews the leases). The dispatcher asks this
// interface, before every request it starts, whether its node may still send for a shard.
// Without one (SQLite: one node), a dispatcher owns every endpoint.

#include <cstdint>

#include "core/ids.h"

namespace hookd {

// Fixed: the shard of an endpoint is stored nowhere, but every node must compute the same
// one. Changing it (or LeaseShardOf) needs every node stopped first.
inline constexpr int kLeaseShards = 256;

inline int LeaseShardOf(const PackedUlid& endpoint) {
  return static_cast<int>(PackedUlidHash{}(endpoint) % static_cast<size_t>(kLeaseShards));
}
inline int LeaseShardOf(const EndpointId& endpoint) { return LeaseShardOf(endpoint.Packed()); }

class ShardOwnership {
 public:
  virtual ~ShardOwnership() = default;
  // The epoch (fencing token, > 0) of this node's lease on `shard` when this node may start
  // requests for that shard's endpoints now; 0 when it may not (not held, being given back,
  // or not renewed in time). Thread-safe and cheap (called before each request).
  virtual int64_t UsableEpoch(int shard) const = 0;
};

}  // namespace hookd
