#include "dispatch/dispatcher_pool.h"

#include <algorithm>
#include <chrono>
#include <future>

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

void DispatcherPool::OnDeliveriesCanceled(const std::vector<std::pair<DeliveryId, EndpointId>>& deliveries) {
  for (auto& d : shards_) d->OnDeliveriesCanceled(deliveries);
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

std::vector<LiveDeliveryState> DispatcherPool::Inspect(const std::vector<Query>& queries) {
  constexpr auto kWait = std::chrono::milliseconds(200);
  std::vector<LiveDeliveryState> out(queries.size());
  const int n = static_cast<int>(shards_.size());
  std::vector<std::vector<size_t>> which(static_cast<size_t>(n));  // per shard: indexes into `queries`
  for (size_t i = 0; i < queries.size(); ++i)
    which[static_cast<size_t>(Dispatcher::ShardOf(queries[i].endpoint, n))].push_back(i);
  std::vector<std::future<std::vector<LiveDeliveryState>>> answers(static_cast<size_t>(n));
  for (size_t s = 0; s < which.size(); ++s) {
    if (which[s].empty()) continue;
    std::vector<DeliveryId> ids;
    ids.reserve(which[s].size());
    for (size_t i : which[s]) ids.push_back(queries[i].delivery);
    answers[s] = shards_[s]->InspectAsync(ids);
  }
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  for (size_t s = 0; s < answers.size(); ++s) {
    if (!answers[s].valid() || answers[s].wait_until(deadline) != std::future_status::ready) continue;
    try {
      std::vector<LiveDeliveryState> got = answers[s].get();
      for (size_t k = 0; k < got.size() && k < which[s].size(); ++k) out[which[s][k]] = std::move(got[k]);
    } catch (const std::future_error&) {
      // the dispatcher ended without answering: unknown
    }
  }
  return out;
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
