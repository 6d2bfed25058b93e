#include "api/context.h"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/problem.h"
#include "core/clock.h"
#include "core/json_util.h"
#include "dispatch/destination_check.h"

namespace hookd::api {
namespace json = boost::json;

EndpointRules ApiContext::Rules(const CompanyId& company, const std::optional<EndpointId>& editing) const {
  EndpointRules rules{&catalog, options.allow_http, options.check_destination, nullptr};
  rules.check_filter_budget = [this, company, editing](const Filter& f) -> std::optional<std::string> {
    if (f.RegexCount() == 0) return std::nullopt;
    const EndpointIndex::RegexUse use = index.CompanyRegexUse(company, editing);
    if (use.count + f.RegexCount() > kMaxCompanyFilterRegexes)
      return fmt::format("the company's filters would hold {} $regex conditions; at most {} are allowed "
                         "over all endpoints",
                         use.count + f.RegexCount(), kMaxCompanyFilterRegexes);
    if (use.program_size + f.RegexProgramSize() > kMaxCompanyFilterRegexProgram)
      return fmt::format("the company's filters' regular expressions would be too complex together "
                         "(compiled size {} over {}); use fewer or simpler ones",
                         use.program_size + f.RegexProgramSize(), kMaxCompanyFilterRegexProgram);
    return std::nullopt;
  };
  return rules;
}

Principal Authenticate(ApiContext& ctx, const Call& call) {
  auto p = ctx.auth.Authenticate(call.req.Header("authorization"));
  if (!p) Throw(p.error());
  return *p;
}

Principal RequireOperator(ApiContext& ctx, const Call& call) {
  Principal p = Authenticate(ctx, call);
  if (!p.IsOperator()) throw ApiError(403, "this needs the operator token");
  return p;
}

CompanyId AuthorizeCompany(ApiContext& ctx, const Call& call, unsigned scope) {
  Principal p = Authenticate(ctx, call);
  auto cid = CompanyId::Parse(call.Param("cid"));
  if (!cid) throw ApiError(404, "company not found");
  if (p.IsOperator()) {
    // The operator may act for any company that exists.
    auto c = ctx.store.GetCompany(*cid);
    if (!c) Throw(c.error());
    return *cid;
  }
  if (*p.company != *cid) throw ApiError(404, "company not found");
  if (!p.Has(scope))
    throw ApiError(403, std::string("this token lacks the '") +
                            (scope == kScopePublish ? "publish" : "manage") + "' scope");
  return *cid;
}

namespace {

// application/json, or any type with a +json suffix; parameters (charset) are ignored.
bool IsJsonMediaType(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  std::string lower(type);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json" || (lower.starts_with("application/") && lower.ends_with("+json"));
}

}  // namespace

json::value ParseBody(const Call& call) {
  // A body that says it is something else is refused before it is read as JSON; one that
  // says nothing is taken as JSON (curl --data-binary, scripts).
  if (call.req.HasHeader("content-type") && !IsJsonMediaType(call.req.Header("content-type")))
    throw ApiError(415, "the body must be JSON: send it with Content-Type: application/json (got \"" +
                            std::string(call.req.Header("content-type").substr(0, 100)) + "\")");
  auto v = ParseJson(call.req.body);
  if (!v) {
    // Well-formed JSON with a number hookd cannot keep exactly: 422, with its pointer.
    if (!v.error().fields.empty()) throw ApiError(422, v.error().message, v.error().fields);
    throw ApiError(400, v.error().message);
  }
  return std::move(*v);
}

PageRequest ParsePage(const Call& call, std::string_view id_prefix) {
  PageRequest page;
  if (auto l = call.Query("limit")) {
    char* end = nullptr;
    long n = std::strtol(l->c_str(), &end, 10);
    if (l->empty() || *end != '\0' || n < 1 || n > 500)
      throw ApiError(422, "limit must be an integer from 1 to 500", {{"/query/limit", "must be 1..500"}});
    page.limit = static_cast<int>(n);
  }
  if (auto c = call.Query("cursor")) {
    if (c->size() != id_prefix.size() + 26 || !c->starts_with(id_prefix) || !IsUlid(c->substr(id_prefix.size())))
      throw ApiError(400, "invalid cursor: pass the next_cursor of the previous page unchanged",
                     {{"/query/cursor", "is not a cursor of this list"}});
    page.cursor = *c;
  }
  return page;
}

std::optional<int64_t> OptionalQueryTime(const Call& call, std::string_view name) {
  auto v = call.Query(name);
  if (!v) return std::nullopt;
  std::string s = std::move(*v);
  // "…T10:00:00+01:00" sent unescaped decodes to "…T10:00:00 01:00".
  if (size_t sp = s.rfind(' '); sp != std::string::npos && sp > 10 && s.size() - sp == 6) s[sp] = '+';
  auto ms = ParseTime(s);
  if (!ms) {
    throw ApiError(422, fmt::format("{} must be an RFC 3339 date-time, e.g. 2026-11-26T10:00:00Z", name),
                   {{fmt::format("/query/{}", name), "must be an RFC 3339 date-time, e.g. 2026-11-26T10:00:00Z"}});
  }
  return ms;
}

std::pair<std::optional<int64_t>, std::optional<int64_t>> QueryTimeRange(const Call& call) {
  auto after = OptionalQueryTime(call, "after");
  auto before = OptionalQueryTime(call, "before");
  if (after && before && *before <= *after)
    throw ApiError(422, "before must be later than after", {{"/query/before", "must be later than after"}});
  return {after, before};
}

std::optional<EndpointId> QueryEndpointId(const Call& call, std::string_view name) {
  auto v = call.Query(name);
  if (!v) return std::nullopt;
  auto id = EndpointId::Parse(*v);
  if (!id)
    throw ApiError(422, fmt::format("{} is not an endpoint id", name),
                   {{fmt::format("/query/{}", name), "must be an ep_… id"}});
  return id;
}

std::optional<DeliveryStatus> QueryDeliveryStatus(const Call& call, std::string_view name) {
  auto v = call.Query(name);
  if (!v) return std::nullopt;
  auto st = ParseDeliveryStatus(*v);
  if (!st)
    throw ApiError(422, fmt::format("{} must be pending, succeeded, failed, held or canceled", name),
                   {{fmt::format("/query/{}", name), "must be pending, succeeded, failed, held or canceled"}});
  return st;
}

std::optional<std::string> QueryEventType(ApiContext& ctx, const Call& call, std::string_view name) {
  auto v = call.Query(name);
  if (!v) return std::nullopt;
  if (!ctx.catalog.Find(*v))
    throw ApiError(422, fmt::format("unknown event type '{}' (see GET /v1/event-types)", *v),
                   {{fmt::format("/query/{}", name), "unknown event type"}});
  return v;
}

std::optional<std::string> QuerySubject(const Call& call) {
  auto v = call.Query("subject");
  if (v && (v->empty() || v->size() > 255))
    throw ApiError(422, "subject must be 1 to 255 characters", {{"/query/subject", "must be 1 to 255 characters"}});
  return v;
}

void RejectUnknownQuery(const Call& call, std::initializer_list<std::string_view> known) {
  for (const auto& name : call.QueryNames()) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string list;
    for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    throw ApiError(422, fmt::format("unknown query parameter '{}' (this list takes {})", name, list),
                   {{"/query/" + EscapePointerToken(name), "unknown query parameter"}});
  }
}

