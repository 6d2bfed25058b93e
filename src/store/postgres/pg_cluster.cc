#include "store/postgres/pg_cluster.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_set>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "store/postgres/cluster_notice.h"

namespace hookd {
using pg::Conn;
using pg::Params;

namespace {

std::string IntArray(const std::vector<int>& v) {
  return pg::ArrayLiteral(v, [](int x) { return std::to_string(x); });
}

}  // namespace

PgCluster::PgCluster(PostgresStore& store, ClusterOptions opts) : store_(store), opts_(opts) {
  for (auto& e : epoch_) e.store(0);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

PgCluster::~PgCluster() {
  Leave();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

int64_t PgCluster::UsableEpoch(int shard) const {
  if (shard < 0 || shard >= kLeaseShards) return 0;
  const int64_t e = epoch_[shard].load(std::memory_order_acquire);
  if (e == 0 || Now() >= valid_until_.load(std::memory_order_acquire)) return 0;
  return e;
}

int PgCluster::ShardsHeld() const {
  int n = 0;
  for (int s = 0; s < kLeaseShards; ++s) n += UsableEpoch(s) != 0;
  return n;
}

void PgCluster::OnEndpointChanged(const CompanyId& company, const EndpointId& id) {
  local_.OnEndpointChanged(company, id);
}

void PgCluster::OnDeliveriesRequeued(const CompanyId& company, const EndpointId& id) {
  local_.OnDeliveriesRequeued(company, id);
}

void PgCluster::OnDeliveriesCanceled(const std::vector<std::pair<DeliveryId, EndpointId>>& deliveries) {
  local_.OnDeliveriesCanceled(deliveries);
}

void PgCluster::OnReplayStarted(const CompanyId& company, const EndpointId& id) {
  local_.OnReplayStarted(company, id);
}

void PgCluster::OnReplayCanceled(const CompanyId& company, const EndpointId& id) {
  local_.OnReplayCanceled(company, id);
}

Result<void> PgCluster::Join() {
  store_.KeepAcceptedDeliveries(true);  // this node's own deliveries reach the listener from memory
  listen_thread_ = std::thread([this] {
    NameThisThread("hookd-listen");
    ListenLoop();
  });
  {
    // Listening before the first lease is used: nothing committed after the dispatcher's
    // first read of a shard can be missed.
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return listening_ || stopping_; });
  }
  bool taken;
  {
    std::lock_guard tick(tick_mu_);
    taken = LeaseTick();
  }
  if (!taken) spdlog::warn("cluster: could not take leases at start; retrying every {} ms", opts_.lease_ms / 3);
  joined_ = true;
  lease_thread_ = std::thread([this] {
    NameThisThread("hookd-leases");
    LeaseLoop();
  });
  spdlog::info("cluster: node {} ({}) holds {} of {} shards", store_.NodeId(), store_.Address(), ShardsHeld(),
               kLeaseShards);
  return {};
}

void PgCluster::Leave() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  WakeListener();
  if (lease_thread_.joinable()) lease_thread_.join();
  if (listen_thread_.joinable()) listen_thread_.join();
  store_.KeepAcceptedDeliveries(false);
  store_.CarryEventsInNotices(false);
  if (!joined_) return;
  for (auto& e : epoch_) e.store(0);
  std::lock_guard tick(tick_mu_);
  // Given back at once, so that the other nodes take them at their next renewal.
  if (!lease_db_ || lease_db_->Broken()) {
    lease_db_.reset();
    if (auto c = Conn::Open(store_.Url(), "hookd leases")) lease_db_ = std::move(*c);
  }
  if (lease_db_) {
    auto r = lease_db_->Exec("UPDATE shard_leases SET owner = NULL, expires_at = NULL WHERE owner = $1::text",
                             Params().Text(store_.NodeId()));
    (void)lease_db_->Exec("DELETE FROM nodes WHERE id = $1::text", Params().Text(store_.NodeId()));
    if (r) spdlog::info("cluster: node {} gave back its {} shards", store_.NodeId(), r->Affected());
    else spdlog::warn("cluster: could not give back the leases (they expire by themselves): {}", r.error().message);
  }
  lease_db_.reset();
}

// ------------------------------------------------------------------ leases

