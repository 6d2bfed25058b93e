// The Store contract, run against every backend: SQLite, and PostgreSQL on a private server
// (pg_server.h) — a fresh database per test.
#include <poll.h>

#include <filesystem>
#include <map>
#include <future>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/erasure.h"
#include "core/json_util.h"
#include "fakes/simulated_clock.h"
#include "fakes/log_capture.h"
#include "fakes/postgres_test_store.h"
#include "support/pg_server.h"
#include "store/encryption.h"
#include "store/store.h"
#include "store/retention.h"
#include "store/postgres/cluster_notice.h"
#include "store/postgres/postgres_store.h"
#include "store/postgres/pg_cluster.h"
#include "core/shard_ownership.h"
#include "core/metrics.h"

namespace hookd {
namespace {

struct Backend {
  std::string name;
  std::function<std::string(const std::filesystem::path& dir)> url;
  friend void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }
};

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hookd-store-" + std::to_string(getpid()) + "-" + NewUlid());
    std::filesystem::create_directories(dir_);
    url_ = GetParam().url(dir_);
    auto s = OpenStore(url_);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Migrate());
    co_ = NewCompany("Acme");
    other_ = NewCompany("Globex");
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

  Endpoint NewEndpoint(const CompanyId& co, EndpointStatus status = EndpointStatus::kEnabled) {
    Endpoint ep;
    ep.id = EndpointId::New();
    ep.company_id = co;
    ep.url = "https://example.com/hook";
    ep.event_types = {"employee.*"};
    ep.secret = NewSigningSecret();
    ep.status = status;
    ep.created_at_ms = ep.updated_at_ms = NowMs();
    EXPECT_TRUE(store_->InsertEndpoint(ep));
    return ep;
  }

  NewEvent MakeEvent(const CompanyId& co, const std::vector<EndpointId>& eps,
                     DeliveryStatus st = DeliveryStatus::kPending) {
    NewEvent ne;
    ne.event.id = EventId::New();
    ne.event.company_id = co;
    ne.event.type = "employee.hired";
    ne.event.subject = "emp_1";
    ne.event.created_at_ms = NowMs();
    ne.event.payload = R"({"id":")" + ne.event.id.str() + R"("})";
    for (const auto& ep : eps) {
      Delivery d;
      d.id = DeliveryId::New();
      d.company_id = co;
      d.event_id = ne.event.id;
      d.endpoint_id = ep;
      d.status = st;
      d.next_attempt_at_ms = NowMs();
      d.created_at_ms = NowMs();
      ne.deliveries.push_back(d);
    }
    return ne;
  }

  Result<IngestResult> Ingest(NewEvent ne, std::optional<std::string> key = std::nullopt,
                              std::string hash = "h") {
    IngestRequest req;
    req.company = ne.event.company_id;
    req.events.push_back(std::move(ne));
    req.idempotency_key = std::move(key);
    req.request_hash = std::move(hash);
    req.response_body = "{\"ok\":true}";
    return store_->IngestSync(std::move(req));
  }

  // The same database again, through a store with these encryption keys (none: nullptr).
  void Reopen(std::shared_ptr<const FieldCipher> cipher) {
    store_.reset();
    auto s = OpenStore(url_, {.cipher = std::move(cipher)});
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }

  Result<void> Apply(std::vector<DeliveryUpdate> updates) {
    std::promise<Result<void>> applied;
    store_->ApplyDispatchUpdates(std::move(updates), {}, [&](Result<void> r) { applied.set_value(std::move(r)); });
    return applied.get_future().get();
  }

  std::filesystem::path dir_;
  std::string url_;
  std::unique_ptr<Store> store_;
  CompanyId co_, other_;
};

TEST_P(StoreContract, MigrateIsIdempotentAndPingWorks) {
  EXPECT_TRUE(store_->Migrate());
  EXPECT_TRUE(store_->Ping());
}

// Regression: a read that stops after the first row must not pin its connection to an old
// snapshot (readyz polls made later writes invisible).
TEST_P(StoreContract, ReadsSeeWritesCommittedAfterEarlierReads) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store_->Ping());
    ASSERT_TRUE(store_->GetCompany(co_));
    CompanyId id = NewCompany("late " + std::to_string(i));
    ASSERT_TRUE(store_->GetCompany(id)) << "iteration " << i;
  }
}

TEST_P(StoreContract, CompaniesPaginateNewestFirst) {
  for (int i = 0; i < 3; ++i) NewCompany("c" + std::to_string(i));
  auto p1 = store_->ListCompanies({2, ""});
  ASSERT_TRUE(p1);
  ASSERT_EQ(p1->items.size(), 2u);
  ASSERT_TRUE(p1->next_cursor);
  EXPECT_EQ(p1->items[0].name, "c2");
  auto p2 = store_->ListCompanies({2, *p1->next_cursor});
  ASSERT_TRUE(p2);
  auto p3 = store_->ListCompanies({2, *p2->next_cursor});
  ASSERT_TRUE(p3);
  EXPECT_FALSE(p3->next_cursor);
  EXPECT_EQ(p1->items.size() + p2->items.size() + p3->items.size(), 5u);
  EXPECT_EQ(store_->GetCompany(CompanyId::New()).error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContract, TokensAreFoundByHashAndRevokedPerCompany) {
  ApiToken t{TokenId::New(), co_, HashToken("secret-token"), kScopeManage, "ci", NowMs(), std::nullopt};
  ASSERT_TRUE(store_->InsertToken(t));
  auto found = store_->FindTokenByHash(HashToken("secret-token"));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, t.id);
  EXPECT_EQ(found->scopes, static_cast<unsigned>(kScopeManage));
  EXPECT_FALSE(found->revoked_at_ms);
  // Another company cannot revoke it.
  EXPECT_EQ(store_->RevokeToken(other_, t.id).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->RevokeToken(co_, t.id));
  EXPECT_TRUE(store_->FindTokenByHash(HashToken("secret-token"))->revoked_at_ms);
  EXPECT_EQ(store_->RevokeToken(co_, t.id).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(*store_->HasOperatorToken());
  ApiToken op{TokenId::New(), std::nullopt, HashToken("op"), 3, "op", NowMs(), std::nullopt};
  ASSERT_TRUE(store_->InsertToken(op));
  EXPECT_TRUE(*store_->HasOperatorToken());
}

TEST_P(StoreContract, OperatorTokensAreRevokedAllButOneAndAnyTokenById) {
  ApiToken a{TokenId::New(), std::nullopt, HashToken("op-a"), 3, "a", NowMs(), std::nullopt};
  ApiToken b{TokenId::New(), std::nullopt, HashToken("op-b"), 3, "b", NowMs(), std::nullopt};
  ApiToken c{TokenId::New(), co_, HashToken("co-c"), kScopeManage, "c", NowMs(), std::nullopt};
  ASSERT_TRUE(store_->InsertToken(a));
  ASSERT_TRUE(store_->InsertToken(b));
  ASSERT_TRUE(store_->InsertToken(c));
  EXPECT_EQ(*store_->RevokeOperatorTokens(HashToken("op-b"), NowMs()), 1);
  EXPECT_TRUE(store_->FindTokenByHash(HashToken("op-a"))->revoked_at_ms);
  EXPECT_FALSE(store_->FindTokenByHash(HashToken("op-b"))->revoked_at_ms);
  EXPECT_FALSE(store_->FindTokenByHash(HashToken("co-c"))->revoked_at_ms);  // companies' untouched
  EXPECT_EQ(*store_->RevokeOperatorTokens(HashToken("op-b"), NowMs()), 0);
  EXPECT_EQ(*store_->RevokeOperatorTokens(std::nullopt, NowMs()), 1);
  EXPECT_FALSE(*store_->HasOperatorToken());

  auto revoked = store_->RevokeAnyToken(c.id, NowMs());
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->company_id, co_);
  EXPECT_TRUE(revoked->revoked_at_ms);
  EXPECT_EQ(store_->RevokeAnyToken(c.id, NowMs()).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->RevokeAnyToken(TokenId::New(), NowMs()).error().code, ErrorCode::kNotFound);

  auto all = store_->AllTokens();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, a.id);
  EXPECT_EQ((*all)[2].id, c.id);
}

