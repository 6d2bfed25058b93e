#include "store/retention.h"

#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace hookd {

namespace {
constexpr int kBatch = 2000;
}

int64_t Retention::RunOnce() {
  int64_t total = 0;
  const int64_t cutoff = NowMs() - retention_ms_;
  for (int i = 0; i < 1000; ++i) {
    auto n = store_.PurgeExpired(cutoff, kBatch);
    if (!n) {
      spdlog::warn("retention: {}", n.error().message);
      break;
    }
    total += *n;
    if (*n < kBatch) break;
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
  }
  if (total > 0) spdlog::info("retention: deleted {} rows older than {}", total, FormatTime(cutoff));
  return total;
}

void Retention::Start() {
  thread_ = std::thread([this] {
    NameThisThread("hookd-retention");
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      RunOnce();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stop_; });
    }
  });
}

void Retention::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hookd
