#pragma once
// The dispatcher: sends pending deliveries to their endpoints and records the outcomes.
//
// One owner thread holds all scheduling state (no locks on it): per-endpoint ready queues
// with max_concurrency, a token bucket for rate_limit_per_second and per-subject FIFOs
// for `ordering: "subject"`; a timer heap for retries. It sees the world through three
// interfaces only — a Clock, an OutboundClient (the requests) and a DispatchStore — so that
// tests run it on a simulated clock with fakes (tests/unit/dispatcher_test.cc).
// Replayed deliveries (PendingDelivery::replay, core/replay.h) wait in a lane of their own per
// endpoint and yield to its live ones: a live delivery that is ready goes first, on every free
// slot and every rate-limit token, and replayed ones never hold more than half of the
// endpoint's max_concurrency (at least one), so a live one always finds a slot free (with
// max_concurrency 1, after the one replayed request in flight). With `ordering: "subject"`
// replayed deliveries keep their subject order among themselves; live ones never wait for them.
// New work arrives from the change feed as a ChangeListener (an inbox + the client's Wakeup —
// no polling of the store on the hot path). The store is the source of truth: nothing is
// marked in flight on disk, so after a crash Start() reloads every pending delivery and
// sends it again (at least once). Outcomes are written in batches through the store's
// group commit, off the sending path.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "core/change_feed.h"
#include "core/delivery_wait.h"
#include "core/log_throttle.h"
#include "core/endpoint.h"
#include "core/payload_template.h"
#include "core/retry_policy.h"
#include "core/shard_ownership.h"
#include "core/clock.h"
#include "dispatch/outbound_client.h"
#include "store/store.h"

namespace hookd {

class Metrics;  // core/metrics.h

struct DispatcherOptions {
  RetryPolicy retry;
  int64_t request_timeout_ms = 15000;     // caps each endpoint's timeout_ms
  int64_t disable_after_ms = 5LL * 86400 * 1000;
  int disable_min_failures = 10;          // and at least this many failures in a row
  size_t max_in_flight = 4096;            // over all endpoints (of this shard)
  // Endpoints are spread over `shards` dispatchers (DispatcherPool), each with its own
  // thread; this one owns the endpoints with ShardOf(id, shards) == shard.
  int shard = 0;
  int shards = 1;
  std::string user_agent = "hookd";
  std::string tls_ca_file;  // PEM bundle of trusted CAs; empty: the system's
  bool builtin_http1 = true;  // http:// through the built-in HTTP/1.1 path (false: libcurl)
  std::string proxy;          // --proxy: every request through it ("": none; never the environment's)
  // Called (on the dispatcher thread) after the dispatcher disabled or deleted an endpoint, to
  // announce it on the change feed (serve.cc wires it), so the fan-out index follows — on
  // every node. May be empty.
  std::function<void(const CompanyId& company, const EndpointId& id)> on_endpoint_changed;
  // Called (on the dispatcher thread) just before the dispatcher deletes an endpoint (a REST
  // hook answered 410), so that this node's fan-out stops before the store says it is gone; the
  // delete (or its failure) is then announced through on_endpoint_changed. May be empty.
  std::function<void(const CompanyId& company, const EndpointId& id)> on_endpoint_deleting;
  // The time every rule runs on (retry due times, rate limits, auto-disable, stop grace).
  // Must outlive the dispatcher.
  const Clock* clock = &SystemClock();
  // Several nodes on one database: this node dispatches only the endpoints of the lease shards
  // it holds (announced by OnOwnershipChanged), starts a request only while the lease is still
  // usable, and fences every outcome with the lease's epoch. Null: every endpoint (one node).
  // Must outlive the dispatcher.
  const ShardOwnership* ownership = nullptr;
  // Attempt durations, outcomes and per-endpoint failures go here (atomics, from the
  // dispatcher thread). May be null; must outlive the dispatcher.
  Metrics* metrics = nullptr;
};

// Counters for /metrics and tests. Read from any thread.
struct DispatcherStats {
  std::atomic<uint64_t> attempts{0};
  std::atomic<uint64_t> succeeded{0};
  std::atomic<uint64_t> failed{0};       // deliveries failed: out of attempts, 410, or endpoint deleted
  std::atomic<uint64_t> retries{0};      // attempts that led to a retry
  std::atomic<int64_t> queued{0};        // deliveries held in memory (ready, waiting, in flight)
  std::atomic<int64_t> in_flight{0};
};

class Dispatcher final : public ChangeListener {
 public:
  // `store` and `client` must outlive the dispatcher; the client is used by its thread only.
  Dispatcher(DispatchStore& store, OutboundClient& client, DispatcherOptions opts);
  ~Dispatcher() override;

