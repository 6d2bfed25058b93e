#pragma once
// What every handler shares: the store, catalog, endpoint index and options, plus the
// request helpers that enforce auth and parse input (throwing ApiError on failure).

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "api/auth.h"
#include "api/problem.h"
#include "api/router.h"
#include "core/change_feed.h"
#include "core/delivery_wait.h"
#include "core/endpoint.h"
#include "core/endpoint_index.h"
#include "core/event_catalog.h"
#include "store/store.h"

namespace hookd {
class Metrics;             // core/metrics.h
class DestinationChecker;  // dispatch/destination_check.h
class ErasureWorker;       // store/erasure_worker.h
}

namespace hookd::api {

struct ApiOptions {
  size_t max_payload = 256 * 1024;
  size_t max_batch = 500;
  bool allow_http = false;
  // SSRF check of an endpoint URL at save time that needs no DNS (address literals); returns
  // why it is refused, or nullopt. Host names are checked by `destinations`, off the request
  // threads (AfterDestinationCheck).
  std::function<std::optional<std::string>(std::string_view url)> check_destination;
  DestinationChecker* destinations = nullptr;  // may be null: names are not resolved at save
  // The server's --retention: a company's own may only be shorter (0: no limit).
  int64_t retention_ms = 0;
  // The dispatcher's rule for disabling a failing endpoint, shown in each endpoint's `health`.
  AutoDisableRule auto_disable;
};

struct ApiContext {
  Store& store;
  EventCatalog& catalog;
  EndpointIndex& index;
  Authenticator& auth;
  // Where every change is announced once durable (endpoints, new and re-queued deliveries):
  // the index and the dispatcher follow it (app/serve.cc subscribes them).
  ChangeFeed& changes;
  ApiOptions options;
  Metrics* metrics = nullptr;    // may be null (GET /metrics then answers an empty body)
  // Runs erasures in the background (POST …/erasures wakes it) and keeps the subject-hash key.
  // Null: POST …/erasures answers 503.
  ErasureWorker* erasures = nullptr;
  // This node's dispatchers, asked why a delivery waits (api/waiting.h); null: the store alone.
  DeliveryInspector* live = nullptr;
  // The rules for saving an endpoint of `company`; `editing`: the endpoint being changed
  // (its current filter does not count against the company's regex budget).
  EndpointRules Rules(const CompanyId& company, const std::optional<EndpointId>& editing) const;
};

// 401 unless the request carries a valid token.
Principal Authenticate(ApiContext& ctx, const Call& call);
// 403 unless the operator token.
Principal RequireOperator(ApiContext& ctx, const Call& call);
// For routes under /v1/companies/{cid}: 401 without a valid token; 404 when {cid} is not
// the token's company (never 403, never the data) or does not exist; 403 when the token
// lacks `scope`. Returns the company id.
CompanyId AuthorizeCompany(ApiContext& ctx, const Call& call, unsigned scope);

// Saves an endpoint whose URL is `url` once its host's addresses passed the SSRF guard:
// `save` runs (and its response is sent) at once when nothing needs resolving, else on a
// DNS-check thread, so a slow DNS server never holds a request thread. A refused address
// answers 422 at `pointer`; too many checks in flight, 503. `save` may throw ApiError.
void AfterDestinationCheck(ApiContext& ctx, const CompanyId& company, const std::string& url,
                           std::string pointer, Responder respond,
                           std::move_only_function<HttpResponse()> save);

// 415 when the request's Content-Type is not JSON (application/json or */*+json; absent is
// taken as JSON), 400 on malformed JSON, 422 on a number that cannot be kept exactly.
boost::json::value ParseBody(const Call& call);
// ?limit=&cursor=; 422 on a bad limit, 400 on a cursor that is not the next_cursor of a page
// of this list (an id with `id_prefix`, e.g. "dlv_").
PageRequest ParsePage(const Call& call, std::string_view id_prefix);
// An optional query parameter holding an RFC 3339 date-time ("2026-11-26T10:00:00Z", a
// fraction, a "+01:00" offset — also when its "+" arrived unescaped, read as a space); 422
// naming the parameter when it is anything else. nullopt when absent.
std::optional<int64_t> OptionalQueryTime(const Call& call, std::string_view name);
// ?after=&before= (both optional, both exclusive); 422 when `before` is not later than `after`.
std::pair<std::optional<int64_t>, std::optional<int64_t>> QueryTimeRange(const Call& call);
// Listing filters shared by events and deliveries; each nullopt when absent, 422 naming the
// parameter when malformed: an ep_… id; a delivery status (pending, succeeded, failed, held,
// canceled);
// a known event type; ?subject= (1 to 255 characters).
std::optional<EndpointId> QueryEndpointId(const Call& call, std::string_view name);
std::optional<DeliveryStatus> QueryDeliveryStatus(const Call& call, std::string_view name);
std::optional<std::string> QueryEventType(ApiContext& ctx, const Call& call, std::string_view name);
std::optional<std::string> QuerySubject(const Call& call);
// 422 naming the first query parameter that is not one of `known`: a misspelt filter would
// otherwise silently list everything.
void RejectUnknownQuery(const Call& call, std::initializer_list<std::string_view> known);
// Parses a path id ("{eid}" and the like); 404 when malformed (it cannot exist).
template <class IdT>
IdT PathId(const Call& call, std::string_view param, std::string_view what);

// {"data":[…],"next_cursor":…}
std::string PageJson(boost::json::array data, const std::optional<std::string>& next_cursor);
// 200 with a page of items, each turned into JSON by `to_json`.
template <class T, class F>
HttpResponse PageResponse(const Page<T>& page, F to_json) {
  boost::json::array data;
  for (const auto& item : page.items) data.push_back(to_json(item));
  return JsonResponse(200, PageJson(std::move(data), page.next_cursor));
}

// All the route groups, one file each.
void AddHealthRoutes(Router& r, ApiContext& ctx);
void AddEventTypeRoutes(Router& r, ApiContext& ctx);
void AddCompanyRoutes(Router& r, ApiContext& ctx);
void AddTokenRoutes(Router& r, ApiContext& ctx);
void AddEndpointRoutes(Router& r, ApiContext& ctx);
void AddEventRoutes(Router& r, ApiContext& ctx);
void AddDeliveryRoutes(Router& r, ApiContext& ctx);
void AddErasureRoutes(Router& r, ApiContext& ctx);  // POST/GET …/erasures (erasures.cc)
void AddHookRoutes(Router& r, ApiContext& ctx);
void AddOpenApiRoutes(Router& r, ApiContext& ctx);
void AddMeRoutes(Router& r, ApiContext& ctx);     // GET /v1/me (me.cc)
void AddStatsRoutes(Router& r, ApiContext& ctx);  // GET …/endpoints/{eid}/stats (stats.cc)
void AddPanelRoutes(Router& r, ApiContext& ctx);  // GET /, GET /assets/{file} (panel.cc)
void AddMetricsRoutes(Router& r, ApiContext& ctx);  // GET /metrics (metrics_route.cc)
void AddAuditRoutes(Router& r, ApiContext& ctx);    // GET …/audit-log, GET /v1/audit-log (audit.cc)
void AddReplayRoutes(Router& r, ApiContext& ctx);   // …/endpoints/{eid}/replay, …/replays (replays.cc)
// Every route of the API.
void AddAllRoutes(Router& r, ApiContext& ctx);

// What the HTTP server calls: `router`, plus per request hookd_http_requests_total,
// hookd_http_requests_in_flight (when `metrics` is not null) and, at debug level, one
// access-log line (method, path, status, duration: never headers, query or body, so never
// a token). `router` and `metrics` must outlive the server.
RequestHandler InstrumentedHandler(const Router& router, Metrics* metrics);

// ---- implementation of the template

template <class IdT>
IdT PathId(const Call& call, std::string_view param, std::string_view what) {
  auto id = IdT::Parse(call.Param(param));
  if (!id) throw ApiError(404, std::string(what) + " not found");
  return *id;
}

}  // namespace hookd::api
