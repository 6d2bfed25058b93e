// `hookd serve`: the composition root. Components are built from the config, joined by the
// change feed, and started by a Lifecycle in the order their declared dependencies give (the
// API after the dispatcher: its start-up recovery bound comes before the first ingest);
// SIGINT/SIGTERM stops them in the reverse order (the API first: no new work; the store last).
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/auth.h"
#include "api/context.h"
#include "api/http_server.h"
#include "api/router.h"
#include "api/index_follower.h"
#include "app/commands.h"
#include "app/lifecycle.h"
#include "core/change_feed.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/endpoint_index.h"
#include "core/event_catalog.h"
#include "core/metrics.h"
#include "core/retry_policy.h"
#include "core/ssrf_guard.h"
#include "dispatch/destination_check.h"
#include "dispatch/dispatcher_pool.h"
#include "replay/replay_runner.h"
#include "store/postgres/pg_cluster.h"
#include "store/postgres/postgres_store.h"
#include "store/erasure_worker.h"
#include "store/retention.h"
#include "store/encryption.h"
#include "store/store.h"

namespace hookd {

namespace {

// Ensures an operator token exists. With a configured one (--admin-token, its file or the
// environment), that one — stored hashed — and no other: earlier operator tokens (an older
// --admin-token, or the one generated on a first start) are revoked, so that changing the
// flag rotates the token. A configured token that was revoked (`hookd token revoke`) is
// refused rather than brought back. Without one, a new token on first start, printed once
// to stdout. Returns the token to show, or "".
Result<std::string> EnsureOperatorToken(Store& store, const std::string& configured) {
  if (!configured.empty()) {
    std::string hash = HashToken(configured);
    auto found = store.FindTokenByHash(hash);
    if (found && found->revoked_at_ms)
      return MakeError(ErrorCode::kInvalidArgument,
                       "the configured operator token was revoked (" + found->id.str() + "): configure a new one");
    if (found && !found->IsOperator())
      return MakeError(ErrorCode::kInvalidArgument,
                       "the configured operator token is a company's token (" + found->id.str() + ")");
    if (!found && found.error().code != ErrorCode::kNotFound) return std::unexpected(found.error());
    if (!found) {
      ApiToken t{TokenId::New(), std::nullopt, hash, kScopeManage | kScopePublish,
                 "operator (--admin-token)", NowMs(), std::nullopt};
      if (auto r = store.InsertToken(t); !r) return std::unexpected(r.error());
    }
    auto revoked = store.RevokeOperatorTokens(hash, NowMs());
    if (!revoked) return std::unexpected(revoked.error());
    if (*revoked > 0)
      spdlog::info("operator token: the configured one replaces {} earlier operator token{}, now revoked",
                   *revoked, *revoked == 1 ? "" : "s");
    return std::string();
  }
  auto has = store.HasOperatorToken();
  if (!has) return std::unexpected(has.error());
  if (*has) return std::string();
  std::string token = NewApiToken();
  ApiToken t{TokenId::New(), std::nullopt, HashToken(token), kScopeManage | kScopePublish,
             "operator (generated on first start)", NowMs(), std::nullopt};
  if (auto r = store.InsertToken(t); !r) return std::unexpected(r.error());
  return token;
}

// Every delivery in flight and every API connection is a file descriptor: raise the soft
// limit (often 1024) to the hard one, as servers usually do, capped at 1M. Says so when the
// limit leaves less room than --max-connections asks for.
void RaiseFileLimit(int max_connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const rlim_t want = lim.rlim_max == RLIM_INFINITY ? 1048576 : std::min<rlim_t>(lim.rlim_max, 1048576);
  if (lim.rlim_cur < want) {
    const rlim_t was = lim.rlim_cur;
    lim.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      spdlog::warn("cannot raise the open-file limit to {}", want);
      lim.rlim_cur = was;
    }
  }
  if (lim.rlim_cur < static_cast<rlim_t>(max_connections) + 256)
    spdlog::warn("the open-file limit ({}) is below --max-connections ({}) and the descriptors deliveries "
                 "need: past it, new connections are answered 503 until some close",
                 lim.rlim_cur, max_connections);
}

// What other nodes on the same database change that this node keeps in memory besides
// endpoints (those have the IndexFollower): tokens (the authenticator's cache) and custom
// event types (the catalog).
class SharedStateFollower final : public ChangeListener {
 public:
  SharedStateFollower(Store& store, EventCatalog& catalog, api::Authenticator& auth)
      : store_(store), catalog_(catalog), auth_(auth) {}
  void OnDeliveriesReady(std::vector<PendingDelivery>) override {}
  void OnEndpointChanged(const CompanyId&, const EndpointId&) override {}
  void OnDeliveriesRequeued(const CompanyId&, const EndpointId&) override {}
  void OnTokensChanged() override { auth_.Invalidate(); }
  void OnEventTypesChanged() override { LoadEventTypes(); }
  void OnChangesMissed() override {
    auth_.Invalidate();
    LoadEventTypes();
  }

