// GET /healthz (process alive) and GET /readyz (store reachable).
#include <boost/json.hpp>

#include "api/context.h"
#include "core/json_util.h"

namespace hookd::api {

void AddHealthRoutes(Router& r, ApiContext& ctx) {
  r.Add("GET", "/healthz", [](Call&) { return JsonResponse(200, R"({"status":"ok"})"); });
  r.Add("GET", "/readyz", [&ctx](Call&) {
    auto ok = ctx.store.Ping();
    if (!ok) {
      boost::json::object o{{"status", "unavailable"}, {"detail", ok.error().message}};
      return JsonResponse(503, ToJson(o));
    }
    return JsonResponse(200, R"({"status":"ready"})");
  });
}

}  // namespace hookd::api
