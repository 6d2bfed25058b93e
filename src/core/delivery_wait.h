#pragma once
// Why a delivery that is not finished waits (issue 15 item 1; SPEC §9 "the reason a pending
// delivery waits"): the `waiting` member of the API's delivery object.
//
// Two sources, joined by DescribeWait (pure: no clock, no I/O):
//  - the store, the same on every node: the delivery's state and due time, its endpoint's
//    status, and — with `ordering: "subject"` — the earliest earlier pending delivery of the
//    same endpoint and subject (DeliveryStore::OrderingBlockers), which it waits behind;
//  - the dispatcher that holds the delivery in memory (LiveDeliveryState), when it is on this
//    node: whether an attempt is in flight, or a due delivery waits for the endpoint's
//    max_concurrency or rate limit. Only that dispatcher knows those, so a node that does not
//    dispatch the endpoint (several nodes on PostgreSQL) says "due" instead: never a guess.
// When both speak, the dispatcher's live state wins: it is what happens.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/endpoint.h"
#include "core/ids.h"
#include "core/model.h"

namespace hookd {

enum class WaitReason {
  kBehindEarlierDelivery,  // "behind_earlier_delivery": an earlier delivery of its subject goes first
  kRetryBackoff,           // "retry_backoff": an attempt failed; the next one is due later
  kScheduled,              // "scheduled": not attempted yet, due later
  kEndpointDisabled,       // "endpoint_disabled": held until the endpoint is enabled
  kHeld,                   // "held": held, though the endpoint was enabled again without releasing it
  kRateLimited,            // "rate_limited": due, waiting for the endpoint's rate limit
  kConcurrencyLimit,       // "concurrency_limit": due, the endpoint's max_concurrency requests are in flight
  kSending,                // "sending": an attempt is in flight now
  kDue,                    // "due": due now, waiting for its turn
};
std::string_view ToString(WaitReason r);

// What the store says an ordered delivery waits behind (DeliveryStore::OrderingBlockers).
struct OrderingBlocker {
  DeliveryId delivery;    // the delivery asked about
  std::string subject;    // its subject (the employee)
  DeliveryId blocked_by;  // the earliest pending delivery of the same endpoint and subject before it
  int blocked_by_attempts = 0;
  std::optional<int64_t> blocked_by_next_attempt_at_ms;
  int64_t ahead = 0;  // pending deliveries of that endpoint and subject before it (blocked_by included)
};

// What the dispatcher holding a delivery knows of it right now.
struct LiveDeliveryState {
  enum class State {
    kUnknown,  // not in this node's memory (another node's endpoint, being read back, just finished)
    kBlocked,  // behind the head of its subject's queue
    kWaiting,  // its due time (`due_ms`) is ahead
    kReady,    // due; see `ready`
    kInFlight,
  };
  enum class Ready { kQueued, kConcurrency, kRateLimit };
  State state = State::kUnknown;
  Ready ready = Ready::kQueued;
  int64_t due_ms = 0;      // kWaiting
  DeliveryId blocked_by;   // kBlocked: the head of its subject's queue
  std::string subject;     // kBlocked
  int64_t ahead = 0;       // kBlocked: deliveries before it in that queue
};

// Asks the dispatchers of this node about deliveries (DispatcherPool implements it).
class DeliveryInspector {
 public:
  struct Query {
    EndpointId endpoint;
    DeliveryId delivery;
  };
  virtual ~DeliveryInspector() = default;
  // One answer per query, in order; kUnknown for every delivery no dispatcher here holds, and
  // for all of them when the dispatchers do not answer within a short bound (busy). Thread-safe.
  virtual std::vector<LiveDeliveryState> Inspect(const std::vector<Query>& queries) = 0;
};

struct DeliveryWait {
  WaitReason reason = WaitReason::kDue;
  // kBehindEarlierDelivery
  DeliveryId blocked_by;
  std::string subject;
  int64_t ahead = 0;  // 0: unknown
  std::optional<int64_t> blocked_by_next_attempt_at_ms;
  // kRetryBackoff, kScheduled
  int64_t next_attempt_at_ms = 0;
  // kEndpointDisabled
  DisabledReason disabled_reason = DisabledReason::kNone;
  // kRateLimited, kConcurrencyLimit: the endpoint's limit
  int limit = 0;
};

// Why `d` waits: nullopt when it is finished (succeeded, failed). `endpoint`: its endpoint as
// the store has it (null: deleted); `blocker`: the store's OrderingBlocker for it (null: none,
// or its endpoint is not ordered); `live`: the dispatcher's state of it (null or kUnknown: not
// known on this node). Rules, in order:
//   held                       -> endpoint_disabled (the endpoint is disabled) or held (it is not)
//   pending, endpoint disabled -> endpoint_disabled (the dispatcher is about to hold it)
//   known live: in flight -> sending; blocked -> behind_earlier_delivery (the queue's head);
//               due later -> retry_backoff (attempted before) or scheduled; due -> concurrency_limit,
//               rate_limited or due
//   else (the store alone): a blocker -> behind_earlier_delivery; next_attempt_at later ->
//               retry_backoff or scheduled; else due
std::optional<DeliveryWait> DescribeWait(const Delivery& d, const Endpoint* endpoint, const OrderingBlocker* blocker,
                                         const LiveDeliveryState* live, int64_t now_ms);

// {"reason": "...", ...} as documented in openapi.json (Delivery.waiting).
boost::json::object DeliveryWaitToJson(const DeliveryWait& w);

}  // namespace hookd
