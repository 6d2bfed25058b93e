#include "store/retention.h"

#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace hookd {

namespace {
constexpr int kBatch = 2000;
}

int64_t Retention::RunOnce() {
  const int64_t now = NowMs();
  int64_t total = Purge(now - retention_ms_, std::nullopt);
  // Companies with a shorter retention of their own: their rows between the two cutoffs.
  auto own = store_.CompaniesWithOwnRetention();
  if (!own) spdlog::warn("retention: {}", own.error().message);
  else
    for (const Company& c : *own)
      if (c.retention_ms && *c.retention_ms < retention_ms_) total += Purge(now - *c.retention_ms, c.id);
  total += PurgeAudit(now - audit_retention_ms_);
  return total;
}

int64_t Retention::PurgeAudit(int64_t cutoff) {
  int64_t total = 0;
  for (int i = 0; i < 1000; ++i) {
    auto n = store_.PurgeAuditLog(cutoff, kBatch);
    if (!n) {
      spdlog::warn("retention: audit log: {}", n.error().message);
      break;
    }
    total += *n;
    if (*n < kBatch) break;
    std::lock_guard lock(mu_);
    if (stop_) break;
  }
  if (total > 0) spdlog::info("retention: deleted {} audit log rows older than {}", total, FormatTime(cutoff));
  return total;
}

int64_t Retention::Purge(int64_t cutoff, const std::optional<CompanyId>& company) {
  int64_t total = 0;
  for (int i = 0; i < 1000; ++i) {
    auto n = store_.PurgeExpired(cutoff, kBatch, company);
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
  if (total > 0) {
    if (company) spdlog::info("retention: deleted {} rows of {} older than {} (its own retention)", total, company->str(), FormatTime(cutoff));
    else spdlog::info("retention: deleted {} rows older than {}", total, FormatTime(cutoff));
  }
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
