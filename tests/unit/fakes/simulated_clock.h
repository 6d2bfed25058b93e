#pragma once
// A clock that moves only when the test says so (Envoy's SimulatedTimeSystem, in small): the
// dispatcher's retries, rate limits and auto-disable run on it, so a test of "retried after
// 5 s" advances 5 s and checks, instead of sleeping.

#include <atomic>
#include <cstdint>

#include "core/clock.h"

namespace hookd::testing {

class SimulatedClock final : public Clock {
 public:
  // Starts at a fixed date (2026-12-01T00:00:00Z) unless told otherwise.
  explicit SimulatedClock(int64_t start_ms = 1795996800000) : now_(start_ms) {}
  int64_t NowMs() const override { return now_.load(); }
  void Advance(int64_t ms) { now_ += ms; }
  void Set(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace hookd::testing
