// The dispatcher's rules, proven deterministically: the dispatcher runs on the test's thread
// (Begin/Turn) with a simulated clock, an in-memory store and a client that answers when the
// test says so. Nothing sleeps; time moves only by SimulatedClock::Advance.

#include "dispatch/dispatcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include <boost/json.hpp>

#include "core/metrics.h"
#include "core/signing.h"
#include "fakes/fake_dispatch_store.h"
#include "fakes/fake_outbound_client.h"
#include "fakes/log_capture.h"
#include "fakes/simulated_clock.h"

namespace hookd {
namespace {

using testing::FakeDispatchStore;
using testing::FakeOutboundClient;
using testing::SimulatedClock;
using Answer = FakeOutboundClient::Answer;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

class DispatcherTest : public ::testing::Test {
 protected:
  SimulatedClock clock;
  FakeDispatchStore store;
  FakeOutboundClient client;
  DispatcherOptions opts;
  std::unique_ptr<Dispatcher> dispatcher;

  DispatcherTest() { opts.retry = *RetryPolicy::Parse("10s,1m,5m"); }
  ~DispatcherTest() override {
    if (dispatcher) dispatcher->RequestStop(0);
  }

  Endpoint& AddEndpoint(int max_concurrency = 10) {
    Endpoint ep;
    ep.url = "https://receiver.example/hook";
    ep.event_types = {"*"};
    ep.max_concurrency = max_concurrency;
    return store.AddEndpoint(std::move(ep));
  }
  void Start() {
    opts.clock = &clock;
    dispatcher = std::make_unique<Dispatcher>(store, client, opts);
    dispatcher->Begin();
    Settle();
  }
  // Enough passes of the loop for everything due now to happen (announcements taken, requests
  // started, answers handled, outcomes written).
  void Settle(int turns = 6) {
    for (int i = 0; i < turns; ++i) ASSERT_TRUE(dispatcher->Turn());
  }
  void Advance(int64_t ms) {
    clock.Advance(ms);
    Settle();
  }
  // Accepts a new delivery, as ingest does: committed in the store, then announced.
  PendingDelivery Publish(const Endpoint& ep, std::string subject = "") {
    PendingDelivery d = store.AddDelivery(ep.id, std::move(subject));
    dispatcher->OnDeliveriesReady({d});
    return d;
  }
  // The event id each request carried (webhook-id), in the order they were sent.
  std::vector<std::string> SentIds() const {
    std::vector<std::string> ids;
    for (const auto& r : client.Sent()) ids.push_back(FakeOutboundClient::Header(r, "webhook-id"));
    return ids;
  }
  size_t TimesSent(const PendingDelivery& d) const {
    const auto ids = SentIds();
    return static_cast<size_t>(std::count(ids.begin(), ids.end(), d.event_id.str()));
  }
  static bool IsFor(const OutboundRequest& r, const PendingDelivery& d) {
    return FakeOutboundClient::Header(r, "webhook-id") == d.event_id.str();
  }
  void Answer(const PendingDelivery& d, const Answer& a) {
    ASSERT_EQ(client.AnswerAll(a, [&](const OutboundRequest& r) { return IsFor(r, d); }), 1u)
        << "no open request for " << d.event_id.str();
    Settle();
  }
};

// ------------------------------------------------------------------ the first attempt

TEST_F(DispatcherTest, AnAcceptedDeliveryIsSentAtOnceSignedAndItsSuccessRecorded) {
  Endpoint& ep = AddEndpoint();
  Start();
  const PendingDelivery d = Publish(ep);
  Settle();
  ASSERT_EQ(client.Open().size(), 1u);
  const OutboundRequest& req = client.Open().front();
  EXPECT_EQ(req.url, ep.url);
  EXPECT_EQ(*req.body, R"({"type":"employee.created","data":{}})");
  const std::string id = FakeOutboundClient::Header(req, "webhook-id");
  const std::string ts = FakeOutboundClient::Header(req, "webhook-timestamp");
  const std::string sig = FakeOutboundClient::Header(req, "webhook-signature");
  EXPECT_EQ(id, d.event_id.str());
  EXPECT_EQ(ts, std::to_string(clock.NowMs() / 1000));  // the injected clock's time
  EXPECT_TRUE(VerifyStandard(ep.secret, {id, ts, sig}, *req.body, clock.NowMs()).has_value());

  Answer(d, FakeOutboundClient::Status(204));
  EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kSucceeded);
  ASSERT_EQ(store.RowOf(d.id).attempts.size(), 1u);
  EXPECT_EQ(store.RowOf(d.id).attempts[0].status_code, 204);
  EXPECT_EQ(dispatcher->Stats().succeeded.load(), 1u);
}

TEST_F(DispatcherTest, WithATemplateTheReceiverGetsTheRenderedDocumentSigned) {
  Endpoint& ep = AddEndpoint();
  ep.payload_template = boost::json::parse(R"({"text": "{{type}} for {{data.employee.id}}"})");
  Start();
  PendingDelivery d = store.AddDelivery(ep.id, "", 0, R"({"id":"evt_x","type":"employee.hired","data":{"employee":{"id":"emp_9"}}})");
  dispatcher->OnDeliveriesReady({d});
  Settle();
  ASSERT_EQ(client.Open().size(), 1u);
  const OutboundRequest& req = client.Open().front();
  EXPECT_EQ(*req.body, R"({"text":"employee.hired for emp_9"})");
  const std::string id = FakeOutboundClient::Header(req, "webhook-id");
  const std::string ts = FakeOutboundClient::Header(req, "webhook-timestamp");
  EXPECT_TRUE(VerifyStandard(ep.secret, {id, ts, FakeOutboundClient::Header(req, "webhook-signature")}, *req.body,
                             clock.NowMs())
                  .has_value());
}

TEST_F(DispatcherTest, AnIdleDispatcherDoesNotReadTheStore) {
  AddEndpoint();
  Start();
  const int pending = store.load_pending_calls, endpoints = store.endpoint_reads, payloads = store.payload_loads;
  for (int i = 0; i < 600; ++i) Advance(kSecond);  // ten idle minutes
  EXPECT_EQ(store.load_pending_calls, pending);
  EXPECT_EQ(store.endpoint_reads, endpoints);
  EXPECT_EQ(store.payload_loads, payloads);
  EXPECT_EQ(client.Started(), 0u);
}

// hookd_delivery_lag_seconds: each attempt's lateness, from when it was due to when it went
// out — a first attempt from its event's acceptance, a retry from its scheduled time.
TEST_F(DispatcherTest, EachAttemptsLagFromItsDueTimeIsMeasured) {
  Metrics metrics;
  opts.metrics = &metrics;
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/1);
  Start();
  const PendingDelivery a = store.AddDelivery(ep.id, "", clock.NowMs());
  const PendingDelivery b = store.AddDelivery(ep.id, "", clock.NowMs());
  dispatcher->OnDeliveriesReady({a, b});
  Settle();
  ASSERT_EQ(client.Open().size(), 1u);  // a at once; b waits for the endpoint's one slot
  Advance(3 * kSecond);
  Answer(a, FakeOutboundClient::Status(204));  // b goes out 3 s after it was due
  ASSERT_EQ(client.Started(), 2u);
  Answer(b, FakeOutboundClient::Status(500));  // retried in 10 s ± 20 %
  for (int step = 0; step < 400 && client.Started() < 3; ++step) Advance(50);
  ASSERT_EQ(client.Started(), 3u);

