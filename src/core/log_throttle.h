#pragma once
// Rate limit for log lines that can repeat without bound (accept failing with "Too many open
// files", a store write failing on a full disk): per key, at most one line per interval, and
// that line says how many occurrences were not written since the previous one.
//
//   static LogThrottle throttle(10'000);
//   if (auto v = throttle.Check("accept:EMFILE", MonotonicMs()))
//     spdlog::warn("accept failed: {}{}", ec.message(), v.Suffix());
//   // -> "accept failed: Too many open files (repeated 1234 times in the last 10 s)"
//
// No I/O and no clock of its own: the caller passes the time (a monotonic clock in production,
// a plain number in tests). Thread-safe: one mutex, held for a map lookup.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookd {

class LogThrottle {
 public:
  // What to do with one occurrence.
  struct Verdict {
    bool log = false;         // write the line now
    uint64_t suppressed = 0;  // occurrences of the key not written since its previous line
    int64_t since_ms = 0;     // time since that previous line (0 when there was none)

    explicit operator bool() const { return log; }
    // " (repeated 1234 times in the last 12 s)", or "" when nothing was suppressed.
    std::string Suffix() const;
  };

  // `interval_ms`: the least time between two lines of one key (> 0).
  explicit LogThrottle(int64_t interval_ms);

  // Records an occurrence of `key` at `now_ms`. Log it (Verdict::log) when the key has no line
  // yet or its previous line is at least the interval old; otherwise it is counted, and the next
  // line carries the count. Times that go backwards count as "not yet".
  [[nodiscard]] Verdict Check(std::string_view key, int64_t now_ms);

  // For callers that want the count of a burst that has ended written too: every key with
  // suppressed occurrences whose previous line is at least the interval old, with its verdict;
  // each counts as logged at `now_ms`.
  [[nodiscard]] std::vector<std::pair<std::string, Verdict>> Due(int64_t now_ms);

  // Occurrences counted and not yet reported, over all keys.
  uint64_t Suppressed() const;

  // Keys remembered now. A key whose line is older than the interval and that has nothing
  // suppressed is forgotten when the map grows, since it would behave as a new one.
  size_t TrackedKeys() const;

 private:
  struct Entry {
    int64_t last_line_ms = 0;
    uint64_t suppressed = 0;
  };
  void PruneLocked(int64_t now_ms);

  const int64_t interval_ms_;
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;  // GUARDED_BY(mu_)
};

}  // namespace hookd
