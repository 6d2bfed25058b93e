#pragma once
// An in-memory DispatchStore: endpoints, deliveries and payloads in maps, outcome writes applied
// at once or held back until the test releases them (to stage "the outcome is not written yet"
// races). It keeps what the dispatcher wrote, in order, for the test to read.
//
// Single-threaded: the test drives the dispatcher on its own thread (Dispatcher::Turn).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

namespace hookd::testing {

class FakeDispatchStore final : public DispatchStore {
 public:
  struct Row {
    PendingDelivery d;  // as announced (payload dropped)
    DeliveryStatus status = DeliveryStatus::kPending;
    std::vector<Attempt> attempts;
    bool erased = false;  // canceled by an erasure (canceled_reason "erased")
  };

  // ---- the test's side
  Endpoint& AddEndpoint(Endpoint ep) {
    if (ep.id.str().empty()) ep.id = EndpointId::New();
    if (ep.company_id.str().empty()) ep.company_id = company;
    if (ep.secret.empty()) ep.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const std::string key = ep.id.str();
    return endpoints_[key] = std::move(ep);
  }
  Endpoint& EndpointOf(const EndpointId& id) { return endpoints_.at(id.str()); }
  void RemoveEndpoint(const EndpointId& id) { endpoints_.erase(id.str()); }

  // A new pending delivery of a new event (as ingest would commit it), due `due_ms` (0: now);
  // returned with its payload, as ingest announces it.
  PendingDelivery AddDelivery(const EndpointId& endpoint, std::string subject = "", int64_t due_ms = 0,
                              std::string payload = R"({"type":"employee.created","data":{}})") {
    PendingDelivery d;
    d.id = DeliveryId::New();
    d.company_id = endpoints_.at(endpoint.str()).company_id;
    d.event_id = EventId::New();
    d.endpoint_id = endpoint;
    d.subject = std::move(subject);
    d.next_attempt_at_ms = due_ms;
    payloads_[d.event_id.str()] = payload;
    Row& r = rows_[d.id.str()];
    r.d = d;
    d.payload = std::make_shared<const std::string>(std::move(payload));
    return d;
  }
  // Puts a finished delivery back to pending, due now (POST …/retry, `recover`).
  PendingDelivery Requeue(const DeliveryId& id, int64_t now_ms) {
    Row& r = rows_.at(id.str());
    r.status = DeliveryStatus::kPending;
    r.d.next_attempt_at_ms = now_ms;
    PendingDelivery d = r.d;
    d.retry_request = true;
    return d;
  }
  // Turns held deliveries of `endpoint` back to pending, due now (enable with release).
  void ReleaseHeld(const EndpointId& endpoint, int64_t now_ms) {
    for (auto& [_, r] : rows_) {
      if (r.d.endpoint_id == endpoint && r.status == DeliveryStatus::kHeld) {
        r.status = DeliveryStatus::kPending;
        r.d.next_attempt_at_ms = now_ms;
      }
    }
  }

  // Erases the delivery's event, as an erasure batch does: the delivery becomes canceled (if
  // pending or held) and the payload goes. Returns what an erasure announces.
  std::pair<DeliveryId, EndpointId> Erase(const DeliveryId& id) {
    Row& r = rows_.at(id.str());
    if (r.status == DeliveryStatus::kPending || r.status == DeliveryStatus::kHeld) {
      r.status = DeliveryStatus::kCanceled;
      r.erased = true;
    }
    payloads_.erase(r.d.event_id.str());
    return {id, r.d.endpoint_id};
  }
  // A new pending delivery made by a replay (PendingDelivery::replay), as the replay runner
  // commits it; returned with its payload, as the runner announces it.
  PendingDelivery AddReplayDelivery(const EndpointId& endpoint, std::string subject = "") {
    PendingDelivery d = AddDelivery(endpoint, std::move(subject));
    d.replay = true;
    rows_.at(d.id.str()).d.replay = true;
    return d;
  }
  // What canceling a replay writes: the endpoint's replayed deliveries not finished become
  // canceled.
  void CancelReplayRows(const EndpointId& endpoint) {
    for (auto& [_, r] : rows_)
      if (r.d.endpoint_id == endpoint && r.d.replay &&
          (r.status == DeliveryStatus::kPending || r.status == DeliveryStatus::kHeld))
        r.status = DeliveryStatus::kCanceled;
  }

  const Row& RowOf(const DeliveryId& id) const { return rows_.at(id.str()); }
  DeliveryStatus StatusOf(const DeliveryId& id) const { return rows_.at(id.str()).status; }
  bool Has(const DeliveryId& id) const { return rows_.contains(id.str()); }

  // Outcome writes stay queued until CompleteWrites() (false: applied when made).
  bool hold_writes = false;
  // The next this many outcome writes fail (nothing is written; `done` gets the error).
  int fail_writes = 0;
  // The next this many reads of an endpoint or of pending deliveries fail (the store is away).
  int fail_reads = 0;
  size_t HeldWrites() const { return held_.size(); }
  void CompleteWrites() {
    auto held = std::exchange(held_, {});
    for (auto& w : held) Apply(std::move(w));
  }

