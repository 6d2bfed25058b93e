// The ReplayStore contract (store.h; replays of a time range, core/replay.h), run against every
// backend: SQLite, and PostgreSQL on a private server (pg_server.h) — a fresh database per test.
#include <poll.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <set>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <libpq-fe.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/shard_ownership.h"
#include "store/postgres/cluster_notice.h"
#include "store/postgres/postgres_store.h"
#include "store/store.h"
#include "fakes/postgres_test_store.h"
#include "support/pg_server.h"

namespace hookd {
namespace {

struct Backend {
  std::string name;
  std::function<std::string(const std::filesystem::path& dir)> url;
  friend void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }
};

class ReplayStoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("hookd-replay-store-" + std::to_string(getpid()) + "-" + NewUlid());
    std::filesystem::create_directories(dir_);
    auto s = OpenStore(GetParam().url(dir_));
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Migrate());
    co_ = NewCompany("Acme");
    other_ = NewCompany("Globex");
    ep_ = NewEndpoint(co_);
    base_ms_ = NowMs() - 10 * 60 * 1000;  // events "created" over the last ten minutes
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  CompanyId NewCompany(std::string name) {
    Company c{CompanyId::New(), std::move(name), NowMs()};
    EXPECT_TRUE(store_->InsertCompany(c));
    return c.id;
  }
  Endpoint NewEndpoint(const CompanyId& co) {
    Endpoint ep;
    ep.id = EndpointId::New();
    ep.company_id = co;
    ep.url = "https://example.com/hook";
    ep.event_types = {"*"};
    ep.secret = NewSigningSecret();
    ep.created_at_ms = ep.updated_at_ms = NowMs();
    EXPECT_TRUE(store_->InsertEndpoint(ep));
    return ep;
  }
  // An event of `type` created at base + `at_s` seconds, with one succeeded delivery to ep_.
  Event AddEvent(const CompanyId& co, const std::string& type, int at_s) {
    NewEvent ne;
    ne.event.id = EventId::New();
    ne.event.company_id = co;
    ne.event.type = type;
    ne.event.subject = "emp_" + std::to_string(at_s);
    ne.event.created_at_ms = base_ms_ + at_s * 1000LL;
    ne.event.payload = R"({"id":")" + ne.event.id.str() + R"(","type":")" + type + R"("})";
    if (co == co_) {
      Delivery d;
      d.id = DeliveryId::New();
      d.company_id = co;
      d.event_id = ne.event.id;
      d.endpoint_id = ep_.id;
      d.status = DeliveryStatus::kSucceeded;
      d.created_at_ms = ne.event.created_at_ms;
      ne.deliveries.push_back(d);
    }
    IngestRequest req;
    req.company = co;
    req.events.push_back(ne);
    EXPECT_TRUE(store_->IngestSync(std::move(req)));
    return ne.event;
  }
  Replay MakeReplay(const Endpoint& ep, ReplayStatus status = ReplayStatus::kRunning) {
    Replay r;
    r.id = ReplayId::New();
    r.company_id = ep.company_id;
    r.endpoint_id = ep.id;
    r.status = status;
    r.since_ms = base_ms_;
    r.until_ms = base_ms_ + 60'000;
    r.event_types = std::vector<std::string>{"employee.*"};
    r.selection.types = {"employee.hired", "employee.left"};
    r.selection.filter = boost::json::parse(R"({"type":"employee.hired"})");
    r.total = 3;
    r.created_at_ms = NowMs();
    if (status != ReplayStatus::kRunning) r.finished_at_ms = NowMs();
    return r;
  }
  // One step of `r`: deliveries of `events` to its endpoint, the cursor moving to the last.
  ReplayStore::ReplayStep StepOf(const Replay& r, const std::string& from, const std::vector<Event>& events,
                                 bool done = false) {
    ReplayStore::ReplayStep s;
    s.replay = r.id;
    s.company = r.company_id;
    s.endpoint = r.endpoint_id;
    s.from_cursor = from;
    s.to_cursor = events.empty() ? from : events.back().id.str();
    s.scan_done = done;
    for (const auto& e : events) {
      Delivery d;
      d.id = DeliveryId::New();
      d.company_id = r.company_id;
      d.event_id = e.id;
      d.endpoint_id = r.endpoint_id;
      d.status = DeliveryStatus::kPending;
      d.next_attempt_at_ms = NowMs();
      d.created_at_ms = NowMs();
      d.replay_id = r.id;
      s.deliveries.push_back(d);
    }
    return s;
  }
  void Outcome(const DeliveryId& id, DeliveryStatus st) {
    std::promise<Result<void>> done;
    store_->ApplyDispatchUpdates({DeliveryUpdate{id, co_, st, 1, std::nullopt, NowMs(), std::nullopt}}, {},
                                 [&](Result<void> r) { done.set_value(std::move(r)); });
    ASSERT_TRUE(done.get_future().get());
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  CompanyId co_, other_;
  Endpoint ep_;
  int64_t base_ms_ = 0;
};

