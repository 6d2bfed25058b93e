#include "core/endpoint.h"

#include <algorithm>
#include <array>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include "core/clock.h"
#include "core/event_catalog.h"
#include "core/filter.h"
#include "core/payload_template.h"
#include "core/json_util.h"

namespace hookd {
namespace json = boost::json;

namespace {

constexpr size_t kMaxUrl = 2048;
constexpr size_t kMaxDescription = 1024;
constexpr size_t kMaxHeaders = 20;
constexpr size_t kMaxEventTypes = 100;

// Headers hookd sets itself; custom headers cannot override them.
constexpr std::array<std::string_view, 11> kReservedHeaders = {
    "content-type", "content-length", "user-agent", "host", "webhook-id",
    "webhook-timestamp", "webhook-signature", "x-hub-signature-256", "connection",
    "transfer-encoding", "expect"};

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 9110 field-value: visible characters, spaces and tabs (obs-text bytes allowed, as
// UTF-8); no control characters, which would split or end the header in transit.
bool IsFieldValue(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7F;
  });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void CheckUrl(const json::value& v, const EndpointRules& rules, std::vector<FieldError>& errs,
              std::string& out) {
  if (!v.is_string()) {
    errs.push_back({"/url", "must be a string"});
    return;
  }
  std::string_view url = v.get_string();
  if (url.size() > kMaxUrl) {
    errs.push_back({"/url", fmt::format("must be at most {} characters", kMaxUrl)});
    return;
  }
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    errs.push_back({"/url", "must be an absolute http(s) URL"});
    return;
  }
  std::string scheme = Lower(parsed->scheme());
  if (scheme != "https" && scheme != "http") {
    errs.push_back({"/url", "scheme must be https (or http when the server allows it)"});
    return;
  }
  if (scheme == "http" && !rules.allow_http) {
    errs.push_back({"/url", "must use https (this server was not started with --allow-http)"});
    return;
  }
  if (parsed->encoded_host().empty()) {
    errs.push_back({"/url", "must name a host"});
    return;
  }
  if (parsed->has_userinfo()) {
    errs.push_back({"/url", "must not contain credentials; use custom headers instead"});
    return;
  }
  if (parsed->has_fragment()) {
    errs.push_back({"/url", "must not contain a fragment"});
    return;
  }
  // After an authority the path is empty or starts with '/' (RFC 3986 path-abempty). Boost.URL
  // 1.81 reads "http://[2::]:@127.0.0.1/" as host [2::], an empty port and the path
  // "@127.0.0.1/", where libcurl sees credentials and connects to 127.0.0.1.
  if (!parsed->encoded_path().empty() && !parsed->encoded_path().starts_with('/')) {
    errs.push_back({"/url", "must be an absolute http(s) URL (its path must start with '/')"});
    return;
  }
  if (rules.check_destination) {
    if (auto why = rules.check_destination(url)) {
      errs.push_back({"/url", *why});
      return;
    }
  }
  out = std::string(url);
}

template <class T>
std::optional<T> IntIn(const json::value& v, int64_t lo, int64_t hi) {
  if (v.is_int64() && v.get_int64() >= lo && v.get_int64() <= hi)
    return static_cast<T>(v.get_int64());
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(hi) &&
      static_cast<int64_t>(v.get_uint64()) >= lo)
    return static_cast<T>(v.get_uint64());
  return std::nullopt;
}

}  // namespace

bool SelectorMatches(std::string_view selector, std::string_view type) {
  if (selector == "*") return type != "webhook.test";
  if (selector.size() >= 2 && selector.ends_with(".*"))
    return type.size() > selector.size() - 1 &&
           type.substr(0, selector.size() - 1) == selector.substr(0, selector.size() - 1);
  return selector == type;
}

bool Endpoint::Wants(std::string_view type) const {
  return std::any_of(event_types.begin(), event_types.end(),
                     [&](const std::string& s) { return SelectorMatches(s, type); });
}

