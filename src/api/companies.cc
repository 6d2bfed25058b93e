// Companies (tenants): POST /v1/companies, GET /v1/companies[/{cid}], PATCH /v1/companies/{cid}
// (its own retention) — operator only, except GET of its own company.
#include <boost/json.hpp>

#include "api/audit.h"
#include "api/context.h"
#include "api/problem.h"
#include "core/clock.h"
#include "core/json_util.h"

namespace hookd::api {
namespace json = boost::json;

namespace {

json::object CompanyJson(const Company& c) {
  json::object o{{"id", c.id.str()}, {"name", c.name}, {"created_at", FormatTime(c.created_at_ms)}};
  o["retention"] = c.retention_ms ? json::value(FormatDurationMs(*c.retention_ms)) : json::value(nullptr);
  return o;
}

// A company's own retention: null (the server's), or a duration ("7d", "12h") from 1 hour up
// to the server's --retention — a longer one would not keep anything longer.
std::optional<int64_t> ParseRetention(const ApiContext& ctx, const json::value& v) {
  if (v.is_null()) return std::nullopt;
  std::optional<int64_t> ms = v.is_string() ? ParseDurationMs(v.get_string()) : std::nullopt;
  if (!ms) throw ApiError(422, "retention must be null or a duration like 7d or 12h", {{"/retention", "must be a duration like 7d or 12h, or null"}});
  if (*ms < 3600 * 1000) throw ApiError(422, "retention must be at least 1h", {{"/retention", "must be at least 1h"}});
  if (ctx.options.retention_ms > 0 && *ms > ctx.options.retention_ms)
    throw ApiError(422, "retention may only be shorter than the server's (" + FormatDurationMs(ctx.options.retention_ms) + ")",
                   {{"/retention", "must be at most " + FormatDurationMs(ctx.options.retention_ms) + " (the server's --retention)"}});
  return ms;
}

}  // namespace

void AddCompanyRoutes(Router& r, ApiContext& ctx) {
  r.Add("POST", "/v1/companies", [&ctx](Call& call) {
    RequireOperator(ctx, call);
    json::value body = ParseBody(call);
    if (!body.is_object()) throw ApiError(422, "the body must be a JSON object", {{"", "must be an object"}});
    auto* name = body.get_object().if_contains("name");
    if (!name || !name->is_string() || name->get_string().empty() || name->get_string().size() > 200)
      throw ApiError(422, "name is required: a string of 1 to 200 characters",
                     {{"/name", "must be a string of 1 to 200 characters"}});
    for (const auto& [k, _] : body.get_object())
      if (k != "name" && k != "retention")
        throw ApiError(422, "unknown field '" + std::string(k) + "'", {{"/" + std::string(k), "unknown field"}});
    Company c{CompanyId::New(), std::string(name->get_string()), NowMs()};
    if (auto* rt = body.get_object().if_contains("retention")) c.retention_ms = ParseRetention(ctx, *rt);
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kCompanyCreated, c.id.str(), c.id);
    audit.changes = FieldNames(body.get_object());
    Unwrap(ctx.store.InsertCompany(c, &audit));
    return JsonResponse(201, ToJson(CompanyJson(c)));
  });

  r.Add("GET", "/v1/companies", [&ctx](Call& call) {
    RequireOperator(ctx, call);
    auto page = Unwrap(ctx.store.ListCompanies(ParsePage(call, CompanyTag::kPrefix)));
    return PageResponse(page, CompanyJson);
  });

  r.Add("GET", "/v1/companies/{cid}", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, 0);
    return JsonResponse(200, ToJson(CompanyJson(Unwrap(ctx.store.GetCompany(cid)))));
  });

  // The operator sets a company's own retention (issue 13: a customer's data-protection terms
  // may ask for less than the server keeps).
  r.Add("PATCH", "/v1/companies/{cid}", [&ctx](Call& call) {
    RequireOperator(ctx, call);
    CompanyId cid = AuthorizeCompany(ctx, call, 0);
    json::value body = ParseBody(call);
    if (!body.is_object()) throw ApiError(422, "the body must be a JSON object", {{"", "must be an object"}});
    for (const auto& [k, _] : body.get_object())
      if (k != "retention")
        throw ApiError(422, "unknown field '" + std::string(k) + "' (only retention can be changed)",
                       {{"/" + std::string(k), "unknown field"}});
    auto* rt = body.get_object().if_contains("retention");
    if (!rt) throw ApiError(422, "retention is required (null for the server's)", {{"/retention", "required"}});
    const std::optional<int64_t> ms = ParseRetention(ctx, *rt);
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kCompanyUpdated, cid.str(), cid);
    if (Unwrap(ctx.store.GetCompany(cid)).retention_ms != ms) audit.changes = {"retention"};
    audit.details = ToJson(json::object{{"retention", ms ? json::value(FormatDurationMs(*ms)) : json::value(nullptr)}});
    return JsonResponse(200, ToJson(CompanyJson(Unwrap(ctx.store.SetCompanyRetention(cid, ms, &audit)))));
  });
}

}  // namespace hookd::api
