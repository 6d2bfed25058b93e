#pragma once
// Replay of a time range (issue 14): `POST …/endpoints/{eid}/replay {since, until,
// event_types?}` sends again, to that one endpoint, every event of its company created in
// [since, until) that the endpoint would get now — one of its event types (narrowed by
// `event_types` when given), passing its filter — succeeded ones included (the receiver lost
// its data). Each goes as a new delivery of the same event: the same webhook-id (the event
// id), the same body, signed afresh. The endpoint's configuration counts as it is when the
// replay is created (the selection is fixed then, and `total` counted).
//
// Who does what: this file holds the record and the pure rules — what a request may ask
// (PlanReplay) and which events a replay sends (ReplayMatcher). The store keeps replays and
// their progress (store.h, ReplayStore); the runner (replay/replay_runner.h) turns a running
// replay into deliveries a small window at a time; the dispatcher sends those only when the
// endpoint's live deliveries leave room (dispatch/dispatcher.h).
//
// A replay is `running` until every event is turned into a delivery and every delivery is
// finished (succeeded or failed), then `completed`; `canceled` when asked to (its deliveries not
// sent yet become canceled) or when its endpoint is deleted.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <boost/json/value.hpp>

#include "core/endpoint.h"
#include "core/error.h"
#include "core/filter.h"
#include "core/ids.h"
#include "core/model.h"

namespace hookd {

class EventCatalog;

enum class ReplayStatus { kRunning, kCompleted, kCanceled };
std::string_view ToString(ReplayStatus s);
std::optional<ReplayStatus> ParseReplayStatus(std::string_view s);

// Which events a replay sends, fixed when it is created.
struct ReplaySelection {
  std::vector<std::string> types;  // concrete event type names, sorted (never webhook.test)
  boost::json::value filter;       // the endpoint's filter then; null: none
};
// Its stored form: {"types":[…],"filter":…}. FromJson reads what ToJson wrote (trusted).
std::string ReplaySelectionToJson(const ReplaySelection& s);
ReplaySelection ReplaySelectionFromJson(std::string_view text);

struct Replay {
  ReplayId id;
  CompanyId company_id;
  EndpointId endpoint_id;
  ReplayStatus status = ReplayStatus::kRunning;
  int64_t since_ms = 0;  // events created in [since, until)
  int64_t until_ms = 0;
  // As asked (selectors: exact types, "family.*", "*"); nullopt: all of the endpoint's.
  std::optional<std::vector<std::string>> event_types;
  ReplaySelection selection;
  int64_t total = 0;    // events selected when it was created
  int64_t created = 0;  // deliveries made so far
  // Progress of the runner: the last event id examined ("" none yet), and whether the window
  // has been walked to its end (every delivery made).
  std::string cursor;
  bool scan_done = false;
  int64_t created_at_ms = 0;
  std::optional<int64_t> finished_at_ms;  // once completed or canceled
};

// A replay's deliveries by status (what GET …/replays/{rid} reports).
struct ReplayProgress {
  int64_t pending = 0;  // held ones included (the endpoint is disabled)
  int64_t succeeded = 0;
  int64_t failed = 0;
  int64_t canceled = 0;
};

// The longest window one replay may span.
inline constexpr int64_t kMaxReplayWindowMs = 90LL * 86400 * 1000;

struct ReplayRules {
  const EventCatalog* catalog = nullptr;
  int64_t now_ms = 0;
  // Events older than this are deleted (the company's own, else the server's --retention):
  // `since` may not be earlier than now - retention_ms. 0: no limit.
  int64_t retention_ms = 0;
};

// Checks a POST …/replay body ({since, until, event_types?}; nothing else) against `ep` and
// `rules`, and returns the replay it asks for (id, company, endpoint, window, selection and
// created_at set; not counted). `until` later than now is taken as now. Errors are
// kInvalidArgument with a pointer per bad field: "/since", "/until" (missing, not RFC 3339,
// not after since, a window over 90 days), "/since" before the retention, "/event_types/<i>"
// (unknown, or a type the endpoint does not subscribe to), "/<name>" for an unknown field.
Result<Replay> PlanReplay(const boost::json::value& body, const Endpoint& ep, const ReplayRules& rules);

// Decides whether an event is one a replay sends (its type selected, its payload passing the
// filter). Immutable; Matches is thread-safe.
class ReplayMatcher {
 public:
  // kInvalidArgument when the stored filter no longer compiles.
  static Result<ReplayMatcher> Make(const ReplaySelection& s);
  bool Matches(const Event& e) const;
  bool HasFilter() const { return filter_.has_value(); }

 private:
  std::unordered_set<std::string> types_;
  std::optional<Filter> filter_;
};

}  // namespace hookd
