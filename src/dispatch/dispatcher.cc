#include "dispatch/dispatcher.h"

#include "core/delivery_decision.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/json_util.h"
#include "core/metrics.h"
#include "core/sent_headers.h"
#include "core/signing.h"

namespace hookd {

namespace {
// Deliveries of one endpoint read per recovery step (any status: the step's cost is bounded
// however long the endpoint's history is).
constexpr int kRecoveryPage = 2000;
constexpr int kMaxWaitMs = 1000;
// How long an ingest announcement may lag behind its commit (the commit, the fsync after it,
// the callback, the inbox): a delivery read back by a recovery that was created less than this
// long ago may still be announced, and that announcement must be ignored (see
// taken_from_store_).
constexpr int64_t kAnnouncementLagMs = 30000;
// Back-pressure from the disk: at most this many outcome commits queued at the store, and no
// new requests while this many outcomes wait to be written (memory stays bounded when the
// writer is slower than the receivers).
constexpr int kMaxOutcomeWrites = 8;
constexpr size_t kMaxUnwrittenOutcomes = 200000;

void Count(Metrics* metrics, Metrics::Outcome outcome) {
  if (metrics) metrics->Deliveries(outcome).Inc();
}
}  // namespace

Dispatcher::Dispatcher(DispatchStore& store, OutboundClient& client, DispatcherOptions opts)
    : store_(store), client_(client), opts_(std::move(opts)), clock_(*opts_.clock) {}

Dispatcher::~Dispatcher() { Stop(0); }

void Dispatcher::Start() {
  // Taken here, before the caller starts taking requests: every delivery created from now on
  // reaches this dispatcher through its inbox, so the start-up scan stops short of them.
  recover_bound_ = DeliveryId::New().str();
  thread_ = std::thread([this] {
    NameThisThread("hookd-dispatch");
    Run();
  });
}

void Dispatcher::Begin() {
  recover_bound_ = DeliveryId::New().str();
  Recover();
}

int Dispatcher::ShardOf(const EndpointId& id, int shards) {
  if (shards <= 1) return 0;
  return static_cast<int>(PackedUlidHash{}(id.Packed()) % static_cast<size_t>(shards));
}

void Dispatcher::RequestStop(int grace_ms) {
  if (stopping_.load()) return;
  stop_deadline_ms_ = clock_.NowMs() + grace_ms;  // before stopping_: the loop reads it after
  stopping_ = true;
  client_.Wakeup();
}

void Dispatcher::Stop(int grace_ms) {
  if (!thread_.joinable()) return;
  RequestStop(grace_ms);
  thread_.join();
}

void Dispatcher::Post(Command c) {
  {
    std::lock_guard lock(inbox_mu_);
    inbox_.push_back(std::move(c));
  }
  client_.Wakeup();
}

void Dispatcher::OnDeliveriesReady(std::vector<PendingDelivery> deliveries) { Post(std::move(deliveries)); }

void Dispatcher::OnEndpointChanged(const CompanyId& company, const EndpointId& id) {
  Post(EndpointChanged{company, id, false});
}

void Dispatcher::OnDeliveriesRequeued(const CompanyId& company, const EndpointId& id) {
  Post(EndpointChanged{company, id, true});
}

void Dispatcher::OnDeliveriesCanceled(const std::vector<std::pair<DeliveryId, EndpointId>>& deliveries) {
  Canceled c;
  c.deliveries.reserve(deliveries.size());
  for (const auto& [id, _] : deliveries) c.deliveries.push_back(id.Packed());
  Post(std::move(c));
}

void Dispatcher::OnReplayCanceled(const CompanyId& company, const EndpointId& id) {
  Post(ReplayCanceled{company, id});
}

void Dispatcher::OnOwnershipChanged() { Post(OwnershipChanged{false}); }

void Dispatcher::OnChangesMissed() { Post(OwnershipChanged{true}); }

std::future<std::vector<LiveDeliveryState>> Dispatcher::InspectAsync(const std::vector<DeliveryId>& ids) {
  auto in = std::make_shared<Inspection>();
  in->deliveries.reserve(ids.size());
  for (const DeliveryId& id : ids) in->deliveries.push_back(id.Packed());
  auto answer = in->answer.get_future();
  Post(std::move(in));
  return answer;
}

// ------------------------------------------------------------------ the loop

void Dispatcher::Run() {
  Recover();
  while (Turn()) {
  }
  if (client_.InFlight() > 0)
    spdlog::info("dispatcher: {} requests still in flight at shutdown stay pending", client_.InFlight());
  Flush();
  for (int i = 0; i < 500 && pending_writes_.load() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

bool Dispatcher::Turn() {
  RetireWrittenOutcomes();
  ForgetOldTakenFromStore(clock_.NowMs());
  if (!recover_queue_.empty() && !stopping_ && clock_.NowMs() >= recover_next_ms_) RecoverStep();
  DrainInbox();
  const int64_t now = clock_.NowMs();
  if (stopping_) {
    if (client_.InFlight() == 0 || now >= stop_deadline_ms_) return false;
  } else {
    FireTimers(now);
    if (updates_.size() < kMaxUnwrittenOutcomes) Pump(now);
  }
  if (pending_writes_.load() < kMaxOutcomeWrites) Flush();
  const int wait = stopping_ ? 20 : NextWakeMs(now);
  for (auto& r : client_.Poll(wait)) Handle(std::move(r));
  return true;
}

void Dispatcher::Recover() {
  // Deliveries created since Start() reach this dispatcher through its inbox: the scan stops
  // short of them (ULIDs from this process only grow).
  const std::string& bound = recover_bound_;
  if (opts_.ownership) {
    held_epoch_.assign(kLeaseShards, 0);
    for (int s = 0; s < kLeaseShards; ++s) held_epoch_[s] = opts_.ownership->UsableEpoch(s);
  }
  auto eps = store_.EndpointsToDispatch();
  if (!eps) {
    spdlog::error("dispatcher: cannot load endpoints: {}", eps.error().message);
    return;
  }
  for (auto& ep : *eps) {
    if (ShardOf(ep.id, opts_.shards) != opts_.shard) continue;
    const Key key = ep.id.Packed();
    EndpointState& es = endpoints_[key];
    SetConfig(es, std::move(ep));
    PublishFailures(es);
    if (Owns(key)) StartRecovery(key, es, bound);
  }
}

bool Dispatcher::Owns(const Key& endpoint) const {
  return held_epoch_.empty() || held_epoch_[LeaseShardOf(endpoint)] != 0;
}

void Dispatcher::Fence(DeliveryUpdate& u, const Key& endpoint, int64_t epoch) const {
  if (held_epoch_.empty()) return;
  u.lease_shard = LeaseShardOf(endpoint);
  u.lease_epoch = epoch;
}

void Dispatcher::CancelRecovery(const Key& key, EndpointState& es) {
  if (!es.recovering) return;
  if (!recover_queue_.empty() && recover_queue_.front() == key) recover_after_.clear();
  std::erase(recover_queue_, key);
  es.recovering = false;
  es.recover_bound.clear();
  es.parked.clear();
}

// Leases taken, given back or lapsed — or (`missed`) announcements lost. Each lease shard this
// dispatcher held but no longer may use (or holds at a new epoch: it lapsed and was taken
// again) is forgotten; each one it now holds anew is read back from the store, its endpoints
// first (some may have been created while another node held it).
void Dispatcher::ApplyOwnership(bool missed) {
  if (!opts_.ownership && !missed) return;
  std::vector<int64_t> now_epoch(held_epoch_.size(), 0);
  for (size_t s = 0; s < now_epoch.size(); ++s) now_epoch[s] = opts_.ownership->UsableEpoch(static_cast<int>(s));
  const std::vector<int64_t> was = held_epoch_;
  auto lost = [&](int s) { return was[s] != 0 && now_epoch[s] != was[s]; };
  auto gained = [&](int s) { return now_epoch[s] != 0 && (now_epoch[s] != was[s] || missed); };
  for (auto& [key, es] : endpoints_) {
    if (was.empty() || !lost(LeaseShardOf(key))) continue;
    CancelRecovery(key, es);
    DropQueued(es);
  }
  bool any_gained = missed;
  for (size_t s = 0; s < now_epoch.size() && !any_gained; ++s) any_gained = gained(static_cast<int>(s));
  if (!held_epoch_.empty()) held_epoch_ = now_epoch;
  if (any_gained) {
    auto eps = store_.EndpointsToDispatch();
    if (!eps) {
      // Nothing is read back now: the next change (the lease manager's next renewal) retries,
      // and so does the next turn after a second when announcements were missed.
      if (auto v = recover_error_log_.Check("endpoints", clock_.NowMs()))
        spdlog::error("dispatcher: cannot load endpoints after a change of leases: {}{}", eps.error().message,
                      v.Suffix());
      if (missed) missed_ = true;
      if (!held_epoch_.empty()) {
        for (size_t s = 0; s < held_epoch_.size(); ++s)
          if (gained(static_cast<int>(s))) held_epoch_[s] = 0;
      }
      return;
    }
    std::unordered_set<Key, PackedUlidHash> present;
    for (auto& ep : *eps) {
      if (ShardOf(ep.id, opts_.shards) != opts_.shard) continue;
      const Key key = ep.id.Packed();
      present.insert(key);
      const bool take = held_epoch_.empty() ? missed : gained(LeaseShardOf(key));
      if (!take && !missed) continue;
      EndpointState& es = endpoints_[key];
      es.gone = false;
      SetConfig(es, std::move(ep));
      PublishFailures(es);
      if (!es.cfg.Enabled()) {
        DropQueued(es);
        continue;
      }
      if (Owns(key) && (take || missed)) StartRecovery(key, es, "");
    }
    if (missed) {  // deleted while announcements were lost
      for (auto& [key, es] : endpoints_) {
        if (es.gone || present.contains(key)) continue;
        CancelRecovery(key, es);
        DropQueued(es);
        es.gone = true;
        es.cfg.consecutive_failures = 0;
        PublishFailures(es);
      }
    }
  }
  // Shards kept: their endpoints may have been skipped while the lease was briefly unusable.
  for (auto& [key, es] : endpoints_)
    if (Owns(key)) MarkRunnable(key, es);
}

void Dispatcher::StartRecovery(const Key& key, EndpointState& es, std::string bound) {
  if (es.recovering) {  // queued already: read as far as the wider of the two bounds
    if (!es.recover_bound.empty() && (bound.empty() || bound > es.recover_bound))
      es.recover_bound = std::move(bound);
    return;
  }
  es.recovering = true;
  es.recover_bound = std::move(bound);
  if (recover_queue_.empty()) {  // a recovery starts: timed and counted until the queue empties
    recover_started_ms_ = clock_.NowMs();
    recovered_ = 0;
  }
  recover_queue_.push_back(key);
}

// One page of the first queued endpoint's pending deliveries. The loop keeps delivering
// between pages: reading them means walking every delivery the endpoint ever had (its index
// has no status), which on a large history takes seconds — new deliveries must not wait.
//
// Recovery takes at most half of one core, whatever the number of dispatchers: one of them
// reads a page at a time (the others skip their turn), and after a page that took t ms, that
// dispatcher waits t ms before its next one. Live traffic keeps the rest of the machine.
void Dispatcher::RecoverStep() {
  static std::mutex one_at_a_time;
  std::unique_lock gate(one_at_a_time, std::try_to_lock);
  const int64_t t0 = clock_.NowMs();
  if (!gate.owns_lock()) {
    recover_next_ms_ = t0 + 1;
    return;
  }
  const Key key = recover_queue_.front();
  auto it = endpoints_.find(key);
  if (it == endpoints_.end() || !it->second.recovering) {
    recover_queue_.pop_front();
    recover_after_.clear();
  } else if (it->second.gone) {
    EndRecovery(it->second);  // its parked deliveries are dropped with it
  } else {
    EndpointState& es = it->second;
    auto page = store_.LoadPending(es.cfg.id, recover_after_, kRecoveryPage);
    if (!page) {
      // The store is away (a database restart): the same page again in a second. Ending the
      // recovery here would leave its pending deliveries unsent until the next restart.
      if (auto v = recover_error_log_.Check("load", t0))
        spdlog::error("dispatcher: cannot load pending deliveries of {}: {}; trying again{}", es.cfg.id.str(),
                      page.error().message, v.Suffix());
      recover_next_ms_ = t0 + 1000;
      return;
    } else {
      const std::string& bound = es.recover_bound;
      const int64_t recent = t0 - kAnnouncementLagMs;
      for (auto& d : page->deliveries) {
        if (!bound.empty() && d.id.str() >= bound) continue;  // new: it came through the inbox
        const Key dk = d.id.Packed();
        const bool known = items_.contains(dk);
        const std::optional<int64_t> created = UlidTimeMs(std::string_view(d.id.str()).substr(4));
        Add(std::move(d));  // known already (in memory): ignored
        ++recovered_;
        // Taken from the store before its ingest announcement was drained (a commit is visible
        // before the fsync that the announcement waits for): that announcement, when it comes,
        // must not send it again — even once it has finished and its outcome is written.
        if (!known && items_.contains(dk) && created && *created >= recent) {
          if (taken_from_store_.emplace(dk, t0 + kAnnouncementLagMs).second)
            taken_expiry_.emplace_back(t0 + kAnnouncementLagMs, dk);
        }
      }
      if (page->next_after.empty() || (!bound.empty() && page->next_after >= bound)) EndRecovery(es);
      else recover_after_ = std::move(page->next_after);
    }
  }
  const int64_t t1 = clock_.NowMs();
  recover_next_ms_ = t1 + (t1 - t0);
  if (recover_queue_.empty() && recover_started_ms_ != 0) {  // this recovery is done
    if (recovered_ > 0)
      spdlog::info("dispatcher: recovered {} pending deliveries in {} ms", recovered_, t1 - recover_started_ms_);
    recover_started_ms_ = 0;
  }
}

void Dispatcher::ForgetOldTakenFromStore(int64_t now) {
  while (!taken_expiry_.empty() && taken_expiry_.front().first <= now) {
    auto it = taken_from_store_.find(taken_expiry_.front().second);
    if (it != taken_from_store_.end() && it->second <= now) taken_from_store_.erase(it);
    taken_expiry_.pop_front();
  }
}

void Dispatcher::EndRecovery(EndpointState& es) {
  const Key key = es.cfg.id.Packed();
  std::erase(recover_queue_, key);
  recover_after_.clear();
  es.recovering = false;
  std::vector<PendingDelivery> parked = std::move(es.parked);
  es.parked.clear();
  for (auto& d : parked) Add(std::move(d));
  MarkRunnable(key, es);
}

void Dispatcher::AddNew(PendingDelivery d) {
  // Another node's (its owner reads it from the store, or gets it from the feed).
  if (!Owns(d.endpoint_id.Packed())) return;
  if (!taken_from_store_.empty() && !d.retry_request) {
    // Announced after a recovery had read it from the store: it is that same delivery.
    if (taken_from_store_.erase(d.id.Packed()) > 0) return;
  }
  if (recover_queue_.empty()) {  // the usual case: nothing is being read back, no look-up here
    Add(std::move(d));
    return;
  }
  auto it = endpoints_.find(d.endpoint_id.Packed());
  if (it != endpoints_.end() && it->second.recovering && it->second.cfg.ordering == Ordering::kSubject) {
    EndpointState& es = it->second;
    if (es.parked.empty() && recover_queue_.front() != it->first) {
      // Read this endpoint next (after the page in progress), so its deliveries wait little.
      std::erase(recover_queue_, it->first);
      recover_queue_.insert(recover_queue_.begin() + (recover_after_.empty() ? 0 : 1), it->first);
    }
    es.parked.push_back(std::move(d));
    return;
  }
  Add(std::move(d));
}

void Dispatcher::DrainInbox() {
  std::vector<Command> cmds;
  {
    std::lock_guard lock(inbox_mu_);
    cmds.swap(inbox_);
  }
  for (auto& c : cmds) {
    if (auto* ds = std::get_if<std::vector<PendingDelivery>>(&c)) {
      for (auto& d : *ds) AddNew(std::move(d));
    } else if (auto* oc = std::get_if<OwnershipChanged>(&c)) {
      ApplyOwnership(oc->missed);
    } else if (auto* cc = std::get_if<Canceled>(&c)) {
      Cancel(cc->deliveries);
    } else if (auto* in = std::get_if<std::shared_ptr<Inspection>>(&c)) {
      std::vector<LiveDeliveryState> out;
      out.reserve((*in)->deliveries.size());
      for (const Key& key : (*in)->deliveries) out.push_back(DescribeLive(key));
      (*in)->answer.set_value(std::move(out));
    } else if (auto* rc = std::get_if<ReplayCanceled>(&c)) {
      CancelReplayed(rc->id);
    } else {
      auto& ch = std::get<EndpointChanged>(c);
      Reload(ch.company, ch.id, ch.requeued);
    }
  }
  if (missed_ && clock_.NowMs() >= missed_retry_ms_) {
    missed_ = false;
    missed_retry_ms_ = clock_.NowMs() + 1000;  // at most once a second while the store is away
    ApplyOwnership(true);
  }
}

int Dispatcher::NextWakeMs(int64_t now) const {
  if (!runnable_.empty() && client_.InFlight() < opts_.max_in_flight &&
      updates_.size() < kMaxUnwrittenOutcomes)
    return 0;
  int64_t due = timers_.empty() ? now + kMaxWaitMs : timers_.top().due_ms;
  if (!recover_queue_.empty()) due = std::min(due, recover_next_ms_);  // the next page to read
  return static_cast<int>(std::clamp<int64_t>(due - now, 0, kMaxWaitMs));
}

// ------------------------------------------------------------------ scheduling

Dispatcher::EndpointState* Dispatcher::FindEndpoint(const CompanyId& company, const EndpointId& id,
                                                   bool* store_failed) {
  const Key key = id.Packed();
  auto it = endpoints_.find(key);
  if (it != endpoints_.end()) return it->second.gone ? nullptr : &it->second;
  auto ep = store_.EndpointToDispatch(company, id);
  if (!ep) {
    if (store_failed && ep.error().code != ErrorCode::kNotFound) *store_failed = true;
    return nullptr;
  }
  EndpointState& es = endpoints_[key];
  SetConfig(es, std::move(*ep));
  return &es;
}

void Dispatcher::SetConfig(EndpointState& es, Endpoint ep) {
  es.cfg = std::move(ep);
  es.tmpl.reset();
  if (!es.cfg.payload_template.is_null()) {
    // Validated when saved; one that no longer compiles sends the event as it is.
    if (auto t = PayloadTemplate::Compile(es.cfg.payload_template)) es.tmpl = std::move(*t);
    else spdlog::warn("dispatcher: the template of {} does not compile: {}", es.cfg.id.str(), t.error().message);
  }
}

void Dispatcher::MarkRunnable(const Key& endpoint, EndpointState& es) {
  if (es.runnable || !HasSendable(es) || es.rate_timer) return;
  es.runnable = true;
  runnable_.push_back(endpoint);
}

void Dispatcher::Add(PendingDelivery d) {
  const Key key = d.id.Packed();
  // Anything but a retry request for a delivery memory holds, or has just finished (its
  // outcome not written yet), is an older copy of it: a row read back by a recovery, or an
  // ingest announcement that comes after a recovery read the committed row. Invariants: such a
  // copy never starts a second send (at most one attempt of a delivery is in flight or due),
  // and only a retry request moves a waiting delivery's due time forward (a recovery never
  // spends a retry early). Each is pinned by a test in tests/unit/dispatcher_test.cc.
  auto existing = items_.find(key);
  if (existing != items_.end()) {
    if (d.retry_request && existing->second.state == ItemState::kWaiting) MakeReady(key, existing->second);
    return;
  }
  if (!d.retry_request && unwritten_.contains(key)) return;
  bool store_failed = false;
  EndpointState* es = FindEndpoint(d.company_id, d.endpoint_id, &store_failed);
  if (store_failed) {
    // Its endpoint could not be read (the store is away): the store keeps the delivery; read
    // everything back once it answers again (never take it for a deleted endpoint's).
    missed_ = true;
    return;
  }
  if (!es) {
    // The endpoint was deleted (a fan-out raced with the delete): drop the row too.
    DeliveryUpdate u{d.id, d.company_id, DeliveryStatus::kFailed, d.attempts, std::nullopt,
                     std::nullopt, std::nullopt};
    u.drop = true;
    Fence(u, d.endpoint_id.Packed(), held_epoch_.empty() ? 0 : held_epoch_[LeaseShardOf(d.endpoint_id)]);
    updates_.push_back(std::move(u));
    return;
  }
  if (!es->cfg.Enabled()) {
    // Created or released while the endpoint is disabled: keep it, as held.
    DeliveryUpdate u{d.id, d.company_id, DeliveryStatus::kHeld, d.attempts, std::nullopt, std::nullopt,
                     std::nullopt};
    Fence(u, d.endpoint_id.Packed(), held_epoch_.empty() ? 0 : held_epoch_[LeaseShardOf(d.endpoint_id)]);
    updates_.push_back(std::move(u));
    return;
  }
  Item& item = items_[key];
  item.event = d.event_id.Packed();
  item.endpoint = d.endpoint_id.Packed();

  item.attempts = d.attempts;
  item.payload = std::move(d.payload);
  // A retry asked for by hand goes as a live delivery.
  item.replay = d.replay && !d.retry_request;
  ++stats_.queued;
  if (es->cfg.ordering == Ordering::kSubject && !d.subject.empty()) {
    auto& q = (item.replay ? es->replay_subjects : es->subjects)[d.subject];
    item.ordered_subject = std::make_unique<std::string>(std::move(d.subject));
    q.push_back(key);
    if (q.size() > 1) {
      item.state = ItemState::kBlocked;  // waits for the earlier deliveries of its subject
      item.due_ms = d.next_attempt_at_ms;
      return;
    }
  }
  Schedule(key, item, d.next_attempt_at_ms);
}

void Dispatcher::Schedule(const Key& key, Item& item, int64_t due_ms) {
  item.due_ms = due_ms;
  if (due_ms <= clock_.NowMs()) {
    MakeReady(key, item);
    return;
  }
  item.state = ItemState::kWaiting;
  item.timer_gen = next_gen_++;
  // Reloaded when due: a long backlog keeps only ids in memory (jemalloc hands the freed
  // payloads' pages back to the OS within a second — see malloc_conf in app/main.cc).
  item.payload.reset();
  timers_.push(Timer{due_ms, item.timer_gen, key});
}

void Dispatcher::MakeReady(const Key& key, Item& item) {
  item.state = ItemState::kReady;
  item.timer_gen = 0;
  auto it = endpoints_.find(item.endpoint);
  if (it == endpoints_.end()) return;
  (item.replay ? it->second.replay_ready : it->second.ready).push_back(key);
  MarkRunnable(item.endpoint, it->second);
}

void Dispatcher::FireTimers(int64_t now) {
  while (!timers_.empty() && timers_.top().due_ms <= now) {
    Timer t = timers_.top();
    timers_.pop();
    if (t.gen == 0) {  // an endpoint's rate limit lets the next request go
      auto it = endpoints_.find(t.key);
      if (it == endpoints_.end()) continue;
      it->second.rate_timer = false;
      MarkRunnable(t.key, it->second);
      continue;
    }
    auto it = items_.find(t.key);
    if (it == items_.end() || it->second.state != ItemState::kWaiting || it->second.timer_gen != t.gen)
      continue;
    MakeReady(t.key, it->second);
  }
}

bool Dispatcher::TakeToken(EndpointState& es, int64_t now) {
  if (!es.cfg.rate_limit_per_second) return true;
  // Paced, with a burst of at most a tenth of a second's worth (and at least 1), so no
  // one-second window ever sees much more than `rate` requests.
  const double rate = *es.cfg.rate_limit_per_second;
  const double burst = std::max(1.0, rate / 10.0);
  if (es.tokens_at_ms == 0) {
    es.tokens = burst;
  } else {
    es.tokens = std::min(burst, es.tokens + rate * static_cast<double>(now - es.tokens_at_ms) / 1000.0);
  }
  es.tokens_at_ms = now;
  if (es.tokens >= 1.0) {
    es.tokens -= 1.0;
    return true;
  }
  return false;
}

void Dispatcher::Pump(int64_t now) {
  size_t rounds = runnable_.size();
  while (rounds-- > 0 && !runnable_.empty() && client_.InFlight() < opts_.max_in_flight) {
    const Key epkey = runnable_.front();
    runnable_.pop_front();
    auto eit = endpoints_.find(epkey);
    if (eit == endpoints_.end()) continue;
    EndpointState& es = eit->second;
    es.runnable = false;
    // Its lease must still be usable (renewed in time, not being given back): otherwise nothing
    // starts, and the change of leases that follows decides what happens to its deliveries.
    int64_t epoch = 0;
    if (!held_epoch_.empty()) {
      const int shard = LeaseShardOf(epkey);
      epoch = held_epoch_[shard];
      if (epoch == 0 || opts_.ownership->UsableEpoch(shard) != epoch) continue;
    }
    auto head_ready = [this](std::deque<Key>& lane) {
      while (!lane.empty()) {
        auto it = items_.find(lane.front());
        if (it != items_.end() && it->second.state == ItemState::kReady) return true;
        lane.pop_front();  // dropped or rescheduled meanwhile
      }
      return false;
    };
    while (es.in_flight < es.cfg.max_concurrency && client_.InFlight() < opts_.max_in_flight) {
      // Live first; a replayed delivery only when no live one is ready, within its share.
      std::deque<Key>* lane = nullptr;
      if (head_ready(es.ready)) lane = &es.ready;
      else if (es.replay_in_flight < ReplaySlots(es) && head_ready(es.replay_ready)) lane = &es.replay_ready;
      else break;
      if (!TakeToken(es, now)) {
        es.rate_timer = true;
        const double rate = *es.cfg.rate_limit_per_second;
        int64_t wait = static_cast<int64_t>((1.0 - es.tokens) * 1000.0 / rate) + 1;
        timers_.push(Timer{now + wait, 0, epkey});
        break;
      }
      const Key key = lane->front();
      lane->pop_front();
      Send(es, key, items_.find(key)->second, now, epoch);
    }
    // Still has work it could send (the global cap was hit): go round again later.
    if (es.in_flight < es.cfg.max_concurrency) MarkRunnable(epkey, es);
  }
}

void Dispatcher::Send(EndpointState& es, const Key& key, Item& item, int64_t now, int64_t lease_epoch) {
  const EventId event_id = EventId::FromPacked(item.event);
  if (!item.payload) {
    auto loaded = store_.LoadPayloads({event_id});
    if (!loaded || loaded->empty()) {
      // The event is gone (retention) or the store is failing: try again later.
      spdlog::warn("dispatcher: no payload for {}; retrying later", event_id.str());
      Schedule(key, item, now + 5000);
      return;
    }
    item.payload = std::make_shared<const std::string>(std::move(loaded->front().second));
  }
  const Endpoint& ep = es.cfg;
  const int64_t ts = now / 1000;
  // With a template, the receiver gets (and the signature covers) the rendered document.
  std::shared_ptr<const std::string> body_ptr = item.payload;
  if (es.tmpl) {
    if (auto event = ParseJson(*item.payload)) body_ptr = std::make_shared<const std::string>(es.tmpl->Render(*event));
  }
  const std::string& body = *body_ptr;
  const std::string& msg_id = event_id.str();

  OutboundRequest req;
  req.tag = next_tag_++;
  req.url = ep.url;
  req.body = body_ptr;
  req.timeout_ms = std::min<int64_t>(ep.timeout_ms, opts_.request_timeout_ms);
  req.headers.reserve(6 + ep.headers.size());
  req.headers.push_back("content-type: application/json");
  req.headers.push_back(std::string(kWebhookIdHeader) + ": " + msg_id);
  req.headers.push_back(std::string(kWebhookTimestampHeader) + ": " + std::to_string(ts));
  const bool rotating = !ep.previous_secret.empty() && ep.previous_secret_expires_at_ms > now;
  if (ep.signature_scheme == SignatureScheme::kGithub) {
    // During a rotation's grace period both signatures go out, comma-separated (what
    // adnanh/webhook and similar receivers accept); afterwards only the new one.
    std::string sig = SignGithub(ep.secret, body);
    if (rotating) sig += "," + SignGithub(ep.previous_secret, body);
    req.headers.push_back(std::string(kGithubSignatureHeader) + ": " + sig);
  } else {
    std::vector<std::string> secrets{ep.secret};
    if (rotating) secrets.push_back(ep.previous_secret);
    req.headers.push_back(std::string(kWebhookSignatureHeader) + ": " +
                          StandardSignatureHeader(secrets, msg_id, ts, body));
  }
  // What the attempt will show was sent: hookd's headers so far, the custom ones redacted.
  std::string sent = RecordSentHeaders(req.headers, opts_.user_agent, body.size(), ep.headers);
  for (const auto& [k, v] : ep.headers) req.headers.push_back(k + ": " + v);

  if (opts_.metrics) {
    const auto kind = item.replay ? Metrics::Attempt::kReplay
                      : item.attempts > 0 ? Metrics::Attempt::kRetry
                                          : Metrics::Attempt::kFirst;
    opts_.metrics->DeliveryLag(kind).Observe(static_cast<double>(std::max<int64_t>(0, now - item.due_ms)) / 1000.0);
  }
  item.state = ItemState::kInFlight;
  ++es.in_flight;
  if (item.replay) ++es.replay_in_flight;
  ++stats_.in_flight;
  in_flight_.emplace(req.tag, InFlight{key, lease_epoch, std::move(sent)});
  client_.Start(std::move(req));
}

void Dispatcher::Handle(OutboundResult r) {
  auto fit = in_flight_.find(r.tag);
  if (fit == in_flight_.end()) return;
  const Key key = fit->second.delivery;
  const int64_t lease_epoch = fit->second.lease_epoch;
  std::string request_headers = std::move(fit->second.request_headers);
  in_flight_.erase(fit);
  --stats_.in_flight;
  ++stats_.attempts;
  if (opts_.metrics) opts_.metrics->AttemptDuration(r.error).Observe(static_cast<double>(r.duration_ms) / 1000.0);
  auto it = items_.find(key);
  if (it == items_.end()) return;
  Item& item = it->second;
  auto eit = endpoints_.find(item.endpoint);
  EndpointState* es = eit == endpoints_.end() ? nullptr : &eit->second;
  if (es) {
    --es->in_flight;
    if (item.replay) --es->replay_in_flight;
    MarkRunnable(item.endpoint, *es);
  }
  if (canceled_in_flight_.erase(key) > 0) {  // canceled meanwhile: final, whatever the answer
    Forget(key);
    return;
  }
  const int64_t now = clock_.NowMs();
  item.attempts++;
  const DeliveryId delivery_id = DeliveryId::FromPacked(key);
  const CompanyId company = es ? es->cfg.company_id : CompanyId();

  Attempt a;
  a.id = AttemptId::New();
  a.delivery_id = delivery_id;
  a.number = item.attempts;
  a.started_at_ms = r.started_at_ms;
  a.duration_ms = r.duration_ms;
  if (r.status_code > 0) a.status_code = r.status_code;
  if (r.error) a.error = std::string(AttemptErrorName(*r.error));
  a.request_headers = std::move(request_headers);
  a.response_headers = std::move(r.response_headers_json);
  a.response_body = std::move(r.response_body);
  if (r.error) a.error_detail = std::move(r.error_detail);

  DeliveryUpdate u{delivery_id, company, DeliveryStatus::kPending, item.attempts,
                   std::nullopt, now, std::move(a)};
  Fence(u, item.endpoint, lease_epoch);

  const bool deleted = !es || es->gone;
  EndpointFacts facts;
  facts.exists = !deleted;
  if (es) {
    facts.enabled = es->cfg.Enabled();
    facts.kind = es->cfg.kind;
    facts.consecutive_failures = es->cfg.consecutive_failures;
    facts.failing_since_ms = es->cfg.failing_since_ms;
  }
  const Decision d = Decide(AttemptResult{r.status_code, r.error, r.retry_after}, item.attempts, facts,
                            DecisionRules{&opts_.retry, opts_.disable_after_ms, opts_.disable_min_failures},
                            now, rng_);
  if (es && d.health_changed) {
    es->cfg.consecutive_failures = d.consecutive_failures;
    es->cfg.failing_since_ms = d.failing_since_ms;
    RecordHealth(*es);
  }
  switch (d.next) {
    case Decision::Next::kSucceeded:
      u.status = DeliveryStatus::kSucceeded;
      ++stats_.succeeded;
      Count(opts_.metrics, Metrics::Outcome::kSucceeded);
      break;
    case Decision::Next::kFailed:
      u.status = DeliveryStatus::kFailed;
      ++stats_.failed;
      Count(opts_.metrics, Metrics::Outcome::kFailed);
      break;
    case Decision::Next::kHeld:
      u.status = DeliveryStatus::kHeld;
      Count(opts_.metrics, Metrics::Outcome::kHeld);
      break;
    case Decision::Next::kRetry:
      ++stats_.retries;
      Count(opts_.metrics, Metrics::Outcome::kRetried);
      u.next_attempt_at_ms = d.retry_at_ms;
      break;
  }
  if (item.cancel_on_finish && (d.next == Decision::Next::kRetry || d.next == Decision::Next::kHeld)) {
    // Its replay was canceled while it was in flight: not sent again.
    u.status = DeliveryStatus::kCanceled;
    u.next_attempt_at_ms.reset();
    updates_.push_back(std::move(u));
    Finish(es, key);
  } else {
    updates_.push_back(std::move(u));
    // A retry stays at the head of its subject — unless the shard was given up meanwhile: then
    // the store has it, for the shard's next owner.
    if (d.next == Decision::Next::kRetry && Owns(item.endpoint)) Schedule(key, item, d.retry_at_ms);
    else Finish(es, key);
  }

  switch (d.endpoint) {
    case Decision::EndpointAction::kNone:
      break;
    case Decision::EndpointAction::kDisableGone:
      Disable(*es, DisabledReason::kGone);
      break;
    case Decision::EndpointAction::kDisableFailing:
      Disable(*es, DisabledReason::kFailing);
      break;
    case Decision::EndpointAction::kDeleteHook: {
      // A REST hook whose target answers 410 is unsubscribed: deleted, not disabled (SPEC §6).
      spdlog::info("dispatcher: deleting REST hook {} (its target answered 410)", es->cfg.id.str());
      Flush();  // this outcome first, so the failed delivery stays as history
      if (opts_.on_endpoint_deleting) opts_.on_endpoint_deleting(es->cfg.company_id, es->cfg.id);
      auto del = store_.DeleteUnsubscribedHook(es->cfg.company_id, es->cfg.id);
      if (del || del.error().code == ErrorCode::kNotFound) {
        DropQueued(*es);
        es->gone = true;
        if (opts_.on_endpoint_changed) opts_.on_endpoint_changed(es->cfg.company_id, es->cfg.id);
        es->cfg.consecutive_failures = 0;  // deleted: no longer listed as failing
        PublishFailures(*es);
      } else {
        spdlog::error("dispatcher: cannot delete REST hook {}: {}", es->cfg.id.str(), del.error().message);
        if (es->cfg.Enabled()) Disable(*es, DisabledReason::kGone);
      }
      break;
    }
  }
}

// Removes a delivery that reached a final state, and lets the next one of its subject go.
void Dispatcher::Finish(EndpointState* es, const Key& key) {
  auto it = items_.find(key);
  if (it == items_.end()) return;
  if (es && it->second.ordered_subject) {
    auto& fifos = it->second.replay ? es->replay_subjects : es->subjects;
    auto sit = fifos.find(*it->second.ordered_subject);
    if (sit != fifos.end()) {
      auto& q = sit->second;
      if (!q.empty() && q.front() == key) q.pop_front();
      else std::erase(q, key);
      if (q.empty()) {
        fifos.erase(sit);
      } else {
        const Key next_key = q.front();
        auto next = items_.find(next_key);
        if (next != items_.end() && next->second.state == ItemState::kBlocked)
          Schedule(next_key, next->second, next->second.due_ms);
      }
    }
  }
  const Key endpoint = it->second.endpoint;
  items_.erase(it);
  --stats_.queued;
  unwritten_.insert(key);
  finished_unflushed_.push_back({key, endpoint});
}

void Dispatcher::Cancel(const std::vector<Key>& deliveries) {
  std::unordered_set<Key, PackedUlidHash> elsewhere;  // not in memory: maybe parked
  for (const Key& key : deliveries) {
    taken_from_store_.erase(key);
    auto it = items_.find(key);
    if (it == items_.end()) {
      elsewhere.insert(key);
    } else if (it->second.state == ItemState::kInFlight) {
      canceled_in_flight_.insert(key);
    } else {
      Forget(key);
    }
  }
  // Parked while their endpoint is being read back (only during a recovery).
  if (elsewhere.empty() || recover_queue_.empty()) return;
  for (auto& [_, es] : endpoints_)
    if (!es.parked.empty())
      std::erase_if(es.parked, [&](const PendingDelivery& d) { return elsewhere.contains(d.id.Packed()); });
}

void Dispatcher::Forget(const Key& key) {
  auto it = items_.find(key);
  if (it == items_.end()) return;
  auto eit = endpoints_.find(it->second.endpoint);
  EndpointState* es = eit == endpoints_.end() ? nullptr : &eit->second;
  if (es && it->second.ordered_subject) {
    auto sit = es->subjects.find(*it->second.ordered_subject);
    if (sit != es->subjects.end()) {
      auto& q = sit->second;
      const bool was_head = !q.empty() && q.front() == key;
      std::erase(q, key);
      if (q.empty()) {
        es->subjects.erase(sit);
      } else if (was_head) {
        const Key next_key = q.front();
        auto next = items_.find(next_key);
        if (next != items_.end() && next->second.state == ItemState::kBlocked)
          Schedule(next_key, next->second, next->second.due_ms);
      }
    }
  }
  // A ready queue or timer entry left behind is skipped when it comes up (the item is gone).
  items_.erase(it);
  --stats_.queued;
}

// Forgets every delivery of `es` that is not in flight (the store keeps them).
void Dispatcher::DropQueued(EndpointState& es) {
  const Key epkey = es.cfg.id.Packed();
  for (auto it = items_.begin(); it != items_.end();) {
    if (it->second.endpoint == epkey && it->second.state != ItemState::kInFlight) {
      it = items_.erase(it);
      --stats_.queued;
    } else {
      ++it;
    }
  }
  es.ready.clear();
  es.subjects.clear();
  es.replay_ready.clear();
  es.replay_subjects.clear();
}

void Dispatcher::CancelReplayed(const EndpointId& id) {
  const Key epkey = id.Packed();
  auto eit = endpoints_.find(epkey);
  if (eit == endpoints_.end()) return;
  EndpointState& es = eit->second;
  const int64_t epoch = held_epoch_.empty() ? 0 : held_epoch_[LeaseShardOf(epkey)];
  std::vector<Key> cancel;
  for (auto& [key, item] : items_) {
    if (item.endpoint != epkey || !item.replay) continue;
    if (item.state == ItemState::kInFlight) item.cancel_on_finish = true;
    else cancel.push_back(key);
  }
  for (const Key& key : cancel) {
    auto it = items_.find(key);
    if (it == items_.end()) continue;
    // The store made it canceled already; written again, after any outcome of it still queued
    // (a retry decided before the cancel would otherwise leave it pending).
    DeliveryUpdate u{DeliveryId::FromPacked(key), es.cfg.company_id, DeliveryStatus::kCanceled,
                     it->second.attempts, std::nullopt, std::nullopt, std::nullopt};
    Fence(u, epkey, epoch);
    updates_.push_back(std::move(u));
    Finish(&es, key);
  }
  es.replay_ready.clear();
  if (!cancel.empty())
    spdlog::info("dispatcher: replay of {} canceled; {} of its deliveries dropped", id.str(), cancel.size());
}

int Dispatcher::ReplaySlots(const EndpointState& es) { return std::max(1, es.cfg.max_concurrency / 2); }

bool Dispatcher::HasSendable(const EndpointState& es) {
  return !es.ready.empty() || (!es.replay_ready.empty() && es.replay_in_flight < ReplaySlots(es));
}

void Dispatcher::Disable(EndpointState& es, DisabledReason reason) {
  spdlog::warn("dispatcher: disabling endpoint {} ({})", es.cfg.id.str(), ToString(reason));
  Flush();  // outcomes first, so the held marking below wins over them
  if (auto r = store_.DisableEndpoint(es.cfg.company_id, es.cfg.id, reason, clock_.NowMs()); !r)
    spdlog::error("dispatcher: cannot disable {}: {}", es.cfg.id.str(), r.error().message);
  es.cfg.status = EndpointStatus::kDisabled;
  es.cfg.disabled_reason = reason;
  DropQueued(es);
  if (opts_.on_endpoint_changed) opts_.on_endpoint_changed(es.cfg.company_id, es.cfg.id);
}

void Dispatcher::Reload(const CompanyId& company, const EndpointId& id, bool requeued) {
  const Key key = id.Packed();
  auto ep = store_.EndpointToDispatch(company, id);
  auto eit = endpoints_.find(key);
  const bool known = eit != endpoints_.end();
  const bool was_enabled = known && !eit->second.gone && eit->second.cfg.Enabled();
  if (!ep) {
    if (ep.error().code != ErrorCode::kNotFound) {
      spdlog::error("dispatcher: cannot reload endpoint {}: {}", id.str(), ep.error().message);
      return;
    }
    if (eit != endpoints_.end()) {
      DropQueued(eit->second);
      eit->second.gone = true;
      eit->second.cfg.consecutive_failures = 0;  // deleted: no longer listed as failing
      PublishFailures(eit->second);
    }
    return;
  }
  EndpointState& es = endpoints_[key];
  es.gone = false;
  SetConfig(es, std::move(*ep));
  PublishFailures(es);
  if (!es.cfg.Enabled()) {
    DropQueued(es);
    return;
  }
  // Enabled. Its rows are read back (all of them: some may have been created since the
  // start) only when they changed behind memory's back: held ones released (it was disabled
  // here) or failed ones re-queued. An edit of an enabled endpoint, or one created since the
  // start (every delivery of it came through the inbox), leaves nothing in the store that
  // memory does not hold — and reading rows back while their outcomes are still being
  // written would send those deliveries again.
  if (((known && !was_enabled) || requeued) && Owns(key)) StartRecovery(key, es, "");
  MarkRunnable(key, es);
}

// What the API shows of a delivery this dispatcher holds (core/delivery_wait.h).
LiveDeliveryState Dispatcher::DescribeLive(const Key& delivery) const {
  using State = LiveDeliveryState::State;
  LiveDeliveryState s;
  auto it = items_.find(delivery);
  if (it == items_.end()) return s;
  const Item& item = it->second;
  auto eit = endpoints_.find(item.endpoint);
  const EndpointState* es = eit == endpoints_.end() ? nullptr : &eit->second;
  switch (item.state) {
    case ItemState::kInFlight:
      s.state = State::kInFlight;
      break;
    case ItemState::kWaiting:
      s.state = State::kWaiting;
      s.due_ms = item.due_ms;
      break;
    case ItemState::kBlocked: {
      if (!es || !item.ordered_subject) break;
      auto sit = es->subjects.find(*item.ordered_subject);
      if (sit == es->subjects.end() || sit->second.empty() || sit->second.front() == delivery) break;
      const auto& queue = sit->second;
      s.state = State::kBlocked;
      s.subject = *item.ordered_subject;
      s.blocked_by = DeliveryId::FromPacked(queue.front());
      s.ahead = std::find(queue.begin(), queue.end(), delivery) - queue.begin();
      break;
    }
    case ItemState::kReady:
      s.state = State::kReady;
      if (es && es->in_flight >= es->cfg.max_concurrency) s.ready = LiveDeliveryState::Ready::kConcurrency;
      else if (es && es->rate_timer) s.ready = LiveDeliveryState::Ready::kRateLimit;
      break;
  }
  return s;
}

void Dispatcher::RecordHealth(EndpointState& es) {
  health_[es.cfg.id.Packed()] =
      EndpointHealth{es.cfg.id, es.cfg.consecutive_failures, es.cfg.failing_since_ms};
  PublishFailures(es);
}

void Dispatcher::PublishFailures(EndpointState& es) {
  const bool failing = es.cfg.consecutive_failures > 0;
  if (!opts_.metrics || failing == es.counted_failing) return;
  opts_.metrics->EndpointsFailing().Add(failing ? 1 : -1);
  es.counted_failing = failing;
}

void Dispatcher::Flush() {
  if (updates_.empty() && health_.empty()) return;
  std::vector<EndpointHealth> health;
  health.reserve(health_.size());
  for (auto& [_, h] : health_) health.push_back(std::move(h));
  health_.clear();
  ++pending_writes_;
  finished_in_writes_.push_back(std::move(finished_unflushed_));
  finished_unflushed_.clear();
  const uint64_t seq = ++writes_started_;
  store_.ApplyDispatchUpdates(std::move(updates_), std::move(health), [this, seq](Result<void> r) {
    if (!r) {
      spdlog::error("dispatcher: cannot record outcomes: {}; their deliveries are read back", r.error().message);
      std::lock_guard lock(failed_mu_);
      failed_writes_.push_back(seq);
    }
    ++writes_done_;
    --pending_writes_;
    client_.Wakeup();  // the next batch of outcomes may go now
  });
  updates_.clear();
}

// The store has (or, on an error, will not have) the outcomes of the writes finished since:
// a recovery may read those deliveries back again (after an error, as still pending: sent
// again, at least once).
void Dispatcher::RetireWrittenOutcomes() {
  const uint64_t done = writes_done_.load();
  std::unordered_set<Key, PackedUlidHash> reread;
  for (; writes_retired_ < done && !finished_in_writes_.empty(); ++writes_retired_) {
    bool failed = false;
    {
      std::lock_guard lock(failed_mu_);
      auto it = std::find(failed_writes_.begin(), failed_writes_.end(), writes_retired_ + 1);
      if (it != failed_writes_.end()) {
        failed = true;
        failed_writes_.erase(it);
      }
    }
    for (const FinishedItem& f : finished_in_writes_.front()) {
      unwritten_.erase(f.delivery);
      if (failed) reread.insert(f.endpoint);
    }
    finished_in_writes_.pop_front();
  }
  for (const Key& key : reread) {
    auto it = endpoints_.find(key);
    if (it == endpoints_.end() || it->second.gone || !it->second.cfg.Enabled() || !Owns(key)) continue;
    StartRecovery(key, it->second, "");
  }
}

}  // namespace hookd