TEST_P(ReplayStoreContract, AReplayRoundTripsStaysInItsCompanyAndRunsOneAtATimePerEndpoint) {
  const Replay r = MakeReplay(ep_);
  ASSERT_TRUE(store_->InsertReplay(r));
  auto got = store_->GetReplay(co_, r.id);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->endpoint_id, ep_.id);
  EXPECT_EQ(got->status, ReplayStatus::kRunning);
  EXPECT_EQ(got->since_ms, r.since_ms);
  EXPECT_EQ(got->until_ms, r.until_ms);
  EXPECT_EQ(got->event_types, r.event_types);
  EXPECT_EQ(got->selection.types, r.selection.types);
  EXPECT_EQ(got->selection.filter, r.selection.filter);
  EXPECT_EQ(got->total, 3);
  EXPECT_EQ(got->created, 0);
  EXPECT_EQ(got->cursor, "");
  EXPECT_FALSE(got->scan_done);
  EXPECT_EQ(got->created_at_ms, r.created_at_ms);
  EXPECT_FALSE(got->finished_at_ms);
  EXPECT_EQ(store_->GetReplay(other_, r.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetReplayProgress(other_, r.id).error().code, ErrorCode::kNotFound);

  // A second running one for the endpoint is refused, naming the first; an ended one is fine,
  // as is a running one for another endpoint. Another company's endpoint does not exist here.
  auto second = store_->InsertReplay(MakeReplay(ep_));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kConflict);
  EXPECT_NE(second.error().message.find(r.id.str()), std::string::npos) << second.error().message;
  Replay no_types = MakeReplay(ep_, ReplayStatus::kCompleted);
  no_types.event_types.reset();
  ASSERT_TRUE(store_->InsertReplay(no_types));
  EXPECT_FALSE(store_->GetReplay(co_, no_types.id)->event_types);
  ASSERT_TRUE(store_->InsertReplay(MakeReplay(NewEndpoint(co_))));
  Replay foreign = MakeReplay(ep_);
  foreign.company_id = other_;
  EXPECT_EQ(store_->InsertReplay(foreign).error().code, ErrorCode::kNotFound);

  // Listed per endpoint, newest first, in pages.
  auto p1 = store_->ListReplays(co_, ep_.id, {1, ""});
  ASSERT_TRUE(p1) << p1.error().message;
  ASSERT_EQ(p1->items.size(), 1u);
  EXPECT_EQ(p1->items[0].id, no_types.id);
  ASSERT_TRUE(p1->next_cursor);
  auto p2 = store_->ListReplays(co_, ep_.id, {1, *p1->next_cursor});
  ASSERT_TRUE(p2);
  ASSERT_EQ(p2->items.size(), 1u);
  EXPECT_EQ(p2->items[0].id, r.id);
  EXPECT_FALSE(p2->next_cursor);
  EXPECT_TRUE(store_->ListReplays(other_, ep_.id, {10, ""})->items.empty());
  auto running = store_->RunningReplays();
  ASSERT_TRUE(running);
  EXPECT_EQ(running->size(), 2u);
}

