// Several `hookd serve` nodes on one PostgreSQL database (docs/multi-node.md): three real
// processes on a private PostgreSQL server, a real receiver, and what arrives there. Each test
// states the property it measures at the receiver — nothing accepted lost, a dead node's shards
// taken over, per-endpoint rules holding across nodes, the database restarted under load.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "harness.h"
#include "receiver.h"
#include "core/clock.h"
#include "core/shard_ownership.h"
#include "support/pg_server.h"

#include <libpq-fe.h>

namespace hookd::testing {
namespace {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kNodes = 3;
constexpr int kLeaseMs = 2000;  // --lease-timeout of the nodes: takeovers within ~2.7 s

// The value of an unlabelled series in a Prometheus text page; -1 when absent.
double Metric(const std::string& page, const std::string& name) {
  size_t at = 0;
  while ((at = page.find(name + " ", at)) != std::string::npos) {
    if (at == 0 || page[at - 1] == '\n') return std::stod(page.substr(at + name.size() + 1));
    at += name.size();
  }
  return -1;
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = NewPostgresDatabaseUrl();
    for (int i = 0; i < kNodes; ++i) {
      dirs_.push_back(std::make_unique<TempDir>());
      nodes_.push_back(std::make_unique<HookdProcess>(
          dirs_.back()->path(),
          std::vector<std::string>{"--allow-http", "--allow-private-destinations", "--lease-timeout",
                                   std::to_string(kLeaseMs / 1000) + "s", "--retry-schedule",
                                   // Quick at first, but 15 s in all: on a loaded machine the
                                   // receiver may stall for a second without losing a delivery.
                                   "200ms,500ms,1s,2s,4s,8s"}));
      nodes_.back()->SetDbUrl(url_);
      ASSERT_NO_FATAL_FAILURE(nodes_.back()->Start());
    }
    auto op = Client(0, nodes_[0]->AdminToken());
    auto c = op->Post("/v1/companies", json::object{{"name", "Acme Iberia S.L."}});
    ASSERT_EQ(c.status, 201) << c.body;
    company_ = std::string(c.Json().at("id").as_string());
    auto t = op->Post("/v1/companies/" + company_ + "/tokens",
                      json::parse(R"({"scopes":["manage","publish"],"description":"test"})"));
    ASSERT_EQ(t.status, 201) << t.body;
    token_ = std::string(t.Json().at("token").as_string());
    ASSERT_TRUE(WaitBalanced(milliseconds(30000))) << "the shards were not spread over the three nodes";
  }
  void TearDown() override {
    if (!HasFailure()) {
      for (auto& n : nodes_)
        if (n->Running()) n->Kill(SIGTERM);
      return;
    }
    // Deliveries still pending, as the database has them (through a node still up).
    for (auto& n : nodes_) {
      if (!n->Running()) continue;
      auto c = Client(static_cast<int>(&n - &nodes_[0]));
      for (const char* status : {"pending", "failed"})
        std::cout << "---- " << status << " deliveries: "
                  << c->Get("/v1/companies/" + company_ + "/deliveries?limit=10&status=" + status).body << "\n";
      break;
    }
    for (auto& n : nodes_)
      if (n->Running()) n->Kill(SIGTERM);
    // What each node said: the first thing to read when a delivery did not arrive.
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const std::string out = nodes_[i]->Output();
      size_t from = out.size(), lines = 0;
      while (from > 0 && lines < 40)
        if (out[--from] == '\n') ++lines;
      std::cout << "---- node " << i << " (last lines)\n" << out.substr(from) << "\n";
    }
  }

