// Companies (tenants): POST /v1/companies, GET /v1/companies[/{cid}] — operator only.
#include <boost/json.hpp>

#include "api/context.h"
#include "api/problem.h"
#include "core/clock.h"
#include "core/json_util.h"

namespace hookd::api {
namespace json = boost::json;

namespace {

json::object CompanyJson(const Company& c) {
  return {{"id", c.id.str()}, {"name", c.name}, {"created_at", FormatTime(c.created_at_ms)}};
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
      if (k != "name") throw ApiError(422, "unknown field '" + std::string(k) + "'", {{"/" + std::string(k), "unknown field"}});
    Company c{CompanyId::New(), std::string(name->get_string()), NowMs()};
    Unwrap(ctx.store.InsertCompany(c));
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
}

}  // namespace hookd::api
