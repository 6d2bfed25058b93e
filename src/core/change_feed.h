#pragma once
// How a change reaches every component that keeps store state in memory — the fan-out index
// (endpoints) and the dispatcher (endpoints, deliveries) — without any of them polling the
// store: the node where the change happened announces it on the ChangeFeed, after it is
// durable, and the feed hands it to each ChangeListener.
//
// The SQLite build's feed is in-process (LocalChangeFeed). A build where several nodes share a
// database implements ChangeFeed with the database's notifications (PostgreSQL LISTEN/NOTIFY):
// the listeners stay as they are.

#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/model.h"

namespace hookd {

class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // Deliveries that are pending and due now — just accepted (with their payload), or put
  // back by a retry request. Called right after they are durable; must not block.
  virtual void OnDeliveriesReady(std::vector<PendingDelivery> deliveries) = 0;
  // An endpoint was created, changed, enabled, disabled or deleted: re-read it from the store
  // (and, when it was enabled, the deliveries that enabling released).
  virtual void OnEndpointChanged(const CompanyId& company, const EndpointId& id) = 0;
  // Failed deliveries of an endpoint were put back to pending (`recover`): read its pending
  // deliveries back from the store.
  virtual void OnDeliveriesRequeued(const CompanyId& company, const EndpointId& id) = 0;
  // These deliveries (id, endpoint — empty when another node announced them) were canceled
  // (their events erased): forget them, with their payloads, and send them no more. Called right
  // after they are durable.
  virtual void OnDeliveriesCanceled(const std::vector<std::pair<DeliveryId, EndpointId>>& deliveries) {
    (void)deliveries;
  }
  // A replay of the endpoint started (core/replay.h): the runner that owns it picks it up.
  virtual void OnReplayStarted(const CompanyId& company, const EndpointId& id) {
    (void)company;
    (void)id;
  }
  // The endpoint's running replay was canceled: the store has made its deliveries not sent yet
  // `canceled`; the dispatcher forgets the ones it holds.
  virtual void OnReplayCanceled(const CompanyId& company, const EndpointId& id) {
    (void)company;
    (void)id;
  }

  // Announcements that only several nodes sharing a database make (the PostgreSQL feed);
  // a listener that does not care ignores them.
  //
  // Which shards this node holds changed (core/shard_ownership.h): leases taken, given back
  // or lapsed.
  virtual void OnOwnershipChanged() {}
  // Announcements may have been lost (the feed's connection to the database dropped): read
  // back everything kept in memory from the store.
  virtual void OnChangesMissed() {}
  // A token was revoked on another node.
  virtual void OnTokensChanged() {}
  // A custom event type was added on another node.
  virtual void OnEventTypesChanged() {}
};

// Announcing a change is calling the ChangeListener methods on the feed.
class ChangeFeed : public ChangeListener {
 public:
  // `listener` gets every announcement made from now on; it must outlive the feed's use.
  virtual void Subscribe(ChangeListener& listener) = 0;
};

// One process: each announcement goes to every listener, synchronously, in the order they
// subscribed — so when an API call that changed an endpoint answers, this node's index already
// has the change (a client that creates an endpoint and then publishes is never missed).
// Subscribe before announcing starts (it is not synchronised with announcements).
class LocalChangeFeed final : public ChangeFeed {
 public:
  void Subscribe(ChangeListener& listener) override { listeners_.push_back(&listener); }
  void OnDeliveriesReady(std::vector<PendingDelivery> deliveries) override {
    for (size_t i = 0; i + 1 < listeners_.size(); ++i) listeners_[i]->OnDeliveriesReady(deliveries);
    if (!listeners_.empty()) listeners_.back()->OnDeliveriesReady(std::move(deliveries));
  }
  void OnEndpointChanged(const CompanyId& company, const EndpointId& id) override {
    for (auto* l : listeners_) l->OnEndpointChanged(company, id);
  }
  void OnDeliveriesRequeued(const CompanyId& company, const EndpointId& id) override {
    for (auto* l : listeners_) l->OnDeliveriesRequeued(company, id);
  }
  void OnDeliveriesCanceled(const std::vector<std::pair<DeliveryId, EndpointId>>& deliveries) override {
    for (auto* l : listeners_) l->OnDeliveriesCanceled(deliveries);
  }
  void OnReplayStarted(const CompanyId& company, const EndpointId& id) override {
    for (auto* l : listeners_) l->OnReplayStarted(company, id);
  }
  void OnReplayCanceled(const CompanyId& company, const EndpointId& id) override {
    for (auto* l : listeners_) l->OnReplayCanceled(company, id);
  }
  void OnOwnershipChanged() override {
    for (auto* l : listeners_) l->OnOwnershipChanged();
  }
  void OnChangesMissed() override {
    for (auto* l : listeners_) l->OnChangesMissed();
  }
  void OnTokensChanged() override {
    for (auto* l : listeners_) l->OnTokensChanged();
  }
  void OnEventTypesChanged() override {
    for (auto* l : listeners_) l->OnEventTypesChanged();
  }

 private:
  std::vector<ChangeListener*> listeners_;
};

}  // namespace hookd