std::string PageJson(json::array data, const std::optional<std::string>& next_cursor) {
  json::object o;
  o["data"] = std::move(data);
  if (next_cursor) o["next_cursor"] = *next_cursor;
  else o["next_cursor"] = nullptr;
  return ToJson(o);
}

void AfterDestinationCheck(ApiContext& ctx, const CompanyId& company, const std::string& url,
                           std::string pointer, Responder respond,
                           std::move_only_function<HttpResponse()> save) {
  // Runs `save` and answers with what it returns or throws; never throws itself (it may run
  // on a checker thread, outside the router).
  auto run = [](Responder& respond, std::move_only_function<HttpResponse()>& save) {
    try {
      respond(save());
    } catch (const ApiError& e) {
      respond(Problem(e));
    } catch (const std::exception& e) {
      spdlog::error("saving an endpoint failed: {}", e.what());
      respond(Problem(500, "internal error"));
    }
  };
  if (!ctx.options.destinations) {
    run(respond, save);
    return;
  }
  ctx.options.destinations->Check(
      company.str(), url,
      [run, pointer = std::move(pointer), respond = std::move(respond), save = std::move(save)](
          DestinationChecker::Verdict verdict, std::string why) mutable {
        switch (verdict) {
          case DestinationChecker::Verdict::kAllowed:
            run(respond, save);
            return;
          case DestinationChecker::Verdict::kRefused:
            respond(Problem(422, pointer.substr(1) + " " + why, {{pointer, why}}));
            return;
          case DestinationChecker::Verdict::kBusy: {
            HttpResponse r = Problem(503, why);
            r.headers.emplace_back("retry-after", "1");
            respond(std::move(r));
            return;
          }
        }
      });
}

void AddAllRoutes(Router& r, ApiContext& ctx) {
  AddHealthRoutes(r, ctx);
  AddEventTypeRoutes(r, ctx);
  AddCompanyRoutes(r, ctx);
  AddTokenRoutes(r, ctx);
  AddEndpointRoutes(r, ctx);
  AddEventRoutes(r, ctx);
  AddDeliveryRoutes(r, ctx);
  AddErasureRoutes(r, ctx);
  AddHookRoutes(r, ctx);
  AddOpenApiRoutes(r, ctx);
  AddMeRoutes(r, ctx);
  AddStatsRoutes(r, ctx);
  AddPanelRoutes(r, ctx);
  AddMetricsRoutes(r, ctx);
  AddAuditRoutes(r, ctx);
  AddReplayRoutes(r, ctx);
}

}  // namespace hookd::api
