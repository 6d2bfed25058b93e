#include "core/model.h"

namespace hookd {

std::string ScopesToString(unsigned scopes) {
  std::string out;
  if (scopes & kScopeManage) out = "manage";
  if (scopes & kScopePublish) out += out.empty() ? "publish" : ",publish";
  return out;
}

std::string_view ToString(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kPending: return "pending";
    case DeliveryStatus::kSucceeded: return "succeeded";
    case DeliveryStatus::kFailed: return "failed";
    case DeliveryStatus::kHeld: return "held";
    case DeliveryStatus::kCanceled: return "canceled";
  }
  return "pending";
}

std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view s) {
  if (s == "pending") return DeliveryStatus::kPending;
  if (s == "succeeded") return DeliveryStatus::kSucceeded;
  if (s == "failed") return DeliveryStatus::kFailed;
  if (s == "held") return DeliveryStatus::kHeld;
  if (s == "canceled") return DeliveryStatus::kCanceled;
  return std::nullopt;
}

}  // namespace hookd
