// The event catalog: GET /v1/event-types[/{type}], POST /v1/event-types (operator).
#include <boost/json.hpp>

#include "api/audit.h"
#include "api/context.h"
#include "api/problem.h"
#include "core/clock.h"
#include "core/json_util.h"

namespace hookd::api {
namespace json = boost::json;

void AddEventTypeRoutes(Router& r, ApiContext& ctx) {
  r.Add("GET", "/v1/event-types", [&ctx](Call& call) {
    Authenticate(ctx, call);
    json::array data;
    for (const auto& e : ctx.catalog.List()) data.push_back(EventTypeToJson(e->def));
    return JsonResponse(200, PageJson(std::move(data), std::nullopt));
  });

  r.Add("GET", "/v1/event-types/{type}", [&ctx](Call& call) {
    Authenticate(ctx, call);
    auto e = ctx.catalog.Find(call.Param("type"));
    if (!e) throw ApiError(404, "unknown event type '" + std::string(call.Param("type")) + "'");
    return JsonResponse(200, ToJson(EventTypeToJson(e->def)));
  });

  r.Add("POST", "/v1/event-types", [&ctx](Call& call) {
    RequireOperator(ctx, call);
    json::value body = ParseBody(call);
    auto def = ParseCustomEventType(body);
    if (!def) Throw(def.error());
    def->created_at_ms = NowMs();
    def->builtin = false;
    if (ctx.catalog.Find(def->name))
      throw ApiError(409, "event type '" + def->name + "' already exists", {{"/name", "already exists"}});
    // A custom type belongs to no company: the row is in the operator-wide log only.
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kEventTypeCreated, def->name, std::nullopt);
    if (body.is_object()) audit.changes = FieldNames(body.get_object());
    Unwrap(ctx.store.InsertEventType(*def, &audit));
    if (auto added = ctx.catalog.Add(*def); !added) Throw(added.error());
    return JsonResponse(201, ToJson(EventTypeToJson(*def)));
  });
}

}  // namespace hookd::api
