#pragma once
// In-memory index of every company's endpoints, so that ingestion fans out without touching
// the store. Each company's entry is an immutable snapshot, swapped whole when that company's
// endpoints change; a filter that did not change keeps its compiled form (compiling is the
// costly part: RE2 programs). Thread-safe: Match runs on many HTTP threads; Replace* on
// writers.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/value.hpp>

#include "core/endpoint.h"
#include "core/filter.h"
#include "core/ids.h"

namespace hookd {

// Per-company budget of filter regular expressions (over all of its endpoints), on top of the
// per-filter limits of core/filter.h: it bounds the memory a company's compiled filters take
// (each RE2 program with its caches is capped at 1 MiB: 50 MiB at most) and the work of
// matching one event (at worst, RE2's NFA: ~5,000 × 4 KiB steps, tens of milliseconds; its
// DFA, the usual case, well under one).
inline constexpr int kMaxCompanyFilterRegexes = 50;
inline constexpr int kMaxCompanyFilterRegexProgram = 5000;

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
  // Takes one endpoint out at once (before it is deleted from the store, so that no event
  // fans out to it once the store says it is gone).
  void Remove(const CompanyId& company, const EndpointId& id);

  // What `company`'s filters spend on $regex now, leaving out endpoint `except` (the one being
  // edited): the per-company budget (kMaxCompanyFilterRegexes, kMaxCompanyFilterRegexProgram)
  // is checked against it when an endpoint is saved.
  struct RegexUse {
    int count = 0;
    int program_size = 0;
  };
  RegexUse CompanyRegexUse(const CompanyId& company, const std::optional<EndpointId>& except) const;

  // How many filters were compiled since construction (unchanged ones are reused, not
  // compiled again).
  uint64_t FilterCompiles() const { return filter_compiles_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    Target target;
    std::vector<std::string> selectors;
    std::shared_ptr<const Filter> filter;  // null: no filter
  };
  using Entries = std::vector<Entry>;
  // `previous`: the company's last snapshot (may be null), whose compiled filters are reused
  // for endpoints whose filter is unchanged.
  std::shared_ptr<const Entries> Build(const std::vector<const Endpoint*>& eps,
                                       const Entries* previous);
  std::shared_ptr<const Entries> Snapshot(const CompanyId& company) const;

  std::atomic<uint64_t> filter_compiles_{0};
  mutable std::mutex mu_;
  std::unordered_map<CompanyId, std::shared_ptr<const Entries>> companies_;  // GUARDED_BY(mu_)
};

}  // namespace hookd
