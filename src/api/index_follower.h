#pragma once
// Keeps the fan-out index (core/endpoint_index.h) equal to the store's endpoints: a listener
// on the change feed that re-reads a company's endpoints whenever one of them changed. Events
// are matched against the index on the request threads, so it must follow every change —
// those made through the API and those the dispatcher makes (410 gone, auto-disable).

#include "core/change_feed.h"
#include "core/endpoint_index.h"
#include "store/store.h"

namespace hookd::api {

class IndexFollower final : public ChangeListener {
 public:
  // Both must outlive the follower.
  IndexFollower(EndpointStore& store, EndpointIndex& index) : store_(store), index_(index) {}

  // Fills the index with every endpoint (at start-up, before the feed is followed).
  Result<void> LoadAll();

  void OnEndpointChanged(const CompanyId& company, const EndpointId& id) override;
  void OnDeliveriesReady(std::vector<PendingDelivery>) override {}
  void OnDeliveriesRequeued(const CompanyId&, const EndpointId&) override {}
  // Changes made on other nodes may have been missed: the whole index is read again.
  void OnChangesMissed() override;

 private:
  EndpointStore& store_;
  EndpointIndex& index_;
};

}  // namespace hookd::api