void PgCluster::LeaseLoop() {
  const int64_t period = std::max<int64_t>(opts_.lease_ms / 3, 50);
  int64_t next = Now() + period;
  bool published_lapse = false;
  for (;;) {
    const int64_t now = Now();
    const int64_t until = valid_until_.load();
    int64_t wake = next;
    if (!published_lapse && until > now) wake = std::min(wake, until);
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(0, wake - now)), [&] { return stopping_; }))
        return;
    }
    if (Now() < next) {
      // The leases lapsed before a renewal succeeded: this node sends nothing more for them.
      if (!published_lapse && Now() >= valid_until_.load()) {
        spdlog::warn("cluster: leases not renewed in time; no deliveries start until they are");
        published_lapse = true;
        Publish();
      }
      continue;
    }
    next = Now() + period;
    bool renewed;
    {
      std::lock_guard tick(tick_mu_);
      renewed = LeaseTick();
    }
    if (renewed) published_lapse = false;
    Publish();
  }
}

bool PgCluster::RenewNow() {
  bool renewed;
  {
    std::lock_guard tick(tick_mu_);
    renewed = LeaseTick();
  }
  Publish();
  return renewed;
}

bool PgCluster::LeaseTick() {
  const int64_t t0 = Now();
  const std::string& me = store_.NodeId();
  if (lease_db_ && lease_db_->Broken()) lease_db_.reset();
  if (!lease_db_) {
    auto c = Conn::Open(store_.Url(), "hookd leases");
    if (!c) {
      if (!tick_failed_logged_) spdlog::error("cluster: cannot renew leases: {}", c.error().message);
      tick_failed_logged_ = true;
      return false;
    }
    lease_db_ = std::move(*c);
  }
  Conn& db = *lease_db_;
  const double lease_s = static_cast<double>(opts_.lease_ms) / 1000.0;
  std::array<int64_t, kLeaseShards> held{};
  std::vector<int> releasing = releasing_;
  std::set<std::string> live_nodes;
  auto run = [&]() -> Result<void> {
    if (auto r = db.ExecScript("BEGIN"); !r) return r;
    if (auto r = db.Exec("INSERT INTO nodes(id, address, started_at, seen_at) VALUES ($1::text, $2::text, now(), now()) "
                         "ON CONFLICT (id) DO UPDATE SET seen_at = now()",
                         Params().Text(me).Text(store_.Address()));
        !r)
      return std::unexpected(r.error());
    if (!releasing.empty()) {
      if (auto r = db.Exec("UPDATE shard_leases SET owner = NULL, expires_at = NULL "
                           "WHERE owner = $1::text AND shard = ANY($2::int[])",
                           Params().Text(me).Text(IntArray(releasing)));
          !r)
        return std::unexpected(r.error());
    }
    auto renewed = db.Exec("UPDATE shard_leases SET expires_at = now() + make_interval(secs => $2::float8) "
                           "WHERE owner = $1::text RETURNING shard, epoch",
                           Params().Text(me).Text(std::to_string(lease_s)));
    if (!renewed) return std::unexpected(renewed.error());
    int count = 0;
    for (int i = 0; i < renewed->size(); ++i) {
      held[renewed->Int(i, 0)] = renewed->Int(i, 1);
      ++count;
    }
    auto live = db.Exec("SELECT id FROM nodes WHERE seen_at > now() - make_interval(secs => $1::float8)",
                        Params().Text(std::to_string(lease_s)));
    if (!live) return std::unexpected(live.error());
    live_nodes.clear();
    for (int i = 0; i < live->size(); ++i) live_nodes.insert(live->Text(i, 0));
    const int64_t nodes = std::max<int64_t>(1, live->size());
    // Another node may own the endpoints of what this one accepts: carry the events to it.
    store_.CarryEventsInNotices(nodes > 1);
    const int share = static_cast<int>((kLeaseShards + nodes - 1) / nodes);
    if (count < share) {
      auto taken = db.Exec(
          "UPDATE shard_leases SET owner = $1::text, epoch = epoch + 1, "
          "expires_at = now() + make_interval(secs => $2::float8) WHERE shard IN (SELECT shard FROM shard_leases "
          "WHERE owner IS NULL OR expires_at < now() ORDER BY shard LIMIT $3::int FOR UPDATE SKIP LOCKED) "
          "RETURNING shard, epoch",
          Params().Text(me).Text(std::to_string(lease_s)).Int(share - count));
      if (!taken) return std::unexpected(taken.error());
      for (int i = 0; i < taken->size(); ++i) held[taken->Int(i, 0)] = taken->Int(i, 1);
      if (taken->size() > 0)
        spdlog::info("cluster: took {} shards ({} live node{}, a share of {})", taken->size(), nodes,
                     nodes == 1 ? "" : "s", share);
      count += taken->size();
    }
    // Over the share (nodes joined): drain the excess now, give it back at the next renewal.
    releasing.clear();
    for (int s = kLeaseShards - 1; s >= 0 && count > share; --s) {
      if (held[s] == 0) continue;
      releasing.push_back(s);
      --count;
    }
    if (!releasing.empty())
      spdlog::info("cluster: giving back {} shards ({} live nodes, a share of {})", releasing.size(), nodes, share);
    (void)db.Exec("DELETE FROM nodes WHERE seen_at < now() - interval '1 hour'");
    return db.Commit();
  };
  auto r = run();
  if (!r) {
    if (!tick_failed_logged_) spdlog::error("cluster: cannot renew leases: {}", r.error().message);
    tick_failed_logged_ = true;
    if (!db.Broken() && db.InTransaction()) (void)db.ExecScript("ROLLBACK");
    if (db.Broken()) lease_db_.reset();
    return false;
  }
  if (tick_failed_logged_) spdlog::info("cluster: leases renewed again");
  tick_failed_logged_ = false;
  // A node that stopped renewing may have died between a COMMIT of its ingests and the
  // notices it sends right after (PostgresStore::CommitGroup): deliveries for this node's
  // shards nobody announced. Read everything back, as after a lost LISTEN connection.
  std::vector<std::string> gone;
  for (const std::string& id : live_nodes_)
    if (id != me && !live_nodes.contains(id)) gone.push_back(id);
  live_nodes_ = std::move(live_nodes);
  if (!gone.empty()) {
    spdlog::info("cluster: node{} {} stopped renewing; reading back every pending delivery of this node's shards",
                 gone.size() == 1 ? "" : "s", fmt::join(gone, ", "));
    local_.OnChangesMissed();
  }
  held_ = held;
  releasing_ = releasing;
  // Usable: held and not being given back; until 3/4 of the lease time after this renewal
  // was sent (the database's expiry is later than that in real time).
  std::array<bool, kLeaseShards> draining{};
  for (int s : releasing_) draining[s] = true;
  for (int s = 0; s < kLeaseShards; ++s) epoch_[s].store(draining[s] ? 0 : held_[s], std::memory_order_release);
  valid_until_.store(t0 + opts_.lease_ms * 3 / 4, std::memory_order_release);
  return true;
}