  std::unique_ptr<HttpClient> Client(int node, const std::string& token = "") {
    auto c = std::make_unique<HttpClient>(nodes_[node]->BaseUrl());
    c->SetToken(token.empty() ? token_ : token);
    return c;
  }
  // Shards held by `node` (its /metrics), -1 when it does not answer.
  int ShardsHeld(int node) {
    HttpClient c(nodes_[node]->BaseUrl());
    auto r = c.Get("/metrics");
    if (r.status != 200) return -1;
    return static_cast<int>(Metric(r.body, "hookd_lease_shards_held"));
  }
  // Every running node holds a fair share and together they hold all 256 shards.
  bool WaitBalanced(milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      int sum = 0, running = 0, lowest = 256;
      for (int i = 0; i < kNodes; ++i) {
        if (!nodes_[i]->Running()) continue;
        const int held = ShardsHeld(i);
        ++running;
        sum += std::max(0, held);
        lowest = std::min(lowest, held);
      }
      if (sum == 256 && lowest >= 256 / running - 1) return true;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }
  std::string CreateEndpoint(int node, json::object body) {
    auto r = Client(node)->Post("/v1/companies/" + company_ + "/endpoints", json::value(std::move(body)));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? std::string(r.Json().at("id").as_string()) : "";
  }
  // A new endpoint reaches the other nodes' fan-out within milliseconds, not at once: an
  // event accepted meanwhile by another node is not for it. Before a test counts what arrives,
  // every node must fan out to all `endpoints` so far: each gets probe events (employee
  // "probe") until one makes that many deliveries.
  void AwaitFanOut(int64_t endpoints) {
    for (int n = 0; n < kNodes; ++n) {
      if (!nodes_[n]->Running()) continue;
      auto c = Client(n);
      bool ok = false;
      for (int i = 0; i < 200 && !ok; ++i) {
        auto r = c->Post("/v1/companies/" + company_ + "/events", HiredEventBody("probe"));
        ok = r.status == 202 && r.Json().at("deliveries").as_int64() == endpoints;
        if (!ok) std::this_thread::sleep_for(milliseconds(10));  // the node has not heard yet
      }
      ASSERT_TRUE(ok) << "node " << n << " does not fan out to all " << endpoints << " endpoints";
    }
  }
  // Posts an event to `node`; its id when accepted (202), "" otherwise (`status` says what).
  std::string Post(HttpClient& c, const std::string& employee, long* status = nullptr) {
    auto r = c.Post("/v1/companies/" + company_ + "/events", HiredEventBody(employee));
    if (status) *status = r.status;
    return r.status == 202 ? std::string(r.Json().at("id").as_string()) : "";
  }
  // Waits until every id in `ids` reached `path` (webhook-id), returns the ones that did not.
  std::set<std::string> WaitDelivered(const std::set<std::string>& ids, const std::string& path, milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    std::set<std::string> missing;
    for (;;) {
      missing = ids;
      for (const auto& r : receiver_.Requests(path)) {
        auto h = r.headers.find("webhook-id");
        if (h != r.headers.end()) missing.erase(h->second);
      }
      if (missing.empty() || Clock::now() >= until) return missing;
      receiver_.WaitFor(receiver_.Count() + 1, milliseconds(200));
    }
  }
  // Requests to `path` beyond the first per event (at least once: a takeover may resend).
  size_t Duplicates(const std::string& path) {
    std::map<std::string, int> seen;
    size_t dup = 0;
    for (const auto& r : receiver_.Requests(path))
      if (++seen[r.headers.at("webhook-id")] > 1) ++dup;
    return dup;
  }

  Receiver receiver_;
  std::string url_;
  std::vector<std::unique_ptr<TempDir>> dirs_;
  std::vector<std::unique_ptr<HookdProcess>> nodes_;
  std::string company_;
  std::string token_;
};

// (e) An endpoint created through one node receives, within a second, an event posted to
// another right after: the second node's fan-out index heard of it through the database.
TEST_F(ClusterTest, AnEndpointCreatedOnOneNodeGetsAnEventPostedToAnotherWithinASecond) {
  for (int round = 0; round < 3; ++round) {
    const std::string path = "/e" + std::to_string(round);
    const int on = round % kNodes, to = (round + 1) % kNodes;
    ASSERT_FALSE(CreateEndpoint(on, {{"url", receiver_.Url(path)}, {"event_types", json::array{"employee.*"}}}).empty());
    const auto t0 = Clock::now();
    auto c = Client(to);
    long status = 0;
    std::string id;
    // Until the index of node `to` has the endpoint, an event there does not fan out to it:
    // post until one does (each answer says how many deliveries it made).
    while (Clock::now() - t0 < milliseconds(1000)) {
      auto r = c->Post("/v1/companies/" + company_ + "/events", HiredEventBody("emp_" + std::to_string(round)));
      status = r.status;
      ASSERT_EQ(status, 202) << r.body;
      // Every endpoint so far takes employee.*: the new one is in the fan-out once there is
      // one delivery per round.
      if (r.Json().at("deliveries").as_int64() == round + 1) {
        id = std::string(r.Json().at("id").as_string());
        break;
      }
    }
    ASSERT_FALSE(id.empty()) << "node " << to << " did not fan out to the endpoint created on node " << on
                             << " within 1 s";
    if (!WaitDelivered({id}, path, milliseconds(1000)).empty()) {
      // Late or lost? And what the store says of it.
      const bool later = WaitDelivered({id}, path, milliseconds(10000)).empty();
      ADD_FAILURE() << "created on node " << on << ", posted to node " << to << ": not received within a second; "
                    << (later ? "received " : "not received ")
                    << std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count() << " ms after the create; "
                    << c->Get("/v1/companies/" + company_ + "/deliveries?event_id=" + id).body;
      for (const auto& r : receiver_.Requests())
        if (r.headers.count("webhook-id") && r.headers.at("webhook-id") == id)
          ADD_FAILURE() << "  it reached " << r.path << " (" << r.headers.count("user-agent") << ")";
      return;
    }
    std::cout << "[ cluster ] endpoint on node " << on << ", event to node " << to << ": received "
              << std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count() << " ms after the create\n";
  }
}