TEST_P(StoreContract, EndpointsRoundTripAndStayInTheirCompany) {
  Endpoint ep = NewEndpoint(co_);
  auto got = store_->GetEndpoint(co_, ep.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->url, ep.url);
  EXPECT_EQ(got->event_types, ep.event_types);
  EXPECT_EQ(got->secret, ep.secret);
  EXPECT_EQ(store_->GetEndpoint(other_, ep.id).error().code, ErrorCode::kNotFound);
  ep.url = "https://example.com/other";
  ep.ordering = Ordering::kSubject;
  ep.rate_limit_per_second = 7;
  EXPECT_EQ(got->version, 1);
  ASSERT_EQ(*store_->UpdateEndpointConfig(ep, 1), 2);
  got = store_->GetEndpoint(co_, ep.id);
  EXPECT_EQ(got->url, "https://example.com/other");
  EXPECT_EQ(got->ordering, Ordering::kSubject);
  EXPECT_EQ(got->rate_limit_per_second, 7);
  EXPECT_EQ(got->version, 2);
  Endpoint foreign = ep;
  foreign.company_id = other_;
  EXPECT_EQ(store_->UpdateEndpointConfig(foreign, 2).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->DeleteEndpoint(other_, ep.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->AllEndpoints(co_)->size(), 1u);
  EXPECT_EQ(store_->AllEndpoints(other_)->size(), 0u);
}

// Issue 11: a config write never undoes what the engine changed (status, health), and a
// write at a stale version is refused rather than undoing another edit.
TEST_P(StoreContract, ConfigWritesAreConditionalAndLeaveEngineFieldsAlone) {
  Endpoint ep = NewEndpoint(co_);
  Endpoint admin_copy = *store_->GetEndpoint(co_, ep.id);  // what a PATCH read
  // Meanwhile the engine disables it (a 410) and records failures.
  ASSERT_TRUE(store_->DisableEndpoint(co_, ep.id, DisabledReason::kGone, NowMs()));
  std::promise<Result<void>> done;
  store_->ApplyDispatchUpdates({}, {EndpointHealth{ep.id, 4, 1234}}, [&](Result<void> r) { done.set_value(r); });
  ASSERT_TRUE(done.get_future().get());
  admin_copy.description = "edited";
  ASSERT_EQ(*store_->UpdateEndpointConfig(admin_copy, admin_copy.version), 2);
  Endpoint now = *store_->GetEndpoint(co_, ep.id);
  EXPECT_EQ(now.description, "edited");
  EXPECT_EQ(now.status, EndpointStatus::kDisabled);
  EXPECT_EQ(now.disabled_reason, DisabledReason::kGone);
  EXPECT_EQ(now.consecutive_failures, 4);
  EXPECT_EQ(now.secret, ep.secret);
  // A second write from the same stale read is a conflict, not a lost update.
  admin_copy.description = "other";
  EXPECT_EQ(store_->UpdateEndpointConfig(admin_copy, admin_copy.version).error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->GetEndpoint(co_, ep.id)->description, "edited");
  // Rotation is one write too: the old secret keeps signing for the grace period.
  auto rotated = store_->RotateEndpointSecret(co_, ep.id, "whsec_new", 60000, 1000);
  ASSERT_TRUE(rotated);
  EXPECT_EQ(rotated->secret, "whsec_new");
  EXPECT_EQ(rotated->previous_secret, ep.secret);
  EXPECT_EQ(rotated->previous_secret_expires_at_ms, 61000);
  EXPECT_EQ(rotated->version, 3);
  EXPECT_EQ(rotated->status, EndpointStatus::kDisabled);
  auto no_grace = store_->RotateEndpointSecret(co_, ep.id, "whsec_newer", 0, 2000);
  EXPECT_EQ(no_grace->previous_secret, "");
  EXPECT_EQ(store_->RotateEndpointSecret(other_, ep.id, "x", 0, 0).error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContract, DeletingAnEndpointDropsItsPendingDeliveries) {
  Endpoint ep = NewEndpoint(co_);
  ASSERT_TRUE(Ingest(MakeEvent(co_, {ep.id})));
  ASSERT_EQ(store_->ListDeliveries(co_, {}, {})->items.size(), 1u);
  ASSERT_TRUE(store_->DeleteEndpoint(co_, ep.id));
  EXPECT_EQ(store_->ListDeliveries(co_, {}, {})->items.size(), 0u);
  EXPECT_EQ(store_->ListEvents(co_, {}, {})->items.size(), 1u);
}

TEST_P(StoreContract, IngestIsAtomicAndIdempotent) {
  Endpoint ep = NewEndpoint(co_);
  auto r1 = Ingest(MakeEvent(co_, {ep.id}), "key-1", "hash-a");
  ASSERT_TRUE(r1);
  EXPECT_FALSE(r1->replayed);
  auto r2 = Ingest(MakeEvent(co_, {ep.id}), "key-1", "hash-a");
  ASSERT_TRUE(r2);
  EXPECT_TRUE(r2->replayed);
  EXPECT_EQ(r2->response_body, "{\"ok\":true}");
  auto r3 = Ingest(MakeEvent(co_, {ep.id}), "key-1", "hash-b");
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.error().code, ErrorCode::kConflict);
  // The same key in another company is independent.
  Endpoint ep2 = NewEndpoint(other_);
  EXPECT_FALSE(Ingest(MakeEvent(other_, {ep2.id}), "key-1", "hash-b")->replayed);
  EXPECT_EQ(store_->ListEvents(co_, {}, {})->items.size(), 1u);
  EXPECT_EQ(store_->ListDeliveries(co_, {}, {})->items.size(), 1u);

  // A duplicate event id fails the whole request, leaving nothing behind.
  NewEvent dup = MakeEvent(co_, {ep.id});
  IngestRequest req;
  req.company = co_;
  req.events.push_back(dup);
  req.events.push_back(dup);
  EXPECT_FALSE(store_->IngestSync(std::move(req)));
  EXPECT_EQ(store_->ListEvents(co_, {}, {})->items.size(), 1u);
}

// Writes share group commits without a savepoint each: one that fails after it wrote a row
// must be undone alone, and the others in its group must still land.
TEST_P(StoreContract, AWriteFailingHalfwayIsUndoneAloneInItsGroup) {
  Endpoint ep = NewEndpoint(co_);
  auto request = [&](NewEvent ne) {
    IngestRequest req;
    req.company = co_;
    req.events.push_back(std::move(ne));
    return req;
  };
  // A large ingest keeps the writer busy while the next three queue up behind it, so that
  // they share a group commit (whatever the grouping, the outcome below must hold).
  NewEvent big = MakeEvent(co_, std::vector<EndpointId>(3000, ep.id));
  NewEvent good1 = MakeEvent(co_, {ep.id});
  NewEvent good2 = MakeEvent(co_, {ep.id});
  // Its event row is written, then its second delivery collides with its first.
  NewEvent bad = MakeEvent(co_, {ep.id, ep.id});
  bad.deliveries[1].id = bad.deliveries[0].id;
  const EventId bad_id = bad.event.id;
  std::vector<std::promise<bool>> done(4);
  int i = 0;
  for (NewEvent* ne : {&big, &good1, &bad, &good2}) {
    store_->Ingest(request(std::move(*ne)),
                   [&p = done[i++]](Result<IngestResult> r) { p.set_value(r.has_value()); });
  }
  EXPECT_TRUE(done[0].get_future().get());
  EXPECT_TRUE(done[1].get_future().get());
  EXPECT_FALSE(done[2].get_future().get());
  EXPECT_TRUE(done[3].get_future().get());
  EXPECT_EQ(store_->GetEvent(co_, bad_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListEvents(co_, {}, {})->items.size(), 3u);
  DeliveryQuery q;
  q.event_id = bad_id;
  EXPECT_TRUE(store_->ListDeliveries(co_, q, {})->items.empty());
}

// Ingests and outcome batches queued back to back may share one group and its statements
// (PostgreSQL writes a run of them with one multi-row statement per table): each still lands
// as if written alone and in queue order: a delivery's and an endpoint's last outcome wins.
// (One that fails is undone alone: AWriteFailingHalfwayIsUndoneAloneInItsGroup.)
TEST_P(StoreContract, IngestsAndOutcomesQueuedTogetherLandInQueueOrder) {
  Endpoint ep = NewEndpoint(co_);
  NewEvent first = MakeEvent(co_, {ep.id});
  const DeliveryId d0 = first.deliveries[0].id;
  ASSERT_TRUE(Ingest(std::move(first)));
  auto request = [&](NewEvent ne) {
    IngestRequest req;
    req.company = co_;
    req.events.push_back(std::move(ne));
    return req;
  };
  auto outcome = [&](DeliveryStatus status, int attempts, int code) {
    Attempt x;
    x.id = AttemptId::New();
    x.delivery_id = d0;
    x.number = attempts;
    x.started_at_ms = NowMs();
    x.status_code = code;
    std::vector<DeliveryUpdate> u;
    u.push_back(DeliveryUpdate{d0, co_, status, attempts, std::nullopt, NowMs(), std::move(x)});
    return u;
  };
  NewEvent big = MakeEvent(co_, std::vector<EndpointId>(3000, ep.id));  // keeps the writer busy
  NewEvent a = MakeEvent(co_, {ep.id});
  NewEvent b = MakeEvent(co_, {ep.id});
  const EventId a_id = a.event.id, b_id = b.event.id;
  std::vector<std::promise<bool>> done(5);
  auto ingest = [&](NewEvent ne, int k) {
    store_->Ingest(request(std::move(ne)), [&p = done[k]](Result<IngestResult> r) { p.set_value(r.has_value()); });
  };
  auto outcomes = [&](std::vector<DeliveryUpdate> u, EndpointHealth h, int k) {
    store_->ApplyDispatchUpdates(std::move(u), {h}, [&p = done[k]](Result<void> r) { p.set_value(r.has_value()); });
  };
  ingest(std::move(big), 0);
  ingest(std::move(a), 1);
  outcomes(outcome(DeliveryStatus::kPending, 1, 500), EndpointHealth{ep.id, 1, 1000}, 2);
  outcomes(outcome(DeliveryStatus::kSucceeded, 2, 204), EndpointHealth{ep.id, 0, 0}, 3);
  ingest(std::move(b), 4);
  for (int k = 0; k < 5; ++k) EXPECT_TRUE(done[k].get_future().get()) << k;

  auto d = store_->GetDelivery(co_, d0);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, DeliveryStatus::kSucceeded);
  EXPECT_EQ(d->attempts, 2);
  auto attempts = store_->ListAttempts(co_, d0, {});
  ASSERT_TRUE(attempts);
  ASSERT_EQ(attempts->items.size(), 2u);
  EXPECT_EQ(store_->GetEndpoint(co_, ep.id)->consecutive_failures, 0);
  EXPECT_TRUE(store_->GetEvent(co_, a_id));
  EXPECT_TRUE(store_->GetEvent(co_, b_id));
}

// The dispatcher flushes its outcomes, then disables the endpoint (Dispatcher::Disable): the
// endpoint's deliveries must end up held, whatever the outcomes said — even with outcomes on a
// writer of their own (PostgreSQL) that is still busy with earlier batches.
TEST_P(StoreContract, AChangeQueuedAfterOutcomesWinsOverThem) {
  Endpoint ep = NewEndpoint(co_);
  NewEvent big = MakeEvent(co_, std::vector<EndpointId>(3000, ep.id));
  std::vector<DeliveryUpdate> busy;  // keeps an outcome writer busy
  for (const Delivery& d : big.deliveries)
    busy.push_back(DeliveryUpdate{d.id, co_, DeliveryStatus::kPending, 1, NowMs() + 60'000, NowMs(), std::nullopt});
  NewEvent one = MakeEvent(co_, {ep.id});
  const DeliveryId d0 = one.deliveries[0].id;
  ASSERT_TRUE(Ingest(std::move(big)));
  ASSERT_TRUE(Ingest(std::move(one)));
  std::vector<DeliveryUpdate> last;
  last.push_back(DeliveryUpdate{d0, co_, DeliveryStatus::kPending, 1, NowMs() + 60'000, NowMs(), std::nullopt});
  std::promise<bool> busy_done, last_done;
  store_->ApplyDispatchUpdates(std::move(busy), {},
                               [&](Result<void> r) { busy_done.set_value(r.has_value()); });
  store_->ApplyDispatchUpdates(std::move(last), {EndpointHealth{ep.id, 1, NowMs()}},
                               [&](Result<void> r) { last_done.set_value(r.has_value()); });
  ASSERT_TRUE(store_->DisableEndpoint(co_, ep.id, DisabledReason::kManual, NowMs()));
  EXPECT_TRUE(busy_done.get_future().get());
  EXPECT_TRUE(last_done.get_future().get());
  EXPECT_EQ(store_->GetDelivery(co_, d0)->status, DeliveryStatus::kHeld);
  EXPECT_EQ(store_->GetEndpoint(co_, ep.id)->status, EndpointStatus::kDisabled);
}

TEST_P(StoreContract, ConcurrentIngestsAllLand) {
  Endpoint ep = NewEndpoint(co_);
  constexpr int kThreads = 8, kPer = 50;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kPer; ++i)
        if (Ingest(MakeEvent(co_, {ep.id}))) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPer);
  int n = 0;
  PageRequest page{500, ""};
  while (true) {
    auto p = store_->ListEvents(co_, {}, page);
    ASSERT_TRUE(p);
    n += static_cast<int>(p->items.size());
    if (!p->next_cursor) break;
    page.cursor = *p->next_cursor;
  }
  EXPECT_EQ(n, kThreads * kPer);
}

TEST_P(StoreContract, DeliveryFiltersEnableRecoverRequeue) {
  Endpoint a = NewEndpoint(co_);
  Endpoint b = NewEndpoint(co_, EndpointStatus::kDisabled);
  NewEvent e1 = MakeEvent(co_, {a.id});
  NewEvent e2 = MakeEvent(co_, {b.id}, DeliveryStatus::kHeld);
  ASSERT_TRUE(Ingest(e1));
  ASSERT_TRUE(Ingest(e2));
  DeliveryQuery q;
  q.endpoint_id = b.id;
  auto held = store_->ListDeliveries(co_, q, {});
  ASSERT_EQ(held->items.size(), 1u);
  EXPECT_EQ(held->items[0].status, DeliveryStatus::kHeld);
  q = {};
  q.status = DeliveryStatus::kPending;
  EXPECT_EQ(store_->ListDeliveries(co_, q, {})->items.size(), 1u);
  q = {};
  q.event_id = e1.event.id;
  EXPECT_EQ(store_->ListDeliveries(co_, q, {})->items[0].endpoint_id, a.id);
  EXPECT_EQ(store_->ListDeliveries(other_, {}, {})->items.size(), 0u);

  auto released = store_->EnableEndpoint(co_, b.id, true, NowMs());
  ASSERT_TRUE(released);
  EXPECT_EQ(*released, 1);
  EXPECT_EQ(store_->GetEndpoint(co_, b.id)->status, EndpointStatus::kEnabled);
  EXPECT_EQ(store_->EnableEndpoint(other_, b.id, true, NowMs()).error().code, ErrorCode::kNotFound);

  // Requeue works whatever the state, and only in the right company.
  const DeliveryId did = e1.deliveries[0].id;
  EXPECT_EQ(store_->RequeueDelivery(other_, did, NowMs()).error().code, ErrorCode::kNotFound);
  auto rq = store_->RequeueDelivery(co_, did, 12345);
  ASSERT_TRUE(rq);
  EXPECT_EQ(rq->status, DeliveryStatus::kPending);
  EXPECT_EQ(rq->next_attempt_at_ms, 12345);
  EXPECT_EQ(*store_->RecoverDeliveries(co_, a.id, 0, NowMs()), 0);  // none failed
  EXPECT_EQ(store_->RecoverDeliveries(other_, a.id, 0, NowMs()).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListAttempts(co_, did, {})->items.size(), 0u);
}

// Issues 14 and 15: the listing filters, alone and together, newest first, paginated, and
// never reaching into another company.
TEST_P(StoreContract, ListingFiltersCombineAndPaginate) {
  Endpoint a = NewEndpoint(co_);
  Endpoint b = NewEndpoint(co_);
  Endpoint c = NewEndpoint(other_);
  const int64_t t0 = 1'700'000'000'000;
  using S = DeliveryStatus;
  // (company, type, subject, created at, {endpoint, status}…)
  auto add = [&](const CompanyId& co, std::string type, std::string subject, int64_t at,
                 std::vector<std::pair<EndpointId, S>> to) {
    std::vector<EndpointId> eps;
    for (auto& [ep, _] : to) eps.push_back(ep);
    NewEvent ne = MakeEvent(co, eps);
    ne.event.type = std::move(type);
    ne.event.subject = std::move(subject);
    ne.event.created_at_ms = at;
    for (size_t i = 0; i < to.size(); ++i) {
      ne.deliveries[i].status = to[i].second;
      ne.deliveries[i].created_at_ms = at;
    }
    EXPECT_TRUE(Ingest(ne));
    return ne;
  };
  NewEvent e1 = add(co_, "employee.hired", "emp_1", t0 + 1000, {{a.id, S::kSucceeded}, {b.id, S::kFailed}});
  NewEvent e2 = add(co_, "employee.left", "emp_2", t0 + 2000, {{a.id, S::kFailed}});
  NewEvent e3 = add(co_, "employee.hired", "emp_2", t0 + 3000, {{a.id, S::kPending}, {b.id, S::kSucceeded}});
  NewEvent e4 = add(co_, "time_entry.clocked_in", "emp_1", t0 + 4000, {{b.id, S::kFailed}});
  NewEvent e5 = add(other_, "employee.hired", "emp_1", t0 + 5000, {{c.id, S::kFailed}});

  auto events = [&](EventQuery q, const CompanyId& co = {}) {
    std::vector<EventId> out;
    auto page = store_->ListEvents(co.str().empty() ? co_ : co, q, {});
    EXPECT_TRUE(page) << page.error().message;
    if (page)
      for (auto& e : page->items) out.push_back(e.id);
    return out;
  };
  using Ids = std::vector<EventId>;
  EventQuery q;
  q.subject = "emp_1";
  EXPECT_EQ(events(q), (Ids{e4.event.id, e1.event.id}));
  EXPECT_EQ(events(q, other_), (Ids{e5.event.id}));
  q.type = "employee.hired";
  EXPECT_EQ(events(q), (Ids{e1.event.id}));
  q = {};
  q.type = "employee.hired";
  EXPECT_EQ(events(q), (Ids{e3.event.id, e1.event.id}));
  q = {};
  q.after_ms = t0 + 1000;  // exclusive
  q.before_ms = t0 + 4000;
  EXPECT_EQ(events(q), (Ids{e3.event.id, e2.event.id}));
  // Reconciliation: by delivery outcome for one endpoint, for any, and for one employee.
  q = {};
  q.delivery_endpoint_id = a.id;
  q.delivery_status = S::kFailed;
  EXPECT_EQ(events(q), (Ids{e2.event.id}));
  q.delivery_endpoint_id = b.id;
  EXPECT_EQ(events(q), (Ids{e4.event.id, e1.event.id}));
  q.subject = "emp_1";
  EXPECT_EQ(events(q), (Ids{e4.event.id, e1.event.id}));
  q.subject = "emp_2";
  EXPECT_TRUE(events(q).empty());
  q = {};
  q.delivery_endpoint_id = b.id;
  EXPECT_EQ(events(q), (Ids{e4.event.id, e3.event.id, e1.event.id}));
  q.type = "employee.hired";
  EXPECT_EQ(events(q), (Ids{e3.event.id, e1.event.id}));
  q = {};
  q.delivery_status = S::kFailed;
  EXPECT_EQ(events(q), (Ids{e4.event.id, e2.event.id, e1.event.id}));
  q.delivery_status = S::kHeld;
  EXPECT_TRUE(events(q).empty());
  q = {};
  q.delivery_endpoint_id = c.id;  // another company's endpoint
  EXPECT_TRUE(events(q).empty());
  EXPECT_EQ(events(q, other_), (Ids{e5.event.id}));
  // Pages of a filtered list hold the filter's events only, each once.
  q = {};
  q.delivery_endpoint_id = b.id;
  q.delivery_status = S::kFailed;
  auto p1 = store_->ListEvents(co_, q, {1, ""});
  ASSERT_TRUE(p1);
  ASSERT_EQ(p1->items.size(), 1u);
  EXPECT_EQ(p1->items[0].id, e4.event.id);
  ASSERT_TRUE(p1->next_cursor);
  auto p2 = store_->ListEvents(co_, q, {1, *p1->next_cursor});
  ASSERT_TRUE(p2);
  ASSERT_EQ(p2->items.size(), 1u);
  EXPECT_EQ(p2->items[0].id, e1.event.id);
  if (p2->next_cursor) {
    EXPECT_TRUE(store_->ListEvents(co_, q, {1, *p2->next_cursor})->items.empty());
  }

  auto deliveries = [&](DeliveryQuery dq, const CompanyId& co = {}, PageRequest page = {}) {
    std::vector<DeliveryId> out;
    auto r = store_->ListDeliveries(co.str().empty() ? co_ : co, dq, page);
    EXPECT_TRUE(r) << r.error().message;
    if (r)
      for (auto& d : r->items) out.push_back(d.id);
    return out;
  };
  using Dids = std::vector<DeliveryId>;
  DeliveryQuery dq;
  dq.event_type = "employee.hired";
  EXPECT_EQ(deliveries(dq), (Dids{e3.deliveries[1].id, e3.deliveries[0].id, e1.deliveries[1].id,
                                  e1.deliveries[0].id}));
  dq.endpoint_id = a.id;
  EXPECT_EQ(deliveries(dq), (Dids{e3.deliveries[0].id, e1.deliveries[0].id}));
  dq = {};
  dq.subject = "emp_1";
  EXPECT_EQ(deliveries(dq), (Dids{e4.deliveries[0].id, e1.deliveries[1].id, e1.deliveries[0].id}));
  EXPECT_EQ(deliveries(dq, other_), (Dids{e5.deliveries[0].id}));
  dq.endpoint_id = b.id;
  dq.status = S::kFailed;
  EXPECT_EQ(deliveries(dq), (Dids{e4.deliveries[0].id, e1.deliveries[1].id}));
  dq.event_type = "time_entry.clocked_in";
  EXPECT_EQ(deliveries(dq), (Dids{e4.deliveries[0].id}));
  dq = {};
  dq.subject = "emp_1";
  dq.event_id = e1.event.id;
  EXPECT_EQ(deliveries(dq), (Dids{e1.deliveries[1].id, e1.deliveries[0].id}));
  dq = {};
  dq.after_ms = t0 + 1000;
  dq.before_ms = t0 + 4000;
  dq.status = S::kFailed;
  EXPECT_EQ(deliveries(dq), (Dids{e2.deliveries[0].id}));
  dq = {};
  dq.endpoint_id = c.id;
  EXPECT_TRUE(deliveries(dq).empty());
  // Pagination with a filter served by a sort (one employee's deliveries).
  dq = {};
  dq.subject = "emp_1";
  auto d1 = store_->ListDeliveries(co_, dq, {2, ""});
  ASSERT_TRUE(d1);
  ASSERT_EQ(d1->items.size(), 2u);
  ASSERT_TRUE(d1->next_cursor);
  EXPECT_EQ(deliveries(dq, co_, {2, *d1->next_cursor}), (Dids{e1.deliveries[0].id}));
}

TEST_P(StoreContract, EndpointAttemptStatsBucketsOneEndpointsAttempts) {
  Endpoint a = NewEndpoint(co_);
  Endpoint b = NewEndpoint(co_);
  NewEvent e1 = MakeEvent(co_, {a.id, b.id});
  NewEvent e2 = MakeEvent(co_, {a.id});
  NewEvent e3 = MakeEvent(co_, {a.id});
  ASSERT_TRUE(Ingest(e1));
  ASSERT_TRUE(Ingest(e2));
  ASSERT_TRUE(Ingest(e3));
  const int64_t hour = 3600 * 1000;
  const int64_t t0 = NowMs() - 3 * hour;
  // One attempt row: `status` 0 means a connection error.
  auto attempt = [&](const Delivery& d, int number, int64_t at, int64_t ms, int status) {
    Attempt x;
    x.id = AttemptId::New();
    x.delivery_id = d.id;
    x.number = number;
    x.started_at_ms = at;
    x.duration_ms = ms;
    if (status) x.status_code = status;
    if (status < 200 || status > 299) x.error = status ? "http" : "connect";
    const bool ok = !x.error;
    return DeliveryUpdate{d.id, co_, ok ? DeliveryStatus::kSucceeded : DeliveryStatus::kPending,
                          number, std::nullopt, at + ms, std::move(x)};
  };
  std::vector<DeliveryUpdate> updates;
  updates.push_back(attempt(e1.deliveries[0], 1, t0 + 10 * 60000, 300, 500));  // a, first hour
  updates.push_back(attempt(e1.deliveries[0], 2, t0 + 70 * 60000, 100, 200));  // a, second hour
  updates.push_back(attempt(e2.deliveries[0], 1, t0 + 80 * 60000, 50, 204));  // a, second hour
  updates.push_back(attempt(e1.deliveries[1], 1, t0 + 10 * 60000, 999, 200));  // b: not counted
  updates.push_back(attempt(e3.deliveries[0], 1, t0 - 10 * 60000, 999, 0));  // before the window
  std::promise<Result<void>> applied;
  store_->ApplyDispatchUpdates(std::move(updates), {},
                               [&applied](Result<void> r) { applied.set_value(std::move(r)); });
  ASSERT_TRUE(applied.get_future().get());

  auto stats = store_->EndpointAttemptStats(co_, a.id, t0, t0 + 3 * hour, hour);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->size(), 2u);
  EXPECT_EQ((*stats)[0].start_ms, t0);
  EXPECT_EQ((*stats)[0].attempts, 1);
  EXPECT_EQ((*stats)[0].succeeded, 0);
  EXPECT_EQ((*stats)[0].total_duration_ms, 300);
  EXPECT_EQ((*stats)[1].start_ms, t0 + hour);
  EXPECT_EQ((*stats)[1].attempts, 2);
  EXPECT_EQ((*stats)[1].succeeded, 2);
  EXPECT_EQ((*stats)[1].total_duration_ms, 150);
  EXPECT_EQ((*stats)[1].max_duration_ms, 100);

  // The window's end is exclusive; an endpoint without attempts has no buckets.
  EXPECT_EQ(store_->EndpointAttemptStats(co_, a.id, t0, t0 + 10 * 60000, hour)->size(), 0u);
  const EndpointId quiet = NewEndpoint(co_).id;
  EXPECT_EQ(store_->EndpointAttemptStats(co_, quiet, t0, t0 + 3 * hour, hour)->size(), 0u);
  // Another company's endpoint does not exist for this one.
  EXPECT_EQ(store_->EndpointAttemptStats(other_, a.id, t0, t0 + 3 * hour, hour).error().code,
            ErrorCode::kNotFound);
}

// What a dispatcher reloads on start: one endpoint's pending deliveries, in acceptance order,
// in pages — not another endpoint's, not held or finished ones.
TEST_P(StoreContract, LoadPendingPagesOneEndpointsPendingDeliveries) {
  Endpoint a = NewEndpoint(co_);
  Endpoint b = NewEndpoint(co_);
  std::vector<DeliveryId> want;
  for (int i = 0; i < 5; ++i) {
    NewEvent ne = MakeEvent(co_, {a.id, b.id});
    want.push_back(ne.deliveries[0].id);
    ASSERT_TRUE(Ingest(std::move(ne)));
  }
  ASSERT_TRUE(Ingest(MakeEvent(co_, {a.id}, DeliveryStatus::kHeld)));
  // The first one succeeds: no longer pending.
  std::promise<Result<void>> applied;
  store_->ApplyDispatchUpdates({DeliveryUpdate{want[0], co_, DeliveryStatus::kSucceeded, 1, std::nullopt,
                                               NowMs(), std::nullopt}},
                               {}, [&](Result<void> r) { applied.set_value(std::move(r)); });
  ASSERT_TRUE(applied.get_future().get());
  want.erase(want.begin());

  // Pages scan 3 of a's deliveries each, whatever their status: [done, p, p] [p, p, held] [].
  std::vector<DeliveryId> got;
  std::vector<size_t> sizes;
  std::string after;
  while (true) {
    auto page = store_->LoadPending(a.id, after, 3);
    ASSERT_TRUE(page) << page.error().message;
    sizes.push_back(page->deliveries.size());
    for (const auto& d : page->deliveries) {
      EXPECT_EQ(d.endpoint_id, a.id);
      EXPECT_EQ(d.subject, "emp_1");
      EXPECT_GT(d.id.str(), after);
      got.push_back(d.id);
    }
    if (page->next_after.empty()) break;
    EXPECT_GT(page->next_after, after);
    after = page->next_after;
    ASSERT_LT(sizes.size(), 10u) << "paging does not end";
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 0}));
  auto none = store_->LoadPending(NewEndpoint(co_).id, "", 10);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->deliveries.empty());
  EXPECT_TRUE(none->next_after.empty());
}

