// GET /v1/me: who the presented token is. Lets the admin panel sign in with nothing but a
// company token (the token does not spell its company). Any valid token; never the token.
#include <boost/json.hpp>

#include "api/context.h"
#include "core/json_util.h"

namespace hookd::api {
namespace json = boost::json;

void AddMeRoutes(Router& r, ApiContext& ctx) {
  r.Add("GET", "/v1/me", [&ctx](Call& call) {
    Principal p = Authenticate(ctx, call);
    json::array scopes;
    if (p.Has(kScopeManage)) scopes.emplace_back("manage");
    if (p.Has(kScopePublish)) scopes.emplace_back("publish");
    json::object o{{"token_id", p.token_id.str()},
                   {"company_id", p.company ? json::value(p.company->str()) : json::value(nullptr)},
                   {"operator", p.IsOperator()},
                   {"scopes", std::move(scopes)}};
    return JsonResponse(200, ToJson(o));
  });
}

}  // namespace hookd::api
