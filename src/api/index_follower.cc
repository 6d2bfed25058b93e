#include "api/index_follower.h"

#include <spdlog/spdlog.h>

namespace hookd::api {

Result<void> IndexFollower::LoadAll() {
  auto eps = store_.AllEndpoints(std::nullopt);
  if (!eps) return std::unexpected(eps.error());
  index_.ReplaceAll(*eps);
  return {};
}

void IndexFollower::OnChangesMissed() {
  if (auto r = LoadAll(); !r) spdlog::error("cannot reload the endpoint index: {}", r.error().message);
}

void IndexFollower::OnEndpointChanged(const CompanyId& company, const EndpointId& id) {
  auto eps = store_.AllEndpoints(company);
  if (!eps) {
    // The index keeps the company's previous endpoints until its next change: events keep
    // fanning out as before (deliveries to a since-deleted endpoint are dropped by the
    // dispatcher, which reads the store).
    spdlog::error("cannot refresh the endpoint index after a change of {}: {}", id.str(), eps.error().message);
    return;
  }
  index_.ReplaceCompany(company, *eps);
}

}  // namespace hookd::api
