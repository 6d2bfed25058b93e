#include "core/delivery_wait.h"

#include "core/clock.h"

namespace hookd {

std::string_view ToString(WaitReason r) {
  switch (r) {
    case WaitReason::kBehindEarlierDelivery: return "behind_earlier_delivery";
    case WaitReason::kRetryBackoff: return "retry_backoff";
    case WaitReason::kScheduled: return "scheduled";
    case WaitReason::kEndpointDisabled: return "endpoint_disabled";
    case WaitReason::kHeld: return "held";
    case WaitReason::kRateLimited: return "rate_limited";
    case WaitReason::kConcurrencyLimit: return "concurrency_limit";
    case WaitReason::kSending: return "sending";
    case WaitReason::kDue: return "due";
  }
  return "due";
}

namespace {

DeliveryWait Reason(WaitReason r) {
  DeliveryWait w;
  w.reason = r;
  return w;
}

DeliveryWait DueLater(const Delivery& d, int64_t at_ms) {
  DeliveryWait w = Reason(d.attempts > 0 ? WaitReason::kRetryBackoff : WaitReason::kScheduled);
  w.next_attempt_at_ms = at_ms;
  return w;
}

DeliveryWait Behind(DeliveryId blocked_by, std::string subject, int64_t ahead, const OrderingBlocker* blocker) {
  DeliveryWait w = Reason(WaitReason::kBehindEarlierDelivery);
  w.blocked_by = std::move(blocked_by);
  w.subject = std::move(subject);
  w.ahead = ahead;
  if (blocker && blocker->blocked_by == w.blocked_by)
    w.blocked_by_next_attempt_at_ms = blocker->blocked_by_next_attempt_at_ms;
  return w;
}

}  // namespace

std::optional<DeliveryWait> DescribeWait(const Delivery& d, const Endpoint* endpoint, const OrderingBlocker* blocker,
                                         const LiveDeliveryState* live, int64_t now_ms) {
  if (d.status != DeliveryStatus::kPending && d.status != DeliveryStatus::kHeld) return std::nullopt;
  const bool disabled = endpoint && !endpoint->Enabled();
  if (d.status == DeliveryStatus::kHeld || disabled) {
    if (!disabled) return Reason(WaitReason::kHeld);
    DeliveryWait w = Reason(WaitReason::kEndpointDisabled);
    w.disabled_reason = endpoint->disabled_reason;
    return w;
  }
  if (live && live->state != LiveDeliveryState::State::kUnknown) {
    switch (live->state) {
      case LiveDeliveryState::State::kInFlight:
        return Reason(WaitReason::kSending);
      case LiveDeliveryState::State::kBlocked:
        return Behind(live->blocked_by, live->subject, live->ahead, blocker);
      case LiveDeliveryState::State::kWaiting:
        if (live->due_ms > now_ms) return DueLater(d, live->due_ms);
        return Reason(WaitReason::kDue);  // its timer fires at the dispatcher's next turn
      case LiveDeliveryState::State::kReady: {
        DeliveryWait w;
        switch (live->ready) {
          case LiveDeliveryState::Ready::kConcurrency:
            w = Reason(WaitReason::kConcurrencyLimit);
            if (endpoint) w.limit = endpoint->max_concurrency;
            return w;
          case LiveDeliveryState::Ready::kRateLimit:
            w = Reason(WaitReason::kRateLimited);
            if (endpoint) w.limit = endpoint->rate_limit_per_second.value_or(0);
            return w;
          case LiveDeliveryState::Ready::kQueued:
            return Reason(WaitReason::kDue);
        }
        return Reason(WaitReason::kDue);
      }
      case LiveDeliveryState::State::kUnknown:
        break;
    }
  }
  if (blocker) return Behind(blocker->blocked_by, blocker->subject, blocker->ahead, blocker);
  if (d.next_attempt_at_ms && *d.next_attempt_at_ms > now_ms) return DueLater(d, *d.next_attempt_at_ms);
  return Reason(WaitReason::kDue);
}

boost::json::object DeliveryWaitToJson(const DeliveryWait& w) {
  boost::json::object o;
  o["reason"] = ToString(w.reason);
  switch (w.reason) {
    case WaitReason::kBehindEarlierDelivery:
      o["blocked_by"] = w.blocked_by.str();
      o["subject"] = w.subject;
      if (w.ahead > 0) o["ahead"] = w.ahead;
      else o["ahead"] = nullptr;
      if (w.blocked_by_next_attempt_at_ms) o["blocked_by_next_attempt_at"] = FormatTime(*w.blocked_by_next_attempt_at_ms);
      else o["blocked_by_next_attempt_at"] = nullptr;
      break;
    case WaitReason::kRetryBackoff:
    case WaitReason::kScheduled:
      o["next_attempt_at"] = FormatTime(w.next_attempt_at_ms);
      break;
    case WaitReason::kEndpointDisabled:
      o["disabled_reason"] = w.disabled_reason == DisabledReason::kNone
                                 ? boost::json::value(nullptr)
                                 : boost::json::value(ToString(w.disabled_reason));
      break;
    case WaitReason::kRateLimited:
      o["rate_limit_per_second"] = w.limit;
      break;
    case WaitReason::kConcurrencyLimit:
      o["max_concurrency"] = w.limit;
      break;
    case WaitReason::kHeld:
    case WaitReason::kSending:
    case WaitReason::kDue:
      break;
  }
  return o;
}

}  // namespace hookd