// A long history of finished deliveries is walked a bounded page at a time (each page's cost
// does not grow with it), and a pending delivery behind it is still found.
TEST_P(StoreContract, LoadPendingWalksALongHistoryInBoundedPages) {
  Endpoint a = NewEndpoint(co_);
  std::vector<DeliveryUpdate> done;
  for (int i = 0; i < 40; ++i) {
    NewEvent ne = MakeEvent(co_, {a.id});
    done.push_back(DeliveryUpdate{ne.deliveries[0].id, co_, DeliveryStatus::kSucceeded, 1, std::nullopt, NowMs(),
                                  std::nullopt});
    ASSERT_TRUE(Ingest(std::move(ne)));
  }
  std::promise<Result<void>> applied;
  store_->ApplyDispatchUpdates(std::move(done), {}, [&](Result<void> r) { applied.set_value(std::move(r)); });
  ASSERT_TRUE(applied.get_future().get());
  NewEvent last = MakeEvent(co_, {a.id});
  const DeliveryId pending = last.deliveries[0].id;
  ASSERT_TRUE(Ingest(std::move(last)));
  int pages = 0;
  std::vector<DeliveryId> got;
  std::string after;
  do {
    auto page = store_->LoadPending(a.id, after, 7);
    ASSERT_TRUE(page) << page.error().message;
    ++pages;
    for (const auto& d : page->deliveries) got.push_back(d.id);
    after = page->next_after;
  } while (!after.empty() && pages < 20);
  EXPECT_EQ(pages, 6);  // 41 deliveries, 7 a page: 5 full windows, then the rest
  EXPECT_EQ(got, std::vector<DeliveryId>{pending});
}

// The dispatcher hands over whatever piled up while the writer was busy: thousands of outcomes
// in one call. They are all written, `done` runs once, and an outcome for a delivery that no
// longer exists (its endpoint was deleted) leaves no attempt behind.
TEST_P(StoreContract, LargeOutcomeBatchesAreWrittenWhole) {
  Endpoint a = NewEndpoint(co_);
  Endpoint gone = NewEndpoint(co_);
  constexpr int kEvents = 700;
  IngestRequest req;
  req.company = co_;
  for (int i = 0; i < kEvents; ++i) req.events.push_back(MakeEvent(co_, {a.id}));
  req.events.push_back(MakeEvent(co_, {gone.id}));
  std::vector<Delivery> deliveries;
  for (const auto& ne : req.events) deliveries.push_back(ne.deliveries[0]);
  ASSERT_TRUE(store_->IngestSync(std::move(req)));
  ASSERT_TRUE(store_->DeleteEndpoint(co_, gone.id));

  std::vector<DeliveryUpdate> updates;
  for (const Delivery& d : deliveries) {
    Attempt x;
    x.id = AttemptId::New();
    x.delivery_id = d.id;
    x.number = 1;
    x.started_at_ms = NowMs();
    x.status_code = 204;
    updates.push_back(DeliveryUpdate{d.id, co_, DeliveryStatus::kSucceeded, 1, std::nullopt,
                                     NowMs(), std::move(x)});
  }
  std::atomic<int> calls{0};
  std::promise<Result<void>> applied;
  store_->ApplyDispatchUpdates(std::move(updates), {}, [&](Result<void> r) {
    if (calls.fetch_add(1) == 0) applied.set_value(std::move(r));
  });
  auto r = applied.get_future().get();
  ASSERT_TRUE(r) << r.error().message;
  // A later write is finished after the earlier ones: nothing of the batch is still queued.
  ASSERT_TRUE(store_->IngestSync([&] {
    IngestRequest after;
    after.company = other_;
    after.events.push_back(MakeEvent(other_, {}));
    return after;
  }()));
  EXPECT_EQ(calls.load(), 1);

  int succeeded = 0;
  PageRequest page{500, ""};
  while (true) {
    auto p = store_->ListDeliveries(co_, DeliveryQuery{a.id, std::nullopt, DeliveryStatus::kSucceeded}, page);
    ASSERT_TRUE(p);
    succeeded += static_cast<int>(p->items.size());
    if (!p->next_cursor) break;
    page.cursor = *p->next_cursor;
  }
  EXPECT_EQ(succeeded, kEvents);
  for (int i : {0, 255, 256, 511, 512, kEvents - 1}) {
    auto attempts = store_->ListAttempts(co_, deliveries[i].id, {});
    ASSERT_TRUE(attempts);
    ASSERT_EQ(attempts->items.size(), 1u) << i;
    EXPECT_EQ(attempts->items[0].status_code, 204);
  }
  auto none = store_->ListAttempts(co_, deliveries[kEvents].id, {});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->items.empty());
}

TEST_P(StoreContract, CustomEventTypesPersist) {
  EventTypeDef d;
  d.name = "payroll.closed";
  d.description = "Payroll closed";
  d.schema = boost::json::parse(R"({"type":"object"})");
  d.example = boost::json::parse(R"({"month":"2026-11"})");
  d.created_at_ms = NowMs();
  ASSERT_TRUE(store_->InsertEventType(d));
  EXPECT_EQ(store_->InsertEventType(d).error().code, ErrorCode::kAlreadyExists);
  auto all = store_->ListEventTypes();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].example.at("month").as_string(), "2026-11");
}

TEST_P(StoreContract, RetentionPurgesOnlyFinishedHistory) {
  Endpoint ep = NewEndpoint(co_);
  const int64_t old_ms = NowMs() - 40LL * 86400 * 1000;
  auto old_id = [&](std::string_view prefix, char tail) {
    return std::string(prefix) + UlidLowerBound(old_ms).substr(0, 10) + std::string(16, tail);
  };
  NewEvent done = MakeEvent(co_, {ep.id}, DeliveryStatus::kSucceeded);
  done.event.id = EventId::FromTrusted(old_id("evt_", 'A'));
  done.deliveries[0].event_id = done.event.id;
  done.deliveries[0].id = DeliveryId::FromTrusted(old_id("dlv_", 'A'));
  NewEvent waiting = MakeEvent(co_, {ep.id}, DeliveryStatus::kPending);
  waiting.event.id = EventId::FromTrusted(old_id("evt_", 'B'));
  waiting.deliveries[0].event_id = waiting.event.id;
  waiting.deliveries[0].id = DeliveryId::FromTrusted(old_id("dlv_", 'B'));
  NewEvent recent = MakeEvent(co_, {ep.id}, DeliveryStatus::kSucceeded);
  ASSERT_TRUE(Ingest(done));
  ASSERT_TRUE(Ingest(waiting));
  ASSERT_TRUE(Ingest(recent));
  auto n = store_->PurgeExpired(NowMs() - 30LL * 86400 * 1000, 100);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2);  // the old finished delivery and its event
  EXPECT_EQ(store_->GetEvent(co_, done.event.id).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->GetEvent(co_, waiting.event.id));
  EXPECT_TRUE(store_->GetDelivery(co_, waiting.deliveries[0].id));
  EXPECT_TRUE(store_->GetEvent(co_, recent.event.id));
  EXPECT_EQ(*store_->PurgeExpired(NowMs() - 30LL * 86400 * 1000, 100), 0);
}

// A company's own, shorter retention: stored with the company; a purge for it deletes only its
// finished history older than its cutoff, and Retention applies it on top of the server's.
TEST_P(StoreContract, ACompanysOwnRetentionPurgesOnlyItsOwnHistory) {
  auto set = store_->SetCompanyRetention(co_, 7LL * 86400 * 1000);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->retention_ms, 7LL * 86400 * 1000);
  EXPECT_EQ(store_->GetCompany(co_)->retention_ms, 7LL * 86400 * 1000);
  EXPECT_EQ(store_->GetCompany(other_)->retention_ms, std::nullopt);
  EXPECT_EQ(store_->SetCompanyRetention(CompanyId::New(), 1).error().code, ErrorCode::kNotFound);
  auto own = store_->CompaniesWithOwnRetention();
  ASSERT_TRUE(own);
  ASSERT_EQ(own->size(), 1u);
  EXPECT_EQ((*own)[0].id, co_);

  // Ten days old: past co_'s 7 days, within the server's 30.
  const int64_t old_ms = NowMs() - 10LL * 86400 * 1000;
  auto old_event = [&](const CompanyId& co, char tail) {
    Endpoint ep = NewEndpoint(co);
    NewEvent ne = MakeEvent(co, {ep.id}, DeliveryStatus::kSucceeded);
    ne.event.id = EventId::FromTrusted("evt_" + UlidLowerBound(old_ms).substr(0, 10) + std::string(16, tail));
    ne.deliveries[0].event_id = ne.event.id;
    ne.deliveries[0].id = DeliveryId::FromTrusted("dlv_" + UlidLowerBound(old_ms).substr(0, 10) + std::string(16, tail));
    EXPECT_TRUE(Ingest(ne));
    return ne;
  };
  NewEvent mine = old_event(co_, 'A');
  NewEvent theirs = old_event(other_, 'B');
  NewEvent recent = MakeEvent(co_, {NewEndpoint(co_).id}, DeliveryStatus::kSucceeded);
  ASSERT_TRUE(Ingest(recent));

  Retention retention(*store_, 30LL * 86400 * 1000);
  EXPECT_EQ(retention.RunOnce(), 2);  // co_'s old delivery and its event
  EXPECT_EQ(store_->GetEvent(co_, mine.event.id).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->GetEvent(other_, theirs.event.id));  // the server's 30 days
  EXPECT_TRUE(store_->GetDelivery(other_, theirs.deliveries[0].id));
  EXPECT_TRUE(store_->GetEvent(co_, recent.event.id));
  // Cleared: the server's retention again.
  ASSERT_TRUE(store_->SetCompanyRetention(co_, std::nullopt));
  EXPECT_TRUE(store_->CompaniesWithOwnRetention()->empty());
}

