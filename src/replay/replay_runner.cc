#include "replay/replay_runner.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include <spdlog/spdlog.h>

namespace hookd {

namespace {
// Steps of one replay per pass at most (a filter that drops most events must not keep the
// runner on one replay).
constexpr int kStepsPerPass = 8;
constexpr int64_t kRetryAfterErrorMs = 1000;
}  // namespace

ReplayRunner::ReplayRunner(ReplayStore& store, EndpointStore& endpoints, ChangeListener& announce,
                           ReplayRunnerOptions opts)
    : store_(store), endpoints_(endpoints), announce_(announce), opts_(opts), clock_(*opts_.clock) {}

ReplayRunner::~ReplayRunner() { Stop(); }

void ReplayRunner::Start() {
  thread_ = std::thread([this] {
    NameThisThread("hookd-replay");
    Run();
  });
}

void ReplayRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReplayRunner::Wake(bool refresh) {
  if (refresh) refresh_ = true;
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void ReplayRunner::Run() {
  for (;;) {
    const int64_t next = Step();
    std::unique_lock lock(mu_);
    const int64_t wait = std::clamp<int64_t>(next - clock_.NowMs(), 0, opts_.refresh_ms);
    cv_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
  }
}

bool ReplayRunner::Owns(const EndpointId& endpoint) const {
  return !opts_.ownership || opts_.ownership->UsableEpoch(LeaseShardOf(endpoint)) != 0;
}

void ReplayRunner::Refresh(int64_t now) {
  refresh_ = false;
  auto running = store_.RunningReplays();
  if (!running) {
    spdlog::error("replay: cannot read the running replays: {}", running.error().message);
    refresh_ = true;
    next_refresh_ms_ = now + kRetryAfterErrorMs;
    return;
  }
  next_refresh_ms_ = now + opts_.refresh_ms;
  std::map<std::string, Active> next;
  for (auto& r : *running) {
    if (!Owns(r.endpoint_id)) continue;
    const std::string key = r.id.str();
    auto known = active_.find(key);
    if (known != active_.end()) {
      // The store's row is the truth (cursor, scan_done); what was learnt of its deliveries stays.
      Active a = std::move(known->second);
      a.replay = std::move(r);
      next.emplace(key, std::move(a));
      continue;
    }
    auto matcher = ReplayMatcher::Make(r.selection);
    if (!matcher) {
      // Validated when the endpoint was saved; a stored filter that no longer compiles cannot
      // select anything.
      spdlog::error("replay: {} cannot run: its filter does not compile ({}); canceled", key,
                    matcher.error().message);
      (void)store_.FinishReplay(r.id, ReplayStatus::kCanceled, now);
      continue;
    }
    spdlog::info("replay: {} of endpoint {} taken up ({} of {} deliveries made)", key, r.endpoint_id.str(), r.created,
                 r.total);
    next.emplace(key, Active{std::move(r), std::move(*matcher), "", now});
  }
  active_ = std::move(next);
}

int64_t ReplayRunner::Step() {
  int64_t now = clock_.NowMs();
  if (refresh_ || now >= next_refresh_ms_) Refresh(now);
  int64_t next = next_refresh_ms_;
  for (auto it = active_.begin(); it != active_.end();) {
    Active& a = it->second;
    if (a.next_ms <= now) {
      if (!Advance(a, now)) {
        it = active_.erase(it);
        continue;
      }
      now = clock_.NowMs();
    }
    next = std::min(next, a.next_ms);
    ++it;
  }
  running_count_ = active_.size();
  return next;
}

bool ReplayRunner::Advance(Active& a, int64_t now) {
  Replay& r = a.replay;
  a.next_ms = now + opts_.poll_ms;
  if (!Owns(r.endpoint_id)) return false;  // the shard went to another node: its runner goes on
  auto ep = endpoints_.GetEndpoint(r.company_id, r.endpoint_id);
  if (!ep) {
    if (ep.error().code != ErrorCode::kNotFound) {
      a.next_ms = now + kRetryAfterErrorMs;
      return true;
    }
    spdlog::info("replay: {} canceled: its endpoint {} was deleted", r.id.str(), r.endpoint_id.str());
    (void)store_.FinishReplay(r.id, ReplayStatus::kCanceled, now);
    return false;
  }
  if (!ep->Enabled()) return true;  // waits until the endpoint is enabled again

  for (int steps = 0; steps < kStepsPerPass; ++steps) {
    auto unfinished = store_.UnfinishedReplayDeliveries(r.id, a.unfinished_from);
    if (!unfinished) {
      a.next_ms = now + kRetryAfterErrorMs;
      return true;
    }
    // Ids only grow (one runner makes a replay's deliveries): finished ones stay behind.
    a.unfinished_from = unfinished->count > 0 ? unfinished->first : DeliveryId::New().str();
    if (r.scan_done) {
      if (unfinished->count > 0) return true;
      if (auto f = store_.FinishReplay(r.id, ReplayStatus::kCompleted, now); !f) {
        if (f.error().code == ErrorCode::kConflict) return false;  // canceled meanwhile
        if (f.error().code == ErrorCode::kNotFound) {
          spdlog::info("replay: {} canceled: its endpoint {} was deleted", r.id.str(), r.endpoint_id.str());
          (void)store_.FinishReplay(r.id, ReplayStatus::kCanceled, now);
          return false;
        }
        a.next_ms = now + kRetryAfterErrorMs;
        return true;
      }
      spdlog::info("replay: {} completed: {} deliveries to {}", r.id.str(), r.created, r.endpoint_id.str());
      return false;
    }
    if (unfinished->count > opts_.window - opts_.batch) return true;  // the window is full

    auto events = store_.ScanReplayEvents(r.company_id, r.since_ms, r.until_ms, r.selection.types, r.cursor,
                                          opts_.batch);
    if (!events) {
      a.next_ms = now + kRetryAfterErrorMs;
      return true;
    }
    ReplayStore::ReplayStep step;
    step.replay = r.id;
    step.company = r.company_id;
    step.endpoint = r.endpoint_id;
    step.from_cursor = r.cursor;
    step.to_cursor = events->empty() ? r.cursor : events->back().id.str();
    step.scan_done = static_cast<int>(events->size()) < opts_.batch;
    std::vector<PendingDelivery> ready;
    for (auto& e : *events) {
      if (e.payload.empty() || !a.matcher.Matches(e)) continue;  // deleted meanwhile, or filtered out
      Delivery d;
      d.id = DeliveryId::New();
      d.company_id = r.company_id;
      d.event_id = e.id;
      d.endpoint_id = r.endpoint_id;
      d.status = DeliveryStatus::kPending;
      d.next_attempt_at_ms = now;
      d.created_at_ms = now;
      d.replay_id = r.id;
      PendingDelivery p{d.id, d.company_id, d.event_id, d.endpoint_id, std::move(e.subject), 0, now,
                        std::make_shared<const std::string>(std::move(e.payload))};
      p.replay = true;
      ready.push_back(std::move(p));
      step.deliveries.push_back(std::move(d));
    }
    if (auto w = store_.AppendReplayDeliveries(step); !w) {
      if (w.error().code == ErrorCode::kNotFound) {
        spdlog::info("replay: {} canceled: its endpoint {} was deleted", r.id.str(), r.endpoint_id.str());
        (void)store_.FinishReplay(r.id, ReplayStatus::kCanceled, now);
        return false;
      }
      if (w.error().code == ErrorCode::kConflict) {
        // Canceled, or stepped by another node meanwhile: read back from the store.
        refresh_ = true;
        return false;
      }
      spdlog::warn("replay: {}: cannot write a step: {}; trying again", r.id.str(), w.error().message);
      a.next_ms = now + kRetryAfterErrorMs;
      return true;
    }
    r.cursor = step.to_cursor;
    r.created += static_cast<int64_t>(step.deliveries.size());
    r.scan_done = step.scan_done;
    if (!ready.empty()) announce_.OnDeliveriesReady(std::move(ready));
  }
  a.next_ms = now;  // more to do at once
  return true;
}

}  // namespace hookd