TEST_P(ReplayStoreContract, TheWindowSelectsEventsByCreationTimeAndTypeInIdOrder) {
  std::vector<Event> in;
  AddEvent(co_, "employee.hired", -5);           // before the window
  in.push_back(AddEvent(co_, "employee.hired", 0));   // at since: in
  AddEvent(co_, "contract.updated", 10);         // another type
  in.push_back(AddEvent(co_, "employee.left", 20));
  AddEvent(other_, "employee.hired", 30);        // another company
  in.push_back(AddEvent(co_, "employee.hired", 59));
  AddEvent(co_, "employee.hired", 60);           // at until: out
  const std::vector<std::string> types{"employee.hired", "employee.left"};
  const int64_t since = base_ms_, until = base_ms_ + 60'000;
  auto n = store_->CountReplayEvents(co_, since, until, types);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(*store_->CountReplayEvents(co_, since, until, {"contract.updated"}), 1);
  EXPECT_EQ(*store_->CountReplayEvents(co_, since, until, {}), 0);

  std::vector<Event> got;
  std::string after;
  for (int page = 0; page < 5; ++page) {
    auto events = store_->ScanReplayEvents(co_, since, until, types, after, 2);
    ASSERT_TRUE(events) << events.error().message;
    for (const auto& e : *events) got.push_back(e);
    if (events->size() < 2) break;
    after = events->back().id.str();
  }
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, in[i].id);
    EXPECT_EQ(got[i].type, in[i].type);
    EXPECT_EQ(got[i].subject, in[i].subject);
    EXPECT_EQ(got[i].created_at_ms, in[i].created_at_ms);
    EXPECT_EQ(got[i].payload, in[i].payload);  // the exact bytes to send
  }
}

TEST_P(ReplayStoreContract, AStepIsWrittenOnceWithTheCursorAndItsDeliveriesCarryTheReplay) {
  const Event a = AddEvent(co_, "employee.hired", 1), b = AddEvent(co_, "employee.hired", 2);
  const Replay r = MakeReplay(ep_);
  ASSERT_TRUE(store_->InsertReplay(r));
  const auto step = StepOf(r, "", {a, b});
  ASSERT_TRUE(store_->AppendReplayDeliveries(step));
  auto got = store_->GetReplay(co_, r.id);
  EXPECT_EQ(got->cursor, b.id.str());
  EXPECT_EQ(got->created, 2);
  EXPECT_FALSE(got->scan_done);
  // The same step again (a restart, another node): refused, nothing written twice.
  auto again = store_->AppendReplayDeliveries(StepOf(r, "", {a, b}));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  auto listed = store_->ListDeliveries(co_, DeliveryQuery{.event_id = a.id}, {50, ""});
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->items.size(), 2u);  // the original one and the replayed one
  int replayed = 0;
  for (const auto& d : listed->items)
    if (d.replay_id) {
      ++replayed;
      EXPECT_EQ(*d.replay_id, r.id);
      EXPECT_EQ(d.status, DeliveryStatus::kPending);
    }
  EXPECT_EQ(replayed, 1);
  // The dispatcher reads them back as replayed (their lane) after a restart.
  auto pending = store_->LoadPending(ep_.id, "", 100);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->deliveries.size(), 2u);
  for (const auto& d : pending->deliveries) EXPECT_TRUE(d.replay);

  // Unfinished: both, then one once the first succeeded; from an id on.
  auto u = store_->UnfinishedReplayDeliveries(r.id, "");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->count, 2);
  EXPECT_EQ(u->first, step.deliveries[0].id.str());
  Outcome(step.deliveries[0].id, DeliveryStatus::kSucceeded);
  u = store_->UnfinishedReplayDeliveries(r.id, "");
  EXPECT_EQ(u->count, 1);
  EXPECT_EQ(u->first, step.deliveries[1].id.str());
  EXPECT_EQ(store_->UnfinishedReplayDeliveries(r.id, DeliveryId::New().str())->count, 0);
  auto p = store_->GetReplayProgress(co_, r.id);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->succeeded, 1);
  EXPECT_EQ(p->pending, 1);
  EXPECT_EQ(p->failed + p->canceled, 0);

  // The last step (no more events) and the end.
  ASSERT_TRUE(store_->AppendReplayDeliveries(StepOf(r, b.id.str(), {}, /*done=*/true)));
  EXPECT_TRUE(store_->GetReplay(co_, r.id)->scan_done);
  ASSERT_TRUE(store_->FinishReplay(r.id, ReplayStatus::kCompleted, NowMs()));
  EXPECT_EQ(store_->FinishReplay(r.id, ReplayStatus::kCompleted, NowMs()).error().code, ErrorCode::kConflict);
  got = store_->GetReplay(co_, r.id);
  EXPECT_EQ(got->status, ReplayStatus::kCompleted);
  EXPECT_TRUE(got->finished_at_ms);
  EXPECT_TRUE(store_->RunningReplays()->empty());
  EXPECT_EQ(store_->AppendReplayDeliveries(StepOf(r, b.id.str(), {a})).error().code, ErrorCode::kConflict);
}

