// The audit log: the rows handlers write (AuditFor) and the two listings.
#include "api/audit.h"

#include <algorithm>
#include <tuple>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/problem.h"
#include "core/clock.h"
#include "core/json_util.h"

namespace hookd::api {
namespace json = boost::json;

AuditEntry AuditFor(ApiContext& ctx, const Call& call, AuditAction action, std::string target,
                    std::optional<CompanyId> company) {
  const Principal who = Authenticate(ctx, call);
  AuditEntry e = NewAuditEntry(action, std::move(target), std::move(company), NowMs());
  e.actor_kind = who.IsOperator() ? ActorKind::kOperator : ActorKind::kCompany;
  e.actor_token_id = who.token_id;
  e.client_address = call.req.remote_address;
  return e;
}

std::vector<std::string> FieldNames(const json::object& body) {
  std::vector<std::string> out;
  for (const auto& [k, _] : body) out.emplace_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ChangedFields(const json::object& before, const json::object& after) {
  std::vector<std::string> out;
  for (const auto& [k, v] : after) {
    const json::value* old = before.if_contains(k);
    if (!old || *old != v) out.emplace_back(k);
  }
  for (const auto& [k, _] : before)
    if (!after.contains(k)) out.emplace_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

json::object AuditJson(const AuditEntry& e) {
  json::array changes;
  for (const auto& c : e.changes) changes.emplace_back(c);
  auto details = ParseJson(e.details);
  return {{"id", e.id.str()},
          {"created_at", FormatTime(e.created_at_ms)},
          {"company_id", e.company_id ? json::value(e.company_id->str()) : json::value(nullptr)},
          {"action", e.action},
          {"target_id", e.target_id},
          {"actor", json::object{{"kind", ToString(e.actor_kind)}, {"token_id", e.actor_token_id.str()}}},
          {"client_address", e.client_address},
          {"changes", std::move(changes)},
          {"details", details && details->is_object() ? std::move(*details) : json::value(json::object())}};
}

namespace {

constexpr size_t kMaxTarget = 255;

// ?action=, ?target_id=, ?after=, ?before= (422 naming the parameter when malformed).
AuditQuery ParseAuditQuery(const Call& call) {
  AuditQuery q;
  if (auto a = call.Query("action")) {
    if (!ParseAuditAction(*a)) {
      std::string known;
      for (AuditAction x : AllAuditActions()) known += (known.empty() ? "" : ", ") + std::string(ToString(x));
      throw ApiError(422, fmt::format("unknown action '{}' (one of {})", a->substr(0, 100), known),
                     {{"/query/action", "unknown action"}});
    }
    q.action = std::move(a);
  }
  if (auto t = call.Query("target_id")) {
    if (t->empty() || t->size() > kMaxTarget)
      throw ApiError(422, "target_id must be 1 to 255 characters", {{"/query/target_id", "must be 1 to 255 characters"}});
    q.target_id = std::move(t);
  }
  std::tie(q.after_ms, q.before_ms) = QueryTimeRange(call);
  return q;
}

HttpResponse AuditPage(ApiContext& ctx, const Call& call, const AuditQuery& q) {
  auto page = Unwrap(ctx.store.ListAuditLog(q, ParsePage(call, AuditTag::kPrefix)));
  return PageResponse(page, AuditJson);
}

}  // namespace

void AddAuditRoutes(Router& r, ApiContext& ctx) {
  r.Add("GET", "/v1/companies/{cid}/audit-log", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    RejectUnknownQuery(call, {"action", "target_id", "after", "before", "limit", "cursor"});
    AuditQuery q = ParseAuditQuery(call);
    q.company = cid;
    return AuditPage(ctx, call, q);
  });

  // Every company's rows and those of no company (custom event types); ?company_id= narrows to
  // one company (an unknown one lists nothing, as any filter that matches nothing).
  r.Add("GET", "/v1/audit-log", [&ctx](Call& call) {
    RequireOperator(ctx, call);
    RejectUnknownQuery(call, {"company_id", "action", "target_id", "after", "before", "limit", "cursor"});
    AuditQuery q = ParseAuditQuery(call);
    if (auto c = call.Query("company_id")) {
      q.company = CompanyId::Parse(*c);
      if (!q.company)
        throw ApiError(422, "company_id is not a company id", {{"/query/company_id", "must be a co_… id"}});
    }
    return AuditPage(ctx, call, q);
  });
}

}  // namespace hookd::api
