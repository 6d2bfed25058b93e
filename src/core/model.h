#pragma once
// Plain domain records shared by the store, the API and the dispatcher. No behaviour
// beyond small conversions; times are int64 milliseconds since the epoch (see clock.h).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"

namespace hookd {

struct Company {
  CompanyId id;
  std::string name;
  int64_t created_at_ms = 0;
  // Its own retention, shorter than the server's --retention; nullopt: the server's.
  std::optional<int64_t> retention_ms;
};

// Scopes a company token may carry. The operator token has every right.
enum Scope : unsigned { kScopeManage = 1, kScopePublish = 2 };

struct ApiToken {
  TokenId id;
  std::optional<CompanyId> company_id;  // nullopt: the operator token
  std::string hash;                     // HashToken(token); the token itself is never stored
  unsigned scopes = 0;                  // bit set of Scope
  std::string description;
  int64_t created_at_ms = 0;
  std::optional<int64_t> revoked_at_ms;

  bool IsOperator() const { return !company_id.has_value(); }
};
std::string ScopesToString(unsigned scopes);  // "manage,publish"

struct Event {
  EventId id;
  CompanyId company_id;
  std::string type;
  std::string subject;  // ordering key; empty when none
  std::optional<int64_t> occurred_at_ms;
  int64_t created_at_ms = 0;
  // The exact bytes POSTed to receivers (SPEC §3 body). Immutable once accepted — except by
  // an erasure of its subject (core/erasure.h), which empties it and the subject.
  std::string payload;
  bool erased = false;  // payload and subject erased: "" both
};

// kCanceled is final, like kSucceeded and kFailed: nothing is sent any more — its event's
// subject was erased (Delivery::canceled_reason "erased"), or its replay was canceled
// (core/replay.h).
enum class DeliveryStatus { kPending, kSucceeded, kFailed, kHeld, kCanceled };
std::string_view ToString(DeliveryStatus s);
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view s);

struct Delivery {
  DeliveryId id;
  CompanyId company_id;
  EventId event_id;
  EndpointId endpoint_id;
  DeliveryStatus status = DeliveryStatus::kPending;
  int attempts = 0;
  std::optional<int64_t> next_attempt_at_ms;  // set while pending
  std::optional<int64_t> last_attempt_at_ms;
  int64_t created_at_ms = 0;
  std::string canceled_reason;  // "erased" when canceled by an erasure; "" otherwise
  std::optional<ReplayId> replay_id;  // set when a replay made it (core/replay.h)
};

// A pending delivery as the dispatcher schedules it: what it needs to send and order it.
struct PendingDelivery {
  DeliveryId id;
  CompanyId company_id;
  EventId event_id;
  EndpointId endpoint_id;
  std::string subject;
  int attempts = 0;
  int64_t next_attempt_at_ms = 0;
  std::shared_ptr<const std::string> payload;  // null: load it from the store when due
  // Put back by POST …/retry: sent again even if the dispatcher has just finished it.
  bool retry_request = false;
  // Made by a replay (core/replay.h): it yields to the endpoint's live deliveries.
  bool replay = false;
};

struct Attempt {
  AttemptId id;
  DeliveryId delivery_id;
  int number = 0;
  int64_t started_at_ms = 0;
  int64_t duration_ms = 0;
  std::optional<int> status_code;
  std::optional<std::string> error;  // timeout, connect, dns, tls, blocked, http
  std::string response_headers;      // JSON object text
  // What hookd sent (JSON object text, core/sent_headers.h: custom header values redacted);
  // "{}" on attempts recorded before hookd kept them.
  std::string request_headers = "{}";
  std::string response_body;         // first 4 KiB of what the receiver sent (only that)
  std::string error_detail;          // hookd's words when there is an error: curl's message, the
                                     // SSRF guard's reason ("" without an error)
};

}  // namespace hookd