TEST_P(ReplayStoreContract, AStepForADeletedEndpointWritesNothing) {
  const Event a = AddEvent(co_, "employee.hired", 1);
  const Replay r = MakeReplay(ep_);
  ASSERT_TRUE(store_->InsertReplay(r));
  ASSERT_TRUE(store_->DeleteEndpoint(co_, ep_.id));
  auto w = store_->AppendReplayDeliveries(StepOf(r, "", {a}));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetReplay(co_, r.id)->cursor, "");
  EXPECT_EQ(store_->GetReplay(co_, r.id)->created, 0);
  EXPECT_EQ(store_->UnfinishedReplayDeliveries(r.id, "")->count, 0);
  // Nothing left unfinished, but not completed: its deliveries went with the endpoint.
  EXPECT_EQ(store_->FinishReplay(r.id, ReplayStatus::kCompleted, NowMs()).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->FinishReplay(r.id, ReplayStatus::kCanceled, NowMs()));
  EXPECT_EQ(store_->GetReplay(co_, r.id)->status, ReplayStatus::kCanceled);
}

TEST_P(ReplayStoreContract, CancelingCancelsWhatIsNotFinishedOnlyOnceAndNeverACompletedReplay) {
  const Event a = AddEvent(co_, "employee.hired", 1), b = AddEvent(co_, "employee.hired", 2),
              c = AddEvent(co_, "employee.hired", 3);
  const Replay r = MakeReplay(ep_);
  ASSERT_TRUE(store_->InsertReplay(r));
  const auto step = StepOf(r, "", {a, b, c});
  ASSERT_TRUE(store_->AppendReplayDeliveries(step));
  Outcome(step.deliveries[0].id, DeliveryStatus::kSucceeded);
  Outcome(step.deliveries[1].id, DeliveryStatus::kFailed);
  EXPECT_EQ(store_->CancelReplay(other_, r.id, NowMs()).error().code, ErrorCode::kNotFound);
  const int64_t at = NowMs();
  auto canceled = store_->CancelReplay(co_, r.id, at);
  ASSERT_TRUE(canceled) << canceled.error().message;
  EXPECT_EQ(canceled->status, ReplayStatus::kCanceled);
  EXPECT_EQ(canceled->finished_at_ms, at);
  auto p = store_->GetReplayProgress(co_, r.id);
  EXPECT_EQ(p->succeeded, 1);
  EXPECT_EQ(p->failed, 1);
  EXPECT_EQ(p->canceled, 1);
  EXPECT_EQ(p->pending, 0);
  EXPECT_EQ(store_->GetDelivery(co_, step.deliveries[2].id)->status, DeliveryStatus::kCanceled);
  EXPECT_FALSE(store_->GetDelivery(co_, step.deliveries[2].id)->next_attempt_at_ms);
  // Again: nothing changes. A step after it: refused. Not running any more.
  auto again = store_->CancelReplay(co_, r.id, at + 5000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->finished_at_ms, at);
  EXPECT_EQ(store_->AppendReplayDeliveries(StepOf(r, c.id.str(), {a})).error().code, ErrorCode::kConflict);
  EXPECT_TRUE(store_->RunningReplays()->empty());
  // A new replay of the endpoint may start now; once completed it cannot be canceled.
  const Replay next = MakeReplay(ep_);
  ASSERT_TRUE(store_->InsertReplay(next));
  ASSERT_TRUE(store_->FinishReplay(next.id, ReplayStatus::kCompleted, NowMs()));
  EXPECT_EQ(store_->CancelReplay(co_, next.id, NowMs()).error().code, ErrorCode::kConflict);
}