void PgCluster::Publish() {
  local_.OnOwnershipChanged();
}

// ------------------------------------------------------------------ notices

void PgCluster::WakeListener() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void PgCluster::ListenLoop() {
  std::unique_ptr<Conn> db;
  bool first = true;
  bool failed_logged = false;
  auto stopping = [&] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  auto mark_listening = [&] {
    {
      std::lock_guard lock(mu_);
      listening_ = true;
    }
    cv_.notify_all();
  };
  while (!stopping()) {
    if (!db) {
      auto c = Conn::Open(store_.Url(), "hookd listener");
      Result<void> listen = c ? (*c)->ExecScript("LISTEN hookd") : Result<void>(std::unexpected(c.error()));
      if (!listen) {
        if (!failed_logged) spdlog::error("cluster: cannot listen for changes: {}", listen.error().message);
        failed_logged = true;
        if (first) mark_listening();  // Join goes on; the changes missed are read back later
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_; });
        continue;
      }
      db = std::move(*c);
      if (failed_logged || !first) {
        spdlog::info("cluster: listening for changes again; reading back what was missed");
        store_.ForgetAccepted();  // their notices may be among those missed
        local_.OnChangesMissed();
      }
      failed_logged = false;
      if (first) mark_listening();
      first = false;
    }
    pollfd fds[2] = {{PQsocket(db->raw()), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int n = ::poll(fds, 2, 1000);
    if (n < 0) continue;
    if (fds[1].revents & POLLIN) {
      uint64_t v;
      (void)!::read(wake_fd_, &v, sizeof v);
    }
    if (!(fds[0].revents & (POLLIN | POLLERR | POLLHUP))) continue;
    if (PQconsumeInput(db->raw()) == 0 || PQstatus(db->raw()) != CONNECTION_OK) {
      spdlog::warn("cluster: the listening connection was lost; reconnecting");
      db.reset();
      continue;
    }
    std::vector<std::string> payloads;
    while (PGnotify* note = PQnotifies(db->raw())) {
      payloads.emplace_back(note->extra);
      PQfreemem(note);
    }
    if (!payloads.empty()) HandleNotices(payloads);
  }
}