  // kLagBuckets: 0.001 is bucket 0, 0.05 bucket 5, 2.5 bucket 10, 5 bucket 11.
  const auto first = metrics.DeliveryLag(Metrics::Attempt::kFirst).Read();
  EXPECT_EQ(first.count, 2u);
  EXPECT_EQ(first.cumulative[0], 1u);   // a: sent when due
  EXPECT_EQ(first.cumulative[10], 1u);  // b: not within 2.5 s…
  EXPECT_EQ(first.cumulative[11], 2u);  // …but within 5
  EXPECT_DOUBLE_EQ(first.sum, 3.0);
  const auto retry = metrics.DeliveryLag(Metrics::Attempt::kRetry).Read();
  EXPECT_EQ(retry.count, 1u);
  EXPECT_EQ(retry.cumulative[5], 1u);  // sent within a 50 ms step of its time
  EXPECT_EQ(metrics.DeliveryLag(Metrics::Attempt::kReplay).Read().count, 0u);
}

// ------------------------------------------------------------------ retries

TEST_F(DispatcherTest, RetriesFollowTheScheduleWithinTheJitterBoundsThenTheDeliveryFails) {
  Endpoint& ep = AddEndpoint();
  Start();
  const PendingDelivery d = Publish(ep);
  Settle();
  // "10s,1m,5m": 4 attempts in all; each wait is the scheduled one ±20 %.
  const int64_t delays[] = {10 * kSecond, kMinute, 5 * kMinute};
  for (int64_t delay : delays) {
    const size_t sent = client.Started();
    Answer(d, FakeOutboundClient::Status(500));
    EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kPending);
    const int64_t earliest = delay * 8 / 10, latest = delay * 12 / 10;
    Advance(earliest - 1);
    EXPECT_EQ(client.Started(), sent) << "retried before " << earliest << " ms";
    Advance(latest - earliest + 1);
    EXPECT_EQ(client.Started(), sent + 1) << "not retried by " << latest << " ms";
  }
  Answer(d, FakeOutboundClient::Status(500));
  EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kFailed);
  EXPECT_EQ(store.RowOf(d.id).attempts.size(), 4u);
  Advance(kHour);
  EXPECT_EQ(TimesSent(d), 4u);
}

TEST_F(DispatcherTest, ANetworkErrorIsRetriedLikeAFailingStatus) {
  Endpoint& ep = AddEndpoint();
  Start();
  const PendingDelivery d = Publish(ep);
  Settle();
  Answer(d, FakeOutboundClient::Error(AttemptError::kTimeout));
  ASSERT_EQ(store.RowOf(d.id).attempts.size(), 1u);
  EXPECT_EQ(store.RowOf(d.id).attempts[0].error, "timeout");
  EXPECT_FALSE(store.RowOf(d.id).attempts[0].status_code.has_value());
  Advance(12 * kSecond);
  EXPECT_EQ(TimesSent(d), 2u);
}

TEST_F(DispatcherTest, RetryAfterIsHonouredOn429And503AndCappedAtAnHour) {
  Endpoint& ep = AddEndpoint();
  Start();
  const PendingDelivery d = Publish(ep);
  Settle();
  Answer(d, FakeOutboundClient::Status(429, "120"));  // exactly 120 s: no jitter
  Advance(120 * kSecond - 1);
  EXPECT_EQ(TimesSent(d), 1u);
  Advance(1);
  EXPECT_EQ(TimesSent(d), 2u);

  Answer(d, FakeOutboundClient::Status(503, "86400"));  // a day: capped at 1 h
  Advance(kHour - 1);
  EXPECT_EQ(TimesSent(d), 2u);
  Advance(1);
  EXPECT_EQ(TimesSent(d), 3u);

  // On other statuses it is ignored: the schedule's third delay (5 min ± 20 %) applies.
  Answer(d, FakeOutboundClient::Status(500, "7200"));
  Advance(6 * kMinute);
  EXPECT_EQ(TimesSent(d), 4u);
}

// ------------------------------------------------------------------ 410 and auto-disable

