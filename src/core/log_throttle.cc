#include "core/log_throttle.h"

#include <algorithm>

#include <fmt/format.h>

namespace hookd {

namespace {
// Past this many keys, a new key first drops the ones that no longer matter.
constexpr size_t kPruneAbove = 256;
}  // namespace

std::string LogThrottle::Verdict::Suffix() const {
  if (suppressed == 0) return "";
  return fmt::format(" (repeated {} time{} in the last {} s)", suppressed, suppressed == 1 ? "" : "s",
                     (since_ms + 500) / 1000);
}

LogThrottle::LogThrottle(int64_t interval_ms) : interval_ms_(std::max<int64_t>(1, interval_ms)) {}

LogThrottle::Verdict LogThrottle::Check(std::string_view key, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= kPruneAbove) PruneLocked(now_ms);
    entries_.emplace(std::string(key), Entry{now_ms, 0});
    return {true, 0, 0};
  }
  Entry& e = it->second;
  if (now_ms - e.last_line_ms < interval_ms_) {
    ++e.suppressed;
    return {false, e.suppressed, now_ms - e.last_line_ms};
  }
  Verdict v{true, e.suppressed, now_ms - e.last_line_ms};
  e = Entry{now_ms, 0};
  return v;
}

std::vector<std::pair<std::string, LogThrottle::Verdict>> LogThrottle::Due(int64_t now_ms) {
  std::vector<std::pair<std::string, Verdict>> out;
  std::lock_guard lock(mu_);
  for (auto& [key, e] : entries_) {
    if (e.suppressed == 0 || now_ms - e.last_line_ms < interval_ms_) continue;
    out.emplace_back(key, Verdict{true, e.suppressed, now_ms - e.last_line_ms});
    e = Entry{now_ms, 0};
  }
  return out;
}

uint64_t LogThrottle::Suppressed() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [key, e] : entries_) n += e.suppressed;
  return n;
}

size_t LogThrottle::TrackedKeys() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void LogThrottle::PruneLocked(int64_t now_ms) {
  std::erase_if(entries_, [&](const auto& kv) {
    return kv.second.suppressed == 0 && now_ms - kv.second.last_line_ms >= interval_ms_;
  });
}

}  // namespace hookd