void PgCluster::HandleNotices(const std::vector<std::string>& payloads) {
  const std::string& me = store_.NodeId();
  // In notice order: runs of deliveries at hand (accepted by this node and kept in memory, or
  // carried whole by their notice) and runs of others (read from the store) — at most one of
  // the two holds any at a time.
  std::vector<PendingDelivery> taken;
  std::vector<DeliveryId> ids;
  std::unordered_set<std::string> retries;
  std::shared_ptr<const pg::NoticeEvent> carried;
  std::optional<std::string> carried_subject;
  std::shared_ptr<const std::string> carried_payload;
  auto flush = [&] {
    if (!taken.empty()) {
      local_.OnDeliveriesReady(std::move(taken));
      taken.clear();
    }
    if (ids.empty()) return;
    auto loaded = store_.LoadReadyDeliveries(ids);
    ids.clear();
    if (!loaded) {
      if (auto v = load_error_log_.Check("load", MonotonicMs()))
        spdlog::error("cluster: cannot load announced deliveries ({}); reading back all pending ones{}",
                      loaded.error().message, v.Suffix());
      local_.OnChangesMissed();
      return;
    }
    for (auto& d : *loaded) d.retry_request = retries.contains(d.id.str());
    retries.clear();
    if (loaded->empty()) return;
    local_.OnDeliveriesReady(std::move(*loaded));
  };
  bool tokens = false, types = false;
  // Another node's deliveries of shards not held here are passed over unread (checked again
  // below: a lease may move meanwhile).
  const std::function<bool(int)> held = [this](int shard) {
    return shard < kLeaseShards && epoch_[shard].load(std::memory_order_acquire) != 0;
  };
  for (const auto& p : payloads) {
    auto n = pg::ParseNotice(p, me, held);
    if (!n) continue;
    switch (n->kind) {
      case pg::Notice::Kind::kReady:
      case pg::Notice::Kind::kRetry: {
        const bool accepted_here = n->kind == pg::Notice::Kind::kReady && n->node == me;
        for (auto& d : n->deliveries) {
          // Taken whatever the shard: a kept delivery is dropped once its notice is read.
          std::optional<PendingDelivery> kept;
          if (accepted_here) kept = store_.TakeAccepted(d.id);
          // Another node's (or nobody's yet: read when taken). Held, not "usable now": while a
          // slow renewal lets the lease lapse for a moment, this node still owns the shard and
          // its dispatcher keeps what it is given (and sends it once the renewal is through) —
          // skipped here, it would be read back by nobody.
          if (d.shard < 0 || d.shard >= kLeaseShards || epoch_[d.shard].load(std::memory_order_acquire) == 0) continue;
          if (!kept && d.event) {  // carried whole: no read (its payload opened once per event)
            if (d.event != carried) {
              carried = d.event;
              carried_subject = carried->Subject();
              carried_payload = carried_subject ? store_.OpenCarriedPayload(*carried) : nullptr;
            }
            if (carried_payload)
              kept = PendingDelivery{d.id,          carried->company, carried->id,     d.endpoint,
                                     *carried_subject, 0,             carried->due_ms, carried_payload};
          }
          if (kept) {
            if (!ids.empty()) flush();
            taken.push_back(std::move(*kept));
            continue;
          }
          if (!taken.empty()) flush();
          if (n->kind == pg::Notice::Kind::kRetry) retries.insert(d.id.str());
          ids.push_back(std::move(d.id));
        }
        break;
      }
      case pg::Notice::Kind::kCanceled: {
        if (n->node == me) break;  // announced here already
        flush();                   // in commit order: a delivery made ready, then canceled
        // The notice names shards, not endpoints: each dispatcher looks the deliveries up.
        std::vector<std::pair<DeliveryId, EndpointId>> canceled;
        for (auto& d : n->deliveries) canceled.emplace_back(std::move(d.id), EndpointId());
        local_.OnDeliveriesCanceled(canceled);
        break;
      }
      case pg::Notice::Kind::kEndpoint:
      case pg::Notice::Kind::kRequeued:
        if (n->node == me) break;  // announced here already
        flush();                   // in commit order
        if (n->kind == pg::Notice::Kind::kEndpoint) local_.OnEndpointChanged(n->company, n->endpoint);
        else local_.OnDeliveriesRequeued(n->company, n->endpoint);
        break;
      case pg::Notice::Kind::kReplayStarted:
      case pg::Notice::Kind::kReplayCanceled:
        if (n->node == me) break;  // announced here already
        flush();                   // in commit order: deliveries made before a cancel go first
        if (n->kind == pg::Notice::Kind::kReplayStarted) local_.OnReplayStarted(n->company, n->endpoint);
        else local_.OnReplayCanceled(n->company, n->endpoint);
        break;
      case pg::Notice::Kind::kTokens:
        tokens = tokens || n->node != me;
        break;
      case pg::Notice::Kind::kEventTypes:
        types = types || n->node != me;
        break;
    }
  }
  flush();
  if (tokens)
    local_.OnTokensChanged();
  if (types)
    local_.OnEventTypesChanged();
}

}  // namespace hookd
