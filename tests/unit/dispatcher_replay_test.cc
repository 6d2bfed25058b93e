// The dispatcher's rule for replayed deliveries (core/replay.h, dispatch/dispatcher.h): they
// never starve the endpoint's live traffic. A live delivery goes first on every free slot and
// every rate-limit token; replayed ones hold at most half of max_concurrency; they keep their
// subject order among themselves while live ones never wait for them; a canceled replay's
// deliveries are dropped and not retried. Proven on a simulated clock with fakes (no sleeps).

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/signing.h"
#include "dispatch/dispatcher.h"
#include "fakes/fake_dispatch_store.h"
#include "fakes/fake_outbound_client.h"
#include "fakes/simulated_clock.h"

namespace hookd {
namespace {

using testing::FakeDispatchStore;
using testing::FakeOutboundClient;
using testing::SimulatedClock;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;

class DispatcherReplayTest : public ::testing::Test {
 protected:
  SimulatedClock clock;
  FakeDispatchStore store;
  FakeOutboundClient client;
  DispatcherOptions opts;
  std::unique_ptr<Dispatcher> dispatcher;

  DispatcherReplayTest() { opts.retry = *RetryPolicy::Parse("10s,1m,5m"); }
  ~DispatcherReplayTest() override {
    if (dispatcher) dispatcher->RequestStop(0);
  }

  Endpoint& AddEndpoint(int max_concurrency, std::optional<int> rate = std::nullopt) {
    Endpoint ep;
    ep.url = "https://receiver.example/hook";
    ep.event_types = {"*"};
    ep.max_concurrency = max_concurrency;
    ep.rate_limit_per_second = rate;
    return store.AddEndpoint(std::move(ep));
  }
  void Start() {
    opts.clock = &clock;
    dispatcher = std::make_unique<Dispatcher>(store, client, opts);
    dispatcher->Begin();
    Settle();
  }
  void Settle(int turns = 6) {
    for (int i = 0; i < turns; ++i) ASSERT_TRUE(dispatcher->Turn());
  }
  PendingDelivery Live(const Endpoint& ep, std::string subject = "") {
    PendingDelivery d = store.AddDelivery(ep.id, std::move(subject));
    dispatcher->OnDeliveriesReady({d});
    return d;
  }
  // A batch of the replay runner: committed, then announced.
  std::vector<PendingDelivery> Replayed(const Endpoint& ep, int n, std::string subject = "") {
    std::vector<PendingDelivery> ds;
    for (int i = 0; i < n; ++i) ds.push_back(store.AddReplayDelivery(ep.id, subject));
    dispatcher->OnDeliveriesReady(ds);
    return ds;
  }
  static std::string IdOf(const OutboundRequest& r) { return FakeOutboundClient::Header(r, "webhook-id"); }
  static bool IsFor(const OutboundRequest& r, const PendingDelivery& d) { return IdOf(r) == d.event_id.str(); }
  size_t TimesSent(const PendingDelivery& d) const {
    return static_cast<size_t>(std::count_if(client.Sent().begin(), client.Sent().end(),
                                             [&](const OutboundRequest& r) { return IsFor(r, d); }));
  }
  size_t OpenOf(const std::vector<PendingDelivery>& ds) const {
    return static_cast<size_t>(std::count_if(client.Open().begin(), client.Open().end(), [&](const OutboundRequest& r) {
      return std::any_of(ds.begin(), ds.end(), [&](const PendingDelivery& d) { return IsFor(r, d); });
    }));
  }
  void Answer(const PendingDelivery& d, const FakeOutboundClient::Answer& a) {
    ASSERT_EQ(client.AnswerAll(a, [&](const OutboundRequest& r) { return IsFor(r, d); }), 1u);
    Settle();
  }
};

// A replay of 200 events at the endpoint's rate limit (10/s) is under way when a live event
// comes: it goes at the very next token — within one token's interval — not behind the 180 or
// so replayed deliveries still queued, and the replay goes on afterwards at the same rate.
TEST_F(DispatcherReplayTest, ALiveDeliveryTakesTheNextRateTokenBeforeAQueuedReplay) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/10, /*rate=*/10);
  Start();
  const auto replayed = Replayed(ep, 200);
  std::vector<int64_t> sent_at;
  PendingDelivery live;
  int64_t live_published = 0, live_sent = 0;
  size_t seen = 0;
  const int64_t start = clock.NowMs();
  while (clock.NowMs() - start < 4 * kSecond) {
    if (live_published == 0 && clock.NowMs() - start >= 2 * kSecond) {
      live = Live(ep);
      live_published = clock.NowMs();
    }
    Settle(2);
    for (; seen < client.Started(); ++seen) {
      sent_at.push_back(clock.NowMs());
      if (live_published != 0 && IsFor(client.Sent()[seen], live)) live_sent = clock.NowMs();
    }
    client.AnswerAll(FakeOutboundClient::Status(200));
    clock.Advance(5);
  }
  ASSERT_NE(live_sent, 0) << "the live delivery was never sent";
  EXPECT_LE(live_sent - live_published, 100 + 5) << "waited more than one token (100 ms at 10/s)";
  // Nothing replayed went between the live one's arrival and its request.
  for (size_t i = 0; i < client.Sent().size(); ++i) {
    if (!IsFor(client.Sent()[i], live)) continue;
    for (size_t j = 0; j < i; ++j) EXPECT_LT(sent_at[j], live_published + 1) << "a replayed request went first";
  }
  // The endpoint's rate holds for both together: ~40 requests in 4 s, one per 100 ms (the
  // burst is max(1, rate / 10)).
  EXPECT_GE(sent_at.size(), 38u);
  EXPECT_LE(sent_at.size(), 42u);
  for (size_t i = 0; i + 1 < sent_at.size(); ++i) EXPECT_GE(sent_at[i + 1] - sent_at[i], 100) << i;
  EXPECT_GT(replayed.size() - sent_at.size(), 150u);  // most of the replay is still queued
}

