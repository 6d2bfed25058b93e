// Deliveries and attempts (manage scope): list, get, attempts, retry.
#include <tuple>

#include <boost/json.hpp>

#include "api/audit.h"
#include "api/context.h"
#include "api/problem.h"
#include "api/waiting.h"
#include "core/clock.h"
#include "core/json_util.h"

namespace hookd::api {
namespace json = boost::json;

namespace {

json::value OptTime(const std::optional<int64_t>& t) {
  return t ? json::value(FormatTime(*t)) : json::value(nullptr);
}

// `waiting`: why it waits (api/waiting.h), null once finished.
json::object DeliveryJson(const Delivery& d, json::value waiting) {
  return {{"id", d.id.str()},
          {"event_id", d.event_id.str()},
          {"endpoint_id", d.endpoint_id.str()},
          {"status", ToString(d.status)},
          // "erased" (an erasure), "replay_canceled" (its replay was canceled), null.
          {"canceled_reason", !d.canceled_reason.empty() ? json::value(d.canceled_reason)
                              : d.status == DeliveryStatus::kCanceled && d.replay_id ? json::value("replay_canceled")
                                                                                     : json::value(nullptr)},
          {"attempts", d.attempts},
          {"next_attempt_at", d.status == DeliveryStatus::kPending ? OptTime(d.next_attempt_at_ms) : nullptr},
          {"last_attempt_at", OptTime(d.last_attempt_at_ms)},
          {"created_at", FormatTime(d.created_at_ms)},
          {"waiting", std::move(waiting)},
          {"replay_id", d.replay_id ? json::value(d.replay_id->str()) : json::value(nullptr)}};
}

json::object DeliveryJson(ApiContext& ctx, const CompanyId& company, const Delivery& d) {
  return DeliveryJson(d, std::move(WaitingOf(ctx, company, {d}).front()));
}

json::value HeadersJson(const std::string& text) {
  auto parsed = ParseJson(text);
  return parsed && parsed->is_object() ? std::move(*parsed) : json::value(json::object());
}

json::object AttemptJson(const Attempt& a) {
  return {{"id", a.id.str()},
          {"delivery_id", a.delivery_id.str()},
          {"number", a.number},
          {"started_at", FormatTime(a.started_at_ms)},
          {"duration_ms", a.duration_ms},
          {"status_code", a.status_code ? json::value(*a.status_code) : json::value(nullptr)},
          {"error", a.error ? json::value(*a.error) : json::value(nullptr)},
          {"request_headers", HeadersJson(a.request_headers)},
          {"response_headers", HeadersJson(a.response_headers)},
          {"response_body", a.response_body},
          {"error_detail", a.error.has_value() ? json::value(a.error_detail) : json::value(nullptr)}};
}

}  // namespace

void AddDeliveryRoutes(Router& r, ApiContext& ctx) {
  r.Add("GET", "/v1/companies/{cid}/deliveries", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    RejectUnknownQuery(call, {"endpoint_id", "event_id", "status", "event_type", "subject", "after",
                              "before", "limit", "cursor"});
    DeliveryQuery q;
    q.endpoint_id = QueryEndpointId(call, "endpoint_id");
    if (auto v = call.Query("event_id")) {
      q.event_id = EventId::Parse(*v);
      if (!q.event_id) {
        const bool a_type = ctx.catalog.Find(*v) != nullptr;
        throw ApiError(422,
                       a_type ? "event_id is not an event id: to filter by event type, use event_type"
                              : "event_id is not an event id",
                       {{"/query/event_id", "must be an evt_… id"}});
      }
    }
    q.status = QueryDeliveryStatus(call, "status");
    q.event_type = QueryEventType(ctx, call, "event_type");
    q.subject = QuerySubject(call);
    std::tie(q.after_ms, q.before_ms) = QueryTimeRange(call);
    auto page = Unwrap(ctx.store.ListDeliveries(cid, q, ParsePage(call, DeliveryTag::kPrefix)));
    std::vector<json::value> waiting = WaitingOf(ctx, cid, page.items);
    json::array data;
    for (size_t i = 0; i < page.items.size(); ++i) data.push_back(DeliveryJson(page.items[i], std::move(waiting[i])));
    return JsonResponse(200, PageJson(std::move(data), page.next_cursor));
  });

  r.Add("GET", "/v1/companies/{cid}/deliveries/{did}", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    DeliveryId id = PathId<DeliveryId>(call, "did", "delivery");
    return JsonResponse(200, ToJson(DeliveryJson(ctx, cid, Unwrap(ctx.store.GetDelivery(cid, id)))));
  });

  r.Add("GET", "/v1/companies/{cid}/deliveries/{did}/attempts", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    DeliveryId id = PathId<DeliveryId>(call, "did", "delivery");
    Unwrap(ctx.store.GetDelivery(cid, id));  // 404 for unknown or other company's
    auto page = Unwrap(ctx.store.ListAttempts(cid, id, ParsePage(call, AttemptTag::kPrefix)));
    return PageResponse(page, AttemptJson);
  });

  r.Add("POST", "/v1/companies/{cid}/deliveries/{did}/retry", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    DeliveryId id = PathId<DeliveryId>(call, "did", "delivery");
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kDeliveryRetried, id.str(), cid);
    audit.changes = {"next_attempt_at", "status"};
    Delivery d = Unwrap(ctx.store.RequeueDelivery(cid, id, NowMs(), &audit));
    Event e = Unwrap(ctx.store.GetEvent(cid, d.event_id));
    std::vector<PendingDelivery> ready;
    ready.push_back(PendingDelivery{d.id, d.company_id, d.event_id, d.endpoint_id, e.subject,
                                    d.attempts, d.next_attempt_at_ms.value_or(0),
                                    std::make_shared<const std::string>(std::move(e.payload))});
    ready.back().retry_request = true;
    ctx.changes.OnDeliveriesReady(std::move(ready));
    return JsonResponse(202, ToJson(DeliveryJson(ctx, cid, d)));
  });
}

}  // namespace hookd::api
