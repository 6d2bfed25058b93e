// Endpoints of a company (manage scope): CRUD, secret and rotation, enable/disable,
// recover and the test event.
#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>

#include "api/audit.h"
#include "api/ingest.h"
#include "api/problem.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/json_util.h"

namespace hookd::api {
namespace json = boost::json;

namespace {

constexpr int64_t kDefaultGraceSeconds = 86400;
constexpr int64_t kMaxGraceSeconds = 7 * 86400;

const json::object& BodyObject(const json::value& body) {
  if (!body.is_object()) throw ApiError(422, "the body must be a JSON object", {{"", "must be an object"}});
  return body.get_object();
}

// An optional body: empty means {}.
json::value OptionalBody(const Call& call) {
  if (call.req.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  return ParseBody(call);
}

// The endpoint with its version as the ETag (a strong validator: "7").
HttpResponse EndpointResponse(const ApiContext& ctx, int status, const Endpoint& ep) {
  HttpResponse r = JsonResponse(status, ToJson(EndpointToJson(ep, ctx.options.auto_disable)));
  r.headers.emplace_back("etag", "\"" + std::to_string(ep.version) + "\"");
  return r;
}

// If-Match: one strong ETag of ours ("7"), or * (any version). nullopt when absent or *.
std::optional<int64_t> IfMatch(const Call& call) {
  if (!call.req.HasHeader("if-match")) return std::nullopt;
  std::string_view v = call.req.Header("if-match");
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v == "*") return std::nullopt;
  int64_t version = 0;
  if (v.size() >= 3 && v.front() == '"' && v.back() == '"') {
    const std::string_view digits = v.substr(1, v.size() - 2);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
    if (ec == std::errc() && end == digits.data() + digits.size() && version > 0) return version;
  }
  // Not an ETag this server made (a weak one, a list): it matches no current version.
  throw ApiError(412, "If-Match must be the ETag of GET …/endpoints/{id} (e.g. \"3\"); this one matches no version",
                 {{"/headers/if-match", "not an ETag of this endpoint"}});
}

ApiError StaleVersion(const Endpoint& current) {
  return ApiError(412, "the endpoint was changed since that version (now \"" + std::to_string(current.version) +
                           "\"): GET it again and re-apply the change",
                  {{"/headers/if-match", "stale"}});
}

HttpResponse SecretResponse(const Endpoint& ep) {
  json::object o{{"secret", ep.secret}};
  if (!ep.previous_secret.empty() && ep.previous_secret_expires_at_ms > NowMs())
    o["previous_secret_expires_at"] = FormatTime(ep.previous_secret_expires_at_ms);
  return JsonResponse(200, ToJson(o));
}

}  // namespace

void AddEndpointRoutes(Router& r, ApiContext& ctx) {
  const std::string base = "/v1/companies/{cid}/endpoints";
  const std::string one = base + "/{eid}";

  r.AddAsync("POST", base, [&ctx](Call& call, Responder respond) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    json::value body = ParseBody(call);
    Endpoint ep;
    if (auto ok = ApplyEndpointInput(body, /*creating=*/true, ctx.Rules(cid, std::nullopt), ep); !ok) Throw(ok.error());
    ep.id = EndpointId::New();
    ep.company_id = cid;
    ep.secret = NewSigningSecret();
    ep.created_at_ms = ep.updated_at_ms = NowMs();
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kEndpointCreated, ep.id.str(), cid);
    audit.changes = FieldNames(body.get_object());
    const std::string url = ep.url;
    AfterDestinationCheck(ctx, cid, url, "/url", std::move(respond), [&ctx, cid, ep = std::move(ep),
                                                                      audit = std::move(audit)] {
      Unwrap(ctx.store.InsertEndpoint(ep, &audit));
      ctx.changes.OnEndpointChanged(cid, ep.id);
      json::object o = EndpointToJson(ep, ctx.options.auto_disable);
      o["secret"] = ep.secret;  // shown on create; later via GET …/secret
      HttpResponse r = JsonResponse(201, ToJson(o));
      r.headers.emplace_back("etag", "\"" + std::to_string(ep.version) + "\"");
      return r;
    });
  });

  r.Add("GET", base, [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    auto page = Unwrap(ctx.store.ListEndpoints(cid, ParsePage(call, EndpointTag::kPrefix)));
    return PageResponse(page, [&ctx](const Endpoint& ep) { return EndpointToJson(ep, ctx.options.auto_disable); });
  });

  r.Add("GET", one, [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId id = PathId<EndpointId>(call, "eid", "endpoint");
    return EndpointResponse(ctx, 200, Unwrap(ctx.store.GetEndpoint(cid, id)));
  });

  // PATCH writes only what an admin edits, at the version it read (no edit undoes another, and
  // what hookd changed meanwhile — status, health — is never written back). With If-Match, a
  // stale version is 412; without, the body is applied again to the fresh endpoint when another
  // edit got in between, as PATCH means "change these fields".
  r.AddAsync("PATCH", one, [&ctx](Call& call, Responder respond) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId id = PathId<EndpointId>(call, "eid", "endpoint");
    const std::optional<int64_t> if_match = IfMatch(call);
    json::value body = ParseBody(call);
    Endpoint ep = Unwrap(ctx.store.GetEndpoint(cid, id));
    if (if_match && *if_match != ep.version) throw StaleVersion(ep);
    Endpoint next = ep;
    if (auto ok = ApplyEndpointInput(body, /*creating=*/false, ctx.Rules(cid, id), next); !ok) Throw(ok.error());
    const bool url_changed = next.url != ep.url;
    const std::string url = next.url;
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kEndpointUpdated, id.str(), cid);
    auto save = [&ctx, cid, id, if_match, body = std::move(body), ep = std::move(ep), audit = std::move(audit)]() mutable {
      for (int attempt = 0;; ++attempt) {
        Endpoint next = ep;
        if (auto ok = ApplyEndpointInput(body, /*creating=*/false, ctx.Rules(cid, id), next); !ok)
          Throw(ok.error());
        next.updated_at_ms = NowMs();
        // What this write changes, against the version it applies to.
        audit.changes = ChangedFields(EndpointConfigToJson(ep), EndpointConfigToJson(next));
        auto written = ctx.store.UpdateEndpointConfig(next, ep.version, &audit);
        if (written) {
          next.version = *written;
          ctx.changes.OnEndpointChanged(cid, id);
          return EndpointResponse(ctx, 200, next);
        }
        if (written.error().code != ErrorCode::kConflict || attempt == 4) Throw(written.error());
        ep = Unwrap(ctx.store.GetEndpoint(cid, id));  // changed meanwhile
        if (if_match) throw StaleVersion(ep);
      }
    };
    if (!url_changed) {  // only a new URL is resolved again
      respond(save());
      return;
    }
    AfterDestinationCheck(ctx, cid, url, "/url", std::move(respond), std::move(save));
  });

  r.Add("DELETE", one, [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId id = PathId<EndpointId>(call, "eid", "endpoint");
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kEndpointDeleted, id.str(), cid);
    Unwrap(ctx.store.DeleteEndpoint(cid, id, &audit));
    ctx.changes.OnEndpointChanged(cid, id);
    return JsonResponse(204, "");
  });

  r.Add("GET", one + "/secret", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId id = PathId<EndpointId>(call, "eid", "endpoint");
    Endpoint ep = Unwrap(ctx.store.GetEndpoint(cid, id));
    // Recorded before it is shown: no row, no secret.
    Unwrap(ctx.store.AppendAudit(AuditFor(ctx, call, AuditAction::kEndpointSecretRevealed, id.str(), cid)));
    return SecretResponse(ep);
  });

  r.Add("POST", one + "/rotate-secret", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId id = PathId<EndpointId>(call, "eid", "endpoint");
    json::value body = OptionalBody(call);
    const auto& o = BodyObject(body);
    int64_t grace = kDefaultGraceSeconds;
    if (auto* g = o.if_contains("grace_seconds")) {
      if (!g->is_int64() || g->get_int64() < 0 || g->get_int64() > kMaxGraceSeconds)
        throw ApiError(422, "grace_seconds must be an integer from 0 to 604800",
                       {{"/grace_seconds", "must be an integer from 0 to 604800"}});
      grace = g->get_int64();
    }
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kEndpointSecretRotated, id.str(), cid);
    audit.changes = {"secret"};
    audit.details = ToJson(json::object{{"grace_seconds", grace}});
    Endpoint ep = Unwrap(ctx.store.RotateEndpointSecret(cid, id, NewSigningSecret(), grace * 1000, NowMs(), &audit));
    ctx.changes.OnEndpointChanged(cid, id);
    return SecretResponse(ep);
  });

  r.Add("POST", one + "/disable", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId id = PathId<EndpointId>(call, "eid", "endpoint");
    // Pending deliveries become held until the endpoint is enabled again.
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kEndpointDisabled, id.str(), cid);
    audit.changes = {"status"};
    Unwrap(ctx.store.DisableEndpoint(cid, id, DisabledReason::kManual, NowMs(), &audit));
    ctx.changes.OnEndpointChanged(cid, id);
    return JsonResponse(200, ToJson(EndpointToJson(Unwrap(ctx.store.GetEndpoint(cid, id)), ctx.options.auto_disable)));
  });

  r.Add("POST", one + "/enable", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId id = PathId<EndpointId>(call, "eid", "endpoint");
    json::value body = OptionalBody(call);
    const auto& o = BodyObject(body);
    bool release = true;
    if (auto* rh = o.if_contains("release_held")) {
      if (!rh->is_bool()) throw ApiError(422, "release_held must be a boolean", {{"/release_held", "must be a boolean"}});
      release = rh->get_bool();
    }
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kEndpointEnabled, id.str(), cid);
    audit.changes = {"status"};
    audit.details = ToJson(json::object{{"release_held", release}});
    int64_t released = Unwrap(ctx.store.EnableEndpoint(cid, id, release, NowMs(), &audit));
    ctx.changes.OnEndpointChanged(cid, id);
    json::object out = EndpointToJson(Unwrap(ctx.store.GetEndpoint(cid, id)), ctx.options.auto_disable);
    out["released"] = released;
    return JsonResponse(200, ToJson(out));
  });

  r.Add("POST", one + "/recover", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId id = PathId<EndpointId>(call, "eid", "endpoint");
    json::value body = ParseBody(call);
    const auto& o = BodyObject(body);
    auto* since = o.if_contains("since");
    std::optional<int64_t> since_ms;
    if (!since || !since->is_string() || !(since_ms = ParseTime(since->get_string())))
      throw ApiError(422, "since is required: an RFC 3339 date-time",
                     {{"/since", "must be an RFC 3339 date-time, e.g. 2026-11-25T00:00:00Z"}});
    AuditEntry audit = AuditFor(ctx, call, AuditAction::kEndpointRecovered, id.str(), cid);
    audit.details = ToJson(json::object{{"since", FormatTime(*since_ms)}});
    int64_t n = Unwrap(ctx.store.RecoverDeliveries(cid, id, *since_ms, NowMs(), &audit));
    if (n > 0) ctx.changes.OnDeliveriesRequeued(cid, id);
    return JsonResponse(200, ToJson(json::object{{"requeued", n}}));
  });

  r.AddAsync("POST", one + "/test", [&ctx](Call& call, Responder respond) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId id = PathId<EndpointId>(call, "eid", "endpoint");
    Endpoint ep = Unwrap(ctx.store.GetEndpoint(cid, id));
    const int64_t now = NowMs();
    json::object data{{"message", "This is a test event sent from hookd."},
                      {"endpoint_id", ep.id.str()},
                      {"sent_at", FormatTime(now)}};
    NewEvent ne = BuildEvent(ctx, cid, "webhook.test", std::move(data), "", std::nullopt, now, ep.id);
    if (ne.deliveries.empty()) throw ApiError(404, "endpoint not found");
    json::object out{{"event_id", ne.event.id.str()}, {"delivery_id", ne.deliveries[0].id.str()}};
    IngestRequest req;
    req.company = cid;
    req.audit = AuditFor(ctx, call, AuditAction::kEndpointTestSent, id.str(), cid);
    req.audit->details = ToJson(out);
    req.events.push_back(std::move(ne));
    CommitAndRespond(ctx, std::move(req), 202, ToJson(out), std::move(respond));
  });
}

}  // namespace hookd::api
