#pragma once
// The erasure component (POST …/erasures, issue 13): a background thread that works through
// every running erasure a batch of events per transaction (ErasureStore::EraseBatch), so that
// other companies' ingest and outcomes interleave with it in the group commit, and announces
// the deliveries each batch canceled on the change feed (the dispatcher drops them, payloads
// included). Running erasures are resumed at start (the row keeps the subject until done), and
// looked for again every `rescan_ms` (another node's, should that node have died).

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/change_feed.h"
#include "core/clock.h"
#include "store/store.h"

namespace hookd {

struct ErasureWorkerOptions {
  int batch = 500;            // events per transaction
  int64_t rescan_ms = 60'000; // running erasures looked for without a Wake()
  // After each batch the worker waits this fraction of the time the batch took, so that it
  // never holds the store's writer more than about 1 / (1 + pause_ratio) of the time.
  double pause_ratio = 1.0;
  const Clock* clock = &SystemClock();  // erased_at / finished_at times; must outlive the worker
};

class ErasureWorker {
 public:
  // `store` and `changes` must outlive the worker.
  ErasureWorker(ErasureStore& store, ChangeListener& changes, ErasureWorkerOptions opts = {})
      : store_(store), changes_(changes), opts_(opts) {}
  ~ErasureWorker() { Stop(); }

  void Start();
  void Stop();
  // A new erasure was recorded: run it now. Thread-safe.
  void Wake();
  // Runs every running erasure to its end (or until Stop). Returns how many it completed. Used
  // by the thread and by tests.
  int RunOnce();
  // The database's subject-hash key (ErasureStore::ErasureKey), made on first use and cached.
  // Thread-safe.
  Result<std::string> Key();

 private:
  bool Stopping();
  ErasureStore& store_;
  ChangeListener& changes_;
  const ErasureWorkerOptions opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;   // GUARDED_BY(mu_)
  bool woken_ = false;  // GUARDED_BY(mu_)
  std::optional<std::string> key_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace hookd
