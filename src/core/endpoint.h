#pragma once
// An endpoint: a company's destination URL, the event types it wants and how to deliver.
// This file holds the record, its JSON form and the validation of create/update input;
// storage is in store/, delivery in dispatch/.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/error.h"
#include "core/ids.h"

namespace hookd {

class EventCatalog;
class Filter;

enum class SignatureScheme { kStandard, kGithub };
enum class Ordering { kNone, kSubject };
enum class EndpointStatus { kEnabled, kDisabled };
enum class DisabledReason { kNone, kManual, kGone, kFailing };
enum class EndpointKind { kEndpoint, kRestHook };

struct Endpoint {
  EndpointId id;
  CompanyId company_id;
  std::string url;
  std::string description;
  std::vector<std::string> event_types;  // exact types, "family.*" or "*"
  boost::json::value filter;             // null when none; else a valid filter (core/filter.h)
  // null when none: the event as hookd delivers it; else a valid template
  // (core/payload_template.h) — the receiver gets it rendered instead.
  boost::json::value payload_template;
  SignatureScheme signature_scheme = SignatureScheme::kStandard;
  std::vector<std::pair<std::string, std::string>> headers;  // custom, lower-case names
  Ordering ordering = Ordering::kNone;
  int max_concurrency = 10;
  std::optional<int> rate_limit_per_second;
  int timeout_ms = 15000;
  EndpointStatus status = EndpointStatus::kEnabled;
  DisabledReason disabled_reason = DisabledReason::kNone;
  EndpointKind kind = EndpointKind::kEndpoint;
  std::string secret;  // current "whsec_…"; never logged, never in EndpointToJson
  std::string previous_secret;            // still signs until previous_secret_expires_at_ms
  int64_t previous_secret_expires_at_ms = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  // Counts the changes of what an admin edits (configuration, secrets), from 1: the ETag.
  int64_t version = 1;
  // Health, kept by the dispatcher: failed attempts in a row, and since when (0: none).
  int consecutive_failures = 0;
  int64_t failing_since_ms = 0;

  bool Enabled() const { return status == EndpointStatus::kEnabled; }
  // True when one of event_types selects `type`.
  bool Wants(std::string_view type) const;
};

// When an endpoint that keeps failing is disabled (SPEC §5.6): no success for `after_ms`
// (--disable-after) and at least `min_failures` failed attempts in a row.
struct AutoDisableRule {
  int64_t after_ms = 5LL * 86400 * 1000;
  int min_failures = 10;
};

// The API form (SPEC §4 endpoint object), without any secret, with its `health`:
// {consecutive_failures, failing_since, auto_disable_at, auto_disable_min_failures}.
// `auto_disable_at` is failing_since + rule.after_ms while the endpoint is enabled and
// failing (null otherwise): the earliest time `rule` can disable it if it keeps failing.
boost::json::object EndpointToJson(const Endpoint& ep, const AutoDisableRule& rule);

// The delivery configuration (everything the client may set), as stored.
boost::json::object EndpointConfigToJson(const Endpoint& ep);
// Reads what EndpointConfigToJson wrote (trusted, from the store).
void EndpointConfigFromJson(const boost::json::object& config, Endpoint& ep);

std::string_view ToString(EndpointStatus s);
std::string_view ToString(DisabledReason r);  // kNone -> ""
std::optional<DisabledReason> ParseDisabledReason(std::string_view s);
std::string_view ToString(EndpointKind k);
std::optional<EndpointKind> ParseEndpointKind(std::string_view s);

// What an endpoint's input is checked against.
struct EndpointRules {
  const EventCatalog* catalog = nullptr;
  bool allow_http = false;
  // Optional extra check of the URL's destination (SSRF guard); returns a message on refusal.
  std::function<std::optional<std::string>(std::string_view url)> check_destination;
  // Optional check of a valid filter against the company's budget (EndpointIndex); returns a
  // message on refusal.
  std::function<std::optional<std::string>(const Filter& filter)> check_filter_budget;
};

// Applies a create (`creating` = true: url and event_types required) or PATCH body to `ep`.
// On error `ep` may be partly changed (callers apply to a copy) and the error lists every
// bad field with a pointer into the body ("/url", "/event_types/2", "/filter/...").
Result<void> ApplyEndpointInput(const boost::json::value& body, bool creating,
                                const EndpointRules& rules, Endpoint& ep);

// Validates one event-type selector against the catalog: "" when fine, else why not.
std::string CheckEventTypeSelector(std::string_view selector, const EventCatalog& catalog);
bool SelectorMatches(std::string_view selector, std::string_view type);

}  // namespace hookd