// Replayed requests never hold more than half of max_concurrency: with 4 slots and a receiver
// that answers nothing, 2 replayed requests are in flight and 2 live ones go at once; when a
// replayed one finishes, a waiting live one takes its slot before any replayed one.
TEST_F(DispatcherReplayTest, ReplayedRequestsHoldAtMostHalfTheSlotsAndFreedSlotsGoToLiveFirst) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/4);
  Start();
  const auto replayed = Replayed(ep, 20);
  Settle();
  EXPECT_EQ(client.Open().size(), 2u);
  EXPECT_EQ(OpenOf(replayed), 2u);
  const PendingDelivery l1 = Live(ep), l2 = Live(ep), l3 = Live(ep);
  Settle();
  EXPECT_EQ(TimesSent(l1), 1u);
  EXPECT_EQ(TimesSent(l2), 1u);
  EXPECT_EQ(TimesSent(l3), 0u);  // all 4 slots taken: 2 replayed, 2 live
  const size_t before = client.Started();
  const PendingDelivery first = replayed[0];
  Answer(first, FakeOutboundClient::Status(200));
  EXPECT_EQ(TimesSent(l3), 1u) << "the freed slot went to a replayed delivery";
  EXPECT_EQ(client.Started(), before + 1);
  EXPECT_EQ(OpenOf(replayed), 1u);
  // Live traffic done: the replay takes its two slots again, never a third.
  client.AnswerAll(FakeOutboundClient::Status(200), [&](const OutboundRequest& r) {
    return IsFor(r, l1) || IsFor(r, l2) || IsFor(r, l3);
  });
  Settle();
  EXPECT_EQ(OpenOf(replayed), 2u);
  EXPECT_EQ(client.Open().size(), 2u);
}

// With max_concurrency 1 the replay may hold the only slot; a live delivery waits for that one
// request, then goes before the next replayed one.
TEST_F(DispatcherReplayTest, WithOneSlotALiveDeliveryWaitsForOneReplayedRequestAtMost) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/1);
  Start();
  const auto replayed = Replayed(ep, 5);
  Settle();
  ASSERT_EQ(OpenOf(replayed), 1u);
  const PendingDelivery live = Live(ep);
  Settle();
  EXPECT_EQ(TimesSent(live), 0u);
  Answer(replayed[0], FakeOutboundClient::Status(200));
  EXPECT_EQ(TimesSent(live), 1u);
  EXPECT_EQ(TimesSent(replayed[1]), 0u);
}

// While no live delivery is ready, a replay uses the endpoint's whole rate limit.
TEST_F(DispatcherReplayTest, AReplayUsesTheWholeRateWhileLiveTrafficIsIdle) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/10, /*rate=*/20);
  Start();
  Replayed(ep, 500);
  const int64_t start = clock.NowMs();
  while (clock.NowMs() - start < 5 * kSecond) {
    Settle(2);
    client.AnswerAll(FakeOutboundClient::Status(200));
    clock.Advance(5);
  }
  EXPECT_GE(client.Started(), 98u);  // 20/s for 5 s
  EXPECT_LE(client.Started(), 103u);
}

