// Replays of a time range (manage scope; core/replay.h): start one for an endpoint, follow its
// progress, list an endpoint's, cancel one.
//
//   POST …/endpoints/{eid}/replay {since, until, event_types?}  → 202 the replay
//   GET  …/endpoints/{eid}/replays                              → its replays, newest first
//   GET  …/replays/{rid}                                        → one replay, with its progress
//   POST …/replays/{rid}/cancel                                 → the replay, canceled
#include <boost/json.hpp>

#include "api/audit.h"
#include "api/context.h"
#include "api/problem.h"
#include "core/clock.h"
#include "core/json_util.h"
#include "core/replay.h"

namespace hookd::api {
namespace json = boost::json;

namespace {

// Events examined per read while counting a filtered replay's total.
constexpr int kCountPage = 1000;

json::object ReplayJson(const Replay& r, const ReplayProgress& p) {
  json::value types = nullptr;
  if (r.event_types) {
    json::array a;
    for (const auto& t : *r.event_types) a.emplace_back(t);
    types = std::move(a);
  }
  return {{"id", r.id.str()},
          {"endpoint_id", r.endpoint_id.str()},
          {"status", ToString(r.status)},
          {"since", FormatTime(r.since_ms)},
          {"until", FormatTime(r.until_ms)},
          {"event_types", std::move(types)},
          {"total", r.total},
          {"created", r.created},
          {"delivered", p.succeeded},
          {"failed", p.failed},
          {"pending", p.pending},
          {"canceled", p.canceled},
          {"created_at", FormatTime(r.created_at_ms)},
          {"finished_at", r.finished_at_ms ? json::value(FormatTime(*r.finished_at_ms)) : json::value(nullptr)}};
}

json::object ReplayJsonWithProgress(ApiContext& ctx, const Replay& r) {
  return ReplayJson(r, Unwrap(ctx.store.GetReplayProgress(r.company_id, r.id)));
}

// How many events `r` selects: counted by the store, or — with a filter, which only hookd can
// apply — read and matched here.
int64_t CountSelected(ApiContext& ctx, const Replay& r) {
  if (r.selection.types.empty()) return 0;
  if (r.selection.filter.is_null())
    return Unwrap(ctx.store.CountReplayEvents(r.company_id, r.since_ms, r.until_ms, r.selection.types));
  ReplayMatcher matcher = Unwrap(ReplayMatcher::Make(r.selection));
  int64_t n = 0;
  std::string after;
  for (;;) {
    auto page = Unwrap(ctx.store.ScanReplayEvents(r.company_id, r.since_ms, r.until_ms, r.selection.types, after,
                                                  kCountPage));
    for (const auto& e : page)
      if (!e.payload.empty() && matcher.Matches(e)) ++n;
    if (static_cast<int>(page.size()) < kCountPage) return n;
    after = page.back().id.str();
  }
}

}  // namespace

void AddReplayRoutes(Router& r, ApiContext& ctx) {
  const std::string endpoint = "/v1/companies/{cid}/endpoints/{eid}";
  const std::string one = "/v1/companies/{cid}/replays/{rid}";

  r.Add("POST", endpoint + "/replay", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId eid = PathId<EndpointId>(call, "eid", "endpoint");
    json::value body = ParseBody(call);
    const Endpoint ep = Unwrap(ctx.store.GetEndpoint(cid, eid));
    const Company co = Unwrap(ctx.store.GetCompany(cid));
    const int64_t now = NowMs();
    Replay replay = Unwrap(PlanReplay(body, ep, {&ctx.catalog, now, co.retention_ms.value_or(ctx.options.retention_ms)}));
    // One at a time: refused before the window is counted (InsertReplay checks again).
    auto latest = Unwrap(ctx.store.ListReplays(cid, eid, PageRequest{1, ""}));
    if (!latest.items.empty() && latest.items[0].status == ReplayStatus::kRunning)
      throw ApiError(409, "replay " + latest.items[0].id.str() +
                              " of this endpoint is running: wait for it to complete or cancel it first");
    replay.total = CountSelected(ctx, replay);
    if (replay.total == 0) {  // nothing to send: done already
      replay.status = ReplayStatus::kCompleted;
      replay.scan_done = true;
      replay.finished_at_ms = now;
    }
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kReplayCreated, replay.id.str(), cid);
    audit.changes = FieldNames(body.as_object());
    audit.details = ToJson(json::object{{"endpoint_id", eid.str()}, {"since", FormatTime(replay.since_ms)},
                                        {"until", FormatTime(replay.until_ms)}, {"total", replay.total}});
    Unwrap(ctx.store.InsertReplay(replay, &audit));
    if (replay.status == ReplayStatus::kRunning) ctx.changes.OnReplayStarted(cid, eid);
    HttpResponse res = JsonResponse(202, ToJson(ReplayJson(replay, ReplayProgress{})));
    res.headers.emplace_back("location", "/v1/companies/" + cid.str() + "/replays/" + replay.id.str());
    return res;
  });

  r.Add("GET", endpoint + "/replays", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId eid = PathId<EndpointId>(call, "eid", "endpoint");
    RejectUnknownQuery(call, {"limit", "cursor"});
    const PageRequest page_req = ParsePage(call, ReplayTag::kPrefix);
    Unwrap(ctx.store.GetEndpoint(cid, eid));  // 404 for unknown or another company's
    auto page = Unwrap(ctx.store.ListReplays(cid, eid, page_req));
    return PageResponse(page, [&ctx](const Replay& rp) { return ReplayJsonWithProgress(ctx, rp); });
  });

  r.Add("GET", one, [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    ReplayId id = PathId<ReplayId>(call, "rid", "replay");
    return JsonResponse(200, ToJson(ReplayJsonWithProgress(ctx, Unwrap(ctx.store.GetReplay(cid, id)))));
  });

  r.Add("POST", one + "/cancel", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    ReplayId id = PathId<ReplayId>(call, "rid", "replay");
    const Replay before = Unwrap(ctx.store.GetReplay(cid, id));
    Replay after = before;
    if (before.status != ReplayStatus::kCanceled) {  // canceling a canceled replay changes nothing
      AuditEntry audit = AuditFor(ctx, call, AuditAction::kReplayCanceled, id.str(), cid);
      audit.changes = {"status"};
      after = Unwrap(ctx.store.CancelReplay(cid, id, NowMs(), &audit));  // 409 once completed
      if (before.status == ReplayStatus::kRunning) ctx.changes.OnReplayCanceled(cid, after.endpoint_id);
    }
    return JsonResponse(200, ToJson(ReplayJsonWithProgress(ctx, after)));
  });
}

}  // namespace hookd::api
