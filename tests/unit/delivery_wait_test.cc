// Why a delivery waits (core/delivery_wait.h): the store's facts and the dispatcher's live
// state joined into one reason, and its JSON form.
#include "core/delivery_wait.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/clock.h"

namespace hookd {
namespace {

using State = LiveDeliveryState::State;
using Ready = LiveDeliveryState::Ready;

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kMinute = 60'000;

struct DescribeWaitTest : ::testing::Test {
  Endpoint ep;
  Delivery d;
  DescribeWaitTest() {
    ep.id = EndpointId::New();
    ep.ordering = Ordering::kSubject;
    ep.max_concurrency = 3;
    ep.rate_limit_per_second = 7;
    d.id = DeliveryId::New();
    d.endpoint_id = ep.id;
    d.status = DeliveryStatus::kPending;
    d.next_attempt_at_ms = kNow - 2 * kMinute;  // due since it was accepted
  }
  OrderingBlocker Blocker(DeliveryId by, std::optional<int64_t> next = std::nullopt, int64_t ahead = 1) {
    return OrderingBlocker{d.id, "emp_1", std::move(by), 3, next, ahead};
  }
  std::optional<DeliveryWait> Run(const OrderingBlocker* b = nullptr, const LiveDeliveryState* live = nullptr) {
    return DescribeWait(d, &ep, b, live, kNow);
  }
  static LiveDeliveryState Live(State s) {
    LiveDeliveryState l;
    l.state = s;
    return l;
  }
};

TEST_F(DescribeWaitTest, FinishedDeliveriesDoNotWait) {
  for (DeliveryStatus s : {DeliveryStatus::kSucceeded, DeliveryStatus::kFailed}) {
    d.status = s;
    EXPECT_FALSE(Run().has_value());
  }
}

TEST_F(DescribeWaitTest, BehindTheEarliestPendingDeliveryOfItsSubjectFromTheStore) {
  const DeliveryId first = DeliveryId::New();
  OrderingBlocker b = Blocker(first, kNow + 4 * kMinute, 2);
  auto w = Run(&b);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->reason, WaitReason::kBehindEarlierDelivery);
  EXPECT_EQ(w->blocked_by, first);
  EXPECT_EQ(w->subject, "emp_1");
  EXPECT_EQ(w->ahead, 2);
  EXPECT_EQ(w->blocked_by_next_attempt_at_ms, kNow + 4 * kMinute);
  // Its own (stale) due time says nothing: it goes when the first one is done.
  const auto j = DeliveryWaitToJson(*w);
  EXPECT_EQ(j.at("reason").as_string(), "behind_earlier_delivery");
  EXPECT_EQ(j.at("blocked_by").as_string(), first.str());
  EXPECT_EQ(j.at("subject").as_string(), "emp_1");
  EXPECT_EQ(j.at("ahead").as_int64(), 2);
  EXPECT_EQ(j.at("blocked_by_next_attempt_at").as_string(), FormatTime(kNow + 4 * kMinute));
  EXPECT_FALSE(j.contains("next_attempt_at"));
}

TEST_F(DescribeWaitTest, TheDispatchersLiveStateWinsOverTheStore) {
  const DeliveryId head = DeliveryId::New();
  OrderingBlocker b = Blocker(head, kNow + kMinute);
  LiveDeliveryState blocked = Live(State::kBlocked);
  blocked.blocked_by = head;
  blocked.subject = "emp_1";
  blocked.ahead = 4;
  auto w = Run(&b, &blocked);
  EXPECT_EQ(w->reason, WaitReason::kBehindEarlierDelivery);
  EXPECT_EQ(w->ahead, 4);
  EXPECT_EQ(w->blocked_by_next_attempt_at_ms, kNow + kMinute);  // the store's detail of the same blocker
  // Blocked behind another one than the store says (the store lags an outcome): no detail.
  blocked.blocked_by = DeliveryId::New();
  w = Run(&b, &blocked);
  EXPECT_EQ(w->blocked_by, blocked.blocked_by);
  EXPECT_FALSE(w->blocked_by_next_attempt_at_ms);
  // In flight, or ready, although the store names a blocker: what happens is what counts.
  LiveDeliveryState sending = Live(State::kInFlight);
  EXPECT_EQ(Run(&b, &sending)->reason, WaitReason::kSending);
  LiveDeliveryState unknown = Live(State::kUnknown);
  EXPECT_EQ(Run(&b, &unknown)->reason, WaitReason::kBehindEarlierDelivery);
}

TEST_F(DescribeWaitTest, ADueDeliveryWaitsForTheEndpointsLimitsOnlyWhenTheDispatcherSaysSo) {
  LiveDeliveryState ready = Live(State::kReady);
  ready.ready = Ready::kConcurrency;
  auto w = Run(nullptr, &ready);
  EXPECT_EQ(w->reason, WaitReason::kConcurrencyLimit);
  EXPECT_EQ(DeliveryWaitToJson(*w).at("max_concurrency").as_int64(), 3);
  ready.ready = Ready::kRateLimit;
  w = Run(nullptr, &ready);
  EXPECT_EQ(w->reason, WaitReason::kRateLimited);
  EXPECT_EQ(DeliveryWaitToJson(*w).at("rate_limit_per_second").as_int64(), 7);
  ready.ready = Ready::kQueued;
  EXPECT_EQ(Run(nullptr, &ready)->reason, WaitReason::kDue);
  // Not known here (another node dispatches it): due, never a guessed limit.
  EXPECT_EQ(Run()->reason, WaitReason::kDue);
  EXPECT_EQ(DeliveryWaitToJson(*Run()), (boost::json::object{{"reason", "due"}}));
}

TEST_F(DescribeWaitTest, ARetryWaitsForItsBackoffAndAFirstAttemptForItsTime) {
  d.attempts = 2;
  d.next_attempt_at_ms = kNow + 4 * kMinute;
  auto w = Run();
  EXPECT_EQ(w->reason, WaitReason::kRetryBackoff);
  EXPECT_EQ(DeliveryWaitToJson(*w).at("next_attempt_at").as_string(), FormatTime(kNow + 4 * kMinute));
  d.attempts = 0;
  EXPECT_EQ(Run()->reason, WaitReason::kScheduled);
  // Live: the dispatcher's timer (the store may lag one outcome behind it).
  d.attempts = 1;
  d.next_attempt_at_ms = kNow - kMinute;
  LiveDeliveryState waiting = Live(State::kWaiting);
  waiting.due_ms = kNow + 9 * kMinute;
  w = Run(nullptr, &waiting);
  EXPECT_EQ(w->reason, WaitReason::kRetryBackoff);
  EXPECT_EQ(w->next_attempt_at_ms, kNow + 9 * kMinute);
  // Overdue: never a next attempt in the past.
  EXPECT_EQ(Run()->reason, WaitReason::kDue);
  waiting.due_ms = kNow - 1;
  EXPECT_EQ(Run(nullptr, &waiting)->reason, WaitReason::kDue);
}

TEST_F(DescribeWaitTest, HeldWhileTheEndpointIsDisabled) {
  ep.status = EndpointStatus::kDisabled;
  ep.disabled_reason = DisabledReason::kFailing;
  d.status = DeliveryStatus::kHeld;
  d.next_attempt_at_ms.reset();
  auto w = Run();
  EXPECT_EQ(w->reason, WaitReason::kEndpointDisabled);
  EXPECT_EQ(DeliveryWaitToJson(*w), (boost::json::object{{"reason", "endpoint_disabled"}, {"disabled_reason", "failing"}}));
  // Still pending a moment after the endpoint was disabled: held, whatever else is known.
  d.status = DeliveryStatus::kPending;
  LiveDeliveryState sending = Live(State::kInFlight);
  EXPECT_EQ(Run(nullptr, &sending)->reason, WaitReason::kEndpointDisabled);
  // Enabled again without releasing it: held by itself.
  ep.status = EndpointStatus::kEnabled;
  ep.disabled_reason = DisabledReason::kNone;
  d.status = DeliveryStatus::kHeld;
  EXPECT_EQ(Run()->reason, WaitReason::kHeld);
}

}  // namespace
}  // namespace hookd