TEST_F(DispatcherTest, GoneDisablesTheEndpointAndHoldsItsOtherDeliveries) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/1);
  Start();
  const PendingDelivery first = Publish(ep), second = Publish(ep);
  Settle();
  ASSERT_EQ(client.Open().size(), 1u);
  Answer(first, FakeOutboundClient::Status(410));
  EXPECT_EQ(store.StatusOf(first.id), DeliveryStatus::kFailed);
  EXPECT_EQ(store.EndpointOf(ep.id).status, EndpointStatus::kDisabled);
  EXPECT_EQ(store.EndpointOf(ep.id).disabled_reason, DisabledReason::kGone);
  EXPECT_EQ(store.StatusOf(second.id), DeliveryStatus::kHeld);
  Advance(kHour);
  EXPECT_EQ(TimesSent(second), 0u);
  // New events for it are kept, held, and not sent.
  const PendingDelivery third = Publish(ep);
  Settle();
  EXPECT_EQ(store.StatusOf(third.id), DeliveryStatus::kHeld);
  EXPECT_EQ(client.Started(), 1u);
}

TEST_F(DispatcherTest, ARestHookWhoseTargetIsGoneIsDeleted) {
  Endpoint& ep = AddEndpoint();
  ep.kind = EndpointKind::kRestHook;
  const EndpointId id = ep.id;
  int deleting = 0;
  opts.on_endpoint_deleting = [&](const CompanyId&, const EndpointId& e) {
    EXPECT_EQ(e, id);
    ++deleting;
  };
  Start();
  const PendingDelivery d = Publish(store.EndpointOf(id));
  Settle();
  Answer(d, FakeOutboundClient::Status(410));
  EXPECT_EQ(deleting, 1);
  EXPECT_FALSE(store.EndpointToDispatch(store.company, id).has_value());
  EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kFailed);  // kept as history
}

TEST_F(DispatcherTest, AutoDisableNeedsBothTheTimeAndTenFailuresInARow) {
  opts.disable_after_ms = kHour;
  opts.disable_min_failures = 10;
  std::string every_minute = "1m";
  for (int i = 0; i < 90; ++i) every_minute += ",1m";
  opts.retry = *RetryPolicy::Parse(every_minute);
  Endpoint& ep = AddEndpoint();
  const EndpointId id = ep.id;
  Start();
  const PendingDelivery d = Publish(ep);
  Settle();
  // Failing for an hour: attempts about a minute apart (±20 %), so ~60 failures in a row.
  const int64_t start = clock.NowMs();
  int failures = 0;
  while (store.EndpointOf(id).Enabled()) {
    ASSERT_EQ(client.Open().size(), 1u) << "after " << failures << " failures";
    const bool an_hour_passed = clock.NowMs() - start >= kHour;
    Answer(d, FakeOutboundClient::Status(500));
    ++failures;
    if (!an_hour_passed) {
      EXPECT_TRUE(store.EndpointOf(id).Enabled()) << "disabled after " << failures << " failures in "
                                                  << (clock.NowMs() - start) << " ms";
    }
    if (!store.EndpointOf(id).Enabled()) break;
    Advance(72 * kSecond);
  }
  EXPECT_GE(failures, 10);
  EXPECT_GE(clock.NowMs() - start, kHour);
  EXPECT_EQ(store.EndpointOf(id).disabled_reason, DisabledReason::kFailing);
  EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kHeld);
  EXPECT_EQ(store.EndpointOf(id).consecutive_failures, failures);
}

TEST_F(DispatcherTest, TenFailuresAreNotEnoughWithoutTheTime) {
  opts.disable_after_ms = kHour;
  Endpoint& ep = AddEndpoint();
  const EndpointId id = ep.id;
  Start();
  std::vector<PendingDelivery> ds;
  for (int i = 0; i < 30; ++i) ds.push_back(Publish(ep));
  Settle();
  EXPECT_EQ(client.AnswerAll(FakeOutboundClient::Status(500)), 10u);  // max_concurrency 10
  Settle();
  EXPECT_EQ(client.AnswerAll(FakeOutboundClient::Status(500)), 10u);
  Settle();
  EXPECT_TRUE(store.EndpointOf(id).Enabled());
  EXPECT_EQ(store.EndpointOf(id).consecutive_failures, 20);
  // A success ends the streak.
  client.AnswerOldest(FakeOutboundClient::Status(200));
  Settle();
  EXPECT_EQ(store.EndpointOf(id).consecutive_failures, 0);
}

// ------------------------------------------------------------------ held, enable, recover, retry

TEST_F(DispatcherTest, HeldDeliveriesGoOnceTheEndpointIsEnabledAndRecoveredAndRetriedOnesGoAgain) {
  Endpoint& ep = AddEndpoint();
  ep.status = EndpointStatus::kDisabled;
  ep.disabled_reason = DisabledReason::kManual;
  const EndpointId id = ep.id;
  Start();
  const PendingDelivery d = Publish(ep);
  Settle();
  EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kHeld);
  EXPECT_EQ(client.Started(), 0u);

  // Enabled, with its held deliveries released (what the API's enable does).
  store.EndpointOf(id).status = EndpointStatus::kEnabled;
  store.EndpointOf(id).disabled_reason = DisabledReason::kNone;
  store.ReleaseHeld(id, clock.NowMs());
  dispatcher->OnEndpointChanged(store.company, id);
  Settle();
  ASSERT_EQ(TimesSent(d), 1u);
  Answer(d, FakeOutboundClient::Status(400));
  // 400: retried per the schedule; fail all of them.
  for (int i = 0; i < 3; ++i) {
    Advance(6 * kMinute);
    Answer(d, FakeOutboundClient::Status(400));
  }
  ASSERT_EQ(store.StatusOf(d.id), DeliveryStatus::kFailed);
  ASSERT_EQ(TimesSent(d), 4u);

  // `recover`: failed deliveries back to pending, the dispatcher reads them back.
  store.Requeue(d.id, clock.NowMs());
  dispatcher->OnDeliveriesRequeued(store.company, id);
  Settle();
  EXPECT_EQ(TimesSent(d), 5u);
  Answer(d, FakeOutboundClient::Status(200));
  EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kSucceeded);

  // POST …/retry of a delivery that succeeded: sent once more.
  dispatcher->OnDeliveriesReady({store.Requeue(d.id, clock.NowMs())});
  Settle();
  EXPECT_EQ(TimesSent(d), 6u);
}