// Payloads are signed and response bodies are what a receiver sent: both come back byte for
// byte (no JSON normalisation, no text re-encoding, NUL and non-UTF-8 bytes included).
TEST_P(StoreContract, PayloadsAndResponseBodiesKeepTheirExactBytes) {
  Endpoint ep = NewEndpoint(co_);
  NewEvent ne = MakeEvent(co_, {ep.id});
  ne.event.payload = "{\"name\":\"Zo\u00eb \\u00e9\",  \"n\": 1.50e+2 ,\"emoji\":\"\U0001F600\"}\n\t ";
  const std::string payload = ne.event.payload;
  const EventId eid = ne.event.id;
  const DeliveryId did = ne.deliveries[0].id;
  ASSERT_TRUE(Ingest(std::move(ne)));
  auto got = store_->GetEvent(co_, eid);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->payload, payload);
  auto loaded = store_->LoadPayloads({eid, EventId::New()});
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].second, payload);

  const std::string body("\x00\xff\xfe binary \r\n\x01", 14);
  Attempt x;
  x.id = AttemptId::New();
  x.delivery_id = did;
  x.number = 1;
  x.started_at_ms = NowMs();
  x.status_code = 500;
  x.error = "http";
  x.response_headers = R"({"content-type":"application/octet-stream"})";
  x.response_body = body;
  std::promise<Result<void>> applied;
  store_->ApplyDispatchUpdates({DeliveryUpdate{did, co_, DeliveryStatus::kPending, 1, NowMs() + 5000, NowMs(), x}},
                               {}, [&](Result<void> r) { applied.set_value(std::move(r)); });
  auto r = applied.get_future().get();
  ASSERT_TRUE(r) << r.error().message;
  auto attempts = store_->ListAttempts(co_, did, {});
  ASSERT_TRUE(attempts) << attempts.error().message;
  ASSERT_EQ(attempts->items.size(), 1u);
  EXPECT_EQ(attempts->items[0].response_body, body);
  EXPECT_EQ(attempts->items[0].response_headers, x.response_headers);
}

// A batch of outcomes is written in a few multi-row statements on PostgreSQL: two updates of
// one delivery in one batch (an attempt and its retry) end in the later one with both attempts
// kept, and text that an array literal must quote (quotes, backslashes, commas, braces, NULL)
// comes back as it was.
TEST_P(StoreContract, OutcomeBatchesKeepOrderAndEveryByteOfTheirText) {
  Endpoint ep = NewEndpoint(co_);
  NewEvent ne = MakeEvent(co_, {ep.id});
  const DeliveryId did = ne.deliveries[0].id;
  ASSERT_TRUE(Ingest(std::move(ne)));
  auto attempt = [&](int n, std::string detail) {
    Attempt a;
    a.id = AttemptId::New();
    a.delivery_id = did;
    a.number = n;
    a.started_at_ms = NowMs() + n;
    a.error = "http";
    a.status_code = 500;
    a.response_headers = R"({"x":"a \"quoted\", {braced} \\ NULL"})";
    a.response_body = std::string("NULL,{}\"\\\0\xff", 10);
    a.error_detail = std::move(detail);
    return a;
  };
  ASSERT_TRUE(Apply({
      DeliveryUpdate{did, co_, DeliveryStatus::kPending, 1, NowMs() + 5000, NowMs(), attempt(1, "NULL")},
      DeliveryUpdate{did, co_, DeliveryStatus::kFailed, 2, std::nullopt, NowMs(), attempt(2, "a, \"b\" {c}")},
  }));
  auto d = store_->GetDelivery(co_, did);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->status, DeliveryStatus::kFailed);
  EXPECT_EQ(d->attempts, 2);
  EXPECT_FALSE(d->next_attempt_at_ms.has_value());
  auto atts = store_->ListAttempts(co_, did, {});
  ASSERT_TRUE(atts) << atts.error().message;
  ASSERT_EQ(atts->items.size(), 2u);
  EXPECT_EQ(atts->items[0].error_detail, "a, \"b\" {c}");  // newest first
  EXPECT_EQ(atts->items[1].error_detail, "NULL");
  for (const auto& a : atts->items) {
    EXPECT_EQ(a.response_headers, R"({"x":"a \"quoted\", {braced} \\ NULL"})");
    EXPECT_EQ(a.response_body, std::string("NULL,{}\"\\\0\xff", 10));
    EXPECT_EQ(a.status_code, 500);
  }
}

// A dropped delivery (its endpoint is gone) takes nothing more of its batch; an outcome for
// a delivery that is not there writes no attempt; a finished delivery is not dropped.
TEST_P(StoreContract, DroppedAndMissingDeliveriesTakeNoOutcome) {
  Endpoint ep = NewEndpoint(co_);
  NewEvent e1 = MakeEvent(co_, {ep.id}), e2 = MakeEvent(co_, {ep.id}), e3 = MakeEvent(co_, {ep.id});
  const DeliveryId pending = e1.deliveries[0].id, finished = e2.deliveries[0].id, kept = e3.deliveries[0].id;
  ASSERT_TRUE(Ingest(std::move(e1)));
  ASSERT_TRUE(Ingest(std::move(e2)));
  ASSERT_TRUE(Ingest(std::move(e3)));
  auto attempt = [&](const DeliveryId& d) {
    Attempt a;
    a.id = AttemptId::New();
    a.delivery_id = d;
    a.number = 1;
    a.started_at_ms = NowMs();
    a.status_code = 204;
    return a;
  };
  ASSERT_TRUE(Apply({DeliveryUpdate{finished, co_, DeliveryStatus::kSucceeded, 1, std::nullopt, NowMs(), attempt(finished)}}));
  auto drop = [&](const DeliveryId& d) {
    DeliveryUpdate u{d, co_, DeliveryStatus::kFailed, 0, std::nullopt, std::nullopt, std::nullopt};
    u.drop = true;
    return u;
  };
  const DeliveryId missing = DeliveryId::New();
  ASSERT_TRUE(Apply({
      drop(pending),
      DeliveryUpdate{pending, co_, DeliveryStatus::kSucceeded, 1, std::nullopt, NowMs(), attempt(pending)},
      drop(finished),
      DeliveryUpdate{missing, co_, DeliveryStatus::kSucceeded, 1, std::nullopt, NowMs(), attempt(missing)},
      DeliveryUpdate{kept, co_, DeliveryStatus::kSucceeded, 1, std::nullopt, NowMs(), attempt(kept)},
  }));
  auto gone = store_->GetDelivery(co_, pending);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->ListAttempts(co_, pending, {})->items.empty());
  auto f = store_->GetDelivery(co_, finished);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->status, DeliveryStatus::kSucceeded);
  EXPECT_EQ(store_->ListAttempts(co_, finished, {})->items.size(), 1u);
  EXPECT_FALSE(store_->GetDelivery(co_, missing));
  EXPECT_TRUE(store_->ListAttempts(co_, missing, {})->items.empty());
  auto k = store_->GetDelivery(co_, kept);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->status, DeliveryStatus::kSucceeded);
  EXPECT_EQ(store_->ListAttempts(co_, kept, {})->items.size(), 1u);
}

std::shared_ptr<const FieldCipher> Keys(const std::string& text) {
  auto c = FieldCipher::FromKeyText(text);
  EXPECT_TRUE(c) << c.error().message;
  return c ? *c : nullptr;
}

// Encryption at rest: what a store with keys writes comes back plain through it, and is
// sealed for anyone else — a store without the key gets an error naming the key, never the
// sealed bytes as a payload or a secret.
TEST_P(StoreContract, SealedFieldsComeBackPlainOnlyWithTheirKey) {
  const std::string key_a = FieldCipher::NewKeyLine();
  auto a = Keys(key_a);
  Reopen(a);
  ASSERT_TRUE(sealed::CheckKeys(*store_, *a, NowMs()));
  Endpoint ep = NewEndpoint(co_);
  auto rotated = store_->RotateEndpointSecret(co_, ep.id, "whsec_bmV3IHNlY3JldA==", 60000, NowMs());
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_EQ(rotated->secret, "whsec_bmV3IHNlY3JldA==");
  EXPECT_EQ(rotated->previous_secret, ep.secret);  // copied in SQL, still opens
  NewEvent ne = MakeEvent(co_, {ep.id});
  ne.event.payload = R"({"email":"ana.garcia@example.com"})";
  const EventId eid = ne.event.id;
  const DeliveryId did = ne.deliveries[0].id;
  ASSERT_TRUE(Ingest(std::move(ne)));
  Attempt x;
  x.id = AttemptId::New();
  x.delivery_id = did;
  x.number = 1;
  x.started_at_ms = NowMs();
  x.status_code = 500;
  x.error = "http";
  x.response_headers = R"({"x-user":"ana.garcia@example.com"})";
  x.response_body = "no such user ana.garcia@example.com";
  ASSERT_TRUE(Apply({DeliveryUpdate{did, co_, DeliveryStatus::kPending, 1, NowMs() + 5000, NowMs(), x}}));

  auto check_plain = [&] {
    auto got = store_->GetEvent(co_, eid);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got->payload, R"({"email":"ana.garcia@example.com"})");
    auto listed = store_->ListEvents(co_, {}, {});
    ASSERT_TRUE(listed) << listed.error().message;
    ASSERT_EQ(listed->items.size(), 1u);
    EXPECT_EQ(listed->items[0].payload, got->payload);
    auto loaded = store_->LoadPayloads({eid});
    ASSERT_TRUE(loaded) << loaded.error().message;
    ASSERT_EQ(loaded->size(), 1u);
    EXPECT_EQ((*loaded)[0].second, got->payload);
    if (auto* pg = dynamic_cast<PostgresStore*>(store_.get())) {  // several nodes: the owner's load
      auto ready = pg->LoadReadyDeliveries({did});
      ASSERT_TRUE(ready) << ready.error().message;
      ASSERT_EQ(ready->size(), 1u);
      EXPECT_EQ(*(*ready)[0].payload, got->payload);
    }
    auto e = store_->GetEndpoint(co_, ep.id);
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(e->secret, "whsec_bmV3IHNlY3JldA==");
    EXPECT_EQ(e->previous_secret, ep.secret);
    auto all = store_->AllEndpoints(std::nullopt);
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].secret, e->secret);
    auto att = store_->ListAttempts(co_, did, {});
    ASSERT_TRUE(att) << att.error().message;
    ASSERT_EQ(att->items.size(), 1u);
    EXPECT_EQ(att->items[0].response_headers, x.response_headers);
    EXPECT_EQ(att->items[0].response_body, x.response_body);
  };
  check_plain();
  Reopen(a);  // a new store with the same key reads it all
  check_plain();

  auto ids = store_->EncryptionKeyIds();
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, std::vector<std::string>{a->primary_id()});
  // Another key, or none: refused at start, naming the key; and row by row, never garbage.
  auto b = Keys(FieldCipher::NewKeyLine());
  for (auto other : {b, std::shared_ptr<const FieldCipher>()}) {
    Reopen(other);
    auto start = sealed::CheckKeys(*store_, other ? *other : FieldCipher(), NowMs());
    ASSERT_FALSE(start);
    EXPECT_NE(start.error().message.find(a->primary_id()), std::string::npos) << start.error().message;
    EXPECT_EQ(start.error().message.find(key_a), std::string::npos) << "the key itself is never shown";
    auto ev = store_->GetEvent(co_, eid);
    ASSERT_FALSE(ev);
    EXPECT_EQ(ev.error().code, ErrorCode::kInternal);
    EXPECT_FALSE(store_->GetEndpoint(co_, ep.id));
    EXPECT_FALSE(store_->LoadPayloads({eid}));
    EXPECT_FALSE(store_->ListAttempts(co_, did, {}));
  }
}

// `hookd rekey`: rows written plain (before encryption) and under an old key are moved to the
// first key; the old key is forgotten and can leave the key file.
TEST_P(StoreContract, RekeyMovesEveryRowToTheFirstKey) {
  Endpoint plain_ep = NewEndpoint(co_);  // written without a key
  NewEvent plain = MakeEvent(co_, {plain_ep.id});
  const EventId plain_id = plain.event.id;
  ASSERT_TRUE(Ingest(std::move(plain)));
  const std::string old_line = FieldCipher::NewKeyLine(), new_line = FieldCipher::NewKeyLine();
  auto old_key = Keys(old_line);
  Reopen(old_key);
  ASSERT_TRUE(sealed::CheckKeys(*store_, *old_key, NowMs()));
  Endpoint old_ep = NewEndpoint(co_);
  std::vector<EventId> ids{plain_id};
  std::vector<DeliveryId> deliveries;
  for (int i = 0; i < 7; ++i) {
    NewEvent ne = MakeEvent(co_, {old_ep.id});
    ne.event.payload = R"({"n":)" + std::to_string(i) + "}";
    ids.push_back(ne.event.id);
    deliveries.push_back(ne.deliveries[0].id);
    Attempt x;
    x.id = AttemptId::New();
    x.delivery_id = ne.deliveries[0].id;
    x.number = 1;
    x.started_at_ms = NowMs();
    x.response_headers = R"({"a":"b"})";
    x.response_body = "body " + std::to_string(i);
    ASSERT_TRUE(Ingest(std::move(ne)));
    ASSERT_TRUE(Apply({DeliveryUpdate{deliveries.back(), co_, DeliveryStatus::kSucceeded, 1, std::nullopt, NowMs(), x}}));
  }
  // The key file during a rotation: the new key first (it encrypts), the old one after it.
  auto rotation = Keys(new_line + "\n" + old_line + "\n");
  Reopen(rotation);
  ASSERT_TRUE(sealed::CheckKeys(*store_, *rotation, NowMs()));
  std::vector<std::string> tables;
  auto totals = sealed::Rekey(*store_, *rotation, 3, [&](const char* table, const sealed::RekeyTotals&) {
    if (tables.empty() || tables.back() != table) tables.emplace_back(table);
  });
  ASSERT_TRUE(totals) << totals.error().message;
  // 2 endpoints, 8 events, 7 attempts: every one was plain or under the old key.
  EXPECT_EQ(totals->resealed, 2 + 8 + 7);
  EXPECT_GE(totals->scanned, totals->resealed);
  EXPECT_EQ(tables, (std::vector<std::string>{"endpoints", "events", "attempts"}));
  EXPECT_EQ(totals->forgotten, std::vector<std::string>{old_key->primary_id()});
  auto again = sealed::Rekey(*store_, *rotation, 100, nullptr);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->resealed, 0);  // nothing left to do

  // The old key may now leave the file: everything opens with the new one alone.
  auto new_only = Keys(new_line);
  Reopen(new_only);
  auto start = sealed::CheckKeys(*store_, *new_only, NowMs());
  ASSERT_TRUE(start) << start.error().message;
  auto loaded = store_->LoadPayloads(ids);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->size(), ids.size());
  for (size_t i = 0; i < deliveries.size(); ++i) {
    auto att = store_->ListAttempts(co_, deliveries[i], {});
    ASSERT_TRUE(att) << att.error().message;
    ASSERT_EQ(att->items.size(), 1u);
    EXPECT_EQ(att->items[0].response_body, "body " + std::to_string(i));
  }
  auto eps = store_->AllEndpoints(std::nullopt);
  ASSERT_TRUE(eps) << eps.error().message;
  EXPECT_EQ(eps->size(), 2u);
  // …and nothing opens with the old key alone any more.
  Reopen(old_key);
  EXPECT_FALSE(store_->GetEvent(co_, plain_id));
}

