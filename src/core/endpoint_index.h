#pragma once
// In-memory index of every company's endpoints, so that ingestion fans out without touching
// the store. Each company's entry is an immutable snapshot, swapped whole when that company's
// endpoints change. Thread-safe: Match runs on many HTTP threads; Replace* on writers.

#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/value.hpp>

#include "core/endpoint.h"
#include "core/filter.h"
#include "core/ids.h"

namespace hookd {

class EndpointIndex {
 public:
  struct Target {
    EndpointId id;
    bool enabled = true;  // false: the delivery is created as `held`
    Ordering ordering = Ordering::kNone;
  };

  // Endpoints of `company` whose event_types select `type` and whose filter (if any)
  // matches `payload` (the SPEC §3 body as JSON).
  std::vector<Target> Match(const CompanyId& company, std::string_view type,
                            const boost::json::value& payload) const;

  // Replaces everything known about `company` (pass all of its endpoints).
  void ReplaceCompany(const CompanyId& company, const std::vector<Endpoint>& endpoints);
  // Replaces the whole index (start-up).
  void ReplaceAll(const std::vector<Endpoint>& endpoints);

 private:
  struct Entry {
    Target target;
    std::vector<std::string> selectors;
    std::shared_ptr<const Filter> filter;  // null: no filter
  };
  using Entries = std::vector<Entry>;
  static std::shared_ptr<const Entries> Build(const std::vector<const Endpoint*>& eps);

  mutable std::mutex mu_;
  std::unordered_map<CompanyId, std::shared_ptr<const Entries>> companies_;  // GUARDED_BY(mu_)
};

}  // namespace hookd
