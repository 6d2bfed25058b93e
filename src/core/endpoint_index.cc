#include "core/endpoint_index.h"

#include <algorithm>

namespace hookd {

std::shared_ptr<const EndpointIndex::Entries> EndpointIndex::Build(
    const std::vector<const Endpoint*>& eps) {
  auto entries = std::make_shared<Entries>();
  for (const Endpoint* ep : eps) {
    Entry e;
    e.target = Target{ep->id, ep->Enabled(), ep->ordering};
    e.selectors = ep->event_types;
    if (!ep->filter.is_null()) {
      // Stored filters were validated on save; one that no longer compiles matches nothing.
      auto f = Filter::Compile(ep->filter);
      if (!f) continue;
      e.filter = std::make_shared<const Filter>(std::move(*f));
    }
    entries->push_back(std::move(e));
  }
  return entries;
}

std::vector<EndpointIndex::Target> EndpointIndex::Match(const CompanyId& company,
                                                        std::string_view type,
                                                        const boost::json::value& payload) const {
  std::shared_ptr<const Entries> entries;
  {
    std::lock_guard lock(mu_);
    auto it = companies_.find(company);
    if (it == companies_.end()) return {};
    entries = it->second;
  }
  std::vector<Target> out;
  for (const Entry& e : *entries) {
    bool wants = std::any_of(e.selectors.begin(), e.selectors.end(),
                             [&](const std::string& s) { return SelectorMatches(s, type); });
    if (!wants) continue;
    if (e.filter && !e.filter->Matches(payload)) continue;
    out.push_back(e.target);
  }
  return out;
}

void EndpointIndex::ReplaceCompany(const CompanyId& company, const std::vector<Endpoint>& endpoints) {
  std::vector<const Endpoint*> eps;
  for (const auto& ep : endpoints)
    if (ep.company_id == company) eps.push_back(&ep);
  auto entries = Build(eps);
  std::lock_guard lock(mu_);
  companies_[company] = std::move(entries);
}

void EndpointIndex::ReplaceAll(const std::vector<Endpoint>& endpoints) {
  std::unordered_map<CompanyId, std::vector<const Endpoint*>> by_company;
  for (const auto& ep : endpoints) by_company[ep.company_id].push_back(&ep);
  std::unordered_map<CompanyId, std::shared_ptr<const Entries>> next;
  for (const auto& [company, eps] : by_company) next[company] = Build(eps);
  std::lock_guard lock(mu_);
  companies_ = std::move(next);
}

}  // namespace hookd
