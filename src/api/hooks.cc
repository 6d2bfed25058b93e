// Zapier REST Hooks (SPEC §6): subscribe, unsubscribe and samples, for a company token with
// the manage scope. A hook is an endpoint of kind "rest_hook" for one event type, so it is
// stored, indexed, delivered and signed like any endpoint, and is listed with them; a 410
// from its target deletes it (dispatch/dispatcher.cc).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/audit.h"
#include "api/context.h"
#include "api/problem.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/json_util.h"

namespace hookd::api {
namespace json = boost::json;

namespace {

constexpr int kMaxSamples = 3;

// Hooks belong to the token's company: there is no {cid} in the path, so the operator
// token (which has no company) cannot use them.
CompanyId HookCompany(ApiContext& ctx, const Call& call) {
  Principal p = Authenticate(ctx, call);
  if (p.IsOperator())
    throw ApiError(403, "REST hooks belong to a company: use a company token with the 'manage' "
                        "scope (the operator token has no company)");
  if (!p.Has(kScopeManage)) throw ApiError(403, "this token lacks the 'manage' scope");
  return *p.company;
}

// "" when `type` is one event type a hook may subscribe to, else why not.
std::string CheckHookEvent(ApiContext& ctx, std::string_view type) {
  if (type.find('*') != std::string_view::npos)
    return "a REST hook subscribes to one event type; wildcards are not accepted";
  if (type == "webhook.test" || !ctx.catalog.Find(type))
    return fmt::format("unknown event type '{}' (see GET /v1/event-types)", type);
  return "";
}

}  // namespace

void AddHookRoutes(Router& r, ApiContext& ctx) {
  // Subscribe: {"target_url", "event"}. Other fields are ignored: Zapier sends extras
  // (the legacy duplicate "subscription_url", input fields of the Zap).
  r.AddAsync("POST", "/v1/hooks", [&ctx](Call& call, Responder respond) {
    CompanyId cid = HookCompany(ctx, call);
    json::value body = ParseBody(call);
    if (!body.is_object())
      throw ApiError(422, "the body must be a JSON object {\"target_url\", \"event\"}",
                     {{"", "must be an object"}});
    const json::object& o = body.get_object();
    std::vector<FieldError> errs;

    Endpoint ep;
    if (auto* url = o.if_contains("target_url")) {
      // The endpoint rules (absolute http(s), https unless --allow-http, no credentials,
      // length, SSRF guard), reported against /target_url.
      auto ok = ApplyEndpointInput(json::object{{"url", *url}}, /*creating=*/false, ctx.Rules(cid, std::nullopt), ep);
      if (!ok) {
        for (auto& fe : ok.error().fields)
          errs.push_back({fe.pointer == "/url" ? "/target_url" : "/target_url" + fe.pointer, fe.message});
      }
    } else {
      errs.push_back({"/target_url", "is required: the URL that receives the events"});
    }

    std::string event;
    if (auto* ev = o.if_contains("event"); !ev) {
      errs.push_back({"/event", "is required: an event type such as \"employee.hired\""});
    } else if (!ev->is_string()) {
      errs.push_back({"/event", "must be a string: an event type such as \"employee.hired\""});
    } else if (std::string why = CheckHookEvent(ctx, ev->get_string()); !why.empty()) {
      errs.push_back({"/event", why});
    } else {
      event = ev->get_string();
    }

    if (!errs.empty()) {
      std::string msg = errs.size() == 1 ? errs[0].pointer.substr(1) + " " + errs[0].message
                                         : fmt::format("{} fields are invalid", errs.size());
      throw ApiError(422, std::move(msg), std::move(errs));
    }

    ep.id = EndpointId::New();
    ep.company_id = cid;
    ep.kind = EndpointKind::kRestHook;
    ep.event_types = {event};
    ep.description = "REST hook for " + event;
    ep.secret = NewSigningSecret();
    ep.created_at_ms = ep.updated_at_ms = NowMs();
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kHookCreated, ep.id.str(), cid);
    audit.changes = {"event", "target_url"};  // what Zapier sends besides is ignored
    audit.details = ToJson(json::object{{"event", event}});
    const std::string url = ep.url;
    AfterDestinationCheck(ctx, cid, url, "/target_url", std::move(respond),
                          [&ctx, cid, ep = std::move(ep), event, audit = std::move(audit)] {
      Unwrap(ctx.store.InsertEndpoint(ep, &audit));
      ctx.changes.OnEndpointChanged(cid, ep.id);
      // The endpoint object plus Zapier's vocabulary; the secret is shown as on endpoint
      // create (later via GET /v1/companies/{cid}/endpoints/{id}/secret).
      json::object out = EndpointToJson(ep, ctx.options.auto_disable);
      out["target_url"] = ep.url;
      out["event"] = event;
      out["secret"] = ep.secret;
      return JsonResponse(201, ToJson(out));
    });
  });

  // Unsubscribe. Any body (Zapier may send the subscription back) is ignored. Only hooks:
  // a plain endpoint's id answers 404 here, like another company's id.
  r.Add("DELETE", "/v1/hooks/{id}", [&ctx](Call& call) {
    CompanyId cid = HookCompany(ctx, call);
    EndpointId id = PathId<EndpointId>(call, "id", "hook");
    auto ep = ctx.store.GetEndpoint(cid, id);
    if (!ep && ep.error().code == ErrorCode::kNotFound) throw ApiError(404, "hook not found");
    if (Unwrap(std::move(ep)).kind != EndpointKind::kRestHook) throw ApiError(404, "hook not found");
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kHookDeleted, id.str(), cid);
    if (auto d = ctx.store.DeleteEndpoint(cid, id, &audit); !d) {
      if (d.error().code == ErrorCode::kNotFound) throw ApiError(404, "hook not found");
      Throw(d.error());
    }
    ctx.changes.OnEndpointChanged(cid, id);
    return JsonResponse(204, "");
  });

  // Samples for Zapier's "test trigger" step: up to 3 recent payloads (the exact §3 bodies
  // receivers got) of that type, newest first; the catalog example in the same shape when
  // the company has none yet.
  r.Add("GET", "/v1/hooks/samples", [&ctx](Call& call) {
    CompanyId cid = HookCompany(ctx, call);
    auto type = call.Query("event");
    if (!type || type->empty())
      throw ApiError(422, "the event query parameter is required, e.g. ?event=employee.hired",
                     {{"/query/event", "is required"}});
    if (std::string why = CheckHookEvent(ctx, *type); !why.empty())
      throw ApiError(422, why, {{"/query/event", why}});

    EventQuery q;
    q.type = *type;
    auto page = Unwrap(ctx.store.ListEvents(cid, q, PageRequest{kMaxSamples, ""}));
    json::array out;
    for (const auto& e : page.items) {
      auto payload = ParseJson(e.payload);
      if (payload && payload->is_object()) out.push_back(std::move(*payload));
    }
    if (out.empty()) {
      auto entry = ctx.catalog.Find(*type);
      if (!entry) throw ApiError(422, "unknown event type '" + *type + "'", {{"/query/event", "unknown event type"}});
      json::object sample;
      sample["id"] = EventId::New().str();
      sample["type"] = entry->def.name;
      sample["timestamp"] = FormatTime(NowMs());
      sample["company_id"] = cid.str();
      sample["data"] = entry->def.example;
      out.push_back(std::move(sample));
    }
    return JsonResponse(200, ToJson(out));
  });
}

}  // namespace hookd::api
