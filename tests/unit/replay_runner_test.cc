// The replay runner (replay/replay_runner.h) on a real SQLite store, driven by Step() on a
// simulated clock: a replay is made into deliveries a window at a time, each event once, and
// it goes on from the store after a restart; it waits for a disabled endpoint, is canceled with
// a deleted one and completes once its deliveries are all finished.
#include "replay/replay_runner.h"

#include <unistd.h>

#include <filesystem>
#include <future>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/crypto.h"
#include "fakes/simulated_clock.h"

namespace hookd {
namespace {

using testing::SimulatedClock;

// What the runner announces (the dispatcher's side of the change feed).
class Announced final : public ChangeListener {
 public:
  void OnDeliveriesReady(std::vector<PendingDelivery> ds) override {
    for (auto& d : ds) deliveries.push_back(std::move(d));
  }
  void OnEndpointChanged(const CompanyId&, const EndpointId&) override {}
  void OnDeliveriesRequeued(const CompanyId&, const EndpointId&) override {}
  std::vector<PendingDelivery> deliveries;
};

// The leases a test grants this "node".
class Shards final : public ShardOwnership {
 public:
  int64_t UsableEpoch(int shard) const override { return held.contains(shard) ? 1 : 0; }
  std::set<int> held;
};

class ReplayRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("hookd-runner-" + std::to_string(getpid()) + "-" + NewUlid());
    std::filesystem::create_directories(dir_);
    auto s = OpenStore("sqlite:" + (dir_ / "t.db").string());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Migrate());
    Company c{co_, "Acme", NowMs()};
    ASSERT_TRUE(store_->InsertCompany(c));
    ep_.id = EndpointId::New();
    ep_.company_id = co_;
    ep_.url = "https://example.com/hook";
    ep_.event_types = {"*"};
    ep_.secret = NewSigningSecret();
    ASSERT_TRUE(store_->InsertEndpoint(ep_));
  }
  void TearDown() override {
    runner_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // `n` events of `type` accepted now (the window is the last hour).
  std::vector<EventId> AddEvents(int n, const std::string& type = "employee.hired") {
    std::vector<EventId> ids;
    IngestRequest req;
    req.company = co_;
    for (int i = 0; i < n; ++i) {
      NewEvent ne;
      ne.event.id = EventId::New();
      ne.event.company_id = co_;
      ne.event.type = type;
      ne.event.subject = "emp_" + std::to_string(i % 7);
      ne.event.created_at_ms = NowMs();
      ne.event.payload = R"({"id":")" + ne.event.id.str() + R"(","type":")" + type + R"(","data":{"n":)" +
                         std::to_string(i) + "}}";
      ids.push_back(ne.event.id);
      req.events.push_back(std::move(ne));
    }
    EXPECT_TRUE(store_->IngestSync(std::move(req)));
    return ids;
  }
  Replay Start(int64_t total, boost::json::value filter = nullptr) {
    Replay r;
    r.id = ReplayId::New();
    r.company_id = co_;
    r.endpoint_id = ep_.id;
    r.since_ms = NowMs() - 3600 * 1000;
    r.until_ms = NowMs() + 1000;
    r.selection.types = {"employee.hired"};
    r.selection.filter = std::move(filter);
    r.total = total;
    r.created_at_ms = NowMs();
    EXPECT_TRUE(store_->InsertReplay(r));
    return r;
  }
  ReplayRunner& Runner(const ShardOwnership* ownership = nullptr) {
    runner_ = std::make_unique<ReplayRunner>(
        *store_, *store_, announced_,
        ReplayRunnerOptions{.clock = &clock_, .ownership = ownership, .batch = 10, .window = 30, .poll_ms = 50});
    return *runner_;
  }
  // The outcome `st` for these announced deliveries, written as the dispatcher writes them.
  void Finish(const std::vector<PendingDelivery>& ds, DeliveryStatus st = DeliveryStatus::kSucceeded) {
    std::vector<DeliveryUpdate> us;
    for (const auto& d : ds) us.push_back(DeliveryUpdate{d.id, co_, st, 1, std::nullopt, NowMs(), std::nullopt});
    std::promise<Result<void>> done;
    store_->ApplyDispatchUpdates(std::move(us), {}, [&](Result<void> r) { done.set_value(std::move(r)); });
    ASSERT_TRUE(done.get_future().get());
  }
  void FinishAllAnnounced() {
    Finish(std::vector<PendingDelivery>(announced_.deliveries.begin() + static_cast<long>(finished_),
                                        announced_.deliveries.end()));
    finished_ = announced_.deliveries.size();
  }
  Replay Get(const Replay& r) { return *store_->GetReplay(co_, r.id); }
  // Steps until the replay is no longer running (at most `rounds` passes), finishing every
  // delivery as it comes.
  void RunToTheEnd(const Replay& r, int rounds = 200) {
    for (int i = 0; i < rounds && Get(r).status == ReplayStatus::kRunning; ++i) {
      runner_->Step();
      FinishAllAnnounced();
      clock_.Advance(50);
    }
  }

  SimulatedClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ReplayRunner> runner_;
  Announced announced_;
  size_t finished_ = 0;
  CompanyId co_ = CompanyId::New();
  Endpoint ep_;
};

