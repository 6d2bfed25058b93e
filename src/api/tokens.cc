// Company tokens: POST /v1/companies/{cid}/tokens, DELETE …/tokens/{tid} — operator only.
#include <boost/json.hpp>

#include "api/audit.h"
#include "api/context.h"
#include "api/problem.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/json_util.h"

namespace hookd::api {
namespace json = boost::json;

void AddTokenRoutes(Router& r, ApiContext& ctx) {
  r.Add("POST", "/v1/companies/{cid}/tokens", [&ctx](Call& call) {
    // Another company's id answers 404 before the operator check answers 403.
    CompanyId cid = AuthorizeCompany(ctx, call, 0);
    RequireOperator(ctx, call);
    json::value body = ParseBody(call);
    if (!body.is_object()) throw ApiError(422, "the body must be a JSON object", {{"", "must be an object"}});
    const auto& o = body.get_object();
    std::vector<FieldError> errs;
    unsigned scopes = 0;
    auto* sv = o.if_contains("scopes");
    if (!sv || !sv->is_array() || sv->get_array().empty()) {
      errs.push_back({"/scopes", "must be a non-empty array of \"manage\" and/or \"publish\""});
    } else {
      for (size_t i = 0; i < sv->get_array().size(); ++i) {
        const auto& s = sv->get_array()[i];
        if (s.is_string() && s.get_string() == "manage") scopes |= kScopeManage;
        else if (s.is_string() && s.get_string() == "publish") scopes |= kScopePublish;
        else errs.push_back({"/scopes/" + std::to_string(i), "must be \"manage\" or \"publish\""});
      }
    }
    std::string description;
    if (auto* d = o.if_contains("description")) {
      if (!d->is_string() || d->get_string().size() > 500)
        errs.push_back({"/description", "must be a string of at most 500 characters"});
      else description = d->get_string();
    }
    for (const auto& [k, _] : o)
      if (k != "scopes" && k != "description") errs.push_back({"/" + std::string(k), "unknown field"});
    if (!errs.empty()) throw ApiError(422, "invalid token request", errs);

    std::string token = NewApiToken();
    ApiToken t{TokenId::New(), cid, HashToken(token), scopes, description, NowMs(), std::nullopt};
    json::array sc;
    if (scopes & kScopeManage) sc.emplace_back("manage");
    if (scopes & kScopePublish) sc.emplace_back("publish");
    // The new token's id is the target; neither the token nor its hash is recorded.
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kTokenCreated, t.id.str(), cid);
    audit.changes = FieldNames(o);
    audit.details = ToJson(json::object{{"scopes", sc}});
    Unwrap(ctx.store.InsertToken(t, &audit));
    json::object out{{"id", t.id.str()},          {"token", token},
                     {"company_id", cid.str()},   {"scopes", std::move(sc)},
                     {"description", description}, {"created_at", FormatTime(t.created_at_ms)}};
    return JsonResponse(201, ToJson(out));
  });

  r.Add("DELETE", "/v1/companies/{cid}/tokens/{tid}", [&ctx](Call& call) {
    // Another company's id answers 404 before the operator check answers 403.
    CompanyId cid = AuthorizeCompany(ctx, call, 0);
    RequireOperator(ctx, call);
    TokenId tid = PathId<TokenId>(call, "tid", "token");
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kTokenRevoked, tid.str(), cid);
    audit.changes = {"revoked_at"};
    Unwrap(ctx.store.RevokeToken(cid, tid, &audit));
    ctx.auth.Invalidate();
    return JsonResponse(204, "");
  });
}

}  // namespace hookd::api
