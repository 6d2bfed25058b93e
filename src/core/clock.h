#pragma once
// Wall-clock helpers. hookd stores times as int64 milliseconds since the Unix epoch
// (UTC) and prints them as RFC 3339 with milliseconds: 2026-11-26T10:00:00.000Z.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hookd {

int64_t NowMs();

// The time source of code whose rules depend on time (the dispatcher's retries, rate limits,
// auto-disable): injected, so that tests run those rules on a simulated clock they advance
// themselves (tests/unit/fakes/simulated_clock.h) instead of sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (UTC).
  virtual int64_t NowMs() const = 0;
};
// The real wall clock (hookd::NowMs). A process-wide instance; thread-safe.
Clock& SystemClock();
// Milliseconds on a monotonic clock (never jumps with the wall clock): for intervals only.
int64_t MonotonicMs();
// Names the calling thread (top -H, perf, gdb); at most 15 characters are kept.
void NameThisThread(const char* name);
// 2026-11-26T10:00:00.000Z
std::string FormatTime(int64_t ms_since_epoch);
// Accepts RFC 3339 date-times ("2026-11-26T10:00:00Z", fractions, "+01:00" offsets).
std::optional<int64_t> ParseTime(std::string_view s);
// Strict signed integer: optional '-', then 1-18 ASCII digits, nothing else (Unix seconds in
// webhook-timestamp headers, CLI values). nullopt otherwise.
std::optional<int64_t> ParseStrictInt(std::string_view s);
// Durations like "5s", "5m", "2h", "5d", "250ms" (one number and unit). nullopt if malformed.
std::optional<int64_t> ParseDurationMs(std::string_view s);
// The largest whole unit ParseDurationMs reads back: 604800000 -> "7d", 5400000 -> "90m".
std::string FormatDurationMs(int64_t ms);

}  // namespace hookd