TEST_P(ReplayStoreContract, RetentionPurgesCanceledDeliveriesAndEndedReplaysButNotRunningOnes) {
  const Event a = AddEvent(co_, "employee.hired", 1);
  const Replay ended = MakeReplay(ep_);
  ASSERT_TRUE(store_->InsertReplay(ended));
  const auto step = StepOf(ended, "", {a});
  ASSERT_TRUE(store_->AppendReplayDeliveries(step));
  ASSERT_TRUE(store_->CancelReplay(co_, ended.id, NowMs()));
  const Replay running = MakeReplay(ep_);
  ASSERT_TRUE(store_->InsertReplay(running));
  // Everything so far is older than a cutoff in the future.
  for (int i = 0; i < 10 && *store_->PurgeExpired(NowMs() + 60'000, 100) > 0; ++i) {
  }
  EXPECT_EQ(store_->GetDelivery(co_, step.deliveries[0].id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetReplay(co_, ended.id).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->GetReplay(co_, running.id));
}

INSTANTIATE_TEST_SUITE_P(Backends, ReplayStoreContract,
                         ::testing::Values(Backend{"sqlite",
                                                   [](const std::filesystem::path& dir) {
                                                     return "sqlite:" + (dir / "t.db").string();
                                                   }},
                                           Backend{"postgres",
                                                   [](const std::filesystem::path&) {
                                                     return hookd::testing::NewPostgresDatabaseUrl();
                                                   }}),
                         [](const auto& info) { return info.param.name; });

// PostgreSQL only: the node that owns the endpoint's shard hears of a replay's start, of the
// deliveries of each step and of a cancel with the commits that made them.
TEST(PostgresReplayStore, ReplayWritesNotifyWithTheirCommit) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto opened = hookd::testing::OpenMigratedPostgres(url);
  ASSERT_TRUE(opened) << opened.error().message;
  auto [store, pg] = std::move(*opened);
  Company c{CompanyId::New(), "Acme", NowMs()};
  ASSERT_TRUE(store->InsertCompany(c));
  Endpoint ep;
  ep.id = EndpointId::New();
  ep.company_id = c.id;
  ep.url = "https://example.com/hook";
  ep.event_types = {"*"};
  ep.secret = NewSigningSecret();
  ASSERT_TRUE(store->InsertEndpoint(ep));
  NewEvent ne;
  ne.event.id = EventId::New();
  ne.event.company_id = c.id;
  ne.event.type = "employee.hired";
  ne.event.created_at_ms = NowMs();
  ne.event.payload = "{}";
  IngestRequest req;
  req.company = c.id;
  req.events.push_back(ne);
  ASSERT_TRUE(store->IngestSync(std::move(req)));

  PGconn* listener = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(listener), CONNECTION_OK) << PQerrorMessage(listener);
  PQclear(PQexec(listener, "LISTEN hookd"));
  auto next_notice = [&]() -> std::string {
    for (int i = 0; i < 50; ++i) {
      PQconsumeInput(listener);
      if (PGnotify* n = PQnotifies(listener)) {
        std::string extra = n->extra;
        PQfreemem(n);
        return extra;
      }
      pollfd p{PQsocket(listener), POLLIN, 0};
      ::poll(&p, 1, 100);
    }
    return "";
  };
  Replay r;
  r.id = ReplayId::New();
  r.company_id = c.id;
  r.endpoint_id = ep.id;
  r.since_ms = NowMs() - 60'000;
  r.until_ms = NowMs();
  r.selection.types = {"employee.hired"};
  r.total = 1;
  r.created_at_ms = NowMs();
  ASSERT_TRUE(store->InsertReplay(r));
  EXPECT_EQ(next_notice(), "p " + pg->NodeId() + " " + c.id.str() + " " + ep.id.str());

  ReplayStore::ReplayStep step;
  step.replay = r.id;
  step.company = c.id;
  step.endpoint = ep.id;
  step.to_cursor = ne.event.id.str();
  Delivery d;
  d.id = DeliveryId::New();
  d.company_id = c.id;
  d.event_id = ne.event.id;
  d.endpoint_id = ep.id;
  d.next_attempt_at_ms = NowMs();
  d.created_at_ms = NowMs();
  d.replay_id = r.id;
  step.deliveries.push_back(d);
  ASSERT_TRUE(store->AppendReplayDeliveries(step));
  auto ready = pg::ParseNotice(next_notice());
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->kind, pg::Notice::Kind::kReady);
  ASSERT_EQ(ready->deliveries.size(), 1u);
  EXPECT_EQ(ready->deliveries[0].id, d.id);
  EXPECT_EQ(ready->deliveries[0].shard, LeaseShardOf(ep.id));
  auto loaded = pg->LoadReadyDeliveries({d.id});
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_TRUE((*loaded)[0].replay);

  // A refused step announces nothing; the cancel is the next notice.
  EXPECT_FALSE(store->AppendReplayDeliveries(step));
  ASSERT_TRUE(store->CancelReplay(c.id, r.id, NowMs()));
  EXPECT_EQ(next_notice(), "y " + pg->NodeId() + " " + c.id.str() + " " + ep.id.str());
  EXPECT_TRUE(pg->LoadReadyDeliveries({d.id})->empty());  // canceled: no longer pending
  PQfinish(listener);
}

}  // namespace
}  // namespace hookd