// Issue 13: an erasure empties one employee's events of one company (accepted before it), the
// answers their receivers gave and the idempotency records that answered with them, cancels
// their pending and held deliveries for good, and keeps only a hash — in batches.
TEST_P(StoreContract, AnErasureEmptiesOneSubjectsEventsAndCancelsTheirDeliveries) {
  Endpoint a = NewEndpoint(co_);
  Endpoint off = NewEndpoint(co_, EndpointStatus::kDisabled);
  auto of = [&](NewEvent ne, const std::string& subject) {
    ne.event.subject = subject;
    ne.event.payload = R"({"email":")" + subject + R"(@example.com"})";
    return ne;
  };
  NewEvent pending = of(MakeEvent(co_, {a.id}), "emp_1");
  NewEvent held = of(MakeEvent(co_, {off.id}, DeliveryStatus::kHeld), "emp_1");
  NewEvent done = of(MakeEvent(co_, {a.id}), "emp_1");
  NewEvent no_delivery = of(MakeEvent(co_, {}), "emp_1");
  NewEvent colleague = of(MakeEvent(co_, {a.id}), "emp_2");
  NewEvent elsewhere = of(MakeEvent(other_, {}), "emp_1");  // another company's emp_1
  ASSERT_TRUE(Ingest(pending, "key-1"));
  ASSERT_TRUE(Ingest(held));
  ASSERT_TRUE(Ingest(done));
  ASSERT_TRUE(Ingest(no_delivery));
  ASSERT_TRUE(Ingest(colleague, "key-2"));
  ASSERT_TRUE(Ingest(elsewhere));
  // `done` was delivered; the receiver's answer echoed the payload.
  Attempt answer;
  answer.id = AttemptId::New();
  answer.delivery_id = done.deliveries[0].id;
  answer.number = 1;
  answer.started_at_ms = NowMs();
  answer.status_code = 200;
  answer.response_headers = R"({"x-echo":"emp_1@example.com"})";
  answer.response_body = done.event.payload;
  ASSERT_TRUE(Apply({DeliveryUpdate{done.deliveries[0].id, co_, DeliveryStatus::kSucceeded, 1, std::nullopt,
                                    NowMs(), answer}}));

  auto key = store_->ErasureKey(RandomBytes(32));
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(*store_->ErasureKey(RandomBytes(32)), *key);  // the first one stays
  Erasure e;
  e.id = ErasureId::New();
  e.company_id = co_;
  e.subject = "emp_1";
  e.subject_hash = SubjectHash(*key, co_, "emp_1");
  e.event_bound = EventId::New().str();
  e.requested_by = TokenId::New();
  e.requested_at_ms = NowMs();
  ASSERT_TRUE(store_->InsertErasure(e));
  NewEvent later = of(MakeEvent(co_, {a.id}), "emp_1");  // accepted after the request: normal
  ASSERT_TRUE(Ingest(later));
  auto running = store_->RunningErasures();
  ASSERT_TRUE(running);
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].subject, "emp_1");

  ErasureCounts total;
  std::vector<std::pair<DeliveryId, EndpointId>> canceled;
  int batches = 0;
  for (;;) {
    auto b = store_->EraseBatch(e.id, 3, NowMs());
    ASSERT_TRUE(b) << b.error().message;
    ++batches;
    total += b->counts;
    for (auto& c : b->canceled) canceled.push_back(c);
    if (b->erasure.status == ErasureStatus::kCompleted) break;
    ASSERT_LT(batches, 5);
  }
  EXPECT_EQ(batches, 2);  // 4 events, 3 a batch
  EXPECT_EQ(total.events, 4);
  EXPECT_EQ(total.deliveries_canceled, 2);
  EXPECT_EQ(total.attempts, 1);
  EXPECT_EQ(total.idempotency_records, 1);
  ASSERT_EQ(canceled.size(), 2u);
  std::sort(canceled.begin(), canceled.end());
  EXPECT_EQ(canceled[0], std::pair(pending.deliveries[0].id, a.id));
  EXPECT_EQ(canceled[1], std::pair(held.deliveries[0].id, off.id));

  // What stays of the erasure: the hash, the counts, who and when; no subject.
  auto got = store_->GetErasure(co_, e.id);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->status, ErasureStatus::kCompleted);
  EXPECT_EQ(got->subject, "");
  EXPECT_EQ(got->subject_hash, e.subject_hash);
  EXPECT_EQ(got->requested_by, e.requested_by);
  EXPECT_FALSE(got->requested_by_operator);
  EXPECT_TRUE(got->finished_at_ms.has_value());
  EXPECT_EQ(got->counts.events, 4);
  EXPECT_EQ(got->counts.deliveries_canceled, 2);
  EXPECT_EQ(store_->GetErasure(other_, e.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListErasures(co_, {})->items.size(), 1u);
  EXPECT_EQ(store_->ListErasures(other_, {})->items.size(), 0u);
  EXPECT_TRUE(store_->RunningErasures()->empty());
  auto again = store_->EraseBatch(e.id, 3, NowMs());  // completed: nothing more
  ASSERT_TRUE(again);
  EXPECT_EQ(again->counts.events, 0);
  EXPECT_EQ(store_->EraseBatch(ErasureId::New(), 3, NowMs()).error().code, ErrorCode::kNotFound);

  for (const NewEvent* ne : {&pending, &held, &done, &no_delivery}) {
    auto ev = store_->GetEvent(co_, ne->event.id);
    ASSERT_TRUE(ev);
    EXPECT_TRUE(ev->erased);
    EXPECT_EQ(ev->payload, "");
    EXPECT_EQ(ev->subject, "");
    EXPECT_EQ(ev->type, "employee.hired");  // the rest stays
  }
  for (const NewEvent* ne : {&colleague, &later}) {
    auto ev = store_->GetEvent(co_, ne->event.id);
    EXPECT_FALSE(ev->erased);
    EXPECT_EQ(ev->payload, ne->event.payload);
  }
  EXPECT_EQ(store_->GetEvent(other_, elsewhere.event.id)->payload, elsewhere.event.payload);
  EventQuery by_subject;
  by_subject.subject = "emp_1";
  auto left = store_->ListEvents(co_, by_subject, {});
  ASSERT_EQ(left->items.size(), 1u);
  EXPECT_EQ(left->items[0].id, later.event.id);

  auto d = store_->GetDelivery(co_, pending.deliveries[0].id);
  EXPECT_EQ(d->status, DeliveryStatus::kCanceled);
  EXPECT_EQ(d->canceled_reason, "erased");
  EXPECT_EQ(store_->GetDelivery(co_, held.deliveries[0].id)->status, DeliveryStatus::kCanceled);
  EXPECT_EQ(store_->GetDelivery(co_, done.deliveries[0].id)->status, DeliveryStatus::kSucceeded);
  EXPECT_EQ(store_->GetDelivery(co_, later.deliveries[0].id)->status, DeliveryStatus::kPending);
  DeliveryQuery canceled_q;
  canceled_q.status = DeliveryStatus::kCanceled;
  EXPECT_EQ(store_->ListDeliveries(co_, canceled_q, {})->items.size(), 2u);
  auto atts = store_->ListAttempts(co_, done.deliveries[0].id, {});
  ASSERT_EQ(atts->items.size(), 1u);
  EXPECT_EQ(atts->items[0].response_body, "");
  EXPECT_EQ(atts->items[0].response_headers, "{}");
  EXPECT_EQ(atts->items[0].status_code, 200);

  // Nothing empty is ever handed to the dispatcher, and canceled is final.
  auto payloads = store_->LoadPayloads({pending.event.id, colleague.event.id});
  ASSERT_EQ(payloads->size(), 1u);
  EXPECT_EQ(payloads->front().first, colleague.event.id);
  auto pend = store_->LoadPending(a.id, "", 100);
  for (const auto& p : pend->deliveries) EXPECT_NE(p.id, pending.deliveries[0].id);
  Attempt late = answer;
  late.id = AttemptId::New();
  late.delivery_id = pending.deliveries[0].id;
  ASSERT_TRUE(Apply({DeliveryUpdate{pending.deliveries[0].id, co_, DeliveryStatus::kSucceeded, 1, std::nullopt,
                                    NowMs(), late}}));
  EXPECT_EQ(store_->GetDelivery(co_, pending.deliveries[0].id)->status, DeliveryStatus::kCanceled);
  EXPECT_EQ(store_->ListAttempts(co_, pending.deliveries[0].id, {})->items.size(), 0u);
  EXPECT_EQ(store_->RequeueDelivery(co_, pending.deliveries[0].id, NowMs()).error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->RequeueDelivery(other_, pending.deliveries[0].id, NowMs()).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->EnableEndpoint(co_, off.id, true, NowMs()));
  EXPECT_EQ(store_->GetDelivery(co_, held.deliveries[0].id)->status, DeliveryStatus::kCanceled);

  // The erased employee's idempotency record is gone (the key makes a new event); the
  // colleague's answers as before.
  auto k1 = Ingest(of(MakeEvent(co_, {}), "emp_1"), "key-1");
  ASSERT_TRUE(k1);
  EXPECT_FALSE(k1->replayed);
  auto k2 = Ingest(of(MakeEvent(co_, {}), "emp_2"), "key-2");
  ASSERT_TRUE(k2);
  EXPECT_TRUE(k2->replayed);

  // Canceled deliveries are history: retention purges them like finished ones.
  EXPECT_GT(*store_->PurgeExpired(NowMs() + 1000, 1000, co_), 0);
  EXPECT_EQ(store_->GetDelivery(co_, pending.deliveries[0].id).error().code, ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract,
                         ::testing::Values(Backend{"sqlite",
                                                   [](const std::filesystem::path& dir) {
                                                     return "sqlite:" + (dir / "t.db").string();
                                                   }},
                                           Backend{"postgres",
                                                   [](const std::filesystem::path&) {
                                                     return hookd::testing::NewPostgresDatabaseUrl();
                                                   }}),
                         [](const auto& info) { return info.param.name; });

// A fresh directory, removed with everything in it at the end of the scope.
struct ScratchDir {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("hookd-store-" + std::to_string(getpid()) + "-" + NewUlid());
  ScratchDir() { std::filesystem::create_directories(path); }
  ~ScratchDir() { std::filesystem::remove_all(path); }
};

// SQLite only: the syncer finds the WAL under whatever name SQLite gave it — a "file:" URI
// works like a path.
TEST(SqliteStore, AFileUriDatabaseSyncsItsWal) {
  ScratchDir scratch;
  const auto& dir = scratch.path;
  {
    auto opened = OpenStore("sqlite:file:" + (dir / "u.db").string() + "?cache=private");
    ASSERT_TRUE(opened) << opened.error().message;
    ASSERT_TRUE((*opened)->Migrate());
    Company c{CompanyId::New(), "Acme", NowMs()};
    auto r = (*opened)->InsertCompany(c);
    EXPECT_TRUE(r) << r.error().message;
    EXPECT_TRUE(std::filesystem::exists(dir / "u.db-wal"));
  }
}

// SQLite only: the writer commits without syncing and a syncer thread fdatasyncs the WAL;
// a durable write must be reported done only after a sync that came after its commit.
TEST(SqliteStore, AWriteIsReportedDoneOnlyAfterAnFsyncThatCoversIt) {
  ScratchDir scratch;
  const auto& dir = scratch.path;
  {
    auto opened = OpenStore("sqlite:" + (dir / "t.db").string());
    ASSERT_TRUE(opened) << opened.error().message;
    std::unique_ptr<Store> store = std::move(*opened);
    ASSERT_TRUE(store->Migrate());
    metrics::Registry registry;
    store->Instrument(registry);
    auto value = [&registry](std::string_view name) -> double {
      const std::string text = registry.Render();
      const std::string prefix = "\n" + std::string(name) + " ";
      const size_t at = text.find(prefix);
      return at == std::string::npos ? -1 : std::stod(text.substr(at + prefix.size()));
    };
    Company c{CompanyId::New(), "Acme", NowMs()};
    ASSERT_TRUE(store->InsertCompany(c));
    for (int i = 0; i < 20; ++i) {
      const double syncs_before = value("hookd_store_syncs_total");
      ASSERT_GE(syncs_before, 1);  // InsertCompany's (or the last round's)
      IngestRequest req;
      req.company = c.id;
      NewEvent ne;
      ne.event.id = EventId::New();
      ne.event.company_id = c.id;
      ne.event.type = "employee.hired";
      ne.event.created_at_ms = NowMs();
      ne.event.payload = "{}";
      req.events.push_back(ne);
      std::promise<double> at_done;
      store->Ingest(std::move(req), [&](Result<IngestResult> r) {
        EXPECT_TRUE(r);
        at_done.set_value(value("hookd_store_syncs_total"));
      });
      EXPECT_GT(at_done.get_future().get(), syncs_before) << "round " << i;
    }
    EXPECT_GE(value("hookd_store_commits_total"), 21);
    EXPECT_GE(value("hookd_store_writes_total"), value("hookd_store_commits_total"));
    EXPECT_EQ(value("hookd_store_sync_seconds_count"), value("hookd_store_syncs_total"));
  }
}

// An enabled endpoint of `company` (not inserted).
Endpoint MakeEndpoint(const CompanyId& company) {
  Endpoint ep;
  ep.id = EndpointId::New();
  ep.company_id = company;
  ep.url = "https://example.com/hook";
  ep.event_types = {"employee.*"};
  ep.secret = NewSigningSecret();
  ep.created_at_ms = ep.updated_at_ms = NowMs();
  return ep;
}

// `n` events of `company`, each with one pending delivery to `endpoint`.
IngestRequest MakeIngest(const CompanyId& company, const EndpointId& endpoint, int n) {
  IngestRequest req;
  req.company = company;
  for (int i = 0; i < n; ++i) {
    NewEvent ne;
    ne.event.id = EventId::New();
    ne.event.company_id = company;
    ne.event.type = "employee.hired";
    ne.event.subject = "emp_" + std::to_string(i);
    ne.event.created_at_ms = NowMs();
    ne.event.payload = R"({"n":)" + std::to_string(i) + "}";
    Delivery d;
    d.id = DeliveryId::New();
    d.company_id = company;
    d.event_id = ne.event.id;
    d.endpoint_id = endpoint;
    d.status = DeliveryStatus::kPending;
    d.next_attempt_at_ms = d.created_at_ms = NowMs();
    ne.deliveries.push_back(d);
    req.events.push_back(std::move(ne));
  }
  return req;
}

// PostgreSQL only: what another node must hear about is announced with the commit that made
// it (NOTIFY in the same transaction), and nothing is announced for a write that failed.
TEST(PostgresStore, WritesOtherNodesMustHearAboutNotifyWithTheirCommit) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto opened = hookd::testing::OpenMigratedPostgres(url);
  ASSERT_TRUE(opened) << opened.error().message;
  auto [store, pg] = std::move(*opened);
  PGconn* listener = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(listener), CONNECTION_OK) << PQerrorMessage(listener);
  PQclear(PQexec(listener, "LISTEN hookd"));
  // The next notice, waiting on the connection's socket (at most 5 s); "" when none came.
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
  Company c{CompanyId::New(), "Acme", NowMs()};
  ASSERT_TRUE(store->InsertCompany(c));
  Endpoint ep = MakeEndpoint(c.id);
  ASSERT_TRUE(store->InsertEndpoint(ep));
  EXPECT_EQ(next_notice(), "e " + pg->NodeId() + " " + c.id.str() + " " + ep.id.str());

  IngestRequest req = MakeIngest(c.id, ep.id, 3);
  ASSERT_TRUE(store->IngestSync(req));
  auto parsed = pg::ParseNotice(next_notice());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kind, pg::Notice::Kind::kReady);
  EXPECT_EQ(parsed->node, pg->NodeId());
  ASSERT_EQ(parsed->deliveries.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(parsed->deliveries[i].id, req.events[i].deliveries[0].id);
    EXPECT_EQ(parsed->deliveries[i].shard, LeaseShardOf(ep.id));
    EXPECT_FALSE(parsed->deliveries[i].event);  // alone: nobody else to carry events to
  }
  pg->CarryEventsInNotices(true);  // as PgCluster does while other nodes are live
  IngestRequest carried = MakeIngest(c.id, ep.id, 1);
  ASSERT_TRUE(store->IngestSync(carried));
  auto with_event = pg::ParseNotice(next_notice());
  ASSERT_TRUE(with_event);
  ASSERT_EQ(with_event->deliveries.size(), 1u);
  ASSERT_TRUE(with_event->deliveries[0].event);
  EXPECT_EQ(with_event->deliveries[0].event->id, carried.events[0].event.id);
  EXPECT_EQ(with_event->deliveries[0].event->Payload(), carried.events[0].event.payload);
  pg->CarryEventsInNotices(false);
  // Loaded by id, in the notice's order, with payloads; only those still pending.
  std::vector<DeliveryId> ids{req.events[2].deliveries[0].id, req.events[0].deliveries[0].id,
                              DeliveryId::New()};
  auto ready = pg->LoadReadyDeliveries(ids);
  ASSERT_TRUE(ready) << ready.error().message;
  ASSERT_EQ(ready->size(), 2u);
  EXPECT_EQ((*ready)[0].id, ids[0]);
  EXPECT_EQ((*ready)[1].id, ids[1]);
  ASSERT_TRUE((*ready)[0].payload);
  EXPECT_EQ(*(*ready)[0].payload, req.events[2].event.payload);

  // A write that fails announces nothing; the next one is the next notice.
  EXPECT_FALSE(store->RevokeToken(c.id, TokenId::New()));
  ASSERT_TRUE(store->DisableEndpoint(c.id, ep.id, DisabledReason::kManual, NowMs()));
  EXPECT_EQ(next_notice(), "e " + pg->NodeId() + " " + c.id.str() + " " + ep.id.str());
  PQfinish(listener);
}

