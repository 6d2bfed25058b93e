#include "core/replay.h"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "core/clock.h"
#include "core/event_catalog.h"
#include "core/json_util.h"

namespace hookd {
namespace json = boost::json;

std::string_view ToString(ReplayStatus s) {
  switch (s) {
    case ReplayStatus::kRunning: return "running";
    case ReplayStatus::kCompleted: return "completed";
    case ReplayStatus::kCanceled: return "canceled";
  }
  return "running";
}

std::optional<ReplayStatus> ParseReplayStatus(std::string_view s) {
  if (s == "running") return ReplayStatus::kRunning;
  if (s == "completed") return ReplayStatus::kCompleted;
  if (s == "canceled") return ReplayStatus::kCanceled;
  return std::nullopt;
}

std::string ReplaySelectionToJson(const ReplaySelection& s) {
  json::array types;
  for (const auto& t : s.types) types.emplace_back(t);
  return ToJson(json::object{{"types", std::move(types)}, {"filter", s.filter}});
}

ReplaySelection ReplaySelectionFromJson(std::string_view text) {
  ReplaySelection s;
  auto v = ParseJson(text);
  if (!v || !v->is_object()) return s;
  const json::object& o = v->get_object();
  if (auto* t = o.if_contains("types"); t && t->is_array())
    for (const auto& e : t->get_array())
      if (e.is_string()) s.types.emplace_back(e.get_string());
  if (auto* f = o.if_contains("filter")) s.filter = *f;
  return s;
}

namespace {

constexpr std::string_view kTestType = "webhook.test";

std::optional<int64_t> TimeField(const json::object& o, std::string_view name, std::vector<FieldError>& errs) {
  const json::value* v = o.if_contains(name);
  std::optional<int64_t> t;
  if (!v || !v->is_string() || !(t = ParseTime(v->get_string()))) {
    errs.push_back({"/" + std::string(name),
                    fmt::format("{} an RFC 3339 date-time, e.g. 2026-11-25T00:00:00Z",
                                v ? "must be" : "is required:")});
    return std::nullopt;
  }
  return t;
}

}  // namespace

Result<Replay> PlanReplay(const json::value& body, const Endpoint& ep, const ReplayRules& rules) {
  if (!body.is_object()) return InvalidField("", "the body must be a JSON object {since, until, event_types?}");
  const json::object& o = body.get_object();
  std::vector<FieldError> errs;
  for (const auto& [k, _] : o)
    if (k != "since" && k != "until" && k != "event_types")
      errs.push_back({"/" + EscapePointerToken(k), "unknown field (expected since, until, event_types)"});

  std::optional<int64_t> since = TimeField(o, "since", errs);
  std::optional<int64_t> until = TimeField(o, "until", errs);
  if (until && *until > rules.now_ms) until = rules.now_ms;  // nothing newer exists yet
  if (since && until) {
    if (*since >= rules.now_ms) errs.push_back({"/since", "must be in the past"});
    else if (*since >= *until) errs.push_back({"/until", "must be later than since"});
    else if (*until - *since > kMaxReplayWindowMs)
      errs.push_back({"/until", "the window may span at most 90 days: replay a longer time in several parts"});
    if (rules.retention_ms > 0 && *since < rules.now_ms - rules.retention_ms)
      errs.push_back({"/since", fmt::format("must be within the retention ({}): older events are deleted",
                                            FormatDurationMs(rules.retention_ms))});
  }

  // Every known type the endpoint gets, narrowed by the selectors asked for.
  std::optional<std::vector<std::string>> asked;
  if (const json::value* v = o.if_contains("event_types"); v && !v->is_null()) {
    if (!v->is_array() || v->get_array().empty()) {
      errs.push_back({"/event_types", "must be a non-empty array of event types (leave it out for all of the endpoint's)"});
    } else {
      asked.emplace();
      const auto catalog = rules.catalog->List();
      const auto& arr = v->get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        const std::string ptr = "/event_types/" + std::to_string(i);
        if (!arr[i].is_string()) {
          errs.push_back({ptr, "must be a string: an event type, a family wildcard (employee.*) or *"});
          continue;
        }
        const std::string_view sel = arr[i].get_string();
        if (std::string why = CheckEventTypeSelector(sel, *rules.catalog); !why.empty()) {
          errs.push_back({ptr, why});
          continue;
        }
        const bool subscribed = std::any_of(catalog.begin(), catalog.end(), [&](const auto& e) {
          return e->def.name != kTestType && SelectorMatches(sel, e->def.name) && ep.Wants(e->def.name);
        });
        if (!subscribed) {
          errs.push_back({ptr, fmt::format("the endpoint is not subscribed to '{}'", sel)});
          continue;
        }
        if (std::find(asked->begin(), asked->end(), sel) == asked->end()) asked->emplace_back(sel);
      }
    }
  }
  if (!errs.empty()) {
    std::string msg = errs.size() == 1 ? fmt::format("{}: {}", errs[0].pointer, errs[0].message)
                                       : fmt::format("{} problems in the replay request", errs.size());
    return MakeError(ErrorCode::kInvalidArgument, std::move(msg), std::move(errs));
  }

  Replay r;
  r.id = ReplayId::New();
  r.company_id = ep.company_id;
  r.endpoint_id = ep.id;
  r.since_ms = *since;
  r.until_ms = *until;
  r.event_types = asked;
  for (const auto& e : rules.catalog->List()) {
    const std::string& name = e->def.name;
    if (name == kTestType || !ep.Wants(name)) continue;
    if (asked && std::none_of(asked->begin(), asked->end(), [&](const std::string& s) { return SelectorMatches(s, name); }))
      continue;
    r.selection.types.push_back(name);
  }
  std::sort(r.selection.types.begin(), r.selection.types.end());
  r.selection.filter = ep.filter;
  r.created_at_ms = rules.now_ms;
  return r;
}

Result<ReplayMatcher> ReplayMatcher::Make(const ReplaySelection& s) {
  ReplayMatcher m;
  m.types_.insert(s.types.begin(), s.types.end());
  if (!s.filter.is_null()) {
    auto f = Filter::Compile(s.filter);
    if (!f) return Unexpected(f.error());
    m.filter_ = std::move(*f);
  }
  return m;
}

bool ReplayMatcher::Matches(const Event& e) const {
  if (!types_.contains(e.type)) return false;
  if (!filter_) return true;
  auto payload = ParseJson(e.payload);
  return payload && filter_->Matches(*payload);
}

}  // namespace hookd