std::string CheckEventTypeSelector(std::string_view selector, const EventCatalog& catalog) {
  if (selector == "*") return "";
  if (selector.ends_with(".*")) {
    std::string_view family = selector.substr(0, selector.size() - 2);
    if (family.empty() || family.find('.') != std::string_view::npos)
      return fmt::format("'{}' is not a valid family wildcard (use e.g. 'employee.*')", selector);
    if (!catalog.HasFamily(family)) return fmt::format("unknown event family '{}'", family);
    return "";
  }
  if (!catalog.Find(selector)) return fmt::format("unknown event type '{}'", selector);
  return "";
}

std::string_view ToString(EndpointStatus s) {
  return s == EndpointStatus::kEnabled ? "enabled" : "disabled";
}

std::string_view ToString(DisabledReason r) {
  switch (r) {
    case DisabledReason::kNone: return "";
    case DisabledReason::kManual: return "manual";
    case DisabledReason::kGone: return "gone";
    case DisabledReason::kFailing: return "failing";
  }
  return "";
}

std::optional<DisabledReason> ParseDisabledReason(std::string_view s) {
  if (s.empty()) return DisabledReason::kNone;
  if (s == "manual") return DisabledReason::kManual;
  if (s == "gone") return DisabledReason::kGone;
  if (s == "failing") return DisabledReason::kFailing;
  return std::nullopt;
}

std::string_view ToString(EndpointKind k) {
  return k == EndpointKind::kEndpoint ? "endpoint" : "rest_hook";
}

std::optional<EndpointKind> ParseEndpointKind(std::string_view s) {
  if (s == "endpoint") return EndpointKind::kEndpoint;
  if (s == "rest_hook") return EndpointKind::kRestHook;
  return std::nullopt;
}

json::object EndpointConfigToJson(const Endpoint& ep) {
  json::object o;
  o["url"] = ep.url;
  o["description"] = ep.description;
  json::array types;
  for (const auto& t : ep.event_types) types.emplace_back(t);
  o["event_types"] = std::move(types);
  o["filter"] = ep.filter;
  o["template"] = ep.payload_template;
  o["signature_scheme"] = ep.signature_scheme == SignatureScheme::kGithub ? "github" : "standard";
  json::object headers;
  for (const auto& [k, v] : ep.headers) headers[k] = v;
  o["headers"] = std::move(headers);
  o["ordering"] = ep.ordering == Ordering::kSubject ? "subject" : "none";
  o["max_concurrency"] = ep.max_concurrency;
  if (ep.rate_limit_per_second) o["rate_limit_per_second"] = *ep.rate_limit_per_second;
  else o["rate_limit_per_second"] = nullptr;
  o["timeout_ms"] = ep.timeout_ms;
  return o;
}