TEST_F(ReplayRunnerTest, DeliveriesAreMadeAWindowAtATimeEachEventOnceThenTheReplayCompletes) {
  const auto events = AddEvents(95);
  AddEvents(5, "contract.updated");  // not selected
  const Replay r = Start(95);
  ReplayRunner& runner = Runner();
  runner.Step();
  // Batches of 10 while at most window - batch = 20 are unfinished: 30 made, then it waits.
  EXPECT_EQ(announced_.deliveries.size(), 30u);
  EXPECT_EQ(Get(r).created, 30);
  runner.Step();
  clock_.Advance(1000);
  runner.Step();
  EXPECT_EQ(announced_.deliveries.size(), 30u) << "made more while the window was full";
  // 15 finish: 15 unfinished, so one more batch (25), not two.
  Finish({announced_.deliveries.begin(), announced_.deliveries.begin() + 15});
  finished_ = 15;
  clock_.Advance(50);
  runner.Step();
  EXPECT_EQ(announced_.deliveries.size(), 40u);
  RunToTheEnd(r);
  const Replay done = Get(r);
  EXPECT_EQ(done.status, ReplayStatus::kCompleted);
  EXPECT_TRUE(done.scan_done);
  EXPECT_EQ(done.created, 95);
  ASSERT_TRUE(done.finished_at_ms);
  // Every selected event once, in acceptance order, announced as replayed with its payload.
  ASSERT_EQ(announced_.deliveries.size(), 95u);
  for (size_t i = 0; i < events.size(); ++i) {
    const PendingDelivery& d = announced_.deliveries[i];
    EXPECT_EQ(d.event_id, events[i]);
    EXPECT_TRUE(d.replay);
    EXPECT_EQ(d.endpoint_id, ep_.id);
    ASSERT_TRUE(d.payload);
    EXPECT_NE(d.payload->find(events[i].str()), std::string::npos);
    EXPECT_EQ(d.subject, "emp_" + std::to_string(i % 7));
    auto row = store_->GetDelivery(co_, d.id);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->replay_id, r.id);
  }
  auto progress = store_->GetReplayProgress(co_, r.id);
  EXPECT_EQ(progress->succeeded, 95);
  EXPECT_EQ(runner.Running(), 0u);
}

TEST_F(ReplayRunnerTest, ItCompletesOnlyOnceEveryDeliveryIsFinishedFailedOnesIncluded) {
  AddEvents(5);
  const Replay r = Start(5);
  ReplayRunner& runner = Runner();
  runner.Step();
  ASSERT_EQ(announced_.deliveries.size(), 5u);
  EXPECT_TRUE(Get(r).scan_done);
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(50);
    runner.Step();
  }
  EXPECT_EQ(Get(r).status, ReplayStatus::kRunning);  // its deliveries are still pending
  Finish({announced_.deliveries[0], announced_.deliveries[1]}, DeliveryStatus::kFailed);
  Finish({announced_.deliveries.begin() + 2, announced_.deliveries.end()});
  clock_.Advance(50);
  runner.Step();
  EXPECT_EQ(Get(r).status, ReplayStatus::kCompleted);
  EXPECT_EQ(store_->GetReplayProgress(co_, r.id)->failed, 2);
}

TEST_F(ReplayRunnerTest, OnlyEventsPassingTheSelectionsFilterAreSent) {
  AddEvents(40);
  const Replay r = Start(4, boost::json::parse(R"({"data.n": {"$in": [3, 17, 18, 39]}})"));
  Runner();
  RunToTheEnd(r);
  EXPECT_EQ(Get(r).status, ReplayStatus::kCompleted);
  std::vector<std::string> got;
  for (const auto& d : announced_.deliveries) got.push_back(*d.payload);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_NE(got[0].find(R"("n":3})"), std::string::npos);
  EXPECT_NE(got[3].find(R"("n":39})"), std::string::npos);
  EXPECT_EQ(Get(r).created, 4);
}

