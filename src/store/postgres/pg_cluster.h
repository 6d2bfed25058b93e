#pragma once
// Several `hookd serve` nodes on one PostgreSQL database (docs/multi-node.md): this node's
// membership — its shard leases and the change feed that reaches every node.
//
// Leases. Endpoints hash into kLeaseShards shards (core/shard_ownership.h); a node dispatches
// the endpoints of the shards it holds a lease on. Every lease_ms / 3 the node, in one
// transaction, marks itself alive (`nodes`), gives back the shards it was asked to drain last
// time, renews its leases (`shard_leases`, expiry on the database's clock), counts the live
// nodes, and takes free or expired shards up to its fair share (ceil(256 / live nodes)); a
// node over its share stops sending for the excess and gives those back at the next renewal.
// Each change of owner bumps the shard's epoch, which fences the outcomes the dispatcher
// writes (PostgresStore::WriteOutcomes). A lease is usable on this node only until
// 3/4 lease_ms after the renewal that extended it was sent (this node's monotonic clock): a
// node that cannot renew (paused, partitioned, the database away) stops starting requests
// before any other node may take its shards. A node that dies loses its shards within
// lease_ms + lease_ms / 3.
//
// Change feed. Writes other nodes must hear about send a notice in their own transaction
// (cluster_notice.h) — ingests right after it, in a transaction of their own in the same
// round trip (PostgresStore::CommitGroup): a node that stops renewing makes the others read
// everything back, in case it died in between. One connection per node LISTENs. Deliveries for shards this node holds
// are handed to the listeners in commit order when their notice arrives — also the ones this
// node accepted itself, so that a subject's order holds whichever node accepted each event:
// those from memory (PostgresStore::TakeAccepted), the others loaded by id with their payloads. When the listening connection drops, notices sent meanwhile are gone: after
// LISTENing again the listeners are told to read everything back (OnChangesMissed).

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/change_feed.h"
#include "core/clock.h"
#include "core/log_throttle.h"
#include "core/shard_ownership.h"
#include "store/postgres/postgres_store.h"

namespace hookd {

struct ClusterOptions {
  int64_t lease_ms = 6000;
  // What leases are timed on: a monotonic clock (null), or a test's simulated one — their
  // validity and the renewals then move only as the test advances it, instead of waiting.
  const Clock* clock = nullptr;
};

class PgCluster final : public ShardOwnership, public ChangeFeed {
 public:
  // `store` must outlive the cluster.
  PgCluster(PostgresStore& store, ClusterOptions opts);
  ~PgCluster() override;

  // LISTENs, then takes a first share of leases and starts renewing them. Subscribe first.
  Result<void> Join();
  // Stops renewing and gives every lease back (the other nodes take them at their next
  // renewal instead of after the lease time). Stop the dispatcher first.
  void Leave();

  int64_t UsableEpoch(int shard) const override;
  int ShardsHeld() const;
  // One renewal now, on the calling thread, as the lease thread runs one every lease_ms / 3;
  // false when it failed. For tests on a simulated clock, where the lease thread renews only
  // as the test moves that clock.
  bool RenewNow();

  void Subscribe(ChangeListener& listener) override { local_.Subscribe(listener); }
  // Announcements made on this node. Deliveries reach the dispatcher through the notice their
  // transaction sent (see above), so this one is not passed on; the others go to this node's
  // listeners now (other nodes get the store's notices).
  void OnDeliveriesReady(std::vector<PendingDelivery>) override {}
  void OnEndpointChanged(const CompanyId& company, const EndpointId& id) override;
  void OnDeliveriesRequeued(const CompanyId& company, const EndpointId& id) override;
  void OnDeliveriesCanceled(const std::vector<std::pair<DeliveryId, EndpointId>>& deliveries) override;
  void OnReplayStarted(const CompanyId& company, const EndpointId& id) override;
  void OnReplayCanceled(const CompanyId& company, const EndpointId& id) override;

 private:
  int64_t Now() const { return opts_.clock ? opts_.clock->NowMs() : MonotonicMs(); }
  void LeaseLoop();
  // One renewal; returns false when it failed (the connection is dropped for the next one).
  bool LeaseTick();
  void Publish();
  void ListenLoop();
  void HandleNotices(const std::vector<std::string>& payloads);
  void WakeListener();

  PostgresStore& store_;
  const ClusterOptions opts_;
  LocalChangeFeed local_;  // this node's listeners: what arrives, from here or a notice, goes to them

  std::array<std::atomic<int64_t>, kLeaseShards> epoch_{};  // usable epoch per shard (0: none)
  std::atomic<int64_t> valid_until_{0};                     // Now()

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  bool listening_ = false;  // GUARDED_BY(mu_): the first LISTEN is done (or given up)
  std::thread lease_thread_;
  std::thread listen_thread_;
  int wake_fd_ = -1;  // eventfd: wakes the listener to stop
  LogThrottle load_error_log_{10'000};  // listener thread: a read-back failing notice after notice

  // Under tick_mu_: LeaseTick runs on the lease thread, and in Join and RenewNow.
  std::mutex tick_mu_;
  std::unique_ptr<pg::Conn> lease_db_;
  std::array<int64_t, kLeaseShards> held_{};  // epoch in the database (0: not ours)
  std::vector<int> releasing_;                // given back at the next renewal
  std::set<std::string> live_nodes_;          // at the last renewal: a node gone since is read back for
  bool tick_failed_logged_ = false;
  bool joined_ = false;
};

}  // namespace hookd