TEST_F(DispatcherTest, ADisabledEndpointsWaitingRetriesAreNotSent) {
  Endpoint& ep = AddEndpoint();
  const EndpointId id = ep.id;
  Start();
  const PendingDelivery d = Publish(ep);
  Settle();
  Answer(d, FakeOutboundClient::Status(500));  // waits ~10 s
  store.EndpointOf(id).status = EndpointStatus::kDisabled;
  store.EndpointOf(id).disabled_reason = DisabledReason::kManual;
  dispatcher->OnEndpointChanged(store.company, id);
  Advance(kHour);
  EXPECT_EQ(TimesSent(d), 1u);
}

// ------------------------------------------------------------------ order, concurrency, rate

TEST_F(DispatcherTest, ALaterEventOfTheSameSubjectWaitsWhileAnEarlierOneRetriesOthersFlow) {
  Endpoint& ep = AddEndpoint();
  ep.ordering = Ordering::kSubject;
  Start();
  const PendingDelivery ana1 = Publish(ep, "emp_ana"), ana2 = Publish(ep, "emp_ana"),
                        bob1 = Publish(ep, "emp_bob");
  Settle();
  EXPECT_EQ(TimesSent(ana1), 1u);
  EXPECT_EQ(TimesSent(bob1), 1u);
  EXPECT_EQ(TimesSent(ana2), 0u) << "overtook the earlier event of its subject";

  Answer(ana1, FakeOutboundClient::Status(503));
  Answer(bob1, FakeOutboundClient::Status(200));
  const PendingDelivery bob2 = Publish(ep, "emp_bob");
  Settle();
  EXPECT_EQ(TimesSent(bob2), 1u) << "another subject must not wait";
  Advance(9 * kSecond);
  EXPECT_EQ(TimesSent(ana2), 0u) << "went while the earlier one waits for its retry";
  Advance(4 * kSecond);
  ASSERT_EQ(TimesSent(ana1), 2u);
  EXPECT_EQ(TimesSent(ana2), 0u);
  Answer(ana1, FakeOutboundClient::Status(200));
  EXPECT_EQ(TimesSent(ana2), 1u);
  // Sent in order: ana1 (twice) before ana2.
  const auto ids = SentIds();
  ASSERT_EQ(ids.back(), ana2.event_id.str());
  EXPECT_EQ(std::count(ids.begin(), ids.end() - 1, ana2.event_id.str()), 0);
}

TEST_F(DispatcherTest, AFailedEventLetsTheNextOneOfItsSubjectGo) {
  opts.retry = *RetryPolicy::Parse("1s");
  Endpoint& ep = AddEndpoint();
  ep.ordering = Ordering::kSubject;
  Start();
  const PendingDelivery a = Publish(ep, "emp_ana"), b = Publish(ep, "emp_ana");
  Settle();
  Answer(a, FakeOutboundClient::Status(500));
  Advance(2 * kSecond);
  Answer(a, FakeOutboundClient::Status(500));
  EXPECT_EQ(store.StatusOf(a.id), DeliveryStatus::kFailed);
  EXPECT_EQ(TimesSent(b), 1u);
}

TEST_F(DispatcherTest, NoMoreThanMaxConcurrencyRequestsAreInFlight) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/3);
  Endpoint& other = AddEndpoint(/*max_concurrency=*/3);
  Start();
  std::vector<PendingDelivery> ds;
  for (int i = 0; i < 10; ++i) ds.push_back(Publish(ep));
  const PendingDelivery o = Publish(other);
  Settle();
  EXPECT_EQ(client.Open().size(), 4u);  // 3 of `ep`, 1 of `other`: its own limit
  EXPECT_EQ(TimesSent(o), 1u);
  size_t max_open = 0;
  for (int round = 0; round < 20 && client.Started() < 11; ++round) {
    size_t open_ep = 0;
    for (const auto& r : client.Open())
      if (!IsFor(r, o)) ++open_ep;
    max_open = std::max(max_open, open_ep);
    client.AnswerOldest(FakeOutboundClient::Status(200));
    Settle();
  }
  EXPECT_EQ(max_open, 3u);
  EXPECT_EQ(client.Started(), 11u);
}

TEST_F(DispatcherTest, TheRateLimitHoldsInEverySecond) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/50);
  ep.rate_limit_per_second = 5;
  Start();
  for (int i = 0; i < 40; ++i) Publish(ep);
  std::vector<int64_t> sent_at;
  size_t seen = 0;
  const int64_t start = clock.NowMs();
  while (clock.NowMs() - start < 4 * kSecond) {
    Settle(2);
    for (; seen < client.Started(); ++seen) sent_at.push_back(clock.NowMs());
    client.AnswerAll(FakeOutboundClient::Status(200));
    clock.Advance(10);
  }
  // Paced, with a burst of at most max(1, rate / 10): never more than 6 in any one second …
  for (size_t i = 0; i < sent_at.size(); ++i) {
    size_t in_window = 0;
    for (size_t j = i; j < sent_at.size() && sent_at[j] < sent_at[i] + kSecond; ++j) ++in_window;
    EXPECT_LE(in_window, 6u) << "from " << (sent_at[i] - start) << " ms";
  }
  // … and the rate is used: ~5 per second.
  EXPECT_GE(sent_at.size(), 19u);
  EXPECT_LE(sent_at.size(), 22u);
}

// ------------------------------------------------------------------ the races the history fixed