// A restart (a new runner on the same store) goes on from the cursor: no event gets a second
// delivery from the replay, none is skipped.
TEST_F(ReplayRunnerTest, ARestartGoesOnFromTheStoredCursor) {
  const auto events = AddEvents(60);
  const Replay r = Start(60);
  Runner().Step();
  ASSERT_EQ(announced_.deliveries.size(), 30u);
  FinishAllAnnounced();
  Runner();  // the process died; a new one starts
  RunToTheEnd(r);
  EXPECT_EQ(Get(r).status, ReplayStatus::kCompleted);
  std::map<std::string, int> per_event;
  for (const auto& d : announced_.deliveries) ++per_event[d.event_id.str()];
  EXPECT_EQ(per_event.size(), events.size());
  for (const auto& [id, n] : per_event) EXPECT_EQ(n, 1) << id;
}

// Two nodes that both think they run the replay (a lease changing hands): each step is
// written by one of them only.
TEST_F(ReplayRunnerTest, TwoRunnersOnOneReplayNeverMakeAStepTwice) {
  AddEvents(50);
  const Replay r = Start(50);
  Announced other_node;
  ReplayRunner a(*store_, *store_, announced_, ReplayRunnerOptions{.clock = &clock_, .batch = 10, .window = 30});
  ReplayRunner b(*store_, *store_, other_node, ReplayRunnerOptions{.clock = &clock_, .batch = 10, .window = 30});
  for (int i = 0; i < 100 && Get(r).status == ReplayStatus::kRunning; ++i) {
    (i % 2 ? a : b).Step();
    (i % 2 ? b : a).Step();
    std::vector<PendingDelivery> all = announced_.deliveries;
    all.insert(all.end(), other_node.deliveries.begin(), other_node.deliveries.end());
    Finish(all);
    clock_.Advance(50);
  }
  EXPECT_EQ(Get(r).status, ReplayStatus::kCompleted);
  std::set<std::string> events;
  for (const auto* l : {&announced_, &other_node})
    for (const auto& d : l->deliveries) EXPECT_TRUE(events.insert(d.event_id.str()).second) << "twice: " << d.event_id.str();
  EXPECT_EQ(events.size(), 50u);
  EXPECT_EQ(Get(r).created, 50);
}

TEST_F(ReplayRunnerTest, ADisabledEndpointsReplayWaitsAndADeletedOnesIsCanceled) {
  AddEvents(40);
  const Replay r = Start(40);
  ASSERT_TRUE(store_->DisableEndpoint(co_, ep_.id, DisabledReason::kManual, NowMs()));
  ReplayRunner& runner = Runner();
  for (int i = 0; i < 5; ++i) {
    runner.Step();
    clock_.Advance(50);
  }
  EXPECT_TRUE(announced_.deliveries.empty());
  EXPECT_EQ(Get(r).status, ReplayStatus::kRunning);
  ASSERT_TRUE(store_->EnableEndpoint(co_, ep_.id, true, NowMs()));
  runner.OnEndpointChanged(co_, ep_.id);
  runner.Step();
  EXPECT_EQ(announced_.deliveries.size(), 30u);
  ASSERT_TRUE(store_->DeleteEndpoint(co_, ep_.id));
  clock_.Advance(50);
  runner.Step();
  EXPECT_EQ(Get(r).status, ReplayStatus::kCanceled);
  EXPECT_EQ(runner.Running(), 0u);
}

TEST_F(ReplayRunnerTest, ACanceledReplayMakesNoMoreDeliveries) {
  AddEvents(60);
  const Replay r = Start(60);
  ReplayRunner& runner = Runner();
  runner.Step();
  ASSERT_EQ(announced_.deliveries.size(), 30u);
  FinishAllAnnounced();
  ASSERT_TRUE(store_->CancelReplay(co_, r.id, NowMs()));
  runner.OnReplayCanceled(co_, ep_.id);
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(50);
    runner.Step();
  }
  EXPECT_EQ(announced_.deliveries.size(), 30u);
  EXPECT_EQ(Get(r).status, ReplayStatus::kCanceled);
  EXPECT_EQ(runner.Running(), 0u);
}

// Several nodes: a runner only runs the replays of endpoints whose shard its node holds, and
// picks one up when its node takes the shard.
TEST_F(ReplayRunnerTest, ARunnerRunsOnlyTheReplaysOfItsNodesShards) {
  AddEvents(5);
  const Replay r = Start(5);
  Shards shards;
  ReplayRunner& runner = Runner(&shards);
  runner.Step();
  EXPECT_TRUE(announced_.deliveries.empty());
  EXPECT_EQ(runner.Running(), 0u);
  shards.held.insert(LeaseShardOf(ep_.id));
  runner.OnOwnershipChanged();
  runner.Step();
  EXPECT_EQ(announced_.deliveries.size(), 5u);
  EXPECT_EQ(runner.Running(), 1u);
}

}  // namespace
}  // namespace hookd
