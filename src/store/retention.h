#pragma once
// The retention component (--retention): a background thread that deletes what is older
// than the retention period (the server's, or a company's own shorter one), in small batches through the store's writer so that ingest
// never waits long behind it. Pending and held deliveries are never deleted. The audit log has
// a retention of its own (--audit-retention, default 365 days): no other cutoff touches it.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "store/store.h"

namespace hookd {

class Retention {
 public:
  static constexpr int64_t kDefaultAuditRetentionMs = 365LL * 86400 * 1000;

  Retention(MaintenanceStore& store, int64_t retention_ms, int64_t interval_ms = 60'000,
            int64_t audit_retention_ms = kDefaultAuditRetentionMs)
      : store_(store), retention_ms_(retention_ms), interval_ms_(interval_ms),
        audit_retention_ms_(audit_retention_ms) {}
  ~Retention() { Stop(); }

  void Start();
  void Stop();
  // One full pass (all batches): what is older than the server's retention, then, for each
  // company with a shorter one of its own, that company's rows older than its own, then audit
  // rows older than the audit retention. Returns the rows deleted. Used by the thread and tests.
  int64_t RunOnce();

 private:
  int64_t Purge(int64_t cutoff, const std::optional<CompanyId>& company);
  int64_t PurgeAudit(int64_t cutoff);
  MaintenanceStore& store_;
  const int64_t retention_ms_;
  const int64_t interval_ms_;
  const int64_t audit_retention_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace hookd
