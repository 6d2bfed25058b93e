#include "core/endpoint_index.h"

#include <algorithm>

namespace hookd {

std::shared_ptr<const EndpointIndex::Entries> EndpointIndex::Build(
    const std::vector<const Endpoint*>& eps, const Entries* previous) {
  std::unordered_map<EndpointId, std::shared_ptr<const Filter>> compiled;
  if (previous)
    for (const Entry& e : *previous)
      if (e.filter) compiled.emplace(e.target.id, e.filter);
  auto entries = std::make_shared<Entries>();
  for (const Endpoint* ep : eps) {
    Entry e;
    e.target = Target{ep->id, ep->Enabled(), ep->ordering};
    e.selectors = ep->event_types;
    if (!ep->filter.is_null()) {
      if (auto it = compiled.find(ep->id); it != compiled.end() && it->second->ToJson() == ep->filter) {
        e.filter = it->second;  // unchanged: shared with the previous snapshot
      } else {
        // Stored filters were validated on save; one that no longer compiles matches nothing.
        auto f = Filter::Compile(ep->filter);
        filter_compiles_.fetch_add(1, std::memory_order_relaxed);
        if (!f) continue;
        e.filter = std::make_shared<const Filter>(std::move(*f));
      }
    }
    entries->push_back(std::move(e));
  }
  return entries;
}

std::shared_ptr<const EndpointIndex::Entries> EndpointIndex::Snapshot(const CompanyId& company) const {
  std::lock_guard lock(mu_);
  auto it = companies_.find(company);
  return it == companies_.end() ? nullptr : it->second;
}

EndpointIndex::RegexUse EndpointIndex::CompanyRegexUse(const CompanyId& company,
                                                       const std::optional<EndpointId>& except) const {
  RegexUse use;
  if (auto entries = Snapshot(company)) {
    for (const Entry& e : *entries) {
      if (!e.filter || (except && e.target.id == *except)) continue;
      use.count += e.filter->RegexCount();
      use.program_size += e.filter->RegexProgramSize();
    }
  }
  return use;
}

std::vector<EndpointIndex::Target> EndpointIndex::Match(const CompanyId& company,
                                                        std::string_view type,
                                                        const boost::json::value& payload) const {
  std::shared_ptr<const Entries> entries = Snapshot(company);
  if (!entries) return {};
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
  auto entries = Build(eps, Snapshot(company).get());
  std::lock_guard lock(mu_);
  companies_[company] = std::move(entries);
}

void EndpointIndex::Remove(const CompanyId& company, const EndpointId& id) {
  std::lock_guard lock(mu_);
  auto it = companies_.find(company);
  if (it == companies_.end()) return;
  auto next = std::make_shared<Entries>();
  for (const Entry& e : *it->second)
    if (e.target.id != id) next->push_back(e);
  it->second = std::move(next);
}

void EndpointIndex::ReplaceAll(const std::vector<Endpoint>& endpoints) {
  std::unordered_map<CompanyId, std::vector<const Endpoint*>> by_company;
  for (const auto& ep : endpoints) by_company[ep.company_id].push_back(&ep);
  std::unordered_map<CompanyId, std::shared_ptr<const Entries>> next;
  for (const auto& [company, eps] : by_company) next[company] = Build(eps, Snapshot(company).get());
  std::lock_guard lock(mu_);
  companies_ = std::move(next);
}

}  // namespace hookd
