// Erasure of one employee's data (manage scope; issue 13, docs/personal-data.md): request one,
// read one, list them. The work runs in the background (store/erasure_worker.h): POST answers
// 202 with the erasure, `running`; GET shows its counts grow until it is `completed`.
#include <boost/json.hpp>

#include "api/audit.h"
#include "api/context.h"
#include "api/problem.h"
#include "core/clock.h"
#include "core/erasure.h"
#include "core/json_util.h"
#include "store/erasure_worker.h"

namespace hookd::api {
namespace json = boost::json;

namespace {

constexpr size_t kMaxSubject = 255;  // as an event's subject

json::object ErasureJson(const Erasure& e) {
  return {{"id", e.id.str()},
          {"status", ToString(e.status)},
          {"subject_hash", e.subject_hash},
          {"requested_by", {{"token_id", e.requested_by.str()}, {"kind", e.requested_by_operator ? "operator" : "company"}}},
          {"requested_at", FormatTime(e.requested_at_ms)},
          {"finished_at", e.finished_at_ms ? json::value(FormatTime(*e.finished_at_ms)) : json::value(nullptr)},
          {"counts",
           {{"events", e.counts.events},
            {"attempts", e.counts.attempts},
            {"idempotency_records", e.counts.idempotency_records},
            {"deliveries_canceled", e.counts.deliveries_canceled}}}};
}

std::string ParseSubject(const json::value& body) {
  if (!body.is_object()) throw ApiError(422, "the body must be a JSON object", {{"", "must be an object"}});
  for (const auto& [k, _] : body.get_object())
    if (k != "subject")
      throw ApiError(422, "unknown field '" + std::string(k) + "'", {{"/" + std::string(k), "unknown field"}});
  const auto* s = body.get_object().if_contains("subject");
  if (!s || !s->is_string() || s->get_string().empty() || s->get_string().size() > kMaxSubject)
    throw ApiError(422, "subject is required: the employee id, a string of 1 to 255 characters",
                   {{"/subject", "must be a string of 1 to 255 characters"}});
  return std::string(s->get_string());
}

}  // namespace

void AddErasureRoutes(Router& r, ApiContext& ctx) {
  r.Add("POST", "/v1/companies/{cid}/erasures", [&ctx](Call& call) {
    const CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    const Principal who = Authenticate(ctx, call);
    const std::string subject = ParseSubject(ParseBody(call));
    if (!ctx.erasures) throw ApiError(503, "erasures are not available on this server");
    const std::string key = Unwrap(ctx.erasures->Key());
    Erasure e;
    e.id = ErasureId::New();
    e.company_id = cid;
    e.subject_hash = SubjectHash(key, cid, subject);
    e.subject = subject;
    // Every event accepted before now has a smaller id (ids are time-sortable, monotonic here).
    e.event_bound = EventId::New().str();
    e.requested_by = who.token_id;
    e.requested_by_operator = who.IsOperator();
    e.requested_at_ms = NowMs();
    // Audited without the employee id: the keyed hash is what the erasure keeps.
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kErasureCreated, e.id.str(), cid);
    audit.changes = {"subject"};
    audit.details = ToJson(json::object{{"subject_hash", e.subject_hash}});
    Unwrap(ctx.store.InsertErasure(e, &audit));
    ctx.erasures->Wake();
    HttpResponse res = JsonResponse(202, ToJson(ErasureJson(e)));
    res.headers.emplace_back("location", "/v1/companies/" + cid.str() + "/erasures/" + e.id.str());
    return res;
  });

  r.Add("GET", "/v1/companies/{cid}/erasures", [&ctx](Call& call) {
    const CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    RejectUnknownQuery(call, {"limit", "cursor"});
    auto page = Unwrap(ctx.store.ListErasures(cid, ParsePage(call, ErasureTag::kPrefix)));
    return PageResponse(page, ErasureJson);
  });

  r.Add("GET", "/v1/companies/{cid}/erasures/{erid}", [&ctx](Call& call) {
    const CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    const ErasureId id = PathId<ErasureId>(call, "erid", "erasure");
    return JsonResponse(200, ToJson(ErasureJson(Unwrap(ctx.store.GetErasure(cid, id)))));
  });
}

}  // namespace hookd::api