// (a) Events posted to all three nodes while one is SIGKILLed for good: every accepted event is
// delivered (at least once), the dead node's shards are taken over within the lease time, and
// nothing stays pending.
TEST_F(ClusterTest, ANodeKilledMidRunLosesNothingAndItsShardsAreTakenOver) {
  constexpr int kEndpoints = 6;
  for (int e = 0; e < kEndpoints; ++e)
    ASSERT_FALSE(CreateEndpoint(e % kNodes, {{"url", receiver_.Url("/a")}, {"event_types", json::array{"employee.hired"}}})
                     .empty());
  ASSERT_NO_FATAL_FAILURE(AwaitFanOut(kEndpoints));
  std::mutex mu;
  std::set<std::string> accepted;
  std::atomic<int> total{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int n = 0; n < kNodes; ++n) {
    clients.emplace_back([&, n] {
      auto c = Client(n);
      for (int i = 0; !stop.load(); ++i) {
        long status = 0;
        std::string id = Post(*c, "emp_" + std::to_string(n) + "_" + std::to_string(i), &status);
        if (!id.empty()) {
          std::lock_guard lock(mu);
          accepted.insert(id);
          ++total;
        } else if (status == 0) {
          return;  // its node is gone
        }
      }
    });
  }
  while (total.load() < 150) std::this_thread::sleep_for(milliseconds(5));
  nodes_[0]->Kill(SIGKILL);
  const auto killed_at = Clock::now();
  // The survivors hold all 256 shards again.
  bool taken_over = false;
  int64_t takeover_ms = 0;
  while (Clock::now() - killed_at < milliseconds(6 * kLeaseMs)) {
    if (ShardsHeld(1) + ShardsHeld(2) == 256) {
      taken_over = true;
      takeover_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - killed_at).count();
      break;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  while (total.load() < 450) std::this_thread::sleep_for(milliseconds(5));
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_TRUE(taken_over) << "the dead node's shards were not taken over";
  // Renewal every lease/3; a lease expires lease after its last renewal.
  EXPECT_LE(takeover_ms, kLeaseMs + kLeaseMs / 3 + 1500);

  std::set<std::string> ids;
  {
    std::lock_guard lock(mu);
    ids = accepted;
  }
  // Each event goes to kEndpoints endpoints: count per (event, endpoint) through the path's
  // requests — every event must arrive kEndpoints times at least.
  const auto t0 = Clock::now();
  auto missing = WaitDelivered(ids, "/a", milliseconds(30000));
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << ids.size() << " accepted events never arrived, e.g. "
                               << *missing.begin();
  std::map<std::string, int> per_event;
  for (const auto& r : receiver_.Requests("/a")) ++per_event[r.headers.at("webhook-id")];
  size_t short_of = 0;
  for (const auto& id : ids)
    if (per_event[id] < kEndpoints) ++short_of;
  // Deliveries still on their way: wait for the last ones (bounded).
  while (short_of > 0 && Clock::now() - t0 < milliseconds(30000)) {
    receiver_.WaitFor(receiver_.Count() + 1, milliseconds(200));
    per_event.clear();
    for (const auto& r : receiver_.Requests("/a")) ++per_event[r.headers.at("webhook-id")];
    short_of = 0;
    for (const auto& id : ids)
      if (per_event[id] < kEndpoints) ++short_of;
  }
  EXPECT_EQ(short_of, 0u) << "events not delivered to all " << kEndpoints << " endpoints";
  size_t requests = 0, expected = ids.size() * kEndpoints;
  for (const auto& id : ids) requests += per_event[id];  // probes left out
  std::cout << "[ cluster ] " << ids.size() << " events accepted by 3 nodes (one SIGKILLed), " << expected
            << " deliveries: " << requests << " requests, " << (requests - std::min(requests, expected))
            << " duplicates; shards taken over " << takeover_ms << " ms after the kill (lease " << kLeaseMs
            << " ms)\n";
  RecordProperty("takeover_ms", static_cast<int>(takeover_ms));
  RecordProperty("duplicates", static_cast<int>(requests - std::min(requests, expected)));
  // Nothing stays pending.
  auto c = Client(1);
  for (int i = 0; i < 100; ++i) {
    auto r = c->Get("/v1/companies/" + company_ + "/deliveries?status=pending&limit=1");
    if (r.status == 200 && r.Json().at("data").as_array().empty()) break;
    std::this_thread::sleep_for(milliseconds(100));
    if (i == 99) ADD_FAILURE() << "deliveries still pending: " << r.body;
  }
}

// (b) max_concurrency holds across nodes: events for one endpoint accepted by all three nodes,
// the receiver slow — it never sees more than 2 requests at once.
TEST_F(ClusterTest, MaxConcurrencyHoldsWhileThreeNodesCarryTheLoad) {
  receiver_.Set("/slow", Behaviour{.delay_ms = 40});
  ASSERT_FALSE(CreateEndpoint(1, {{"url", receiver_.Url("/slow")},
                                  {"event_types", json::array{"employee.hired"}},
                                  {"max_concurrency", 2}})
                   .empty());
  ASSERT_NO_FATAL_FAILURE(AwaitFanOut(1));
  std::mutex mu;
  std::set<std::string> ids;
  std::vector<std::thread> clients;
  for (int n = 0; n < kNodes; ++n)
    clients.emplace_back([&, n] {
      auto c = Client(n);
      for (int i = 0; i < 20; ++i) {
        std::string id = Post(*c, "emp_" + std::to_string(n) + "_" + std::to_string(i));
        std::lock_guard lock(mu);
        if (!id.empty()) ids.insert(id);
      }
    });
  for (auto& t : clients) t.join();
  ASSERT_EQ(ids.size(), 60u);
  EXPECT_TRUE(WaitDelivered(ids, "/slow", milliseconds(20000)).empty());
  EXPECT_LE(receiver_.MaxConcurrent("/slow"), 2);
  EXPECT_EQ(receiver_.MaxConcurrent("/slow"), 2);  // and the limit was used
}

// (c) ordering: "subject" holds while one employee's events are posted to different nodes (each
// after the previous one's 202), even when one of them fails once and is retried.
TEST_F(ClusterTest, SubjectOrderHoldsAcrossNodes) {
  std::vector<std::string> order;  // event ids in the order they were accepted
  std::mutex mu;
  std::string failing;  // the event whose first attempt fails
  receiver_.SetFn("/ordered", [&](int, const ReceivedRequest& req) {
    std::lock_guard lock(mu);
    const std::string id = req.headers.at("webhook-id");
    if (id == failing) {
      failing.clear();
      return Behaviour{.status = 500};
    }
    return Behaviour{};
  });
  ASSERT_FALSE(CreateEndpoint(2, {{"url", receiver_.Url("/ordered")},
                                  {"event_types", json::array{"employee.hired"}},
                                  {"ordering", "subject"}})
                   .empty());
  ASSERT_NO_FATAL_FAILURE(AwaitFanOut(1));
  for (int i = 0; i < 12; ++i) {
    auto c = Client(i % kNodes);
    std::string id = Post(*c, "emp_42");
    ASSERT_FALSE(id.empty());
    order.push_back(id);
    if (i == 2) {
      std::lock_guard lock(mu);
      failing = id;
    }
  }
  ASSERT_TRUE(WaitDelivered({order.begin(), order.end()}, "/ordered", milliseconds(20000)).empty());
  // The first time each event reached the receiver follows acceptance order.
  std::vector<std::string> arrived;
  std::set<std::string> seen;
  for (const auto& r : receiver_.Requests("/ordered")) {
    const std::string id = r.headers.at("webhook-id");
    if (std::find(order.begin(), order.end(), id) == order.end()) continue;  // a probe
    if (seen.insert(id).second) arrived.push_back(id);
  }
  EXPECT_EQ(arrived, order);
}

// (d) PostgreSQL restarted (fast shutdown, then start) under load: while it is away every node
// says not ready and ingest answers 503 (never a 202 that was not committed); afterwards every
// node goes on by itself and every accepted event is delivered.
TEST_F(ClusterTest, ADatabaseRestartUnderLoadLosesNothingAndEveryNodeRecovers) {
  ASSERT_FALSE(CreateEndpoint(0, {{"url", receiver_.Url("/d")}, {"event_types", json::array{"employee.hired"}}}).empty());
  ASSERT_NO_FATAL_FAILURE(AwaitFanOut(1));
  std::mutex mu;
  std::set<std::string> accepted;
  std::map<long, int> statuses;
  std::atomic<bool> stop{false};
  std::atomic<int> total{0};
  std::vector<std::thread> clients;
  for (int n = 0; n < kNodes; ++n)
    clients.emplace_back([&, n] {
      auto c = Client(n);
      for (int i = 0; !stop.load(); ++i) {
        long status = 0;
        std::string id = Post(*c, "emp_" + std::to_string(n) + "_" + std::to_string(i), &status);
        std::lock_guard lock(mu);
        ++statuses[status];
        if (!id.empty()) {
          accepted.insert(id);
          ++total;
        }
      }
    });
  while (total.load() < 100) std::this_thread::sleep_for(milliseconds(5));
  bool all_unready = true;
  RestartPostgresServer([&] {
    // The database is away: each node says so, within a few seconds.
    for (int n = 0; n < kNodes; ++n) {
      HttpClient c(nodes_[n]->BaseUrl());
      bool unready = false;
      for (int i = 0; i < 100 && !unready; ++i) {
        unready = c.Get("/readyz").status == 503;
        if (!unready) std::this_thread::sleep_for(milliseconds(50));
      }
      all_unready = all_unready && unready;
    }
  });
  const int before = total.load();
  // Every node takes events again by itself.
  const auto t0 = Clock::now();
  while (total.load() < before + 150 && Clock::now() - t0 < milliseconds(30000))
    std::this_thread::sleep_for(milliseconds(10));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_TRUE(all_unready) << "a node said ready while its database was down";
  EXPECT_GE(total.load(), before + 150) << "ingest did not come back after the restart";
  for (auto [status, n] : statuses)
    EXPECT_TRUE(status == 202 || status == 503) << n << " answers " << status;
  for (int n = 0; n < kNodes; ++n) {
    HttpClient c(nodes_[n]->BaseUrl());
    EXPECT_EQ(c.Get("/readyz").status, 200) << "node " << n;
  }
  std::set<std::string> ids;
  {
    std::lock_guard lock(mu);
    ids = accepted;
  }
  auto missing = WaitDelivered(ids, "/d", milliseconds(30000));
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << ids.size() << " accepted events never arrived";
  std::cout << "[ cluster ] database restarted under load: " << ids.size() << " events accepted, "
            << statuses[503] << " answered 503 while it was away, " << Duplicates("/d") << " duplicates\n";
}

// Fencing, with real processes: the node that owns an endpoint is paused (SIGSTOP) with
// requests in flight, past its lease. Another node takes the shard over and delivers; when the
// paused node resumes and its requests' answers come in, their outcomes are refused (its lease
// moved on) — the store keeps the new owner's attempt only — and it starts nothing more for
// that shard.
TEST_F(ClusterTest, APausedNodesOutcomesAreFencedAfterItsShardWasTakenOver) {
  const std::string ep = CreateEndpoint(0, {{"url", receiver_.Url("/p")},
                                            {"event_types", json::array{"employee.hired"}},
                                            {"max_concurrency", 3}});
  ASSERT_FALSE(ep.empty());
  ASSERT_NO_FATAL_FAILURE(AwaitFanOut(1));
  ASSERT_TRUE(receiver_.WaitFor(kNodes, milliseconds(5000), "/p"));  // the probes
  const size_t probes = receiver_.Count("/p");
  auto slow = std::make_shared<std::atomic<int>>(0);
  receiver_.SetFn("/p", [slow](int, const ReceivedRequest&) {
    Behaviour b;
    if (slow->fetch_add(1) < 3) b.delay_ms = 4000;  // the first owner's requests: answered once it is paused
    return b;
  });
  // The owner of the endpoint's shard, from the lease table.
  PGconn* db = PQconnectdb(url_.c_str());
  ASSERT_EQ(PQstatus(db), CONNECTION_OK) << PQerrorMessage(db);
  const std::string shard = std::to_string(LeaseShardOf(*EndpointId::Parse(ep)));
  const char* params[] = {shard.c_str()};
  PGresult* r = PQexecParams(db,
                             "SELECT n.address FROM shard_leases l JOIN nodes n ON n.id = l.owner "
                             "WHERE l.shard = $1::int",
                             1, nullptr, params, nullptr, nullptr, 0);
  ASSERT_EQ(PQntuples(r), 1) << PQresultErrorMessage(r);
  const std::string address = PQgetvalue(r, 0, 0);  // "host pid N"
  PQclear(r);
  PQfinish(db);
  const pid_t owner_pid = std::stoi(address.substr(address.rfind(' ') + 1));
  int owner = -1;
  for (int i = 0; i < kNodes; ++i)
    if (nodes_[i]->Pid() == owner_pid) owner = i;
  ASSERT_GE(owner, 0) << address;
  const int other = (owner + 1) % kNodes;

  auto c = Client(other);
  std::set<std::string> first;
  for (int i = 0; i < 3; ++i) first.insert(Post(*c, "emp_" + std::to_string(i)));
  ASSERT_TRUE(receiver_.WaitFor(probes + 3, milliseconds(5000), "/p"));  // in flight at the owner
  ::kill(nodes_[owner]->Pid(), SIGSTOP);
  // Taken over: the new owner sends them again (answered at once) and records them.
  const auto t0 = Clock::now();
  ASSERT_TRUE(receiver_.WaitFor(probes + 6, milliseconds(6 * kLeaseMs), "/p")) << "not taken over";
  std::cout << "[ cluster ] paused owner's deliveries sent again by another node "
            << std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count() << " ms after the pause\n";
  // Resumed: its requests are answered (4 s after they came), their outcomes refused.
  ::kill(nodes_[owner]->Pid(), SIGCONT);
  double fenced = 0;
  for (int i = 0; i < 100 && fenced < 3; ++i) {
    HttpClient m(nodes_[owner]->BaseUrl());
    fenced = Metric(m.Get("/metrics").body, "hookd_fenced_outcomes_total");
    if (fenced < 3) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(fenced, 3) << "the paused node's outcomes were written after it lost the shard";
  // The store has one attempt per delivery: the new owner's (a 200 answered at once).
  for (const auto& id : first) {
    auto d = c->Get("/v1/companies/" + company_ + "/deliveries?event_id=" + id);
    ASSERT_EQ(d.status, 200);
    const json::value listing = d.Json();
    const auto& row = listing.at("data").as_array().at(0).as_object();
    EXPECT_EQ(row.at("status").as_string(), "succeeded");
    auto a = c->Get("/v1/companies/" + company_ + "/deliveries/" + std::string(row.at("id").as_string()) + "/attempts");
    EXPECT_EQ(a.Json().at("data").as_array().size(), 1u) << a.body;
  }
  // It starts nothing more for that shard: new events are sent once, by the new owner.
  std::set<std::string> later;
  for (int i = 0; i < 3; ++i) later.insert(Post(*c, "emp_later_" + std::to_string(i)));
  ASSERT_TRUE(WaitDelivered(later, "/p", milliseconds(5000)).empty());
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(receiver_.Count("/p"), probes + 9);
}

// Replay of a time range with several nodes (issue 14): started through a node that does not
// own the endpoint, it is run and sent by the owner (its metrics count the attempts, the
// others' do not); when the owner dies mid-replay, the node that takes the shard over finishes
// it from the stored cursor — every event of the window arrives again, at most the window twice.
TEST_F(ClusterTest, AReplayIsSentByTheEndpointsOwnerAndFinishedByTheNextOneWhenItDies) {
  const std::string ep = CreateEndpoint(0, {{"url", receiver_.Url("/r")}, {"event_types", json::array{"employee.hired"}}});
  ASSERT_FALSE(ep.empty());
  ASSERT_NO_FATAL_FAILURE(AwaitFanOut(1));
  // The owner of the endpoint's shard, from the lease table.
  PGconn* db = PQconnectdb(url_.c_str());
  ASSERT_EQ(PQstatus(db), CONNECTION_OK) << PQerrorMessage(db);
  const std::string shard = std::to_string(LeaseShardOf(*EndpointId::Parse(ep)));
  const char* params[] = {shard.c_str()};
  PGresult* r = PQexecParams(db, "SELECT n.address FROM shard_leases l JOIN nodes n ON n.id = l.owner WHERE l.shard = $1::int",
                             1, nullptr, params, nullptr, nullptr, 0);
  ASSERT_EQ(PQntuples(r), 1) << PQresultErrorMessage(r);
  const std::string address = PQgetvalue(r, 0, 0);
  PQclear(r);
  PQfinish(db);
  int owner = -1;
  for (int i = 0; i < kNodes; ++i)
    if (nodes_[i]->Pid() == std::stoi(address.substr(address.rfind(' ') + 1))) owner = i;
  ASSERT_GE(owner, 0) << address;
  const int via = (owner + 1) % kNodes;

  constexpr int kEvents = 600;
  auto c = Client(via);
  std::set<std::string> ids;
  std::string since;
  for (int b = 0; b < kEvents / 200; ++b) {
    json::array batch;
    for (int i = 0; i < 200; ++i) batch.push_back(HiredEventBody("emp_r" + std::to_string(b * 200 + i)));
    auto res = c->Post("/v1/companies/" + company_ + "/events/batch", json::value(batch));
    ASSERT_EQ(res.status, 202) << res.body;
    const json::value accepted = res.Json();
    for (const auto& e : accepted.as_array()) {
      ids.insert(std::string(e.at("id").as_string()));
      if (since.empty()) since = std::string(e.at("created_at").as_string());
    }
  }
  ASSERT_TRUE(WaitDelivered(ids, "/r", milliseconds(30000)).empty());
  const size_t originals = receiver_.Count("/r");
  auto patched = c->Request("PATCH", "/v1/companies/" + company_ + "/endpoints/" + ep, R"({"rate_limit_per_second":100})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  auto attempts = [&](int node) {
    HttpClient m(nodes_[node]->BaseUrl());
    const std::string page = m.Get("/metrics").body;
    const std::string key = "hookd_deliveries_total{outcome=\"succeeded\"} ";
    const size_t at = page.find(key);
    return at == std::string::npos ? 0.0 : std::stod(page.substr(at + key.size()));
  };
  std::vector<double> before(kNodes);
  for (int n = 0; n < kNodes; ++n) before[n] = attempts(n);

  auto started = c->Post("/v1/companies/" + company_ + "/endpoints/" + ep + "/replay",
                         json::object{{"since", since}, {"until", FormatTime(NowMs())}});
  ASSERT_EQ(started.status, 202) << started.body;
  const std::string rid = std::string(started.Json().at("id").as_string());
  EXPECT_EQ(started.Json().at("total").as_int64(), kEvents);
  ASSERT_TRUE(receiver_.WaitFor(originals + 150, milliseconds(20000), "/r")) << "the replay did not start";
  for (int n = 0; n < kNodes; ++n) {
    const double sent = attempts(n) - before[n];
    if (n == owner) EXPECT_GE(sent, 100) << "the owner did not send the replay";
    else EXPECT_EQ(sent, 0) << "node " << n << " (not the owner) sent replayed deliveries";
  }
  nodes_[owner]->Kill(SIGKILL);
  const int survivor = (owner + 2) % kNodes;
  auto s = Client(survivor);
  std::string status;
  for (int i = 0; i < 600 && status != "completed"; ++i) {
    auto g = s->Get("/v1/companies/" + company_ + "/replays/" + rid);
    ASSERT_EQ(g.status, 200) << g.body;
    status = std::string(g.Json().at("status").as_string());
    if (status != "completed") std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(status, "completed") << "the replay was not finished after its node died";
  std::map<std::string, int> per_event;
  const auto all = receiver_.Requests("/r");
  for (size_t i = originals; i < all.size(); ++i) ++per_event[all[i].headers.at("webhook-id")];
  size_t twice = 0;
  for (const auto& id : ids) {
    EXPECT_GE(per_event[id], 1) << id << " was not replayed";
    twice += per_event[id] > 1;
  }
  std::cout << "[ cluster ] replay of " << kEvents << " events: owner node " << owner << " killed mid-way, finished by "
            << "another; " << twice << " events sent twice\n";
  EXPECT_LE(twice, 200u);
}

}  // namespace
}  // namespace hookd::testing
