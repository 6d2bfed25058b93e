#include "api/waiting.h"

#include <map>
#include <optional>

#include "core/clock.h"
#include "core/delivery_wait.h"

namespace hookd::api {
namespace json = boost::json;

std::vector<json::value> WaitingOf(ApiContext& ctx, const CompanyId& company, const std::vector<Delivery>& ds) {
  std::vector<json::value> out(ds.size(), nullptr);
  auto unfinished = [](const Delivery& d) {
    return d.status == DeliveryStatus::kPending || d.status == DeliveryStatus::kHeld;
  };
  // Their endpoints (null once deleted).
  std::map<std::string, std::optional<Endpoint>> endpoints;
  for (const Delivery& d : ds) {
    if (!unfinished(d) || endpoints.contains(d.endpoint_id.str())) continue;
    auto ep = ctx.store.GetEndpoint(company, d.endpoint_id);
    if (!ep && ep.error().code != ErrorCode::kNotFound) Throw(ep.error());
    endpoints[d.endpoint_id.str()] = ep ? std::optional<Endpoint>(std::move(*ep)) : std::nullopt;
  }
  auto endpoint_of = [&](const Delivery& d) -> const Endpoint* {
    auto it = endpoints.find(d.endpoint_id.str());
    return it == endpoints.end() || !it->second ? nullptr : &*it->second;
  };
  // The store's ordering blockers of the pending deliveries of subject-ordered endpoints, and
  // what the dispatchers here know of every pending one.
  std::vector<DeliveryId> ordered;
  std::vector<DeliveryInspector::Query> queries;
  std::vector<size_t> queried;  // index in `ds` of each query
  for (size_t i = 0; i < ds.size(); ++i) {
    const Delivery& d = ds[i];
    const Endpoint* ep = endpoint_of(d);
    if (d.status != DeliveryStatus::kPending || !ep || !ep->Enabled()) continue;
    if (ep->ordering == Ordering::kSubject) ordered.push_back(d.id);
    queries.push_back({d.endpoint_id, d.id});
    queried.push_back(i);
  }
  std::map<std::string, OrderingBlocker> blockers;
  if (!ordered.empty()) {
    for (OrderingBlocker& b : Unwrap(ctx.store.OrderingBlockers(company, ordered)))
      blockers.emplace(b.delivery.str(), std::move(b));
  }
  std::vector<LiveDeliveryState> live(ds.size());
  if (ctx.live && !queries.empty()) {
    std::vector<LiveDeliveryState> answers = ctx.live->Inspect(queries);
    for (size_t k = 0; k < answers.size() && k < queried.size(); ++k) live[queried[k]] = std::move(answers[k]);
  }
  const int64_t now = NowMs();
  for (size_t i = 0; i < ds.size(); ++i) {
    if (!unfinished(ds[i])) continue;
    auto b = blockers.find(ds[i].id.str());
    auto w = DescribeWait(ds[i], endpoint_of(ds[i]), b == blockers.end() ? nullptr : &b->second, &live[i], now);
    if (w) out[i] = DeliveryWaitToJson(*w);
  }
  return out;
}

}  // namespace hookd::api