  // Which of `shards` dispatchers owns endpoint `id`.
  static int ShardOf(const EndpointId& id, int shards);

  // Starts the thread; it first loads endpoints and every pending delivery from the store.
  void Start();
  // Stop() without waiting: the thread stops sending and exits within `grace_ms`.
  void RequestStop(int grace_ms);
  // Stops sending new requests, lets in-flight ones finish for up to `grace_ms` (those that
  // don't stay pending in the store and are sent again after a restart), writes the
  // outcomes, and joins the thread.
  void Stop(int grace_ms);

  // Driving the loop on the caller's thread instead of Start()'s — tests do, with a simulated
  // clock and a fake client, so that nothing blocks or sleeps: Begin() once (what Start()'s
  // thread does first), then Turn() — one pass of the loop: the inbox, due timers, new
  // requests, outcome writes, and the client's finished requests — as often as they like. Turn()
  // returns false once a requested stop is complete.
  void Begin();
  bool Turn();

  void OnDeliveriesReady(std::vector<PendingDelivery> deliveries) override;
  void OnEndpointChanged(const CompanyId& company, const EndpointId& id) override;
  void OnDeliveriesRequeued(const CompanyId& company, const EndpointId& id) override;
  // Canceled deliveries (erased events) are forgotten with their payloads: never sent (again).
  // One in flight finishes, its outcome not written (the store keeps it canceled), and is not
  // retried.
  void OnDeliveriesCanceled(const std::vector<std::pair<DeliveryId, EndpointId>>& deliveries) override;
  // The endpoint's replay was canceled: its replayed deliveries held here are written
  // `canceled` and forgotten; one in flight keeps its outcome if it succeeded or failed for good,
  // and is canceled instead of being retried.
  void OnReplayCanceled(const CompanyId& company, const EndpointId& id) override;
  // Lease shards taken: their endpoints' pending deliveries are read from the store; given
  // back or lapsed: their deliveries are forgotten (requests in flight finish, and their
  // outcomes are written fenced by the old epoch).
  void OnOwnershipChanged() override;
  // Announcements were lost: endpoints and every owned pending delivery are read back.
  void OnChangesMissed() override;

  const DispatcherStats& Stats() const { return stats_; }

  // What this dispatcher knows now of these deliveries (core/delivery_wait.h), in order: asked
  // of its loop, from any thread but its own (a test driving Turn() turns until the answer is
  // ready). Never fulfilled once the loop has ended: the caller waits with a bound.
  std::future<std::vector<LiveDeliveryState>> InspectAsync(const std::vector<DeliveryId>& ids);

 private:
  // Memory per queued delivery matters (a million-delivery backlog must fit in a few
  // hundred MB): ids are kept packed (16 bytes), the company comes from the endpoint, and
  // payloads are dropped while a delivery waits for a retry.
  using Key = PackedUlid;
  enum class ItemState : uint8_t { kReady, kWaiting, kInFlight, kBlocked };
  // 80 bytes: a million waiting deliveries are ~110 MB with the map's node and bucket.
  struct Item {
    Key event;
    Key endpoint;
    int64_t due_ms = 0;
    uint64_t timer_gen = 0;
    std::shared_ptr<const std::string> payload;  // null while waiting: loaded when due
    // Set only with `ordering: "subject"`: the subject whose FIFO this delivery is in.
    std::unique_ptr<std::string> ordered_subject;
    int32_t attempts = 0;
    ItemState state = ItemState::kReady;
    bool replay = false;            // in its endpoint's replay lane
    bool cancel_on_finish = false;  // its replay was canceled while it was in flight
  };
  struct EndpointState {
    Endpoint cfg;
    std::optional<PayloadTemplate> tmpl;  // compiled cfg.payload_template (SetConfig)
    bool gone = false;  // deleted
    int in_flight = 0;
    bool runnable = false;  // in runnable_
    std::deque<Key> ready;         // live delivery keys
    std::deque<Key> replay_ready;  // replayed ones: sent only when no live one is ready
    int replay_in_flight = 0;
    double tokens = 0;
    int64_t tokens_at_ms = 0;
    bool rate_timer = false;
    bool counted_failing = false;  // counted in hookd_endpoints_failing
    std::unordered_map<std::string, std::deque<Key>> subjects;  // ordering: FIFO per subject
    std::unordered_map<std::string, std::deque<Key>> replay_subjects;  // the same, of replayed ones
    // Its pending deliveries are still being read from the store (at start, or after it was
    // enabled); new ones for a subject-ordered endpoint wait in `parked` so they cannot
    // overtake older ones. Deliveries from `recover_bound` on are skipped ("": none): at start,
    // those created since, which come through the inbox.
    bool recovering = false;
    std::string recover_bound;
    std::vector<PendingDelivery> parked;
  };
  struct Timer {
    int64_t due_ms;
    uint64_t gen;   // for deliveries: must match Item::timer_gen; 0 for endpoint wake-ups
    Key key;        // delivery, or endpoint when gen == 0
    bool operator>(const Timer& o) const { return due_ms > o.due_ms; }
  };
  struct EndpointChanged {
    CompanyId company;
    EndpointId id;
    bool requeued = false;  // failed deliveries were put back to pending
  };
  struct OwnershipChanged {
    bool missed = false;  // announcements were lost: read everything back
  };
  struct Canceled {
    std::vector<Key> deliveries;
  };
  struct Inspection {
    std::vector<Key> deliveries;
    std::promise<std::vector<LiveDeliveryState>> answer;
  };
  struct ReplayCanceled {
    CompanyId company;
    EndpointId id;
  };
  using Command = std::variant<std::vector<PendingDelivery>, EndpointChanged, OwnershipChanged, Canceled,
                               std::shared_ptr<Inspection>, ReplayCanceled>;