// PostgreSQL only: with the hand-over on (PgCluster::Join turns it on), the pending deliveries
// an ingest writes are kept in memory with their payload as sent — plain, even with encryption
// at rest — for this node's listener; an ingest that fails or is answered from its idempotency
// record keeps nothing; off (the default, and after Leave), nothing is kept.
TEST(PostgresStore, AcceptedDeliveriesAreKeptForTheListenerOnlyOnceCommitted) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto cipher = FieldCipher::FromKeyText(FieldCipher::NewKeyLine());
  ASSERT_TRUE(cipher);
  auto opened = hookd::testing::OpenMigratedPostgres(url, {.cipher = *cipher});
  ASSERT_TRUE(opened) << opened.error().message;
  auto [store, pg] = std::move(*opened);
  Company c{CompanyId::New(), "Acme", NowMs()};
  ASSERT_TRUE(store->InsertCompany(c));
  Endpoint ep = MakeEndpoint(c.id);
  ASSERT_TRUE(store->InsertEndpoint(ep));

  IngestRequest off = MakeIngest(c.id, ep.id, 1);
  ASSERT_TRUE(store->IngestSync(off));
  EXPECT_FALSE(pg->TakeAccepted(off.events[0].deliveries[0].id));  // off by default

  pg->KeepAcceptedDeliveries(true);
  IngestRequest two = MakeIngest(c.id, ep.id, 2);
  two.events[1].deliveries[0].status = DeliveryStatus::kHeld;  // not ready: not kept
  ASSERT_TRUE(store->IngestSync(two));
  auto kept = pg->TakeAccepted(two.events[0].deliveries[0].id);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->event_id, two.events[0].event.id);
  EXPECT_EQ(kept->endpoint_id, ep.id);
  EXPECT_EQ(kept->subject, two.events[0].event.subject);
  EXPECT_EQ(kept->attempts, 0);
  ASSERT_TRUE(kept->payload);
  EXPECT_EQ(*kept->payload, two.events[0].event.payload);
  // What the listener would have read back instead, the same.
  auto loaded = pg->LoadReadyDeliveries({kept->id});
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(*(*loaded)[0].payload, *kept->payload);
  EXPECT_EQ((*loaded)[0].next_attempt_at_ms, kept->next_attempt_at_ms);
  EXPECT_FALSE(pg->TakeAccepted(two.events[0].deliveries[0].id));  // taken once
  EXPECT_FALSE(pg->TakeAccepted(two.events[1].deliveries[0].id));

  IngestRequest bad = MakeIngest(c.id, ep.id, 2);
  bad.events[1].deliveries[0].id = bad.events[0].deliveries[0].id;  // the second insert collides
  EXPECT_FALSE(store->IngestSync(bad));
  EXPECT_FALSE(pg->TakeAccepted(bad.events[0].deliveries[0].id));

  IngestRequest keyed = MakeIngest(c.id, ep.id, 1);
  keyed.idempotency_key = "k1";
  keyed.request_hash = "h";
  keyed.response_body = "{}";
  ASSERT_TRUE(store->IngestSync(keyed));
  EXPECT_TRUE(pg->TakeAccepted(keyed.events[0].deliveries[0].id));
  IngestRequest again = MakeIngest(c.id, ep.id, 1);  // the same key again: answered, not written
  again.idempotency_key = "k1";
  again.request_hash = "h";
  auto replayed = store->IngestSync(again);
  ASSERT_TRUE(replayed);
  EXPECT_TRUE(replayed->replayed);
  EXPECT_FALSE(pg->TakeAccepted(again.events[0].deliveries[0].id));

  IngestRequest dropped = MakeIngest(c.id, ep.id, 1);
  ASSERT_TRUE(store->IngestSync(dropped));
  pg->ForgetAccepted();
  EXPECT_FALSE(pg->TakeAccepted(dropped.events[0].deliveries[0].id));
  pg->KeepAcceptedDeliveries(false);
  IngestRequest after = MakeIngest(c.id, ep.id, 1);
  ASSERT_TRUE(store->IngestSync(after));
  EXPECT_FALSE(pg->TakeAccepted(after.events[0].deliveries[0].id));
}

// What a node's change feed hands its dispatchers (PgCluster's listener thread writes).
struct RecordingListener : ChangeListener {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<PendingDelivery> ready;  // GUARDED_BY(mu)
  int missed = 0;                      // GUARDED_BY(mu): OnChangesMissed calls
  void OnDeliveriesReady(std::vector<PendingDelivery> deliveries) override {
    std::lock_guard lock(mu);
    for (auto& d : deliveries) ready.push_back(std::move(d));
    cv.notify_all();
  }
  void OnEndpointChanged(const CompanyId&, const EndpointId&) override {}
  void OnDeliveriesRequeued(const CompanyId&, const EndpointId&) override {}
  void OnChangesMissed() override {
    std::lock_guard lock(mu);
    ++missed;
    cv.notify_all();
  }
};

// Two nodes on one database: B joins first and takes every shard; A joins next, takes none (B's
// leases run for another minute) and, finding another node live, carries its events to B in
// its notices. Each store seals with its own cipher. A company with one endpoint; `recorder`
// hears what reaches B's dispatcher.
struct TwoNodes {
  std::string url;
  std::unique_ptr<Store> store_a, store_b;
  PostgresStore* pg_a = nullptr;
  PostgresStore* pg_b = nullptr;
  RecordingListener recorder;
  Company c{CompanyId::New(), "Acme", NowMs()};
  Endpoint ep;
  std::unique_ptr<PgCluster> owner, node_a;

