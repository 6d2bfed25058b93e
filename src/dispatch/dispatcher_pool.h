#pragma once
// Several dispatchers, one thread each, with the endpoints spread over them by id
// (Dispatcher::ShardOf). An endpoint — its queue, concurrency, rate limit and subject
// order — lives in exactly one of them, so every rule of a single dispatcher holds; the
// pool only routes new work and sums the counters. `--dispatch-threads` sets how many.

#include <cstdint>
#include <memory>
#include <vector>

#include "core/change_feed.h"
#include "core/delivery_wait.h"
#include "core/ssrf_guard.h"
#include "dispatch/dispatcher.h"
#include "dispatch/http_client.h"
#include "store/store.h"

namespace hookd {

class DispatcherPool final : public ChangeListener, public DeliveryInspector {
 public:
  // `opts.max_in_flight` is shared out between the `threads` (≥ 1) dispatchers (each gets at
  // least 1000, the largest max_concurrency an endpoint may have).
  DispatcherPool(DispatchStore& store, const DestinationPolicy& policy, DispatcherOptions opts, int threads);
  ~DispatcherPool() override;

  void Start();
  // Every dispatcher stops at once; in-flight requests get `grace_ms` in all.
  void Stop(int grace_ms);

  void OnDeliveriesReady(std::vector<PendingDelivery> deliveries) override;
  void OnEndpointChanged(const CompanyId& company, const EndpointId& id) override;
  void OnDeliveriesRequeued(const CompanyId& company, const EndpointId& id) override;
  // To every shard (rare; the endpoint may be unknown).
  void OnDeliveriesCanceled(const std::vector<std::pair<DeliveryId, EndpointId>>& deliveries) override;
  void OnReplayCanceled(const CompanyId& company, const EndpointId& id) override;
  void OnOwnershipChanged() override;
  void OnChangesMissed() override;

  // Asks each dispatcher about its own deliveries; those that do not answer within 200 ms
  // (busy reading the store) leave theirs kUnknown.
  std::vector<LiveDeliveryState> Inspect(const std::vector<Query>& queries) override;

  int64_t Queued() const;
  int64_t InFlight() const;

 private:
  Dispatcher& ShardFor(const EndpointId& id);  // the one that owns this endpoint
  std::vector<std::unique_ptr<HttpClient>> clients_;  // one per dispatcher; outlive them
  std::vector<std::unique_ptr<Dispatcher>> shards_;
};

}  // namespace hookd