// Edits of an endpoint while its deliveries are in flight and their outcomes not written yet:
// reloading it must not read those still-pending rows back and send them again.
TEST_F(DispatcherTest, EditsUnderLoadSendNothingTwice) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/5);
  const EndpointId id = ep.id;
  Start();
  store.hold_writes = true;
  const int pages_read = store.load_pending_calls;
  std::vector<PendingDelivery> ds;
  for (int i = 0; i < 40; ++i) ds.push_back(Publish(ep));
  for (int round = 0; round < 40 && (client.Started() < 40 || !client.Open().empty()); ++round) {
    Settle(2);
    client.AnswerAll(FakeOutboundClient::Status(200));
    store.EndpointOf(id).description = "edit " + std::to_string(round);  // a PATCH
    dispatcher->OnEndpointChanged(store.company, id);
    Settle(2);
    if (round % 3 == 0) store.CompleteWrites();
  }
  store.hold_writes = false;
  store.CompleteWrites();
  Settle();
  Advance(kHour);
  for (const auto& d : ds) {
    EXPECT_EQ(TimesSent(d), 1u);
    EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kSucceeded);
  }
  // An edit re-reads the endpoint, not its deliveries: memory holds every one of them.
  EXPECT_EQ(store.load_pending_calls, pages_read);
}

// `recover` (failed deliveries re-queued) while others of the endpoint are in flight or just
// finished with their outcome unwritten: those are pending in the store, and must not go twice.
TEST_F(DispatcherTest, RecoverUnderLoadSendsNothingTwice) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/4);
  const EndpointId id = ep.id;
  Start();
  store.hold_writes = true;
  std::vector<PendingDelivery> ds;
  for (int i = 0; i < 24; ++i) ds.push_back(Publish(ep));
  for (int round = 0; round < 20 && (client.Started() < 24 || !client.Open().empty()); ++round) {
    Settle(2);
    client.AnswerAll(FakeOutboundClient::Status(200));
    dispatcher->OnDeliveriesRequeued(store.company, id);
    Settle(3);
    if (round % 2 == 1) store.CompleteWrites();
  }
  store.hold_writes = false;
  store.CompleteWrites();
  Advance(kHour);
  for (const auto& d : ds) {
    EXPECT_EQ(TimesSent(d), 1u);
    EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kSucceeded);
  }
}

// A recovery reads a delivery that waits for its retry back from the store (pending, due
// later): it must stay due when it was, not go at once.
TEST_F(DispatcherTest, ARecoveryNeverMovesAWaitingRetryForward) {
  Endpoint& ep = AddEndpoint();
  const EndpointId id = ep.id;
  Start();
  const PendingDelivery d = Publish(ep);
  Settle();
  Answer(d, FakeOutboundClient::Status(500));  // due again in 8–12 s
  dispatcher->OnDeliveriesRequeued(store.company, id);
  Settle();
  dispatcher->OnEndpointChanged(store.company, id);
  Settle();
  Advance(7 * kSecond);
  EXPECT_EQ(TimesSent(d), 1u);
  Advance(6 * kSecond);
  EXPECT_EQ(TimesSent(d), 2u);
}

// After a restart, a retry that was due later is read back with its due time.
TEST_F(DispatcherTest, TheStartUpRecoveryKeepsRetryTimes) {
  Endpoint& ep = AddEndpoint();
  const PendingDelivery later = store.AddDelivery(ep.id, "", clock.NowMs() + kMinute);
  const PendingDelivery now = store.AddDelivery(ep.id, "", clock.NowMs() - kMinute);
  Start();
  EXPECT_EQ(TimesSent(now), 1u);
  EXPECT_EQ(TimesSent(later), 0u);
  Advance(kMinute);
  EXPECT_EQ(TimesSent(later), 1u);
}

// The start-up recovery can read a delivery committed after Start() took its bound's id and
// before ingest announced it (a row is visible before the fsync the announcement waits for):
// once sent and written, its announcement must be dropped, whenever it comes.
TEST_F(DispatcherTest, ALateIngestAnnouncementOfAFinishedDeliveryIsIgnored) {
  Endpoint& ep = AddEndpoint();
  const PendingDelivery d = store.AddDelivery(ep.id);  // committed, not yet announced
  Start();
  ASSERT_EQ(TimesSent(d), 1u);  // the recovery took it from the store
  Answer(d, FakeOutboundClient::Status(200));
  ASSERT_EQ(store.StatusOf(d.id), DeliveryStatus::kSucceeded);
  Advance(5 * kSecond);
  dispatcher->OnDeliveriesReady({d});  // the announcement, late
  Settle();
  Advance(kMinute);
  EXPECT_EQ(TimesSent(d), 1u);
}

// The announcement comes while the delivery it announces is in flight (taken by the recovery).
TEST_F(DispatcherTest, AnAnnouncementOfADeliveryInFlightIsIgnored) {
  Endpoint& ep = AddEndpoint();
  const PendingDelivery d = store.AddDelivery(ep.id);
  Start();
  ASSERT_EQ(TimesSent(d), 1u);
  dispatcher->OnDeliveriesReady({d});
  Settle();
  Answer(d, FakeOutboundClient::Status(200));
  Advance(kMinute);
  EXPECT_EQ(TimesSent(d), 1u);
}

// A retry request for a delivery waiting for its retry makes it due now — once.
TEST_F(DispatcherTest, ARetryRequestOfAWaitingDeliverySendsItNowOnce) {
  Endpoint& ep = AddEndpoint();
  Start();
  const PendingDelivery d = Publish(ep);
  Settle();
  Answer(d, FakeOutboundClient::Status(500));
  PendingDelivery again = d;
  again.retry_request = true;
  again.payload = nullptr;
  dispatcher->OnDeliveriesReady({again, again});
  Settle();
  EXPECT_EQ(TimesSent(d), 2u);
  Answer(d, FakeOutboundClient::Status(200));
  Advance(kMinute);
  EXPECT_EQ(TimesSent(d), 2u);
}

