#include "core/delivery_decision.h"

namespace hookd {

std::optional<AttemptError> ErrorForStatus(int status) {
  if (ClassifyHttpStatus(status) == AttemptOutcome::kSucceeded) return std::nullopt;
  return AttemptError::kHttp;
}

Decision Decide(const AttemptResult& result, int attempts, const EndpointFacts& endpoint,
                const DecisionRules& rules, int64_t now_ms, Rng& rng) {
  Decision d;
  d.consecutive_failures = endpoint.consecutive_failures;
  d.failing_since_ms = endpoint.failing_since_ms;

  if (!result.error) {
    d.next = Decision::Next::kSucceeded;
    if (endpoint.exists && (d.consecutive_failures != 0 || d.failing_since_ms != 0)) {
      d.consecutive_failures = 0;
      d.failing_since_ms = 0;
      d.health_changed = true;
    }
    return d;
  }

  if (result.status_code > 0 && ClassifyHttpStatus(result.status_code) == AttemptOutcome::kGone) {
    d.next = Decision::Next::kFailed;
    if (endpoint.exists && endpoint.kind == EndpointKind::kRestHook)
      d.endpoint = Decision::EndpointAction::kDeleteHook;
    else if (endpoint.exists && endpoint.enabled)
      d.endpoint = Decision::EndpointAction::kDisableGone;
    return d;
  }

  if (endpoint.exists) {
    ++d.consecutive_failures;
    if (d.failing_since_ms == 0) d.failing_since_ms = now_ms;
    d.health_changed = true;
  }
  std::optional<int64_t> retry_after;
  if (HonoursRetryAfter(result.status_code) && !result.retry_after.empty())
    retry_after = ParseRetryAfter(result.retry_after, now_ms);
  const std::optional<int64_t> delay = rules.retry->NextDelayMs(attempts, retry_after, rng);
  if (!delay || !endpoint.exists) {
    d.next = Decision::Next::kFailed;
  } else if (!endpoint.enabled) {
    d.next = Decision::Next::kHeld;
  } else {
    d.next = Decision::Next::kRetry;
    d.retry_at_ms = now_ms + *delay;
  }
  if (endpoint.exists && endpoint.enabled && d.consecutive_failures >= rules.disable_min_failures &&
      now_ms - d.failing_since_ms >= rules.disable_after_ms)
    d.endpoint = Decision::EndpointAction::kDisableFailing;
  return d;
}

}  // namespace hookd