 private:
  void LoadEventTypes() {
    auto custom = store_.ListEventTypes();
    if (!custom) {
      spdlog::error("cannot reload event types: {}", custom.error().message);
      return;
    }
    for (auto& def : *custom)
      if (!catalog_.Find(def.name)) (void)catalog_.Add(def);
  }
  Store& store_;
  EventCatalog& catalog_;
  api::Authenticator& auth_;
};

}  // namespace

int RunServe(ServeConfig& cfg) {
  if (std::string err = ValidateServeConfig(cfg); !err.empty()) {
    fmt::print(stderr, "hookd serve: {}\n", err);
    return 2;
  }
  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // A file-size limit (ulimit -f) makes writes past it fail with EFBIG, answered like a full
  // disk, instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  RaiseFileLimit(cfg.max_connections);

  auto retry = RetryPolicy::Parse(cfg.retry_schedule);
  if (!retry) {
    fmt::print(stderr, "hookd serve: --retry-schedule: {}\n", retry.error().message);
    return 2;
  }
  auto policy = DestinationPolicy::Make(cfg.allow_private_destinations, cfg.allow_destination);
  if (!policy) {
    fmt::print(stderr, "hookd serve: --allow-destination: {}\n", policy.error().message);
    return 2;
  }

  auto cipher = LoadEncryptionKeys(cfg.encryption_key_file);
  if (!cipher) {
    fmt::print(stderr, "hookd serve: {}\n", cipher.error().message);
    return 2;
  }
  auto opened = OpenStore(cfg.db, {.exclusive = true, .cipher = *cipher});
  if (!opened) {
    spdlog::critical("cannot open store {}: {}", RedactStoreUrl(cfg.db), opened.error().message);
    return 1;
  }
  std::unique_ptr<Store> store = std::move(*opened);
  if (auto r = store->Migrate(); !r) {
    spdlog::critical("cannot migrate store: {}", r.error().message);
    return 1;
  }
  // Before anything is read: a database sealed under a key we lack is refused here, with the
  // key's id, never served as garbage or as errors row by row.
  if (auto r = sealed::CheckKeys(*store, *cipher ? **cipher : FieldCipher(), NowMs()); !r) {
    spdlog::critical("cannot start: {}", r.error().message);
    return 1;
  }
  if (*cipher) {
    spdlog::info("encryption at rest: payloads, receivers' answers and signing secrets are sealed with key {} "
                 "(AES-256-GCM; {} key(s) configured)",
                 (*cipher)->primary_id(), (*cipher)->key_ids().size());
  } else {
    spdlog::warn("encryption at rest is off: payloads, receivers' answers and signing secrets are stored "
                 "unencrypted (set --encryption-key-file to seal them)");
  }

  EventCatalog catalog;
  auto custom = store->ListEventTypes();
  if (!custom) {
    spdlog::critical("cannot load event types: {}", custom.error().message);
    return 1;
  }
  for (auto& def : *custom)
    if (auto r = catalog.Add(def); !r) spdlog::warn("custom event type {} skipped: {}", def.name, r.error().message);

  EndpointIndex index;
  api::IndexFollower index_follower(*store, index);
  if (auto r = index_follower.LoadAll(); !r) {
    spdlog::critical("cannot load endpoints: {}", r.error().message);
    return 1;
  }

  auto shown_token = EnsureOperatorToken(*store, cfg.admin_token);
  if (!shown_token) {
    spdlog::critical("cannot set up the operator token: {}", shown_token.error().message);
    return 1;
  }

  // Declared before the components that hold a pointer to it, so it outlives them.
  Metrics metrics;
  // Every change made on this node (API calls, the dispatcher's own disables and deletes) is
  // announced on the change feed; the fan-out index follows first, then the dispatcher. On
  // PostgreSQL, nodes share the database: the feed also brings other nodes' changes, and this
  // node dispatches only the endpoints of the shards it leases (store/postgres/pg_cluster.h).
  LocalChangeFeed local_changes;
  std::unique_ptr<PgCluster> cluster;
  if (auto* pg = dynamic_cast<PostgresStore*>(store.get()))
    cluster = std::make_unique<PgCluster>(*pg, ClusterOptions{cfg.lease_timeout_ms});
  ChangeFeed& changes = cluster ? static_cast<ChangeFeed&>(*cluster) : local_changes;
  changes.Subscribe(index_follower);

  DispatcherOptions dopts;
  dopts.retry = *retry;
  dopts.request_timeout_ms = cfg.request_timeout_ms;
  dopts.disable_after_ms = cfg.disable_after_ms;
  dopts.user_agent = "hookd/" HOOKD_VERSION;
  dopts.tls_ca_file = cfg.tls_ca_file;
  dopts.proxy = cfg.proxy;
  dopts.builtin_http1 = cfg.plain_http == "builtin";
  dopts.metrics = &metrics;
  dopts.ownership = cluster.get();
  // A REST hook being deleted (410) leaves this node's fan-out before the store forgets it.
  dopts.on_endpoint_deleting = [&index](const CompanyId& company, const EndpointId& id) { index.Remove(company, id); };
  dopts.on_endpoint_changed = [&changes](const CompanyId& company, const EndpointId& id) {
    changes.OnEndpointChanged(company, id);
  };
  DispatcherPool dispatcher(*store, *policy, dopts, cfg.dispatch_threads);
  changes.Subscribe(dispatcher);
  // Replays (POST …/endpoints/{eid}/replay): made into deliveries a window at a time, announced
  // on the feed like ingested ones; on several nodes, by the node that owns the endpoint.
  ReplayRunner replays(*store, *store, changes, {.ownership = cluster.get()});
  changes.Subscribe(replays);
  store->Instrument(metrics.registry);
  metrics.registry.AddCallbackGauge(
      "hookd_queue_depth", "Deliveries held in the dispatcher's memory: ready, waiting for a retry, or in flight.",
      [&dispatcher] { return static_cast<double>(dispatcher.Queued()); });
  metrics.registry.AddCallbackGauge(
      "hookd_in_flight_requests", "Delivery requests to receivers in flight now.",
      [&dispatcher] { return static_cast<double>(dispatcher.InFlight()); });
  Retention retention(*store, cfg.retention_ms, 60'000, cfg.audit_retention_ms);
  // Erasures announce the deliveries they cancel on the feed: the dispatcher drops them.
  ErasureWorker erasures(*store, changes);

  api::Authenticator auth(*store);
  SharedStateFollower shared_state(*store, catalog, auth);
  changes.Subscribe(shared_state);
  if (cluster)
    metrics.registry.AddCallbackGauge("hookd_lease_shards_held",
                                      "Shards (of 256) whose endpoints this node dispatches (several nodes on PostgreSQL).",
                                      [&cluster] { return static_cast<double>(cluster->ShardsHeld()); });
  api::ApiOptions api_opts;
  api_opts.max_payload = cfg.max_payload_bytes;
  api_opts.allow_http = cfg.allow_http;
  api_opts.retention_ms = cfg.retention_ms;
  api_opts.auto_disable = {dopts.disable_after_ms, dopts.disable_min_failures};
  api_opts.check_destination = [&policy](std::string_view url) { return CheckDestinationLiteral(*policy, url); };
  DestinationChecker destinations(*policy, {});
  api_opts.destinations = &destinations;
  api::ApiContext ctx{*store, catalog, index, auth, changes, api_opts, &metrics, &erasures, &dispatcher};
  api::Router router;
  api::AddAllRoutes(router, ctx);

  api::HttpServer server({.listen = cfg.listen,
                          .max_body = cfg.max_payload_bytes,
                          .threads = cfg.threads,
                          .max_connections = static_cast<size_t>(cfg.max_connections),
                          .max_connections_per_client = static_cast<size_t>(cfg.max_connections_per_client)},
                         api::InstrumentedHandler(router, &metrics));

  // What runs, and what must run before it. Stopped in the reverse order of starting.
  int port = 0;
  Lifecycle lifecycle;
  lifecycle.Add({"store", {}, nullptr, [&store] { store->Close(); }});
  // Takes its recovery bound when it starts: every delivery accepted later reaches it through
  // the change feed, so it must start before anything can accept one. On stop, in-flight
  // deliveries finish or stay pending for the next start.
  // Several nodes: listening for other nodes' changes, then a first share of the leases (the
  // dispatcher recovers those shards); on stop, the leases are given back for others to take.
  lifecycle.Add({"cluster", {"store"},
                 [&cluster]() -> Result<void> { return cluster ? cluster->Join() : Result<void>{}; },
                 [&cluster] {
                   if (cluster) cluster->Leave();
                 }});
  lifecycle.Add({"dispatcher", {"store", "cluster"},
                 [&dispatcher]() -> Result<void> {
                   dispatcher.Start();
                   return {};
                 },
                 [&dispatcher] { dispatcher.Stop(10000); }});
  // Makes deliveries: after the dispatcher (as the API), whose recovery bound comes first.
  lifecycle.Add({"replays", {"store", "cluster", "dispatcher"},
                 [&replays]() -> Result<void> {
                   replays.Start();
                   return {};
                 },
                 [&replays] { replays.Stop(); }});
  lifecycle.Add({"retention", {"store"},
                 [&retention]() -> Result<void> {
                   retention.Start();
                   return {};
                 },
                 [&retention] { retention.Stop(); }});
  // Resumes the erasures a stop interrupted; its cancellations reach a dispatcher that has
  // taken its recovery bound.
  lifecycle.Add({"erasures", {"store", "dispatcher"},
                 [&erasures]() -> Result<void> {
                   erasures.Start();
                   return {};
                 },
                 [&erasures] { erasures.Stop(); }});
  // Endpoint saves waiting on DNS are answered 503 when it stops.
  lifecycle.Add({"destination-checks", {}, nullptr, [&destinations] { destinations.Stop(); }});
  lifecycle.Add({"api", {"store", "dispatcher", "destination-checks"},
                 [&server, &port]() -> Result<void> {
                   auto p = server.Start();
                   if (!p) return std::unexpected(p.error());
                   port = *p;
                   return {};
                 },
                 [&server] { server.Stop(5000); }});  // no new requests; in-flight API calls finish
  if (auto r = lifecycle.StartAll(); !r) {
    spdlog::critical("{}", r.error().message);
    return 1;
  }
  std::string host = cfg.listen.substr(0, cfg.listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  // Machine-readable first line (tests and scripts read the port from it).
  fmt::print("hookd listening on http://{}:{}\n", host, port);
  if (!shown_token->empty())
    fmt::print("operator token (shown once, store it now): {}\n", *shown_token);
  std::fflush(stdout);
  spdlog::info("hookd {} serving on {}:{} with {}", HOOKD_VERSION, host, port,
               cfg.db.substr(0, cfg.db.find(':')));

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  lifecycle.StopAll();
  spdlog::info("stopped");
  return 0;
}

}  // namespace hookd
