// Retry-After (what a receiver answers with a 429/503) and the --retry-schedule flag.
// The first 8 bytes pick "now" (any int64: the parser's contract has no range), the rest is
// the header value; it is also parsed as a retry schedule, whose canonical text must parse
// back to the same policy, and the delay of each attempt computed with the parsed
// Retry-After.

#include <cstring>

#include "core/retry_policy.h"
#include "fuzz/fuzz_util.h"

namespace {
class HalfRng final : public hookd::Rng {
 public:
  double NextUnit() override { return 0.5; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  int64_t now_ms;
  std::memcpy(&now_ms, data, 8);
  const std::string_view header = hookd::fuzz::AsView(data + 8, size - 8);

  const std::optional<int64_t> after = hookd::ParseRetryAfter(header, now_ms);
  if (after) HOOKD_FUZZ_CHECK(*after >= 0, "a negative Retry-After delay");

  HalfRng rng;
  if (auto policy = hookd::RetryPolicy::Parse(header)) {
    auto again = hookd::RetryPolicy::Parse(policy->ToString());
    HOOKD_FUZZ_CHECK(again && *again == *policy, "Parse(ToString()) differs");
    for (int i = 0; i <= policy->MaxAttempts(); ++i) {
      auto d = policy->NextDelayMs(i, after, rng);
      if (d) HOOKD_FUZZ_CHECK(*d >= 0, "a negative delay");
    }
  }
  return 0;
}