  void Run();
  // Loads the endpoints and queues them for recovery; RecoverStep then reads their pending
  // deliveries a page at a time between the loop's other work.
  void Recover();
  void StartRecovery(const Key& key, EndpointState& es, std::string bound);
  void RecoverStep();
  void EndRecovery(EndpointState& es);
  // A delivery announced by ingest or the API (not read back from the store).
  void AddNew(PendingDelivery d);
  void DrainInbox();
  // Null when deleted — or when the store could not say (then `*store_failed`, if given).
  EndpointState* FindEndpoint(const CompanyId& company, const EndpointId& id, bool* store_failed = nullptr);
  static void SetConfig(EndpointState& es, Endpoint ep);
  // Takes `d` into memory, unless memory holds it or has just finished it: then only a retry
  // request does something (makes a delivery waiting for its retry due now).
  void Add(PendingDelivery d);
  void Post(Command c);  // to the inbox, and wakes the loop
  void Schedule(const Key& key, Item& item, int64_t due_ms);
  void MakeReady(const Key& key, Item& item);
  void MarkRunnable(const Key& endpoint, EndpointState& es);
  void FireTimers(int64_t now);
  void Pump(int64_t now);
  bool TakeToken(EndpointState& es, int64_t now);
  void Send(EndpointState& es, const Key& key, Item& item, int64_t now, int64_t lease_epoch);
  void Handle(OutboundResult r);
  void Finish(EndpointState* es, const Key& key);
  void DropQueued(EndpointState& es);
  void Cancel(const std::vector<Key>& deliveries);
  // Removes a delivery from memory without an outcome, letting the next one of its subject go.
  void Forget(const Key& key);
  // Writes the endpoint's replayed deliveries held here `canceled` and forgets them (those in
  // flight: once they come back).
  void CancelReplayed(const EndpointId& id);
  // How many replayed requests the endpoint may have in flight.
  static int ReplaySlots(const EndpointState& es);
  // The endpoint has a delivery Pump could start now (ready, and a slot for its lane).
  static bool HasSendable(const EndpointState& es);
  void Disable(EndpointState& es, DisabledReason reason);
  // `requeued`: failed deliveries of it were put back to pending (read them back).
  void Reload(const CompanyId& company, const EndpointId& id, bool requeued);
  // This node dispatches `endpoint` (it holds its shard's lease; always without ownership).
  bool Owns(const Key& endpoint) const;
  void ApplyOwnership(bool missed);
  // Ends a recovery without taking its parked deliveries (the endpoint's shard was lost).
  void CancelRecovery(const Key& key, EndpointState& es);
  // Sets `u`'s fence from the lease this node holds (held at `epoch`) on `endpoint`'s shard.
  void Fence(DeliveryUpdate& u, const Key& endpoint, int64_t epoch) const;
  LiveDeliveryState DescribeLive(const Key& delivery) const;
  void RecordHealth(EndpointState& es);
  void PublishFailures(EndpointState& es);
  void Flush();
  int NextWakeMs(int64_t now) const;