void EndpointConfigFromJson(const json::object& c, Endpoint& ep) {
  auto str = [&](std::string_view k) -> std::string {
    auto* v = c.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  ep.url = str("url");
  ep.description = str("description");
  ep.event_types.clear();
  if (auto* v = c.if_contains("event_types"); v && v->is_array())
    for (const auto& t : v->get_array())
      if (t.is_string()) ep.event_types.emplace_back(t.get_string());
  if (auto* v = c.if_contains("filter")) ep.filter = *v;
  ep.payload_template = nullptr;
  if (auto* v = c.if_contains("template")) ep.payload_template = *v;
  ep.signature_scheme = str("signature_scheme") == "github" ? SignatureScheme::kGithub
                                                            : SignatureScheme::kStandard;
  ep.headers.clear();
  if (auto* v = c.if_contains("headers"); v && v->is_object())
    for (const auto& [k, hv] : v->get_object())
      if (hv.is_string()) ep.headers.emplace_back(std::string(k), std::string(hv.get_string()));
  ep.ordering = str("ordering") == "subject" ? Ordering::kSubject : Ordering::kNone;
  if (auto* v = c.if_contains("max_concurrency"); v && v->is_int64())
    ep.max_concurrency = static_cast<int>(v->get_int64());
  ep.rate_limit_per_second.reset();
  if (auto* v = c.if_contains("rate_limit_per_second"); v && v->is_int64())
    ep.rate_limit_per_second = static_cast<int>(v->get_int64());
  if (auto* v = c.if_contains("timeout_ms"); v && v->is_int64())
    ep.timeout_ms = static_cast<int>(v->get_int64());
}

json::object EndpointToJson(const Endpoint& ep, const AutoDisableRule& rule) {
  json::object o;
  o["id"] = ep.id.str();
  json::object cfg = EndpointConfigToJson(ep);
  for (auto& [k, v] : cfg) o[k] = std::move(v);
  o["status"] = ToString(ep.status);
  if (ep.disabled_reason == DisabledReason::kNone) o["disabled_reason"] = nullptr;
  else o["disabled_reason"] = ToString(ep.disabled_reason);
  o["kind"] = ToString(ep.kind);
  o["created_at"] = FormatTime(ep.created_at_ms);
  o["updated_at"] = FormatTime(ep.updated_at_ms);
  const bool failing = ep.consecutive_failures > 0 && ep.failing_since_ms > 0;
  json::object health;
  health["consecutive_failures"] = ep.consecutive_failures;
  if (failing) health["failing_since"] = FormatTime(ep.failing_since_ms);
  else health["failing_since"] = nullptr;
  if (failing && ep.Enabled()) health["auto_disable_at"] = FormatTime(ep.failing_since_ms + rule.after_ms);
  else health["auto_disable_at"] = nullptr;
  health["auto_disable_min_failures"] = rule.min_failures;
  o["health"] = std::move(health);
  return o;
}

Result<void> ApplyEndpointInput(const json::value& body, bool creating, const EndpointRules& rules,
                                Endpoint& ep) {
  if (!body.is_object()) return InvalidField("", "the body must be a JSON object");
  const json::object& o = body.get_object();
  std::vector<FieldError> errs;

  static constexpr std::array<std::string_view, 11> kKnown = {
      "url", "description", "event_types", "filter", "template", "signature_scheme", "headers",
      "ordering", "max_concurrency", "rate_limit_per_second", "timeout_ms"};
  for (const auto& [k, _] : o) {
    if (std::find(kKnown.begin(), kKnown.end(), std::string_view(k)) == kKnown.end())
      errs.push_back({"/" + EscapePointerToken(k), "unknown field"});
  }

  if (auto* v = o.if_contains("url")) CheckUrl(*v, rules, errs, ep.url);
  else if (creating) errs.push_back({"/url", "is required"});

  if (auto* v = o.if_contains("description")) {
    if (!v->is_string()) errs.push_back({"/description", "must be a string"});
    else if (v->get_string().size() > kMaxDescription)
      errs.push_back({"/description", fmt::format("must be at most {} characters", kMaxDescription)});
    else ep.description = std::string(v->get_string());
  }

  if (auto* v = o.if_contains("event_types")) {
    if (!v->is_array() || v->get_array().empty()) {
      errs.push_back({"/event_types", "must be a non-empty array of event types"});
    } else if (v->get_array().size() > kMaxEventTypes) {
      errs.push_back({"/event_types", fmt::format("at most {} entries", kMaxEventTypes)});
    } else {
      std::vector<std::string> types;
      const auto& arr = v->get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        std::string ptr = fmt::format("/event_types/{}", i);
        if (!arr[i].is_string()) {
          errs.push_back({ptr, "must be a string"});
          continue;
        }
        std::string_view sel = arr[i].get_string();
        if (std::string why = CheckEventTypeSelector(sel, *rules.catalog); !why.empty()) {
          errs.push_back({ptr, why});
          continue;
        }
        if (std::find(types.begin(), types.end(), sel) == types.end()) types.emplace_back(sel);
      }
      ep.event_types = std::move(types);
    }
  } else if (creating) {
    errs.push_back({"/event_types", "is required (e.g. [\"employee.*\"] or [\"*\"])"});
  }

  if (auto* v = o.if_contains("filter")) {
    if (v->is_null()) {
      ep.filter = nullptr;
    } else if (!v->is_object()) {
      errs.push_back({"/filter", "must be an object or null"});
    } else if (auto f = Filter::Compile(*v); !f) {
      if (f.error().fields.empty()) errs.push_back({"/filter", f.error().message});
      for (const auto& fe : f.error().fields) errs.push_back({"/filter" + fe.pointer, fe.message});
    } else if (auto why = rules.check_filter_budget ? rules.check_filter_budget(*f) : std::nullopt) {
      errs.push_back({"/filter", *why});
    } else {
      ep.filter = *v;
    }
  }

  if (auto* v = o.if_contains("template")) {
    if (v->is_null()) {
      ep.payload_template = nullptr;
    } else if (!v->is_object() && !v->is_array()) {
      errs.push_back({"/template", "must be a JSON object or array (the body the receiver gets), or null"});
    } else if (auto t = PayloadTemplate::Compile(*v); !t) {
      for (const auto& fe : t.error().fields) errs.push_back({"/template" + fe.pointer, fe.message});
    } else {
      ep.payload_template = *v;
    }
  }

  if (auto* v = o.if_contains("signature_scheme")) {
    if (v->is_string() && v->get_string() == "standard") ep.signature_scheme = SignatureScheme::kStandard;
    else if (v->is_string() && v->get_string() == "github") ep.signature_scheme = SignatureScheme::kGithub;
    else errs.push_back({"/signature_scheme", "must be \"standard\" or \"github\""});
  }

  if (auto* v = o.if_contains("headers")) {
    if (v->is_null()) {
      ep.headers.clear();
    } else if (!v->is_object()) {
      errs.push_back({"/headers", "must be an object of header names to string values"});
    } else if (v->get_object().size() > kMaxHeaders) {
      errs.push_back({"/headers", fmt::format("at most {} headers", kMaxHeaders)});
    } else {
      std::vector<std::pair<std::string, std::string>> headers;
      for (const auto& [k, hv] : v->get_object()) {
        std::string ptr = "/headers/" + EscapePointerToken(k);
        std::string name = Lower(k);
        if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
          errs.push_back({ptr, "is not a valid header name"});
        } else if (std::find(kReservedHeaders.begin(), kReservedHeaders.end(), name) !=
                       kReservedHeaders.end() ||
                   name.starts_with("webhook-")) {
          errs.push_back({ptr, "is set by hookd and cannot be overridden"});
        } else if (!hv.is_string()) {
          errs.push_back({ptr, "must be a string"});
        } else if (hv.get_string().size() > 4096) {
          errs.push_back({ptr, "must be at most 4096 characters"});
        } else if (!IsFieldValue(hv.get_string())) {
          errs.push_back({ptr, "must not contain control characters (line breaks, NUL, ...); tabs are allowed"});
        } else {
          headers.emplace_back(name, std::string(hv.get_string()));
        }
      }
      ep.headers = std::move(headers);
    }
  }

  if (auto* v = o.if_contains("ordering")) {
    if (v->is_string() && v->get_string() == "none") ep.ordering = Ordering::kNone;
    else if (v->is_string() && v->get_string() == "subject") ep.ordering = Ordering::kSubject;
    else errs.push_back({"/ordering", "must be \"none\" or \"subject\""});
  }

  if (auto* v = o.if_contains("max_concurrency")) {
    if (auto n = IntIn<int>(*v, 1, 1000)) ep.max_concurrency = *n;
    else errs.push_back({"/max_concurrency", "must be an integer from 1 to 1000"});
  }

  if (auto* v = o.if_contains("rate_limit_per_second")) {
    if (v->is_null()) ep.rate_limit_per_second.reset();
    else if (auto n = IntIn<int>(*v, 1, 100000)) ep.rate_limit_per_second = *n;
    else errs.push_back({"/rate_limit_per_second", "must be null or an integer from 1 to 100000"});
  }

  if (auto* v = o.if_contains("timeout_ms")) {
    if (auto n = IntIn<int>(*v, 100, 60000)) ep.timeout_ms = *n;
    else errs.push_back({"/timeout_ms", "must be an integer from 100 to 60000"});
  }

  if (!errs.empty()) {
    std::string msg = errs.size() == 1 ? errs[0].pointer.substr(1) + " " + errs[0].message
                                       : fmt::format("{} fields are invalid", errs.size());
    return MakeError(ErrorCode::kInvalidArgument, std::move(msg), std::move(errs));
  }
  return {};
}

}  // namespace hookd