  int load_pending_calls = 0;
  int endpoint_reads = 0;
  int payload_loads = 0;
  int disable_calls = 0;
  std::vector<DeliveryUpdate> updates;  // every update written, in order
  CompanyId company = CompanyId::New();

  // ---- DispatchStore
  Result<std::vector<Endpoint>> EndpointsToDispatch() override {
    std::vector<Endpoint> out;
    for (auto& [_, ep] : endpoints_) out.push_back(ep);
    return out;
  }
  Result<Endpoint> EndpointToDispatch(const CompanyId& c, const EndpointId& id) override {
    ++endpoint_reads;
    if (fail_reads > 0) {
      --fail_reads;
      return MakeError(ErrorCode::kUnavailable, "store away (test)");
    }
    auto it = endpoints_.find(id.str());
    if (it == endpoints_.end() || it->second.company_id != c) return MakeError(ErrorCode::kNotFound, "endpoint not found");
    return it->second;
  }
  Result<void> DeleteUnsubscribedHook(const CompanyId& c, const EndpointId& id) override {
    auto it = endpoints_.find(id.str());
    if (it == endpoints_.end() || it->second.company_id != c) return MakeError(ErrorCode::kNotFound, "endpoint not found");
    endpoints_.erase(it);
    return {};
  }
  Result<PendingPage> LoadPending(const EndpointId& endpoint, const std::string& after, int scan_limit) override {
    ++load_pending_calls;
    if (fail_reads > 0) {
      --fail_reads;
      return MakeError(ErrorCode::kUnavailable, "store away (test)");
    }
    PendingPage page;
    int scanned = 0;
    for (auto it = rows_.upper_bound(after); it != rows_.end(); ++it) {
      if (it->second.d.endpoint_id != endpoint) continue;
      if (++scanned > scan_limit) break;
      page.next_after = it->first;
      if (it->second.status != DeliveryStatus::kPending) continue;
      PendingDelivery d = it->second.d;
      d.payload = nullptr;
      d.retry_request = false;
      page.deliveries.push_back(std::move(d));
    }
    if (scanned <= scan_limit) page.next_after.clear();
    return page;
  }
  Result<std::vector<std::pair<EventId, std::string>>> LoadPayloads(const std::vector<EventId>& ids) override {
    ++payload_loads;
    std::vector<std::pair<EventId, std::string>> out;
    for (const auto& id : ids) {
      auto it = payloads_.find(id.str());
      if (it != payloads_.end()) out.emplace_back(id, it->second);
    }
    return out;
  }
  void ApplyDispatchUpdates(std::vector<DeliveryUpdate> u, std::vector<EndpointHealth> health,
                            std::move_only_function<void(Result<void>)> done) override {
    Write w{std::move(u), std::move(health), std::move(done)};
    if (fail_writes > 0) {  // the disk or the database refused it: nothing written
      --fail_writes;
      w.done(MakeError(ErrorCode::kUnavailable, "outcome write failed (test)"));
      return;
    }
    if (hold_writes) held_.push_back(std::move(w));
    else Apply(std::move(w));
  }
  Result<void> DisableEndpoint(const CompanyId& c, const EndpointId& id, DisabledReason reason,
                               int64_t, const AuditEntry*) override {
    ++disable_calls;
    auto it = endpoints_.find(id.str());
    if (it == endpoints_.end() || it->second.company_id != c) return MakeError(ErrorCode::kNotFound, "endpoint not found");
    it->second.status = EndpointStatus::kDisabled;
    it->second.disabled_reason = reason;
    for (auto& [_, r] : rows_)
      if (r.d.endpoint_id == id && r.status == DeliveryStatus::kPending) r.status = DeliveryStatus::kHeld;
    return {};
  }

 private:
  struct Write {
    std::vector<DeliveryUpdate> updates;
    std::vector<EndpointHealth> health;
    std::move_only_function<void(Result<void>)> done;
  };
  void Apply(Write w) {
    for (auto& u : w.updates) {
      updates.push_back(u);
      auto it = rows_.find(u.id.str());
      if (it == rows_.end()) continue;
      if (u.drop) {
        rows_.erase(it);
        continue;
      }
      Row& r = it->second;
      // Erased: final, as in both stores. A replay's canceled delivery that was in flight takes
      // its outcome (it was sent).
      if (r.erased) continue;
      r.status = u.status;  // as the SQLite store: the last write wins
      r.d.attempts = u.attempts;
      if (u.next_attempt_at_ms) r.d.next_attempt_at_ms = *u.next_attempt_at_ms;
      if (u.attempt) r.attempts.push_back(*u.attempt);
    }
    for (auto& h : w.health) {
      auto it = endpoints_.find(h.id.str());
      if (it == endpoints_.end()) continue;
      it->second.consecutive_failures = h.consecutive_failures;
      it->second.failing_since_ms = h.failing_since_ms;
    }
    w.done(Result<void>{});
  }
  std::map<std::string, Endpoint> endpoints_;
  std::map<std::string, Row> rows_;  // by delivery id: id (acceptance) order
  std::map<std::string, std::string> payloads_;
  std::vector<Write> held_;
};

}  // namespace hookd::testing