  void Open(std::shared_ptr<const FieldCipher> cipher_a, std::shared_ptr<const FieldCipher> cipher_b) {
    url = hookd::testing::NewPostgresDatabaseUrl();
    auto opened_a = hookd::testing::OpenMigratedPostgres(url, {.cipher = cipher_a});
    ASSERT_TRUE(opened_a) << opened_a.error().message;
    store_a = std::move(opened_a->store);
    pg_a = opened_a->pg;
    auto opened_b = hookd::testing::OpenMigratedPostgres(url, {.cipher = cipher_b});
    ASSERT_TRUE(opened_b) << opened_b.error().message;
    store_b = std::move(opened_b->store);
    pg_b = opened_b->pg;
    ASSERT_TRUE(store_a->InsertCompany(c));
    ep = MakeEndpoint(c.id);
    ASSERT_TRUE(store_a->InsertEndpoint(ep));
    owner = std::make_unique<PgCluster>(*pg_b, ClusterOptions{.lease_ms = 60'000});
    owner->Subscribe(recorder);
    ASSERT_TRUE(owner->Join());
    ASSERT_EQ(owner->ShardsHeld(), kLeaseShards);
    EXPECT_FALSE(pg_a->CarriesEventsInNotices());
    node_a = std::make_unique<PgCluster>(*pg_a, ClusterOptions{.lease_ms = 60'000});
    ASSERT_TRUE(node_a->Join());
    EXPECT_EQ(node_a->ShardsHeld(), 0);
    EXPECT_TRUE(pg_a->CarriesEventsInNotices());
  }
  ~TwoNodes() {
    if (node_a) node_a->Leave();
    if (owner) owner->Leave();
  }
};

// PostgreSQL only: a renewal that is late lets this node's leases lapse for a moment (no
// delivery starts: UsableEpoch is 0), yet the node still owns its shards — a delivery
// announced meanwhile must still reach its dispatcher, which sends it once the renewal is
// through. Skipped, nobody would read it back: no other node takes a shard before the lease
// expires in the database, and this one reads back only what a notice names.
TEST(PostgresStore, DeliveriesAnnouncedWhileTheLeasesLapseStillReachTheDispatcher) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto opened = hookd::testing::OpenMigratedPostgres(url);
  ASSERT_TRUE(opened) << opened.error().message;
  auto [store, pg] = std::move(*opened);
  RecordingListener recorder;
  hookd::testing::SimulatedClock clock;
  PgCluster cluster(*pg, ClusterOptions{.lease_ms = 900, .clock = &clock});
  cluster.Subscribe(recorder);
  ASSERT_TRUE(cluster.Join());
  ASSERT_EQ(cluster.ShardsHeld(), kLeaseShards);  // alone: every shard, taken in Join
  Company c{CompanyId::New(), "Acme", NowMs()};
  ASSERT_TRUE(store->InsertCompany(c));
  Endpoint ep = MakeEndpoint(c.id);
  ASSERT_TRUE(store->InsertEndpoint(ep));
  const int shard = LeaseShardOf(ep.id);

  // Hold the next renewal up (it waits for this lock on the leases table), then let the
  // leases' validity — 3/4 of the lease time after the last renewal that went through — pass.
  PGconn* blocker = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(blocker), CONNECTION_OK) << PQerrorMessage(blocker);
  PQclear(PQexec(blocker, "BEGIN; LOCK TABLE shard_leases IN ACCESS EXCLUSIVE MODE"));
  ASSERT_NE(cluster.UsableEpoch(shard), 0);
  clock.Advance(900);
  ASSERT_EQ(cluster.UsableEpoch(shard), 0);

  IngestRequest req = MakeIngest(c.id, ep.id, 1);
  const DeliveryId id = req.events[0].deliveries[0].id;
  ASSERT_TRUE(store->IngestSync(req));
  {
    std::unique_lock lock(recorder.mu);
    EXPECT_TRUE(recorder.cv.wait_for(lock, std::chrono::seconds(5), [&] { return !recorder.ready.empty(); }));
    if (!recorder.ready.empty()) {
      EXPECT_EQ(recorder.ready[0].id, id);
    }
  }
  EXPECT_EQ(cluster.UsableEpoch(shard), 0);  // still held up: the delivery came while lapsed
  // Accepted here: it came from memory, which the notice emptied (not read back from the store).
  EXPECT_FALSE(pg->TakeAccepted(id));
  PQclear(PQexec(blocker, "ROLLBACK"));
  PQfinish(blocker);
  cluster.Leave();
}

// PostgreSQL only: notices of committed ingests that could not be sent — pg_notify refused
// here; in life, the connection lost just after COMMIT — are sent again by the writer, alone
// once a second, until they go. The ingest is answered (it committed) and its delivery still
// reaches the owner, with no other write to carry the notice.
TEST(PostgresStore, NoticesThatCouldNotBeSentAfterTheCommitAreSentAgain) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto opened_b = hookd::testing::OpenMigratedPostgres(url);
  ASSERT_TRUE(opened_b) << opened_b.error().message;
  RecordingListener recorder;
  PgCluster owner(*opened_b->pg, ClusterOptions{.lease_ms = 60'000});
  owner.Subscribe(recorder);
  ASSERT_TRUE(owner.Join());
  Company c{CompanyId::New(), "Acme", NowMs()};
  ASSERT_TRUE(opened_b->store->InsertCompany(c));
  Endpoint ep = MakeEndpoint(c.id);
  ASSERT_TRUE(opened_b->store->InsertEndpoint(ep));

  // Node A connects as a role that may write hookd's tables but not call pg_notify.
  PGconn* sql = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(sql), CONNECTION_OK) << PQerrorMessage(sql);
  auto run = [&](const std::string& q) {
    PGresult* r = PQexec(sql, q.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << q << ": " << PQresultErrorMessage(r);
    PQclear(r);
  };
  run("DO $$ BEGIN CREATE ROLE hookd_no_notify LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
  run("GRANT USAGE ON SCHEMA public TO hookd_no_notify");
  run("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO hookd_no_notify");
  run("REVOKE EXECUTE ON FUNCTION pg_notify(text, text) FROM PUBLIC");
  auto opened_a = OpenStore(url + "&user=hookd_no_notify");
  ASSERT_TRUE(opened_a) << opened_a.error().message;
  hookd::testing::LogCapture logs;

  IngestRequest req = MakeIngest(c.id, ep.id, 1);
  const DeliveryId id = req.events[0].deliveries[0].id;
  auto accepted = (*opened_a)->IngestSync(req);
  ASSERT_TRUE(accepted) << accepted.error().message;  // committed: answered
  EXPECT_TRUE((*opened_a)->GetDelivery(c.id, id));
  EXPECT_GE(logs.Count("notices of committed deliveries not sent"), 1) << logs.Text();

  run("GRANT EXECUTE ON FUNCTION pg_notify(text, text) TO PUBLIC");
  {
    std::unique_lock lock(recorder.mu);
    EXPECT_TRUE(recorder.cv.wait_for(lock, std::chrono::seconds(10), [&] {
      return std::any_of(recorder.ready.begin(), recorder.ready.end(), [&](const PendingDelivery& d) { return d.id == id; });
    }));
    EXPECT_EQ(recorder.missed, 0);  // heard from the notice, not from a read-back
  }
  EXPECT_GE(logs.Count("notices of committed deliveries sent late"), 1) << logs.Text();
  PQfinish(sql);
  owner.Leave();
}

// PostgreSQL only: a node sends its ingests' notices right after their COMMIT, in a transaction
// of its own (PostgresStore::CommitGroup); one that dies between the two leaves deliveries that
// nobody announced. So when a node stops renewing, the others read back everything pending —
// once, not at every renewal.
TEST(PostgresStore, ANodeThatStopsRenewingMakesTheOthersReadBackWhatIsPending) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto opened_b = hookd::testing::OpenMigratedPostgres(url);
  ASSERT_TRUE(opened_b) << opened_b.error().message;
  auto opened_a = hookd::testing::OpenMigratedPostgres(url);
  ASSERT_TRUE(opened_a) << opened_a.error().message;
  RecordingListener recorder;
  // B's clock never moves: its lease thread stays idle and the test renews with RenewNow.
  hookd::testing::SimulatedClock clock;
  PgCluster b(*opened_b->pg, ClusterOptions{.lease_ms = 900, .clock = &clock});
  b.Subscribe(recorder);
  ASSERT_TRUE(b.Join());
  PgCluster a(*opened_a->pg, ClusterOptions{.lease_ms = 60'000});  // renews again in 20 s
  ASSERT_TRUE(a.Join());
  auto missed = [&] {
    std::lock_guard lock(recorder.mu);
    return recorder.missed;
  };
  ASSERT_TRUE(b.RenewNow());  // B sees A live
  ASSERT_TRUE(b.RenewNow());
  EXPECT_EQ(missed(), 0);  // nobody gone: nothing to read back

  // A stops renewing, as a node killed would.
  PGconn* sql = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(sql), CONNECTION_OK) << PQerrorMessage(sql);
  PGresult* r = PQexec(sql, ("UPDATE nodes SET seen_at = now() - interval '1 hour' WHERE id = '" +
                             opened_a->pg->NodeId() + "'").c_str());
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(sql);
  ASSERT_TRUE(b.RenewNow());
  EXPECT_EQ(missed(), 1);
  ASSERT_TRUE(b.RenewNow());
  EXPECT_EQ(missed(), 1);  // once, not at every renewal
  a.Leave();
  b.Leave();
}

// PostgreSQL only: a delivery another node accepted reaches the owner's dispatcher from its
// notice, which carries the (small) event whole — sealed under encryption at rest — so the
// owner reads nothing back. Shown with the database closed to new connections once the nodes
// are up: the owner could not open a reader. A large event is not carried: read back.
TEST(PostgresStore, AnotherNodesDeliveryReachesTheOwnerFromItsNoticeWithoutARead) {
  auto cipher = FieldCipher::FromKeyText(FieldCipher::NewKeyLine());
  ASSERT_TRUE(cipher);
  TwoNodes n;
  ASSERT_NO_FATAL_FAILURE(n.Open(*cipher, *cipher));
  const std::string& url = n.url;
  const Company& c = n.c;
  const Endpoint& ep = n.ep;
  Store* store_a = n.store_a.get();
  RecordingListener& recorder = n.recorder;

  // A session on another database of the server: its own cannot be closed from inside.
  PGconn* probe = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(probe), CONNECTION_OK) << PQerrorMessage(probe);
  const std::string db = PQdb(probe);
  PGconn* admin = PQconnectdb(
      ("host=" + std::string(PQhost(probe)) + " port=" + PQport(probe) + " user=" + PQuser(probe) + " dbname=postgres")
          .c_str());
  PQfinish(probe);
  ASSERT_EQ(PQstatus(admin), CONNECTION_OK) << PQerrorMessage(admin);
  {
    PGresult* r = PQexec(admin, ("ALTER DATABASE \"" + db + "\" ALLOW_CONNECTIONS false").c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
    PQclear(r);
  }
  PGconn* refused = PQconnectdb(url.c_str());
  EXPECT_EQ(PQstatus(refused), CONNECTION_BAD);
  PQfinish(refused);

  IngestRequest req = MakeIngest(c.id, ep.id, 2);
  req.events[0].event.subject = "emp 42: @home";
  req.events[1].event.payload = R"({"note":")" + std::string(pg::kMaxInlineEventBytes, 'x') + R"("})";
  const DeliveryId carried = req.events[0].deliveries[0].id;
  ASSERT_TRUE(store_a->IngestSync(req));  // node A's writer was connected before
  {
    std::unique_lock lock(recorder.mu);
    EXPECT_TRUE(recorder.cv.wait_for(lock, std::chrono::seconds(5), [&] { return recorder.missed > 0; }));
    ASSERT_FALSE(recorder.ready.empty());
    const PendingDelivery& d = recorder.ready[0];
    EXPECT_EQ(d.id, carried);
    EXPECT_EQ(d.company_id, c.id);
    EXPECT_EQ(d.event_id, req.events[0].event.id);
    EXPECT_EQ(d.endpoint_id, ep.id);
    EXPECT_EQ(d.subject, "emp 42: @home");
    EXPECT_EQ(d.attempts, 0);
    EXPECT_EQ(d.next_attempt_at_ms, *req.events[0].deliveries[0].next_attempt_at_ms);
    ASSERT_TRUE(d.payload);
    EXPECT_EQ(*d.payload, R"({"n":0})");  // opened: the notice carried it sealed
    // The large one needed a read, which the closed database refused: read back later.
    EXPECT_EQ(recorder.ready.size(), 1u);
    EXPECT_EQ(recorder.missed, 1);
  }
  PQclear(PQexec(admin, ("ALTER DATABASE \"" + db + "\" ALLOW_CONNECTIONS true").c_str()));
  PQfinish(admin);
  n.node_a->Leave();
  EXPECT_FALSE(n.pg_a->CarriesEventsInNotices());
}

// PostgreSQL only: a node that cannot open the payloads other nodes carry (its key file lacks
// the key they seal with, e.g. halfway through a key rotation done node by node) says so once
// per 10 s with a count, not once per event — and still reads the deliveries back.
TEST(PostgresStore, PayloadsANodeCannotOpenAreReportedOncePerIntervalNotPerEvent) {
  hookd::testing::LogCapture log;
  auto sealing = FieldCipher::FromKeyText(FieldCipher::NewKeyLine());
  auto other = FieldCipher::FromKeyText(FieldCipher::NewKeyLine());
  ASSERT_TRUE(sealing && other);
  TwoNodes n;
  ASSERT_NO_FATAL_FAILURE(n.Open(*sealing, *other));
  const Company& c = n.c;
  const Endpoint& ep = n.ep;
  Store* store_a = n.store_a.get();
  RecordingListener& recorder = n.recorder;

  for (int notice = 1; notice <= 2; ++notice) {
    ASSERT_TRUE(store_a->IngestSync(MakeIngest(c.id, ep.id, 3)));  // one endpoint: one notice
    // The notice's deliveries are read back instead (which fails as well here: no key), and
    // the dispatcher told to read back all pending ones.
    std::unique_lock lock(recorder.mu);
    EXPECT_TRUE(recorder.cv.wait_for(lock, std::chrono::seconds(5), [&] { return recorder.missed >= notice; }));
    EXPECT_TRUE(recorder.ready.empty());
  }
  EXPECT_EQ(log.Count("cannot open the payload a notice carried"), 1u) << log.Text();  // six events
  EXPECT_EQ(log.Count("cannot load announced deliveries"), 1u) << log.Text();          // two notices
}

// PostgreSQL only: an outcome decided under a shard lease is written only while that lease is
// still this node's at the same epoch; once another node took the shard, it is refused (the
// new owner sends the delivery again) — whatever else the batch holds is written.
TEST(PostgresStore, OutcomesAreFencedByTheirShardsLease) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto opened = hookd::testing::OpenMigratedPostgres(url);
  ASSERT_TRUE(opened) << opened.error().message;
  auto [store, pg] = std::move(*opened);
  metrics::Registry registry;
  store->Instrument(registry);
  Company c{CompanyId::New(), "Acme", NowMs()};
  ASSERT_TRUE(store->InsertCompany(c));
  Endpoint ep = MakeEndpoint(c.id);
  ASSERT_TRUE(store->InsertEndpoint(ep));
  IngestRequest req = MakeIngest(c.id, ep.id, 3);
  ASSERT_TRUE(store->IngestSync(req));
  const int shard = LeaseShardOf(ep.id);
  PGconn* admin = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(admin), CONNECTION_OK);
  auto set_owner = [&](const std::string& owner, int epoch) {
    const std::string sql = "UPDATE shard_leases SET owner = '" + owner + "', epoch = " + std::to_string(epoch) +
                            ", expires_at = now() + interval '1 minute' WHERE shard = " + std::to_string(shard);
    PGresult* r = PQexec(admin, sql.c_str());
    ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
    PQclear(r);
  };
  auto outcome = [&](int i, int epoch) {
    DeliveryUpdate u{req.events[i].deliveries[0].id, c.id, DeliveryStatus::kSucceeded, 1, std::nullopt, NowMs(),
                     std::nullopt};
    u.lease_shard = shard;
    u.lease_epoch = epoch;
    return u;
  };
  auto apply = [&](std::vector<DeliveryUpdate> updates) {
    std::promise<Result<void>> done;
    store->ApplyDispatchUpdates(std::move(updates), {}, [&](Result<void> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  };
  auto status = [&](int i) { return store->GetDelivery(c.id, req.events[i].deliveries[0].id)->status; };

  set_owner(pg->NodeId(), 5);
  ASSERT_TRUE(apply({outcome(0, 5)}));
  EXPECT_EQ(status(0), DeliveryStatus::kSucceeded);
  // Another node took the shard (epoch 6): this node's outcome under epoch 5 is refused; an
  // unfenced one in the same batch (a node without leases) is written.
  set_owner("another-node", 6);
  DeliveryUpdate unfenced = outcome(2, 0);
  unfenced.lease_shard = -1;
  ASSERT_TRUE(apply({outcome(1, 5), unfenced}));
  EXPECT_EQ(status(1), DeliveryStatus::kPending);
  EXPECT_EQ(status(2), DeliveryStatus::kSucceeded);
  // Back to this node at a new epoch: the old epoch stays refused, the new one is written.
  set_owner(pg->NodeId(), 7);
  ASSERT_TRUE(apply({outcome(1, 5)}));
  EXPECT_EQ(status(1), DeliveryStatus::kPending);
  ASSERT_TRUE(apply({outcome(1, 7)}));
  EXPECT_EQ(status(1), DeliveryStatus::kSucceeded);
  EXPECT_NE(registry.Render().find("hookd_fenced_outcomes_total 2\n"), std::string::npos) << registry.Render();
  PQfinish(admin);
}

// PostgreSQL only: a refused outcome is counted once, when its group commits — not again when
// a failure elsewhere in the group has it rolled back and run a second time.
TEST(PostgresStore, ARefusedOutcomeIsCountedOnceWhenItsGroupIsRunAgain) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto opened = hookd::testing::OpenMigratedPostgres(url);
  ASSERT_TRUE(opened) << opened.error().message;
  auto [store, pg] = std::move(*opened);
  metrics::Registry registry;
  store->Instrument(registry);
  Company c{CompanyId::New(), "Acme", NowMs()};
  ASSERT_TRUE(store->InsertCompany(c));
  Endpoint ep = MakeEndpoint(c.id);
  ASSERT_TRUE(store->InsertEndpoint(ep));
  IngestRequest req = MakeIngest(c.id, ep.id, 2);
  ASSERT_TRUE(store->IngestSync(req));
  const DeliveryId fenced_id = req.events[0].deliveries[0].id, other = req.events[1].deliveries[0].id;
  Attempt x;
  x.id = AttemptId::New();
  x.delivery_id = other;
  x.number = 1;
  x.started_at_ms = NowMs();
  x.status_code = 500;
  auto apply = [&](std::vector<DeliveryUpdate> updates, std::promise<Result<void>>& done) {
    store->ApplyDispatchUpdates(std::move(updates), {}, [&done](Result<void> r) { done.set_value(std::move(r)); });
  };
  std::promise<Result<void>> first;
  apply({DeliveryUpdate{other, c.id, DeliveryStatus::kPending, 1, NowMs() + 60'000, NowMs(), x}}, first);
  ASSERT_TRUE(first.get_future().get());

  // A large ingest keeps the writer busy while two outcome batches queue up behind it and share
  // a group: one refused (a lease this node never held), one whose attempt collides with the
  // one above — its failure rolls the group back, and the group runs again, job by job.
  IngestRequest big = MakeIngest(c.id, ep.id, 1);
  for (int i = 0; i < 3000; ++i) big.events[0].deliveries.push_back(Delivery{big.events[0].deliveries[0]});
  for (size_t i = 1; i < big.events[0].deliveries.size(); ++i) big.events[0].deliveries[i].id = DeliveryId::New();
  std::promise<bool> big_done;
  store->Ingest(std::move(big), [&](Result<IngestResult> r) { big_done.set_value(r.has_value()); });
  DeliveryUpdate refused{fenced_id, c.id, DeliveryStatus::kSucceeded, 1, std::nullopt, NowMs(), std::nullopt};
  refused.lease_shard = LeaseShardOf(ep.id);
  refused.lease_epoch = 99;
  std::promise<Result<void>> a, b;
  apply({refused}, a);
  apply({DeliveryUpdate{other, c.id, DeliveryStatus::kFailed, 2, std::nullopt, NowMs(), x}}, b);
  EXPECT_TRUE(big_done.get_future().get());
  EXPECT_TRUE(a.get_future().get());
  EXPECT_FALSE(b.get_future().get());
  EXPECT_EQ(store->GetDelivery(c.id, fenced_id)->status, DeliveryStatus::kPending);
  EXPECT_NE(registry.Render().find("hookd_fenced_outcomes_total 1\n"), std::string::npos) << registry.Render();
}

// PostgreSQL only: an ingest's 202 waits for the WAL flush; a group of delivery outcomes alone
// does not (as on SQLite: a server crash may lose it, and the delivery is sent again) — it is
// committed and visible at once all the same.
TEST(PostgresStore, OutcomesAloneCommitWithoutWaitingForTheWalFlush) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto opened = hookd::testing::OpenMigratedPostgres(url);
  ASSERT_TRUE(opened) << opened.error().message;
  auto [store, pg] = std::move(*opened);
  metrics::Registry registry;
  store->Instrument(registry);
  auto value = [&](const std::string& sample) {
    const std::string text = registry.Render();
    const size_t at = text.find("\n" + sample + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + sample.size() + 2));
  };
  Company c{CompanyId::New(), "Acme", NowMs()};
  ASSERT_TRUE(store->InsertCompany(c));
  Endpoint ep = MakeEndpoint(c.id);
  ASSERT_TRUE(store->InsertEndpoint(ep));
  const double commits0 = value("hookd_store_commits_total"), syncs0 = value("hookd_store_syncs_total");
  ASSERT_GE(syncs0, 0) << registry.Render();

  IngestRequest req = MakeIngest(c.id, ep.id, 1);
  ASSERT_TRUE(store->IngestSync(req));
  EXPECT_EQ(value("hookd_store_commits_total"), commits0 + 1);
  EXPECT_EQ(value("hookd_store_syncs_total"), syncs0 + 1);
  EXPECT_EQ(value("hookd_store_sync_seconds_count"), syncs0 + 1);

  std::promise<Result<void>> done;
  store->ApplyDispatchUpdates({DeliveryUpdate{req.events[0].deliveries[0].id, c.id, DeliveryStatus::kSucceeded, 1,
                                              std::nullopt, NowMs(), std::nullopt}},
                              {}, [&](Result<void> r) { done.set_value(std::move(r)); });
  ASSERT_TRUE(done.get_future().get());
  EXPECT_EQ(value("hookd_store_commits_total"), commits0 + 2);
  EXPECT_EQ(value("hookd_store_syncs_total"), syncs0 + 1);  // no wait for the flush
  EXPECT_EQ(store->GetDelivery(c.id, req.events[0].deliveries[0].id)->status, DeliveryStatus::kSucceeded);
}

// PostgreSQL only: a lease renewal in progress (its UPDATE of expires_at holds the lease rows)
// does not hold up an outcome batch fenced by those leases — with FOR SHARE it did, and a
// renewal and a batch locking rows in different orders deadlocked (bench/cluster.sh).
TEST(PostgresStore, ALeaseRenewalInProgressDoesNotHoldUpFencedOutcomes) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto opened = hookd::testing::OpenMigratedPostgres(url);
  ASSERT_TRUE(opened) << opened.error().message;
  auto [store, pg] = std::move(*opened);
  Company c{CompanyId::New(), "Acme", NowMs()};
  ASSERT_TRUE(store->InsertCompany(c));
  Endpoint ep = MakeEndpoint(c.id);
  ASSERT_TRUE(store->InsertEndpoint(ep));
  IngestRequest req = MakeIngest(c.id, ep.id, 1);
  ASSERT_TRUE(store->IngestSync(req));
  const std::string shard = std::to_string(LeaseShardOf(ep.id));
  PGconn* renewal = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(renewal), CONNECTION_OK);
  auto exec = [&](const std::string& sql) {
    PGresult* r = PQexec(renewal, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << sql << ": " << PQresultErrorMessage(r);
    PQclear(r);
  };
  exec("UPDATE shard_leases SET owner = '" + pg->NodeId() + "', epoch = 3 WHERE shard = " + shard);
  exec("BEGIN");
  exec("UPDATE shard_leases SET expires_at = now() + interval '6 seconds' WHERE owner = '" + pg->NodeId() + "'");
  DeliveryUpdate u{req.events[0].deliveries[0].id, c.id, DeliveryStatus::kSucceeded, 1, std::nullopt, NowMs(),
                   std::nullopt};
  u.lease_shard = LeaseShardOf(ep.id);
  u.lease_epoch = 3;
  auto done = std::make_shared<std::promise<Result<void>>>();
  auto written = done->get_future();
  store->ApplyDispatchUpdates({u}, {}, [done](Result<void> r) { done->set_value(std::move(r)); });
  const bool in_time = written.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  exec("COMMIT");  // lets a held-up batch finish either way
  EXPECT_TRUE(in_time) << "the outcome batch waited for the renewal's transaction";
  ASSERT_TRUE(written.get());
  EXPECT_EQ(store->GetDelivery(c.id, u.id)->status, DeliveryStatus::kSucceeded);
  PQfinish(renewal);
}

// PostgreSQL only: several nodes share one database — a second store (serving or not) opens.
TEST(PostgresStore, SeveralNodesOpenOneDatabase) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto first = OpenStore(url, {.exclusive = true});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE((*first)->Migrate());
  auto second = OpenStore(url, {.exclusive = true});
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_TRUE((*second)->Migrate());
  EXPECT_NE(dynamic_cast<PostgresStore*>(first->get())->NodeId(), dynamic_cast<PostgresStore*>(second->get())->NodeId());
}

// PostgreSQL only: nodes starting at once on a new database each migrate it, and every one
// succeeds (they take turns under an advisory transaction lock; without it, the group
// commit's redo happens to rescue the losers of the race too, so this pins the behaviour, not
// the lock).
TEST(PostgresStore, ConcurrentMigrationsAllSucceed) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < 4; ++i) {
    auto s = OpenStore(url);
    ASSERT_TRUE(s) << s.error().message;
    stores.push_back(std::move(*s));
  }
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (auto& s : stores)
    threads.emplace_back([&ok, store = s.get()] {
      if (auto r = store->Migrate()) ++ok;
      else ADD_FAILURE() << r.error().message;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  Company c{CompanyId::New(), "Acme", NowMs()};
  EXPECT_TRUE(stores[0]->InsertCompany(c));
  EXPECT_TRUE(stores[3]->GetCompany(c.id));
}

// PostgreSQL only: a prepared statement is planned for the table it finds at each run, not for
// the table it found when first run. With the server's default plan_cache_mode (auto), the sixth
// run of a statement caches a generic plan; one cached while the table was small (a new
// node's first minutes) stays a hash join over a sequential scan after the table has grown to
// millions of rows — nothing but ANALYZE or DDL replans it — and each outcome write read the
// whole deliveries table (measured: 317 µs per delivery against 14 µs; bench/README.md).
TEST(PostgresStore, PreparedStatementsArePlannedForTheTableTheyFindNow) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto opened = pg::Conn::Open(url);
  ASSERT_TRUE(opened) << opened.error().message;
  pg::Conn& db = **opened;
  // A few rows, analyzed as autovacuum does when a table is new.
  ASSERT_TRUE(db.ExecScript("CREATE TABLE grows (id text PRIMARY KEY, n bigint NOT NULL); "
                            "INSERT INTO grows VALUES ('a', 0), ('b', 0), ('c', 0); ANALYZE grows"));
  static const char* kUpdate =
      "UPDATE grows SET n = u.n FROM unnest($1::text[], $2::bigint[]) AS u(id, n) WHERE grows.id = u.id";
  for (int i = 0; i < 8; ++i) {  // past the runs after which a generic plan would be cached
    auto r = db.Exec(kUpdate, pg::Params().Text("{a,b}").Text("{1,2}"));
    ASSERT_TRUE(r) << r.error().message;
  }
  ASSERT_TRUE(db.ExecScript("INSERT INTO grows SELECT 'k' || g, g FROM generate_series(1, 100000) g"));
  auto updated = db.Exec(kUpdate, pg::Params().Text("{k7,k9}").Text("{70,90}"));
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->Affected(), 2);
  // The plan the same prepared statement runs with now (Exec named it hookd_1).
  pg::Rows plan(PQexec(db.raw(), "EXPLAIN EXECUTE hookd_1('{k7,k9}', '{70,90}')"));
  ASSERT_EQ(PQresultStatus(plan.raw()), PGRES_TUPLES_OK) << PQresultErrorMessage(plan.raw());
  std::string text;
  for (int i = 0; i < plan.size(); ++i) text += plan.Text(i, 0) + "\n";
  EXPECT_EQ(text.find("Seq Scan on grows"), std::string::npos) << text;
  EXPECT_NE(text.find("grows_pkey"), std::string::npos) << text;
}

