#pragma once
// How the API tells the dispatcher about new work without it polling the store.

#include <vector>

#include "core/ids.h"
#include "core/model.h"

namespace hookd {

class DeliverySink {
 public:
  virtual ~DeliverySink() = default;
  // Deliveries that are pending and due now — just accepted (with their payload), or put
  // back by a retry request. Called right after they are durable; must not block.
  virtual void OnDeliveriesReady(std::vector<PendingDelivery> deliveries) = 0;
  // An endpoint was created, changed, enabled, disabled or deleted, or had deliveries
  // re-queued: the dispatcher re-reads it (and its pending deliveries) from the store.
  virtual void OnEndpointChanged(const CompanyId& company, const EndpointId& id) = 0;
};

}  // namespace hookd
