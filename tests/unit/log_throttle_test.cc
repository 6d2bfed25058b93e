#include "core/log_throttle.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace hookd {
namespace {

constexpr int64_t kInterval = 10'000;
constexpr int64_t kT0 = 1'000'000;  // an arbitrary start on the caller's clock

TEST(LogThrottleTest, FirstOccurrenceLogsThenRepeatsAreCountedUntilTheInterval) {
  LogThrottle t(kInterval);
  auto first = t.Check("accept:24", kT0);
  EXPECT_TRUE(first);
  EXPECT_EQ(first.suppressed, 0u);
  EXPECT_EQ(first.Suffix(), "");

  for (int i = 1; i <= 1234; ++i) {
    auto v = t.Check("accept:24", kT0 + i * 5);  // 1234 more within 6.2 s
    ASSERT_FALSE(v) << "occurrence " << i;
    EXPECT_EQ(v.suppressed, static_cast<uint64_t>(i));
  }
  EXPECT_FALSE(t.Check("accept:24", kT0 + kInterval - 1));  // the 1235th, just before the interval

  auto next = t.Check("accept:24", kT0 + kInterval);
  ASSERT_TRUE(next);
  EXPECT_EQ(next.suppressed, 1235u);
  EXPECT_EQ(next.since_ms, kInterval);
  EXPECT_EQ(next.Suffix(), " (repeated 1235 times in the last 10 s)");

  // The count starts again from that line.
  auto after = t.Check("accept:24", kT0 + kInterval + 1);
  EXPECT_FALSE(after);
  EXPECT_EQ(after.suppressed, 1u);
  auto third = t.Check("accept:24", kT0 + 2 * kInterval + 2500);
  ASSERT_TRUE(third);
  EXPECT_EQ(third.suppressed, 1u);
  EXPECT_EQ(third.Suffix(), " (repeated 1 time in the last 13 s)");
}

TEST(LogThrottleTest, KeysAreIndependent) {
  LogThrottle t(kInterval);
  EXPECT_TRUE(t.Check("accept:24", kT0));
  EXPECT_TRUE(t.Check("accept:23", kT0 + 1));  // another kind of error has its own line
  EXPECT_TRUE(t.Check("store:write", kT0 + 2));
  EXPECT_FALSE(t.Check("accept:24", kT0 + 3));
  EXPECT_FALSE(t.Check("accept:23", kT0 + 4));
  EXPECT_FALSE(t.Check("accept:23", kT0 + 5));
  auto a = t.Check("accept:24", kT0 + kInterval);
  auto b = t.Check("accept:23", kT0 + kInterval);  // 1 ms short of its interval
  ASSERT_TRUE(a);
  EXPECT_EQ(a.suppressed, 1u);
  EXPECT_FALSE(b);
  EXPECT_EQ(b.suppressed, 3u);
}

TEST(LogThrottleTest, AQuietKeyLogsAtOnceWithNothingSuppressed) {
  LogThrottle t(kInterval);
  EXPECT_TRUE(t.Check("k", kT0));
  auto v = t.Check("k", kT0 + 3 * kInterval);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.suppressed, 0u);
  EXPECT_EQ(v.Suffix(), "");
}

TEST(LogThrottleTest, TimeGoingBackwardsIsNotYetTheInterval) {
  LogThrottle t(kInterval);
  EXPECT_TRUE(t.Check("k", kT0));
  auto v = t.Check("k", kT0 - 5 * kInterval);
  EXPECT_FALSE(v);
  EXPECT_EQ(v.suppressed, 1u);
  EXPECT_TRUE(t.Check("k", kT0 + kInterval));
}

TEST(LogThrottleTest, DueReportsTheTailOfABurstOnceItsIntervalHasPassed) {
  LogThrottle t(kInterval);
  EXPECT_TRUE(t.Check("a", kT0));
  EXPECT_TRUE(t.Check("b", kT0));
  EXPECT_TRUE(t.Check("c", kT0));
  for (int i = 0; i < 7; ++i) EXPECT_FALSE(t.Check("a", kT0 + 100 + i));
  EXPECT_FALSE(t.Check("b", kT0 + 5000));  // "c" has nothing suppressed

  EXPECT_EQ(t.Suppressed(), 8u);
  EXPECT_TRUE(t.Due(kT0 + kInterval - 1).empty());
  auto due = t.Due(kT0 + kInterval);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].first, "a");
  EXPECT_EQ(due[0].second.suppressed, 7u);
  EXPECT_EQ(due[0].second.since_ms, kInterval);
  EXPECT_EQ(due[1].first, "b");
  EXPECT_EQ(due[1].second.suppressed, 1u);
  EXPECT_EQ(t.Suppressed(), 0u);
  // Reported counts as a line: nothing is due again, and the next occurrence waits an interval.
  EXPECT_TRUE(t.Due(kT0 + 2 * kInterval).empty());
  EXPECT_FALSE(t.Check("a", kT0 + kInterval + 1));
  auto a = t.Check("a", kT0 + 2 * kInterval);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.suppressed, 1u);
}

TEST(LogThrottleTest, ForgetsKeysThatNoLongerMatter) {
  LogThrottle t(kInterval);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(t.Check("k" + std::to_string(i), kT0 + i * kInterval));
  // Each new key found the older ones quiet for an interval: only a few are kept.
  EXPECT_LE(t.TrackedKeys(), 257u);
  // A key with a count waiting is never forgotten.
  LogThrottle u(kInterval);
  EXPECT_TRUE(u.Check("held", kT0));
  EXPECT_FALSE(u.Check("held", kT0 + 1));
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(u.Check("k" + std::to_string(i), kT0 + (i + 1) * kInterval));
  auto due = u.Due(kT0 + 2000 * kInterval);
  ASSERT_FALSE(due.empty());
  EXPECT_EQ(due[0].first, "held");
  EXPECT_EQ(due[0].second.suppressed, 1u);
}

TEST(LogThrottleTest, ConcurrentCallersGetExactlyOneLineAndAnExactCount) {
  LogThrottle t(kInterval);
  constexpr int kThreads = 8, kEach = 20'000;
  std::atomic<int> lines{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] {
      for (int k = 0; k < kEach; ++k)
        if (t.Check("accept:24", kT0 + k % 100)) lines.fetch_add(1);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(lines.load(), 1);
  auto v = t.Check("accept:24", kT0 + kInterval + 100);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.suppressed, static_cast<uint64_t>(kThreads * kEach - 1));
}

}  // namespace
}  // namespace hookd