// With a subject order, replayed deliveries of an employee keep their order among themselves
// (the second waits while the first retries), and a live one of the same employee does not wait
// for either.
TEST_F(DispatcherReplayTest, ReplayedOnesKeepTheirSubjectOrderAndLiveOnesDoNotWaitForThem) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/10);
  ep.ordering = Ordering::kSubject;
  Start();
  const auto replayed = Replayed(ep, 2, "emp_ana");
  Settle();
  ASSERT_EQ(TimesSent(replayed[0]), 1u);
  EXPECT_EQ(TimesSent(replayed[1]), 0u);
  Answer(replayed[0], FakeOutboundClient::Status(500));  // retried in ~10 s
  const PendingDelivery live = Live(ep, "emp_ana");
  Settle();
  EXPECT_EQ(TimesSent(live), 1u) << "a live event waited for a replayed one of its employee";
  EXPECT_EQ(TimesSent(replayed[1]), 0u);
  clock.Advance(13 * kSecond);
  Settle();
  ASSERT_EQ(TimesSent(replayed[0]), 2u);
  Answer(replayed[0], FakeOutboundClient::Status(200));
  EXPECT_EQ(TimesSent(replayed[1]), 1u);
}

// Canceled: queued replayed deliveries are written canceled and never sent; one in flight keeps
// an outcome that is final but is canceled instead of retried; one waiting for its retry is
// canceled keeping its attempts; live traffic goes on.
TEST_F(DispatcherReplayTest, ACanceledReplaysDeliveriesAreDroppedAndNotRetried) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/4);
  Start();
  const auto replayed = Replayed(ep, 10);
  Settle();
  ASSERT_EQ(OpenOf(replayed), 2u);
  Answer(replayed[0], FakeOutboundClient::Status(500));  // waits for its retry
  Settle();
  ASSERT_EQ(OpenOf(replayed), 2u);  // [1] and [2] in flight
  store.CancelReplayRows(ep.id);
  dispatcher->OnReplayCanceled(store.company, ep.id);
  Settle();
  Answer(replayed[1], FakeOutboundClient::Status(503));  // would be retried
  Answer(replayed[2], FakeOutboundClient::Status(200));
  EXPECT_EQ(store.StatusOf(replayed[0].id), DeliveryStatus::kCanceled);
  EXPECT_EQ(store.RowOf(replayed[0].id).d.attempts, 1);
  EXPECT_EQ(store.StatusOf(replayed[1].id), DeliveryStatus::kCanceled);
  EXPECT_EQ(store.RowOf(replayed[1].id).attempts.size(), 1u);  // its attempt is recorded
  EXPECT_EQ(store.StatusOf(replayed[2].id), DeliveryStatus::kSucceeded);
  for (size_t i = 3; i < replayed.size(); ++i) EXPECT_EQ(store.StatusOf(replayed[i].id), DeliveryStatus::kCanceled);
  const PendingDelivery live = Live(ep);
  Settle();
  EXPECT_EQ(TimesSent(live), 1u);
  clock.Advance(10 * kMinute);
  Settle();
  for (size_t i = 0; i < replayed.size(); ++i) EXPECT_EQ(TimesSent(replayed[i]), i < 3 ? 1u : 0u) << i;
  EXPECT_EQ(dispatcher->Stats().queued.load(), 1);  // the live one, in flight
}

// A replay's deliveries read back after a restart (the start-up recovery) stay in the replay's
// lane: the live one among them goes first, and the replayed ones keep to half the slots.
TEST_F(DispatcherReplayTest, DeliveriesReadBackAtStartKeepTheirLane) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/2);
  std::vector<PendingDelivery> replayed;
  for (int i = 0; i < 6; ++i) replayed.push_back(store.AddReplayDelivery(ep.id));
  const PendingDelivery live = store.AddDelivery(ep.id);  // accepted after them
  Start();
  EXPECT_EQ(TimesSent(live), 1u);
  EXPECT_EQ(OpenOf(replayed), 1u);
}

// POST …/retry of a replayed delivery is a request made by hand: it goes as a live one.
TEST_F(DispatcherReplayTest, ARetryAskedForByHandGoesAsLive) {
  Endpoint& ep = AddEndpoint(/*max_concurrency=*/2);
  Start();
  const auto replayed = Replayed(ep, 4);
  Settle();
  ASSERT_EQ(OpenOf(replayed), 1u);
  Answer(replayed[0], FakeOutboundClient::Status(200));
  ASSERT_EQ(store.StatusOf(replayed[0].id), DeliveryStatus::kSucceeded);
  PendingDelivery again = store.Requeue(replayed[0].id, clock.NowMs());
  dispatcher->OnDeliveriesReady({again});
  Settle();
  EXPECT_EQ(TimesSent(replayed[0]), 2u);  // with one replayed request in flight: a live slot
  EXPECT_EQ(client.Open().size(), 2u);
}

}  // namespace
}  // namespace hookd