// Deleted while its deliveries wait: they are dropped, never sent.
TEST_F(DispatcherTest, ADeletedEndpointsDeliveriesAreDropped) {
  Endpoint& ep = AddEndpoint();
  const EndpointId id = ep.id;
  Start();
  const PendingDelivery d = Publish(ep);
  Settle();
  Answer(d, FakeOutboundClient::Status(500));
  store.RemoveEndpoint(id);
  dispatcher->OnEndpointChanged(store.company, id);
  Advance(kHour);
  EXPECT_EQ(TimesSent(d), 1u);
}

// The log line of a recovery times that recovery — not the time since the start-up (an enable
// long after a start with nothing to recover printed "recovered 102 pending deliveries in
// 433217 ms").
TEST_F(DispatcherTest, ARecoveryIsTimedFromItsOwnStart) {
  hookd::testing::LogCapture log;
  Start();  // nothing to recover
  Advance(433 * kSecond);
  Endpoint& ep = AddEndpoint();
  ep.status = EndpointStatus::kDisabled;
  const EndpointId id = ep.id;
  dispatcher->OnEndpointChanged(store.company, id);
  Settle();
  for (int i = 0; i < 3; ++i) Publish(store.EndpointOf(id));
  Settle();
  store.EndpointOf(id).status = EndpointStatus::kEnabled;
  store.ReleaseHeld(id, clock.NowMs());
  dispatcher->OnEndpointChanged(store.company, id);
  Settle();
  EXPECT_EQ(client.Started(), 3u);
  EXPECT_EQ(log.Count("recovered 3 pending deliveries in 0 ms"), 1u) << log.Text();
}

// ------------------------------------------------------------------ stop

TEST_F(DispatcherTest, StopWaitsForInFlightRequestsUpToTheGraceOnTheInjectedClock) {
  Endpoint& ep = AddEndpoint();
  Start();
  Publish(ep);
  Settle();
  ASSERT_EQ(client.Open().size(), 1u);
  dispatcher->RequestStop(5000);
  EXPECT_TRUE(dispatcher->Turn());  // still in flight, within the grace
  clock.Advance(4999);
  EXPECT_TRUE(dispatcher->Turn());
  clock.Advance(1);
  EXPECT_FALSE(dispatcher->Turn());
}


// An outcome the store could not write (disk full, the database away): the store still says
// pending, so the delivery must not be forgotten — it is read back and sent again (at least
// once), and its outcome written then. Without this, it stayed pending with nobody sending it
// until a restart (found by bench/cluster.sh on PostgreSQL).
TEST_F(DispatcherTest, ADeliveryWhoseOutcomeWriteFailedIsReadBackAndSentAgain) {
  Endpoint& ep = AddEndpoint();
  Start();
  store.fail_writes = 1;
  const PendingDelivery d = Publish(ep);
  Settle();
  Answer(d, FakeOutboundClient::Status(200));
  EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kPending);  // the write failed
  Settle();
  EXPECT_EQ(TimesSent(d), 2u);
  Answer(d, FakeOutboundClient::Status(200));
  EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kSucceeded);
  EXPECT_EQ(TimesSent(d), 2u);
}

// A page of pending deliveries the store could not read (a database restart) is read again a
// second later: ending the recovery there left those deliveries unsent until a restart.
TEST_F(DispatcherTest, ARecoveryPageTheStoreCouldNotReadIsReadAgain) {
  Endpoint& ep = AddEndpoint();
  const PendingDelivery waiting = store.AddDelivery(ep.id);  // from before the start
  store.fail_reads = 1;
  Start();
  EXPECT_EQ(TimesSent(waiting), 0u);
  Advance(kSecond);
  EXPECT_EQ(TimesSent(waiting), 1u);
}

// A delivery whose endpoint the store could not read (it is away) is not taken for a deleted
// endpoint's — which deleted its row — but read back once the store answers.
TEST_F(DispatcherTest, ADeliveryWhoseEndpointCouldNotBeReadIsKeptAndSentLater) {
  AddEndpoint();
  Start();
  Endpoint& later = AddEndpoint();  // created after the start: the dispatcher reads it on first use
  store.fail_reads = 1;
  const PendingDelivery d = Publish(later);
  Settle();
  ASSERT_TRUE(store.Has(d.id)) << "the delivery's row was deleted";
  EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kPending);
  Advance(kSecond);
  EXPECT_EQ(TimesSent(d), 1u);
}

// ------------------------------------------------------------------ what the API is told