// PostgreSQL only: a server that cannot be reached is kUnavailable (the API's 503), not a
// crash or a hang.
TEST(PostgresStore, AnUnreachableServerIsUnavailable) {
  auto s = OpenStore("postgresql://hookd:S3cret@/hookd?host=/nonexistent-hookd-dir&port=1");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(s.error().message.find("S3cret"), std::string::npos) << s.error().message;
}

// PostgreSQL only: the server closes every connection (as when it restarts). The store opens
// new ones — readers and the writer — and goes on.
TEST(PostgresStore, ConnectionsTheServerClosedAreReplaced) {
  const std::string url = hookd::testing::NewPostgresDatabaseUrl();
  auto opened = OpenStore(url, {.exclusive = true});
  ASSERT_TRUE(opened) << opened.error().message;
  std::unique_ptr<Store> store = std::move(*opened);
  ASSERT_TRUE(store->Migrate());
  Company a{CompanyId::New(), "Acme", NowMs()};
  ASSERT_TRUE(store->InsertCompany(a));
  ASSERT_TRUE(store->GetCompany(a.id));
  {
    auto admin = OpenStore(url);  // another session, not exclusive
    ASSERT_TRUE(admin);
  }
  // Terminate every other session on this database, from a plain libpq connection; with a
  // timeout, pg_terminate_backend waits until each has exited (PostgreSQL 14+): no sleep.
  const std::string conninfo = url;
  PGconn* c = PQconnectdb(conninfo.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c,
                       "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
  EXPECT_GE(std::stoi(PQgetvalue(r, 0, 0)), 2);  // writer, a reader
  PQclear(r);
  Company b{CompanyId::New(), "Globex", NowMs()};
  auto w = store->InsertCompany(b);
  EXPECT_TRUE(w) << w.error().message;
  auto g = store->GetCompany(b.id);
  EXPECT_TRUE(g) << g.error().message;
  EXPECT_TRUE(store->Ping());
  PQfinish(c);
}

}  // namespace
}  // namespace hookd

namespace hookd {
namespace {

TEST(PackedUlid, RoundTripsAndKeepsThePrefixType) {
  for (int i = 0; i < 100; ++i) {
    DeliveryId id = DeliveryId::New();
    PackedUlid p = id.Packed();
    EXPECT_EQ(DeliveryId::FromPacked(p), id);
    EXPECT_EQ(UnpackUlid(p), id.str().substr(4));
  }
  EXPECT_NE(EventId::New().Packed(), EventId::New().Packed());
}

TEST_P(StoreContract, CustomEventTypesAsDeepAsTheApiTakesPersist) {
  // ParseJson (what the API parses with) takes 64 levels; the store read them back with
  // Boost's default of 32 and lost the schema (found while fuzzing custom schemas).
  std::string schema, example;
  for (int i = 0; i < 25; ++i) schema += R"({"type":"object","properties":{"a":)";
  schema += R"({"type":"string"})";
  for (int i = 0; i < 25; ++i) schema += "}}";
  for (int i = 0; i < 50; ++i) example += R"({"a":)";
  example += R"("x")";
  for (int i = 0; i < 50; ++i) example += "}";
  EventTypeDef d;
  d.name = "payroll.deep";
  d.schema = *ParseJson(schema);
  d.example = *ParseJson(example);
  d.created_at_ms = NowMs();
  ASSERT_TRUE(store_->InsertEventType(d));
  auto all = store_->ListEventTypes();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].schema, d.schema);
  EXPECT_EQ((*all)[0].example, d.example);
}


// Why a delivery waits (issue 15): the earliest pending delivery of the same endpoint and
// subject before it — not one of another subject or endpoint, not a finished one, never
// another company's.
TEST_P(StoreContract, OrderingBlockersNameTheEarliestPendingDeliveryOfTheSubject) {
  Endpoint ep = NewEndpoint(co_);
  Endpoint ep2 = NewEndpoint(co_);
  auto add = [&](const Endpoint& e, std::string subject, DeliveryStatus st = DeliveryStatus::kPending) {
    NewEvent ne = MakeEvent(co_, {e.id}, st);
    ne.event.subject = std::move(subject);
    const DeliveryId id = ne.deliveries[0].id;
    EXPECT_TRUE(Ingest(std::move(ne)));
    return id;
  };
  const DeliveryId done = add(ep, "emp_1", DeliveryStatus::kSucceeded);
  const DeliveryId first = add(ep, "emp_1");
  const DeliveryId second = add(ep, "emp_1");
  const DeliveryId other_subject = add(ep, "emp_2");
  const DeliveryId other_endpoint = add(ep2, "emp_1");
  const DeliveryId third = add(ep, "emp_1");
  const DeliveryId no_subject1 = add(ep, "");
  const DeliveryId no_subject2 = add(ep, "");
  // The first one failed once and waits for its retry.
  std::promise<Result<void>> applied;
  store_->ApplyDispatchUpdates({DeliveryUpdate{first, co_, DeliveryStatus::kPending, 2, 1'800'000'000'000, NowMs(),
                                               std::nullopt}},
                               {}, [&](Result<void> r) { applied.set_value(std::move(r)); });
  ASSERT_TRUE(applied.get_future().get());

  auto blockers = store_->OrderingBlockers(
      co_, {second, third, other_subject, other_endpoint, first, done, no_subject2, DeliveryId::New()});
  ASSERT_TRUE(blockers) << blockers.error().message;
  std::map<std::string, OrderingBlocker> by;
  for (auto& b : *blockers) by.emplace(b.delivery.str(), b);
  ASSERT_EQ(by.size(), 2u);
  const OrderingBlocker& b2 = by.at(second.str());
  EXPECT_EQ(b2.blocked_by, first);
  EXPECT_EQ(b2.subject, "emp_1");
  EXPECT_EQ(b2.ahead, 1);
  EXPECT_EQ(b2.blocked_by_attempts, 2);
  EXPECT_EQ(b2.blocked_by_next_attempt_at_ms, 1'800'000'000'000);
  const OrderingBlocker& b3 = by.at(third.str());
  EXPECT_EQ(b3.blocked_by, first);
  EXPECT_EQ(b3.ahead, 2);
  (void)no_subject1;

  // Another company asks: nothing.
  EXPECT_TRUE(store_->OrderingBlockers(other_, {second, third})->empty());
  EXPECT_TRUE(store_->OrderingBlockers(co_, {})->empty());

  // The first one failed for good: the second goes first now; a held one blocks nothing.
  std::promise<Result<void>> failed;
  store_->ApplyDispatchUpdates({DeliveryUpdate{first, co_, DeliveryStatus::kFailed, 8, std::nullopt, NowMs(),
                                               std::nullopt}},
                               {}, [&](Result<void> r) { failed.set_value(std::move(r)); });
  ASSERT_TRUE(failed.get_future().get());
  blockers = store_->OrderingBlockers(co_, {second, third});
  ASSERT_EQ(blockers->size(), 1u);
  EXPECT_EQ((*blockers)[0].delivery, third);
  EXPECT_EQ((*blockers)[0].blocked_by, second);
  EXPECT_EQ((*blockers)[0].ahead, 1);
  EXPECT_EQ((*blockers)[0].blocked_by_attempts, 0);
}

// What hookd sent on an attempt comes back as written; attempts written without it say "{}".
TEST_P(StoreContract, AttemptsKeepTheRequestHeadersSent) {
  Endpoint ep = NewEndpoint(co_);
  NewEvent ne = MakeEvent(co_, {ep.id});
  const DeliveryId did = ne.deliveries[0].id;
  ASSERT_TRUE(Ingest(std::move(ne)));
  auto attempt = [&](int number, std::optional<std::string> sent) {
    Attempt a;
    a.id = AttemptId::New();
    a.delivery_id = did;
    a.number = number;
    a.started_at_ms = NowMs();
    a.status_code = 200;
    if (sent) a.request_headers = *sent;
    return a;
  };
  const std::string sent = R"({"user-agent":"hookd/0.1.0","webhook-id":"evt_1","authorization":"[redacted]"})";
  std::promise<Result<void>> applied;
  store_->ApplyDispatchUpdates({DeliveryUpdate{did, co_, DeliveryStatus::kPending, 1, NowMs(), NowMs(), attempt(1, sent)},
                                DeliveryUpdate{did, co_, DeliveryStatus::kSucceeded, 2, std::nullopt, NowMs(),
                                               attempt(2, std::nullopt)}},
                               {}, [&](Result<void> r) { applied.set_value(std::move(r)); });
  ASSERT_TRUE(applied.get_future().get());
  auto attempts = store_->ListAttempts(co_, did, {});
  ASSERT_TRUE(attempts) << attempts.error().message;
  ASSERT_EQ(attempts->items.size(), 2u);
  EXPECT_EQ(attempts->items[1].request_headers, sent);  // newest first
  EXPECT_EQ(attempts->items[0].request_headers, "{}");
}

}  // namespace
}  // namespace hookd
