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
  // An endpoint was created, changed, enabled, disabled or deleted: the dispatcher re-reads
  // it from the store (and, when it was enabled, the deliveries that enabling released).
  virtual void OnEndpointChanged(const CompanyId& company, const EndpointId& id) = 0;
  // Failed deliveries of an endpoint were put back to pending (`recover`): the dispatcher
  // reads its pending deliveries back from the store.
  virtual void OnDeliveriesRequeued(const CompanyId& company, const EndpointId& id) = 0;
};

}  // namespace hookd