TEST_F(DispatcherTest, InspectSaysWhatEachDeliveryWaitsFor) {
  using State = LiveDeliveryState::State;
  using Ready = LiveDeliveryState::Ready;
  // Asked on the test's thread: the answer comes at the next turn.
  auto inspect = [&](const std::vector<DeliveryId>& ids) {
    auto answer = dispatcher->InspectAsync(ids);
    EXPECT_TRUE(dispatcher->Turn());
    EXPECT_EQ(answer.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    return answer.get();
  };
  Endpoint& ordered = AddEndpoint();
  ordered.ordering = Ordering::kSubject;
  Endpoint& narrow = AddEndpoint(/*max_concurrency=*/1);
  Endpoint& slow = AddEndpoint();
  slow.rate_limit_per_second = 1;
  Start();
  const PendingDelivery ana1 = Publish(ordered, "emp_ana"), ana2 = Publish(ordered, "emp_ana"),
                        ana3 = Publish(ordered, "emp_ana");
  const PendingDelivery n1 = Publish(narrow), n2 = Publish(narrow);
  const PendingDelivery s1 = Publish(slow), s2 = Publish(slow);
  Settle();
  auto live = inspect({ana1.id, ana2.id, ana3.id, n1.id, n2.id, s1.id, s2.id, DeliveryId::New()});
  ASSERT_EQ(live.size(), 8u);
  EXPECT_EQ(live[0].state, State::kInFlight);
  EXPECT_EQ(live[1].state, State::kBlocked);
  EXPECT_EQ(live[1].blocked_by, ana1.id);
  EXPECT_EQ(live[1].subject, "emp_ana");
  EXPECT_EQ(live[1].ahead, 1);
  EXPECT_EQ(live[2].blocked_by, ana1.id);
  EXPECT_EQ(live[2].ahead, 2);
  EXPECT_EQ(live[3].state, State::kInFlight);
  EXPECT_EQ(live[4].state, State::kReady);
  EXPECT_EQ(live[4].ready, Ready::kConcurrency);
  EXPECT_EQ(live[5].state, State::kInFlight);
  EXPECT_EQ(live[6].state, State::kReady);
  EXPECT_EQ(live[6].ready, Ready::kRateLimit);
  EXPECT_EQ(live[7].state, State::kUnknown);  // not here

  // The first one failed: it waits for its retry, the others still behind it.
  Answer(ana1, FakeOutboundClient::Status(503));
  live = inspect({ana1.id, ana2.id});
  EXPECT_EQ(live[0].state, State::kWaiting);
  EXPECT_GT(live[0].due_ms, clock.NowMs());
  EXPECT_EQ(store.RowOf(ana1.id).d.next_attempt_at_ms, live[0].due_ms);
  EXPECT_EQ(live[1].state, State::kBlocked);
  // Finished: no longer in memory.
  Answer(n1, FakeOutboundClient::Status(200));
  live = inspect({n1.id, n2.id});
  EXPECT_EQ(live[0].state, State::kUnknown);
  EXPECT_EQ(live[1].state, State::kInFlight);
}

TEST_F(DispatcherTest, AnAttemptKeepsTheHeadersSentWithCustomValuesRedacted) {
  Endpoint& ep = AddEndpoint();
  ep.headers = {{"authorization", "Bearer s3cr3t"}, {"accept-language", "es-ES"}};
  opts.user_agent = "hookd/test";
  Start();
  const PendingDelivery d = Publish(ep);
  Settle();
  ASSERT_EQ(client.Open().size(), 1u);
  const OutboundRequest req = client.Open().front();
  EXPECT_EQ(FakeOutboundClient::Header(req, "authorization"), "Bearer s3cr3t");  // sent as configured
  Answer(d, FakeOutboundClient::Status(200));
  ASSERT_EQ(store.RowOf(d.id).attempts.size(), 1u);
  const std::string& kept = store.RowOf(d.id).attempts[0].request_headers;
  EXPECT_EQ(kept.find("s3cr3t"), std::string::npos);
  const auto h = boost::json::parse(kept).as_object();
  for (const char* name : {"content-type", "webhook-id", "webhook-timestamp", "webhook-signature"})
    EXPECT_EQ(h.at(name).as_string(), FakeOutboundClient::Header(req, name)) << name;
  EXPECT_EQ(h.at("user-agent").as_string(), "hookd/test");
  EXPECT_EQ(h.at("content-length").as_string(), std::to_string(req.body->size()));
  EXPECT_EQ(h.at("authorization").as_string(), "[redacted]");
  EXPECT_EQ(h.at("accept-language").as_string(), "es-ES");
}

// ------------------------------------------------------------------ several nodes: shard leases

// The leases a test grants this "node": usable epoch per shard (0: not held or not usable).
// ------------------------------------------------------------------ erasure (issue 13)

// A canceled delivery the dispatcher holds in memory — payload included — is never sent, however
// long the clock runs; the next event of its subject goes; others are untouched.
TEST_F(DispatcherTest, ACanceledDeliveryIsForgottenWithItsPayloadAndNeverSent) {
  Endpoint& ep = AddEndpoint();
  ep.ordering = Ordering::kSubject;
  Start();
  const PendingDelivery first = Publish(ep, "emp_ana");
  Settle();
  ASSERT_EQ(TimesSent(first), 1u);
  Answer(first, FakeOutboundClient::Status(503));  // waits for its retry, in memory
  const PendingDelivery blocked = Publish(ep, "emp_ana");  // behind it
  const PendingDelivery other = Publish(ep, "emp_bob");
  Settle();
  EXPECT_EQ(TimesSent(blocked), 0u);
  const PendingDelivery after = Publish(ep, "emp_cid");
  dispatcher->OnDeliveriesCanceled({store.Erase(first.id), store.Erase(blocked.id)});
  Settle();
  const int64_t queued_after = dispatcher->Stats().queued.load();
  Advance(60 * kMinute);
  Advance(60 * kMinute);
  EXPECT_EQ(TimesSent(first), 1u) << "a canceled delivery was sent again";
  EXPECT_EQ(TimesSent(blocked), 0u) << "a canceled delivery was sent";
  EXPECT_EQ(TimesSent(other), 1u);
  EXPECT_EQ(TimesSent(after), 1u);
  EXPECT_EQ(store.StatusOf(first.id), DeliveryStatus::kCanceled);
  EXPECT_EQ(store.StatusOf(blocked.id), DeliveryStatus::kCanceled);
  EXPECT_LE(queued_after, 2);  // only other's and after's deliveries may still be held
  EXPECT_EQ(store.payload_loads, 0) << "nothing to load: the canceled ones are gone from memory";
}

// One canceled while its request is in flight: the answer (a retry, here) changes nothing — it is
// not retried, and its outcome leaves the store's `canceled` alone.
TEST_F(DispatcherTest, ADeliveryCanceledInFlightIsNotRetriedAndStaysCanceled) {
  Endpoint& ep = AddEndpoint();
  ep.ordering = Ordering::kSubject;
  Start();
  const PendingDelivery d = Publish(ep, "emp_ana");
  const PendingDelivery next = Publish(ep, "emp_ana");
  Settle();
  ASSERT_EQ(client.Open().size(), 1u);
  dispatcher->OnDeliveriesCanceled({store.Erase(d.id), store.Erase(next.id)});
  Settle();
  Answer(d, FakeOutboundClient::Status(500));
  Advance(60 * kMinute);
  EXPECT_EQ(TimesSent(d), 1u);
  EXPECT_EQ(TimesSent(next), 0u);
  EXPECT_EQ(store.StatusOf(d.id), DeliveryStatus::kCanceled);
  EXPECT_TRUE(store.RowOf(d.id).attempts.empty());
  EXPECT_EQ(dispatcher->Stats().queued.load(), 0);
}

class FakeOwnership final : public ShardOwnership {
 public:
  int64_t UsableEpoch(int shard) const override { return epochs[shard]; }
  std::array<int64_t, kLeaseShards> epochs{};
};

class DispatcherLeaseTest : public DispatcherTest {
 protected:
  FakeOwnership ownership;
  DispatcherLeaseTest() { opts.ownership = &ownership; }
  // Two endpoints in different lease shards.
  std::pair<Endpoint*, Endpoint*> TwoShards() {
    Endpoint* a = &AddEndpoint();
    Endpoint* b = &AddEndpoint();
    while (LeaseShardOf(b->id) == LeaseShardOf(a->id)) {
      store.RemoveEndpoint(b->id);
      b = &AddEndpoint();
    }
    return {a, b};
  }
  void Grant(const Endpoint& ep, int64_t epoch) { ownership.epochs[LeaseShardOf(ep.id)] = epoch; }
  void Announce() {
    dispatcher->OnOwnershipChanged();
    Settle();
  }
  const DeliveryUpdate* LastUpdateOf(const PendingDelivery& d) const {
    for (auto it = store.updates.rbegin(); it != store.updates.rend(); ++it)
      if (it->id == d.id) return &*it;
    return nullptr;
  }
};

TEST_F(DispatcherLeaseTest, OnlyTheEndpointsOfHeldShardsAreDispatchedAndOutcomesCarryTheEpoch) {
  auto [a, b] = TwoShards();
  Grant(*a, 3);
  const PendingDelivery before_start = store.AddDelivery(b->id);
  Start();
  const PendingDelivery da = Publish(*a);
  const PendingDelivery db = Publish(*b);
  Settle();
  EXPECT_EQ(TimesSent(da), 1u);
  EXPECT_EQ(TimesSent(db), 0u);  // another node's
  EXPECT_EQ(TimesSent(before_start), 0u);
  Answer(da, FakeOutboundClient::Status(200));
  const DeliveryUpdate* u = LastUpdateOf(da);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->lease_shard, LeaseShardOf(a->id));
  EXPECT_EQ(u->lease_epoch, 3);
  EXPECT_EQ(store.StatusOf(db.id), DeliveryStatus::kPending);  // untouched: its owner writes it
}

