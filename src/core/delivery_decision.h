#pragma once
// What happens after one attempt of a delivery (SPEC §5.2, §5.3, §5.6): the single place
// where an attempt's result, the endpoint's state and the retry policy turn into the
// delivery's next state and what to do to the endpoint. The dispatcher only applies it.
//
// Pure: no clock (the caller passes `now_ms`), randomness through Rng, no I/O.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/endpoint.h"
#include "core/retry_policy.h"

namespace hookd {

// The result of one attempt as the transport reports it.
struct AttemptResult {
  int status_code = 0;                // 0 when no response arrived
  std::optional<AttemptError> error;  // nullopt only for a 2xx answer
  std::string_view retry_after;       // the Retry-After header, if any
};

// The transport's rule for an answer: only 2xx is a success; any other status is kHttp.
// (The receiver's word decides; redirects are never followed.)
std::optional<AttemptError> ErrorForStatus(int status);

// What the decision needs to know of the endpoint, as the dispatcher holds it now.
struct EndpointFacts {
  bool exists = true;   // false: deleted (while the attempt was in flight)
  bool enabled = true;  // false: disabled meanwhile (manually, gone or failing)
  EndpointKind kind = EndpointKind::kEndpoint;
  int consecutive_failures = 0;  // before this attempt
  int64_t failing_since_ms = 0;  // 0: not failing
};

struct DecisionRules {
  const RetryPolicy* retry = nullptr;
  int64_t disable_after_ms = 5LL * 86400 * 1000;  // --disable-after
  int disable_min_failures = 10;                  // and at least this many failures in a row
};

struct Decision {
  enum class Next {
    kSucceeded,  // done
    kRetry,      // pending again, due at `retry_at_ms`
    kFailed,     // out of attempts, 410, or its endpoint was deleted
    kHeld,       // its endpoint was disabled meanwhile: kept until enabled
  };
  enum class EndpointAction {
    kNone,
    kDisableGone,     // 410 from a plain endpoint: disabled, reason "gone"
    kDeleteHook,      // 410 from a REST hook: unsubscribed (SPEC §6)
    kDisableFailing,  // --disable-after without success, with enough failures in a row
  };
  Next next = Next::kFailed;
  int64_t retry_at_ms = 0;  // when next == kRetry
  EndpointAction endpoint = EndpointAction::kNone;
  // The endpoint's health after this attempt (unchanged for a deleted endpoint).
  int consecutive_failures = 0;
  int64_t failing_since_ms = 0;
  bool health_changed = false;
};

// `attempts` counts this one (1 for the first attempt). Rules, in order:
//   2xx                 -> succeeded; the endpoint's failure streak ends.
//   410                 -> failed; a plain endpoint is disabled (gone), a REST hook deleted
//                          (nothing when the endpoint is already disabled or deleted).
//   anything else       -> the endpoint's failure streak grows; then
//                          out of attempts -> failed; endpoint deleted -> failed;
//                          endpoint disabled -> held; else retry after the policy's delay
//                          (Retry-After on 429/503, capped at 1 h, else the schedule ±20 %).
//                          The endpoint is disabled (failing) once it has failed for
//                          disable_after_ms with at least disable_min_failures in a row.
Decision Decide(const AttemptResult& result, int attempts, const EndpointFacts& endpoint,
                const DecisionRules& rules, int64_t now_ms, Rng& rng);

}  // namespace hookd
