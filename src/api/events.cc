// Events: POST /v1/companies/{cid}/events[/batch] (publish), GET …/events[/{evid}] (manage).
#include <boost/json.hpp>
#include <fmt/format.h>

#include <tuple>

#include "api/ingest.h"
#include "api/problem.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/json_util.h"
#include "core/metrics.h"

namespace hookd::api {
namespace json = boost::json;

namespace {

constexpr size_t kMaxSubject = 255;
constexpr size_t kMaxIdempotencyKey = 255;

json::object EventJson(const Event& e) {
  json::object o;
  o["id"] = e.id.str();
  o["type"] = e.type;
  o["subject"] = e.subject.empty() ? json::value(nullptr) : json::value(e.subject);
  o["occurred_at"] = e.occurred_at_ms ? json::value(FormatTime(*e.occurred_at_ms)) : json::value(nullptr);
  o["created_at"] = FormatTime(e.created_at_ms);
  o["erased"] = e.erased;
  if (e.erased) {  // its subject's data was erased (POST …/erasures): nothing of it is left
    o["data"] = nullptr;
    o["payload"] = nullptr;
    return o;
  }
  auto payload = ParseJson(e.payload);
  if (payload && payload->is_object()) {
    if (auto* d = payload->get_object().if_contains("data")) o["data"] = *d;
  }
  o["payload"] = e.payload;  // the exact bytes receivers get
  return o;
}

std::optional<std::string> IdempotencyKey(const Call& call) {
  if (!call.req.HasHeader("idempotency-key")) return std::nullopt;
  std::string_view k = call.req.Header("idempotency-key");
  if (k.empty() || k.size() > kMaxIdempotencyKey)
    throw ApiError(422, "Idempotency-Key must be 1 to 255 characters",
                   {{"/headers/idempotency-key", "must be 1 to 255 characters"}});
  return std::string(k);
}

}  // namespace

NewEvent BuildEvent(ApiContext& ctx, const CompanyId& company, std::string type, json::value data,
                    std::string subject, std::optional<int64_t> occurred_at_ms, int64_t now_ms,
                    const std::optional<EndpointId>& only) {
  NewEvent ne;
  Event& e = ne.event;
  e.id = EventId::New();
  e.company_id = company;
  e.type = std::move(type);
  e.subject = std::move(subject);
  e.occurred_at_ms = occurred_at_ms;
  e.created_at_ms = now_ms;
  json::object payload;
  payload["id"] = e.id.str();
  payload["type"] = e.type;
  payload["timestamp"] = FormatTime(occurred_at_ms.value_or(now_ms));
  payload["company_id"] = company.str();
  payload["data"] = std::move(data);
  json::value pv(std::move(payload));
  e.payload = ToJson(pv);  // shortest number forms, not Boost's "4.04468E1"

  auto make = [&](const EndpointId& ep, bool enabled) {
    Delivery d;
    d.id = DeliveryId::New();
    d.company_id = company;
    d.event_id = e.id;
    d.endpoint_id = ep;
    d.status = enabled ? DeliveryStatus::kPending : DeliveryStatus::kHeld;
    if (enabled) d.next_attempt_at_ms = now_ms;
    d.created_at_ms = now_ms;
    ne.deliveries.push_back(std::move(d));
  };
  if (only) {
    // A test event goes to that endpoint whatever its event types; held if it is disabled.
    auto ep = ctx.store.GetEndpoint(company, *only);
    if (ep) make(*only, ep->Enabled());
  } else {
    for (const auto& t : ctx.index.Match(company, e.type, pv)) make(t.id, t.enabled);
  }
  return ne;
}

Result<NewEvent> PrepareEvent(ApiContext& ctx, const CompanyId& company, json::value& input,
                              int64_t now_ms) {
  if (!input.is_object()) return InvalidField("", "an event must be a JSON object");
  json::object& o = input.get_object();
  std::vector<FieldError> errs;
  for (const auto& [k, _] : o)
    if (k != "type" && k != "data" && k != "subject" && k != "occurred_at")
      errs.push_back({"/" + EscapePointerToken(k), "unknown field (expected type, data, subject, occurred_at)"});

  std::shared_ptr<const EventCatalog::Entry> entry;
  auto* type = o.if_contains("type");
  if (!type || !type->is_string()) {
    errs.push_back({"/type", "is required: an event type name such as \"employee.hired\""});
  } else if (!(entry = ctx.catalog.Find(type->get_string())) || type->get_string() == "webhook.test") {
    entry = nullptr;
    errs.push_back({"/type", fmt::format("unknown event type '{}' (see GET /v1/event-types)",
                                         std::string_view(type->get_string()))});
  }

  json::value* data = o.if_contains("data");
  if (!data) errs.push_back({"/data", "is required"});
  else if (!data->is_object()) errs.push_back({"/data", "must be an object"});
  else if (entry) {
    for (auto& fe : entry->validator.Validate(*data)) errs.push_back({"/data" + fe.pointer, fe.message});
  }

  std::string subject;
  if (auto* s = o.if_contains("subject"); s && !s->is_null()) {
    if (!s->is_string() || s->get_string().empty() || s->get_string().size() > kMaxSubject)
      errs.push_back({"/subject", "must be a string of 1 to 255 characters"});
    else subject = s->get_string();
  }

  std::optional<int64_t> occurred;
  if (auto* t = o.if_contains("occurred_at"); t && !t->is_null()) {
    if (!t->is_string() || !(occurred = ParseTime(t->get_string())))
      errs.push_back({"/occurred_at", "must be an RFC 3339 date-time, e.g. 2026-11-26T10:00:00.000Z"});
  }

  if (!errs.empty()) {
    std::string msg = errs.size() == 1 ? fmt::format("{}: {}", errs[0].pointer, errs[0].message)
                                       : fmt::format("{} problems in the event", errs.size());
    return MakeError(ErrorCode::kInvalidArgument, std::move(msg), std::move(errs));
  }
  if (subject.empty() && !entry->def.subject_pointer.empty()) {
    if (const json::value* sv = ResolvePointer(*data, entry->def.subject_pointer)) {
      if (sv->is_string()) subject = sv->get_string();
      else if (sv->is_int64()) subject = std::to_string(sv->get_int64());
    }
  }
  std::string type_name(type->get_string());
  return BuildEvent(ctx, company, std::move(type_name), std::move(*data), std::move(subject),
                    occurred, now_ms);
}

json::object AcceptedJson(const NewEvent& e) {
  return {{"id", e.event.id.str()},
          {"type", e.event.type},
          {"created_at", FormatTime(e.event.created_at_ms)},
          {"deliveries", e.deliveries.size()}};
}

void CommitAndRespond(ApiContext& ctx, IngestRequest req, int status, std::string body,
                      Responder respond) {
  // What the dispatcher gets once the write is durable: the deliveries due now, sharing
  // their event's payload.
  std::vector<PendingDelivery> ready;
  for (const auto& ne : req.events) {
    auto payload = std::make_shared<const std::string>(ne.event.payload);
    for (const auto& d : ne.deliveries) {
      if (d.status != DeliveryStatus::kPending) continue;
      ready.push_back(PendingDelivery{d.id, d.company_id, d.event_id, d.endpoint_id,
                                      ne.event.subject, 0, d.next_attempt_at_ms.value_or(0), payload});
    }
  }
  // Counted once durable and not a replay; the counters are looked up here (lock-free per
  // thread after the first time), runs of one type folded.
  std::vector<std::pair<metrics::Counter*, uint64_t>> accepted;
  if (ctx.metrics) {
    for (const auto& ne : req.events) {
      metrics::Counter* c = &ctx.metrics->EventsAccepted(ne.event.type);
      if (!accepted.empty() && accepted.back().first == c) ++accepted.back().second;
      else accepted.emplace_back(c, 1);
    }
  }
  req.response_body = body;
  ctx.store.Ingest(std::move(req), [&ctx, status, body = std::move(body), ready = std::move(ready),
                                    accepted = std::move(accepted),
                                    respond = std::move(respond)](Result<IngestResult> r) mutable {
    if (!r) {
      const Error& e = r.error();
      respond(Problem(StatusFor(e.code), e.code == ErrorCode::kInternal ? "internal error" : e.message));
      return;
    }
    if (r->replayed) {
      HttpResponse resp = JsonResponse(200, std::move(r->response_body));
      resp.headers.emplace_back("idempotent-replayed", "true");
      respond(std::move(resp));
      return;
    }
    for (auto [counter, n] : accepted) counter->Inc(n);
    if (!ready.empty()) ctx.changes.OnDeliveriesReady(std::move(ready));
    respond(JsonResponse(status, std::move(body)));
  });
}

void AddEventRoutes(Router& r, ApiContext& ctx) {
  r.AddAsync("POST", "/v1/companies/{cid}/events", [&ctx](Call& call, Responder respond) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopePublish);
    auto key = IdempotencyKey(call);
    json::value body = ParseBody(call);
    auto ne = PrepareEvent(ctx, cid, body, NowMs());
    if (!ne) Throw(ne.error());
    std::string resp = ToJson(AcceptedJson(*ne));
    IngestRequest req;
    req.company = cid;
    req.idempotency_key = std::move(key);
    if (req.idempotency_key) req.request_hash = Sha256Hex(call.req.body);
    req.events.push_back(std::move(*ne));
    CommitAndRespond(ctx, std::move(req), 202, std::move(resp), std::move(respond));
  });

  r.AddAsync("POST", "/v1/companies/{cid}/events/batch", [&ctx](Call& call, Responder respond) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopePublish);
    auto key = IdempotencyKey(call);
    json::value body = ParseBody(call);
    if (!body.is_array())
      throw ApiError(422, "the body must be a JSON array of events", {{"", "must be an array"}});
    const auto& arr = body.get_array();
    if (arr.empty()) throw ApiError(422, "the batch is empty", {{"", "must hold 1 to 500 events"}});
    if (arr.size() > ctx.options.max_batch)
      throw ApiError(413, fmt::format("a batch holds at most {} events; this one has {}",
                                      ctx.options.max_batch, arr.size()));
    const int64_t now = NowMs();
    IngestRequest req;
    req.company = cid;
    std::vector<FieldError> errs;
    json::array accepted;
    auto& items = body.get_array();
    for (size_t i = 0; i < items.size(); ++i) {
      auto ne = PrepareEvent(ctx, cid, items[i], now);
      if (!ne) {
        for (auto& fe : ne.error().fields) errs.push_back({fmt::format("/{}{}", i, fe.pointer), fe.message});
        continue;
      }
      accepted.push_back(AcceptedJson(*ne));
      req.events.push_back(std::move(*ne));
    }
    if (!errs.empty())
      throw ApiError(422, fmt::format("{} problems in the batch; nothing was accepted", errs.size()), errs);
    req.idempotency_key = std::move(key);
    if (req.idempotency_key) req.request_hash = Sha256Hex(call.req.body);
    CommitAndRespond(ctx, std::move(req), 202, ToJson(accepted), std::move(respond));
  });

  r.Add("GET", "/v1/companies/{cid}/events", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    RejectUnknownQuery(call, {"type", "subject", "after", "before", "endpoint_id", "delivery_status",
                              "limit", "cursor"});
    EventQuery q;
    q.type = QueryEventType(ctx, call, "type");
    q.subject = QuerySubject(call);
    std::tie(q.after_ms, q.before_ms) = QueryTimeRange(call);
    // Reconciliation: the events with a delivery to this endpoint (in this status). Another
    // company's endpoint id matches nothing, as in GET …/deliveries?endpoint_id=.
    q.delivery_endpoint_id = QueryEndpointId(call, "endpoint_id");
    q.delivery_status = QueryDeliveryStatus(call, "delivery_status");
    auto page = Unwrap(ctx.store.ListEvents(cid, q, ParsePage(call, EventTag::kPrefix)));
    return PageResponse(page, EventJson);
  });

  r.Add("GET", "/v1/companies/{cid}/events/{evid}", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EventId id = PathId<EventId>(call, "evid", "event");
    return JsonResponse(200, ToJson(EventJson(Unwrap(ctx.store.GetEvent(cid, id)))));
  });
}

}  // namespace hookd::api