TEST_F(DispatcherLeaseTest, ATakenShardsPendingDeliveriesAreReadBackFromTheStore) {
  auto [a, b] = TwoShards();
  Grant(*a, 1);
  Start();
  const PendingDelivery old = store.AddDelivery(b->id);  // committed by another node, never announced here
  const PendingDelivery announced = Publish(*b);          // announced while another node held the shard
  Settle();
  EXPECT_TRUE(client.Open().empty());
  Grant(*b, 7);  // the shard's owner died; this node took it
  Announce();
  EXPECT_EQ(TimesSent(old), 1u);
  EXPECT_EQ(TimesSent(announced), 1u);
  Answer(old, FakeOutboundClient::Status(200));
  EXPECT_EQ(LastUpdateOf(old)->lease_epoch, 7);
}

TEST_F(DispatcherLeaseTest, ALapsedLeaseStartsNothingAndALostShardIsForgottenUntilTakenAgain) {
  auto [a, b] = TwoShards();
  (void)b;
  a->max_concurrency = 1;
  Grant(*a, 2);
  Start();
  const PendingDelivery first = Publish(*a);
  const PendingDelivery second = Publish(*a);
  Settle();
  ASSERT_EQ(TimesSent(first), 1u);
  // The lease could not be renewed in time: the answer is recorded under the old epoch, but
  // nothing new starts — even before the change is announced.
  Grant(*a, 0);
  Answer(first, FakeOutboundClient::Status(200));
  EXPECT_EQ(TimesSent(second), 0u);
  EXPECT_EQ(LastUpdateOf(first)->lease_epoch, 2);
  Announce();
  EXPECT_EQ(dispatcher->Stats().queued.load(), 0);  // forgotten: the store keeps it
  EXPECT_EQ(store.StatusOf(second.id), DeliveryStatus::kPending);
  // Taken again (a new epoch): read back from the store and sent, fenced by the new epoch.
  Grant(*a, 4);
  Announce();
  ASSERT_EQ(TimesSent(second), 1u);
  EXPECT_EQ(TimesSent(first), 1u);  // its outcome was written: not sent again
  Answer(second, FakeOutboundClient::Status(200));
  EXPECT_EQ(LastUpdateOf(second)->lease_epoch, 4);
}

TEST_F(DispatcherLeaseTest, AnOutcomeIsFencedByTheEpochItsRequestWasSentUnder) {
  auto [a, b] = TwoShards();
  (void)b;
  Grant(*a, 5);
  Start();
  const PendingDelivery d = Publish(*a);
  Settle();
  ASSERT_EQ(TimesSent(d), 1u);
  // Lost and taken again while the request was in flight: its outcome still says epoch 5 (the
  // store refuses it if the lease moved on meanwhile), and a retry is not kept in memory for
  // a shard given up.
  Grant(*a, 0);
  Announce();
  Answer(d, FakeOutboundClient::Status(500));
  EXPECT_EQ(LastUpdateOf(d)->lease_epoch, 5);
  EXPECT_EQ(dispatcher->Stats().queued.load(), 0);
  Advance(kHour);
  EXPECT_EQ(TimesSent(d), 1u);
}

}  // namespace
}  // namespace hookd