  DispatchStore& store_;
  OutboundClient& client_;
  DispatcherOptions opts_;
  const Clock& clock_;
  DispatcherStats stats_;
  DefaultRng rng_;

  std::mutex inbox_mu_;
  std::vector<Command> inbox_;  // GUARDED_BY(inbox_mu_)
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> stop_deadline_ms_{0};
  std::atomic<int> pending_writes_{0};
  std::atomic<uint64_t> writes_done_{0};  // outcome writes finished (they finish in order)
  std::thread thread_;

  // Owned by the dispatcher thread.
  std::unordered_map<Key, Item, PackedUlidHash> items_;                 // by delivery
  std::unordered_map<Key, EndpointState, PackedUlidHash> endpoints_;    // by endpoint
  struct InFlight {
    Key delivery;
    int64_t lease_epoch = 0;  // of its endpoint's shard when it was sent (0: no ownership)
    std::string request_headers;  // what the attempt shows was sent (core/sent_headers.h)
  };
  std::unordered_map<uint64_t, InFlight> in_flight_;                    // by request tag
  // Deliveries canceled while in flight: finished when their request ends, outcome unwritten.
  std::unordered_set<Key, PackedUlidHash> canceled_in_flight_;
  // Per lease shard: the epoch this dispatcher works under (0: not owned). Empty without
  // ownership.
  std::vector<int64_t> held_epoch_;
  // On a deque: a million retry timers grow it in blocks, never by doubling (and copying) one
  // big array, which would double the memory of a large backlog at the wrong moment.
  std::priority_queue<Timer, std::deque<Timer>, std::greater<>> timers_;
  std::deque<Key> runnable_;                                            // endpoints with ready work
  std::vector<DeliveryUpdate> updates_;
  std::unordered_map<Key, EndpointHealth, PackedUlidHash> health_;
  // Deliveries finished here whose outcome is not written yet: the store still says pending,
  // so a recovery reading them back must not send them again. Their keys by outcome write
  // (the one being filled first, then one per write in flight, oldest first).
  std::unordered_set<Key, PackedUlidHash> unwritten_;
  struct FinishedItem {
    Key delivery;
    Key endpoint;
  };
  std::vector<FinishedItem> finished_unflushed_;
  std::deque<std::vector<FinishedItem>> finished_in_writes_;
  uint64_t writes_started_ = 0;
  uint64_t writes_retired_ = 0;
  // Outcome writes that failed (their numbers, from 1): the store still has their finished
  // deliveries as they were — pending, mostly — so those endpoints are read back (sent again,
  // at least once) instead of being forgotten until a restart.
  std::mutex failed_mu_;
  std::vector<uint64_t> failed_writes_;  // GUARDED_BY(failed_mu_)
  void RetireWrittenOutcomes();
  // Deliveries a recovery took from the store that were created recently enough for their
  // ingest announcement to be still on its way (a row is visible once committed; the
  // announcement follows its fsync): that announcement is dropped, whenever it comes — once the
  // delivery has finished and its outcome is written, nothing else would recognise it. Entries
  // expire after kAnnouncementLagMs (dispatcher.cc), oldest first.
  std::unordered_map<Key, int64_t, PackedUlidHash> taken_from_store_;
  std::deque<std::pair<int64_t, Key>> taken_expiry_;
  void ForgetOldTakenFromStore(int64_t now);
  // Endpoints whose pending deliveries are still to be read (those with parked deliveries go
  // first), and the page cursor within the first.
  std::deque<Key> recover_queue_;
  std::string recover_after_;
  // Deliveries read back since the queue last went from empty to not, and when that was (0:
  // the queue is empty): logged once it empties again.
  size_t recovered_ = 0;
  int64_t recover_started_ms_ = 0;
  std::string recover_bound_;  // the start-up recovery's upper bound, set by Start()
  LogThrottle recover_error_log_{10'000};
  // A delivery's endpoint could not be read (the store was away): everything is read back
  // (ApplyOwnership(missed)) at the next turn, and again at most once a second until it works.
  bool missed_ = false;
  int64_t missed_retry_ms_ = 0;
  int64_t recover_next_ms_ = 0;  // the next page waits until then (recovery's CPU share)
  uint64_t next_tag_ = 1;
  uint64_t next_gen_ = 1;
};

}  // namespace hookd
