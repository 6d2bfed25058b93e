#include "dispatch/dispatcher_pool.h"

#include <algorithm>

namespace hookd {

DispatcherPool::DispatcherPool(DispatchStore& store, const DestinationPolicy& policy, DispatcherOptions opts,
                               int threads) {
  const int n = std::max(1, threads);
  opts.shards = n;
  // Shared out, but never below an endpoint's largest max_concurrency (1000): one busy
  // endpoint can still use all its slots in its dispatcher.
  opts.max_in_flight = std::max<size_t>(1000, opts.max_in_flight / static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    DispatcherOptions o = opts;
    o.shard = i;
    clients_.push_back(std::make_unique<HttpClient>(
        policy, HttpClientOptions{opts.user_agent, opts.tls_ca_file, opts.builtin_http1, opts.proxy}));
    shards_.push_back(std::make_unique<Dispatcher>(store, *clients_.back(), std::move(o)));
  }
}

DispatcherPool::~DispatcherPool() { Stop(0); }

void DispatcherPool::Start() {
  for (auto& d : shards_) d->Start();
}

void DispatcherPool::Stop(int grace_ms) {
  for (auto& d : shards_) d->RequestStop(grace_ms);
  for (auto& d : shards_) d->Stop(grace_ms);
}

void DispatcherPool::OnDeliveriesReady(std::vector<PendingDelivery> deliveries) {
  const int n = static_cast<int>(shards_.size());
  if (n == 1) {
    shards_[0]->OnDeliveriesReady(std::move(deliveries));
    return;
  }
  std::vector<std::vector<PendingDelivery>> parts(static_cast<size_t>(n));
  for (auto& d : deliveries) parts[static_cast<size_t>(Dispatcher::ShardOf(d.endpoint_id, n))].push_back(std::move(d));
  for (int i = 0; i < n; ++i)
    if (!parts[static_cast<size_t>(i)].empty()) shards_[static_cast<size_t>(i)]->OnDeliveriesReady(std::move(parts[static_cast<size_t>(i)]));
}

Dispatcher& DispatcherPool::ShardFor(const EndpointId& id) {
  return *shards_[static_cast<size_t>(Dispatcher::ShardOf(id, static_cast<int>(shards_.size())))];
}

void DispatcherPool::OnEndpointChanged(const CompanyId& company, const EndpointId& id) {
  ShardFor(id).OnEndpointChanged(company, id);
}

void DispatcherPool::OnDeliveriesRequeued(const CompanyId& company, const EndpointId& id) {
  ShardFor(id).OnDeliveriesRequeued(company, id);
}

void DispatcherPool::OnReplayCanceled(const CompanyId& company, const EndpointId& id) {
  ShardFor(id).OnReplayCanceled(company, id);
}

void DispatcherPool::OnOwnershipChanged() {
  for (auto& d : shards_) d->OnOwnershipChanged();
}

void DispatcherPool::OnChangesMissed() {
  for (auto& d : shards_) d->OnChangesMissed();
}

int64_t DispatcherPool::Queued() const {
  int64_t n = 0;
  for (const auto& d : shards_) n += d->Stats().queued.load(std::memory_order_relaxed);
  return n;
}

int64_t DispatcherPool::InFlight() const {
  int64_t n = 0;
  for (const auto& d : shards_) n += d->Stats().in_flight.load(std::memory_order_relaxed);
  return n;
}

}  // namespace hookd
