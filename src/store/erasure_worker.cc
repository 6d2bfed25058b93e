#include "store/erasure_worker.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "core/crypto.h"

namespace hookd {

Result<std::string> ErasureWorker::Key() {
  {
    std::lock_guard lock(mu_);
    if (key_) return *key_;
  }
  auto k = store_.ErasureKey(RandomBytes(32));
  if (!k) return k;
  std::lock_guard lock(mu_);
  key_ = *k;
  return *k;
}

bool ErasureWorker::Stopping() {
  std::lock_guard lock(mu_);
  return stop_;
}

int ErasureWorker::RunOnce() {
  auto running = store_.RunningErasures();
  if (!running) {
    spdlog::warn("erasure: cannot list running erasures: {}", running.error().message);
    return 0;
  }
  int completed = 0;
  for (const Erasure& e : *running) {
    spdlog::info("erasure: {} of company {} running", e.id.str(), e.company_id.str());
    while (!Stopping()) {
      const auto started = std::chrono::steady_clock::now();
      auto b = store_.EraseBatch(e.id, opts_.batch, opts_.clock->NowMs());
      if (!b) {
        spdlog::warn("erasure: {}: {}; retried later", e.id.str(), b.error().message);
        break;
      }
      if (!b->canceled.empty()) changes_.OnDeliveriesCanceled(b->canceled);
      if (b->erasure.status == ErasureStatus::kCompleted) {
        const ErasureCounts& c = b->erasure.counts;
        spdlog::info("erasure: {} completed: {} events, {} attempts, {} idempotency records, {} deliveries canceled",
                     e.id.str(), c.events, c.attempts, c.idempotency_records, c.deliveries_canceled);
        ++completed;
        break;
      }
      // Leave the writer to the others for a while (see pause_ratio).
      const auto took = std::chrono::steady_clock::now() - started;
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::duration_cast<std::chrono::microseconds>(took * opts_.pause_ratio),
                   [&] { return stop_; });
    }
  }
  return completed;
}

void ErasureWorker::Start() {
  thread_ = std::thread([this] {
    NameThisThread("hookd-erasure");
    std::unique_lock lock(mu_);
    while (!stop_) {
      woken_ = false;
      lock.unlock();
      RunOnce();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(opts_.rescan_ms), [&] { return stop_ || woken_; });
    }
  });
}

void ErasureWorker::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void ErasureWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hookd
