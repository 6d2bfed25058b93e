#pragma once
// The replay runner: turns each running replay (core/replay.h) into deliveries, a small window
// at a time, so that a replay of 10,000 events never stands as 10,000 pending deliveries in
// front of the endpoint's live traffic (the dispatcher then lets them through only when live
// ones leave room: dispatch/dispatcher.h).
//
// A step of a replay reads its next `batch` events after its cursor (ReplayStore::
// ScanReplayEvents), keeps those its selection matches, and writes their deliveries together
// with the cursor's move in one transaction (AppendReplayDeliveries, conditional on the cursor:
// a step is taken once, whatever node or restart tries it again), then announces them like an
// ingest does. The next step waits until at most `window - batch` of the replay's deliveries
// are unfinished (pending or held). A replay whose events are all turned into deliveries and
// whose deliveries are all finished is completed; one whose endpoint is gone is canceled; one
// whose endpoint is disabled waits until it is enabled.
//
// Durable by construction: the store has the cursor and the deliveries; after a crash the
// runner goes on from the cursor, and the dispatcher sends again only what it had in flight
// (at most the window: at least once, never a step twice).
//
// Several nodes (PostgreSQL): each node runs the replays of the endpoints whose lease shard it
// holds (`ownership`), as its dispatcher sends their deliveries.
//
// Threading: Start() runs Step() on a thread of its own until Stop(). The ChangeListener
// methods may be called from any thread (they only wake it). Tests call Step() themselves on a
// simulated clock instead (no thread).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "core/change_feed.h"
#include "core/clock.h"
#include "core/replay.h"
#include "core/shard_ownership.h"
#include "store/store.h"

namespace hookd {

struct ReplayRunnerOptions {
  // Must outlive the runner.
  const Clock* clock = &SystemClock();
  // Several nodes: only the replays of endpoints in the shards this node holds. Null: all.
  const ShardOwnership* ownership = nullptr;
  int batch = 100;     // deliveries made per step (at most)
  int window = 200;    // a step only while at most window - batch deliveries are unfinished
  int64_t poll_ms = 50;  // a running replay's deliveries are counted this often
  // Running replays are read back from the store this often (the announcements make it sooner).
  int64_t refresh_ms = 10000;
};

class ReplayRunner final : public ChangeListener {
 public:
  // `store` and `endpoints` (usually one Store) and `announce` must outlive the runner;
  // `announce` gets the deliveries each step makes (OnDeliveriesReady), as ingest announces.
  ReplayRunner(ReplayStore& store, EndpointStore& endpoints, ChangeListener& announce, ReplayRunnerOptions opts);
  ~ReplayRunner() override;

  void Start();
  void Stop();

  // One pass: the running replays read back when due, then a step of each one whose turn it
  // is. Returns the clock time of the next pass. Not thread-safe (one caller).
  int64_t Step();

  // How many replays this runner is working on now (after the last Step).
  size_t Running() const { return running_count_.load(); }

  // Wake-ups. Nothing is done on the caller's thread.
  void OnDeliveriesReady(std::vector<PendingDelivery>) override {}
  void OnEndpointChanged(const CompanyId&, const EndpointId&) override { Wake(false); }  // enabled?
  void OnDeliveriesRequeued(const CompanyId&, const EndpointId&) override {}
  void OnReplayStarted(const CompanyId&, const EndpointId&) override { Wake(true); }
  void OnReplayCanceled(const CompanyId&, const EndpointId&) override { Wake(true); }
  void OnOwnershipChanged() override { Wake(true); }
  void OnChangesMissed() override { Wake(true); }

 private:
  struct Active {
    Replay replay;
    ReplayMatcher matcher;
    // Its deliveries below this id are all finished (as far as this runner knows).
    std::string unfinished_from;
    int64_t next_ms = 0;
  };
  void Wake(bool refresh);
  void Refresh(int64_t now);
  bool Owns(const EndpointId& endpoint) const;
  // Steps `a` as far as its window allows; false when it is over (completed, canceled, or no
  // longer this runner's).
  bool Advance(Active& a, int64_t now);
  void Run();

  ReplayStore& store_;
  EndpointStore& endpoints_;
  ChangeListener& announce_;
  const ReplayRunnerOptions opts_;
  const Clock& clock_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  bool woken_ = false;     // GUARDED_BY(mu_)
  std::atomic<bool> refresh_{true};
  std::thread thread_;

  // Step()'s caller only.
  std::map<std::string, Active> active_;  // by replay id (oldest first)
  int64_t next_refresh_ms_ = 0;
  std::atomic<size_t> running_count_{0};
};

}  // namespace hookd
