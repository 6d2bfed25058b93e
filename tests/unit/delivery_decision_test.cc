#include "core/delivery_decision.h"

#include <gtest/gtest.h>

namespace hookd {
namespace {

using Next = Decision::Next;
using Action = Decision::EndpointAction;

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kDay = 86'400'000;

struct DecideTest : ::testing::Test {
  RetryPolicy retry = *RetryPolicy::Parse("5s,5m,30m");  // 4 attempts in all
  DecisionRules rules{&retry, 5 * kDay, 10};
  FixedRng middle{0.5};  // no jitter

  Decision Run(AttemptResult r, int attempts, EndpointFacts ep = {}, Rng* rng = nullptr) {
    return Decide(r, attempts, ep, rules, kNow, rng ? *rng : middle);
  }
};

AttemptResult Answer(int status, std::string_view retry_after = "") {
  return AttemptResult{status, ErrorForStatus(status), retry_after};
}
AttemptResult NoAnswer(AttemptError e) { return AttemptResult{0, e, ""}; }

TEST(ErrorForStatusTest, OnlyTwoHundredsAreSuccesses) {
  for (int s : {200, 201, 202, 204, 299}) EXPECT_FALSE(ErrorForStatus(s).has_value()) << s;
  for (int s : {100, 199, 300, 301, 304, 400, 410, 429, 500, 503, 999})
    EXPECT_EQ(ErrorForStatus(s), AttemptError::kHttp) << s;
}

TEST_F(DecideTest, SuccessEndsTheFailureStreak) {
  Decision d = Run(Answer(204), 3, {.consecutive_failures = 2, .failing_since_ms = kNow - 1000});
  EXPECT_EQ(d.next, Next::kSucceeded);
  EXPECT_TRUE(d.health_changed);
  EXPECT_EQ(d.consecutive_failures, 0);
  EXPECT_EQ(d.failing_since_ms, 0);
  EXPECT_EQ(d.endpoint, Action::kNone);
  EXPECT_FALSE(Run(Answer(200), 1).health_changed);  // healthy already: nothing to write
}

TEST_F(DecideTest, RetriesFollowTheScheduleWithinTheJitterBounds) {
  const int64_t scheduled[] = {5'000, 300'000, 1'800'000};
  for (int attempts = 1; attempts <= 3; ++attempts) {
    FixedRng low(0.0), high(0.999999);
    Decision lo = Run(Answer(500), attempts, {}, &low);
    Decision mid = Run(Answer(500), attempts);
    Decision hi = Run(Answer(500), attempts, {}, &high);
    ASSERT_EQ(mid.next, Next::kRetry);
    EXPECT_EQ(mid.retry_at_ms, kNow + scheduled[attempts - 1]);
    EXPECT_EQ(lo.retry_at_ms, kNow + scheduled[attempts - 1] * 8 / 10);  // -20 %
    EXPECT_LE(hi.retry_at_ms, kNow + scheduled[attempts - 1] * 12 / 10);  // < +20 %
    EXPECT_GT(hi.retry_at_ms, kNow + scheduled[attempts - 1] * 119 / 100);
  }
  // Transport errors retry the same way, and grow the endpoint's failure streak.
  Decision t = Run(NoAnswer(AttemptError::kTimeout), 1, {.consecutive_failures = 3, .failing_since_ms = kNow - 5});
  EXPECT_EQ(t.next, Next::kRetry);
  EXPECT_EQ(t.consecutive_failures, 4);
  EXPECT_EQ(t.failing_since_ms, kNow - 5);
  EXPECT_EQ(Run(NoAnswer(AttemptError::kBlocked), 1).failing_since_ms, kNow);
}

TEST_F(DecideTest, RetryAfterOn429And503IsHonouredAndCapped) {
  EXPECT_EQ(Run(Answer(429, "120"), 1).retry_at_ms, kNow + 120'000);
  EXPECT_EQ(Run(Answer(503, "7"), 2).retry_at_ms, kNow + 7'000);
  EXPECT_EQ(Run(Answer(503, "86400"), 1).retry_at_ms, kNow + kMaxRetryAfterMs);  // capped at 1 h
  EXPECT_EQ(Run(Answer(500, "120"), 1).retry_at_ms, kNow + 5'000);  // other statuses: the schedule
  EXPECT_EQ(Run(Answer(429, "soon"), 1).retry_at_ms, kNow + 5'000);  // unreadable: the schedule
  // It never adds attempts: the last one fails whatever the header says.
  EXPECT_EQ(Run(Answer(429, "1"), 4).next, Next::kFailed);
}

TEST_F(DecideTest, ExhaustedRetriesFailTheDelivery) {
  EXPECT_EQ(Run(Answer(500), 3).next, Next::kRetry);
  Decision d = Run(Answer(500), 4);
  EXPECT_EQ(d.next, Next::kFailed);
  EXPECT_EQ(d.endpoint, Action::kNone);
}

TEST_F(DecideTest, GoneDisablesAnEndpointAndDeletesAHook) {
  Decision plain = Run(Answer(410), 1);
  EXPECT_EQ(plain.next, Next::kFailed);
  EXPECT_EQ(plain.endpoint, Action::kDisableGone);
  EXPECT_FALSE(plain.health_changed);
  EXPECT_EQ(Run(Answer(410), 1, {.kind = EndpointKind::kRestHook}).endpoint, Action::kDeleteHook);
  // Already disabled or deleted: the delivery fails, nothing more.
  EXPECT_EQ(Run(Answer(410), 1, {.enabled = false}).endpoint, Action::kNone);
  EXPECT_EQ(Run(Answer(410), 1, {.exists = false}).endpoint, Action::kNone);
}

TEST_F(DecideTest, ADisabledEndpointHoldsAndADeletedOneFails) {
  EXPECT_EQ(Run(Answer(500), 1, {.enabled = false}).next, Next::kHeld);
  Decision gone = Run(Answer(500), 1, {.exists = false, .consecutive_failures = 2});
  EXPECT_EQ(gone.next, Next::kFailed);
  EXPECT_FALSE(gone.health_changed);
  EXPECT_EQ(Run(Answer(200), 1, {.enabled = false}).next, Next::kSucceeded);
}

TEST_F(DecideTest, AutoDisableNeedsBothTheTimeAndTenFailuresInARow) {
  // Failing for 5 days, this is the 10th failure in a row: disabled.
  Decision d = Run(Answer(500), 2, {.consecutive_failures = 9, .failing_since_ms = kNow - 5 * kDay});
  EXPECT_EQ(d.endpoint, Action::kDisableFailing);
  EXPECT_EQ(d.next, Next::kRetry);  // the delivery itself is held when the disable is applied
  // 5 days but only 9 failures; 10 failures but not 5 days yet: not disabled.
  EXPECT_EQ(Run(Answer(500), 2, {.consecutive_failures = 8, .failing_since_ms = kNow - 6 * kDay}).endpoint, Action::kNone);
  EXPECT_EQ(Run(Answer(500), 2, {.consecutive_failures = 50, .failing_since_ms = kNow - 5 * kDay + 1}).endpoint,
            Action::kNone);
  // Disabled already, or deleted: nothing to do.
  EXPECT_EQ(Run(Answer(500), 2, {.enabled = false, .consecutive_failures = 50, .failing_since_ms = 1}).endpoint,
            Action::kNone);
}

}  // namespace
}  // namespace hookd
