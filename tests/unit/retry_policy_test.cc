#include "core/retry_policy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace hookd {
namespace {

constexpr int64_t kS = 1000;
constexpr int64_t kM = 60 * kS;
constexpr int64_t kH = 60 * kM;
constexpr int64_t kD = 24 * kH;

// Returns the queued values in turn (test fake for sequences).
class SequenceRng final : public Rng {
 public:
  explicit SequenceRng(std::vector<double> values) : values_(std::move(values)) {}
  double NextUnit() override { return values_[next_++ % values_.size()]; }

 private:
  std::vector<double> values_;
  size_t next_ = 0;
};

// --- schedule --------------------------------------------------------------------------

TEST(RetryPolicyTest, DefaultIsTheSpecSchedule) {
  RetryPolicy p;
  EXPECT_EQ(p.MaxAttempts(), 8);
  EXPECT_EQ(p.DelaysMs(),
            (std::vector<int64_t>{5 * kS, 5 * kM, 30 * kM, 2 * kH, 5 * kH, 10 * kH, 10 * kH}));
  EXPECT_EQ(p.ToString(), "5s,5m,30m,2h,5h,10h,10h");
  Result<RetryPolicy> parsed = RetryPolicy::Parse(kDefaultRetrySchedule);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(*parsed, p);
}

TEST(RetryPolicyTest, ParsesEveryUnit) {
  Result<RetryPolicy> p = RetryPolicy::Parse("250ms,5s,2m,3h,1d,0s");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->DelaysMs(), (std::vector<int64_t>{250, 5 * kS, 2 * kM, 3 * kH, kD, 0}));
  EXPECT_EQ(p->MaxAttempts(), 7);
}

TEST(RetryPolicyTest, ParseIgnoresSpacesAroundEntries) {
  Result<RetryPolicy> p = RetryPolicy::Parse(" 5s , 10m,\t1h ");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->DelaysMs(), (std::vector<int64_t>{5 * kS, 10 * kM, kH}));
}

TEST(RetryPolicyTest, SingleEntryMeansTwoAttempts) {
  Result<RetryPolicy> p = RetryPolicy::Parse("1m");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->MaxAttempts(), 2);
}

TEST(RetryPolicyTest, ThirtyDaysIsTheLimitPerEntry) {
  EXPECT_TRUE(RetryPolicy::Parse("30d").has_value());
  EXPECT_TRUE(RetryPolicy::Parse("720h").has_value());
  Result<RetryPolicy> r = RetryPolicy::Parse("31d");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "retry schedule entry 1 (\"31d\"): longer than 30d");
  EXPECT_FALSE(RetryPolicy::Parse("2592000001ms").has_value());
  Result<RetryPolicy> huge = RetryPolicy::Parse("999999999999999999999s");
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().message,
            "retry schedule entry 1 (\"999999999999999999999s\"): longer than 30d");
}

TEST(RetryPolicyTest, ParseErrorsNameTheEntry) {
  struct Case {
    std::string_view spec;
    std::string_view message;
  };
  const Case cases[] = {
      {"", "retry schedule is empty (expected e.g. \"5s,5m,30m,2h\")"},
      {"   ", "retry schedule is empty (expected e.g. \"5s,5m,30m,2h\")"},
      {"5s,5x", "retry schedule entry 2 (\"5x\"): unknown unit \"x\" (use ms, s, m, h or d)"},
      {"5", "retry schedule entry 1 (\"5\"): missing unit (use ms, s, m, h or d)"},
      {"5s,,1m", "retry schedule entry 2 (\"\"): empty entry"},
      {"5s,", "retry schedule entry 2 (\"\"): empty entry"},
      {"s", "retry schedule entry 1 (\"s\"): expected a whole number followed by ms, s, m, h or d"},
      {"-5s",
       "retry schedule entry 1 (\"-5s\"): expected a whole number followed by ms, s, m, h or d"},
      {"1.5h", "retry schedule entry 1 (\"1.5h\"): unknown unit \".5h\" (use ms, s, m, h or d)"},
      {"5 s", "retry schedule entry 1 (\"5 s\"): unknown unit \" s\" (use ms, s, m, h or d)"},
      {"5S", "retry schedule entry 1 (\"5S\"): unknown unit \"S\" (use ms, s, m, h or d)"},
      {"1h30m", "retry schedule entry 1 (\"1h30m\"): unknown unit \"h30m\" (use ms, s, m, h or d)"},
  };
  for (const Case& c : cases) {
    Result<RetryPolicy> r = RetryPolicy::Parse(c.spec);
    ASSERT_FALSE(r.has_value()) << c.spec;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << c.spec;
    EXPECT_EQ(r.error().message, c.message) << c.spec;
  }
}

TEST(RetryPolicyTest, RefusesTooManyEntries) {
  std::string spec = "1s";
  for (int i = 1; i < 100; ++i) spec += ",1s";
  ASSERT_TRUE(RetryPolicy::Parse(spec).has_value());
  EXPECT_EQ(RetryPolicy::Parse(spec)->MaxAttempts(), 101);
  Result<RetryPolicy> r = RetryPolicy::Parse(spec + ",1s");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "retry schedule has more than 100 entries");
}

TEST(RetryPolicyTest, ToStringUsesLargestExactUnitAndRoundTrips) {
  RetryPolicy p({1500, 90 * kS, 90 * kM, 36 * kH, 2 * kD, 0});
  EXPECT_EQ(p.ToString(), "1500ms,90s,90m,36h,2d,0s");
  Result<RetryPolicy> back = RetryPolicy::Parse(p.ToString());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, p);
}

// --- NextDelayMs -----------------------------------------------------------------------

TEST(NextDelayTest, MidpointRandomGivesTheScheduledDelay) {
  RetryPolicy p;
  FixedRng mid(0.5);
  const int64_t expected[] = {5 * kS, 5 * kM, 30 * kM, 2 * kH, 5 * kH, 10 * kH, 10 * kH};
  for (int made = 1; made <= 7; ++made)
    EXPECT_EQ(p.NextDelayMs(made, std::nullopt, mid), expected[made - 1]) << made;
}

TEST(NextDelayTest, FirstAttemptIsImmediate) {
  RetryPolicy p;
  FixedRng rng(0.9);
  EXPECT_EQ(p.NextDelayMs(0, std::nullopt, rng), 0);
  EXPECT_EQ(p.NextDelayMs(-3, std::nullopt, rng), 0);
}

TEST(NextDelayTest, ExhaustedAfterEightAttempts) {
  RetryPolicy p;
  FixedRng rng(0.5);
  EXPECT_TRUE(p.NextDelayMs(7, std::nullopt, rng).has_value());
  EXPECT_EQ(p.NextDelayMs(8, std::nullopt, rng), std::nullopt);
  EXPECT_EQ(p.NextDelayMs(9, std::nullopt, rng), std::nullopt);
  // A Retry-After never buys an extra attempt.
  EXPECT_EQ(p.NextDelayMs(8, 1000, rng), std::nullopt);
}

TEST(NextDelayTest, JitterExtremes) {
  RetryPolicy p;
  FixedRng low(0.0);
  FixedRng high(1.0);                                        // clamped just below 1
  EXPECT_EQ(p.NextDelayMs(1, std::nullopt, low), 4000);      // 5 s - 20 %
  EXPECT_EQ(p.NextDelayMs(6, std::nullopt, low), 8 * kH);    // 10 h - 20 %
  EXPECT_EQ(p.NextDelayMs(1, std::nullopt, high), 6000);     // rounds to 5 s + 20 %
  EXPECT_EQ(p.NextDelayMs(6, std::nullopt, high), 12 * kH);  // 10 h + 20 %
  FixedRng quarter(0.25);
  EXPECT_EQ(p.NextDelayMs(2, std::nullopt, quarter), 270 * kS);  // 5 m * 0.9
}

TEST(NextDelayTest, JitterStaysWithinTwentyPercentAndSpreads) {
  RetryPolicy p;
  DefaultRng rng(12345);
  for (int made = 1; made <= 7; ++made) {
    const int64_t scheduled = p.DelaysMs()[made - 1];
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = 0;
    double sum = 0;
    constexpr int kSamples = 10000;
    for (int i = 0; i < kSamples; ++i) {
      std::optional<int64_t> d = p.NextDelayMs(made, std::nullopt, rng);
      ASSERT_TRUE(d.has_value());
      ASSERT_GE(*d, scheduled * 8 / 10) << made;
      ASSERT_LE(*d, scheduled * 12 / 10) << made;
      lo = std::min(lo, *d);
      hi = std::max(hi, *d);
      sum += static_cast<double>(*d);
    }
    // Uniform: the samples reach near both ends and average near the scheduled delay.
    EXPECT_LT(lo, scheduled * 81 / 100) << made;
    EXPECT_GT(hi, scheduled * 119 / 100) << made;
    EXPECT_NEAR(sum / kSamples, static_cast<double>(scheduled), scheduled * 0.01) << made;
  }
}

TEST(NextDelayTest, UsesTheRngOncePerScheduledDelay) {
  RetryPolicy p;
  SequenceRng rng({0.0, 0.5});
  EXPECT_EQ(p.NextDelayMs(1, std::nullopt, rng), 4000);
  EXPECT_EQ(p.NextDelayMs(1, std::nullopt, rng), 5000);
}

TEST(NextDelayTest, RetryAfterReplacesScheduleWithoutJitter) {
  RetryPolicy p;
  FixedRng rng(0.0);
  EXPECT_EQ(p.NextDelayMs(1, 120 * kS, rng), 120 * kS);  // longer than the 5 s slot
  EXPECT_EQ(p.NextDelayMs(6, 2 * kS, rng), 2 * kS);      // shorter than the 10 h slot
  EXPECT_EQ(p.NextDelayMs(3, 0, rng), 0);
}

TEST(NextDelayTest, RetryAfterIsCappedAtOneHourAndNeverNegative) {
  RetryPolicy p;
  FixedRng rng(0.5);
  EXPECT_EQ(p.NextDelayMs(1, kH, rng), kH);
  EXPECT_EQ(p.NextDelayMs(1, kH + 1, rng), kH);
  EXPECT_EQ(p.NextDelayMs(1, 7 * kD, rng), kH);
  EXPECT_EQ(p.NextDelayMs(1, std::numeric_limits<int64_t>::max(), rng), kH);
  EXPECT_EQ(p.NextDelayMs(1, -5000, rng), 0);
}

TEST(NextDelayTest, CustomScheduleExhaustsAtItsOwnLength) {
  Result<RetryPolicy> p = RetryPolicy::Parse("100ms,200ms");
  ASSERT_TRUE(p.has_value());
  FixedRng rng(0.5);
  EXPECT_EQ(p->NextDelayMs(1, std::nullopt, rng), 100);
  EXPECT_EQ(p->NextDelayMs(2, std::nullopt, rng), 200);
  EXPECT_EQ(p->NextDelayMs(3, std::nullopt, rng), std::nullopt);
}

// --- Retry-After -----------------------------------------------------------------------

constexpr int64_t kDate2015 = 1445412480LL * 1000;  // Wed, 21 Oct 2015 07:28:00 GMT

TEST(ParseRetryAfterTest, DelaySeconds) {
  EXPECT_EQ(ParseRetryAfter("120", kDate2015), 120 * kS);
  EXPECT_EQ(ParseRetryAfter("0", kDate2015), 0);
  EXPECT_EQ(ParseRetryAfter("  7\t", kDate2015), 7 * kS);
  EXPECT_EQ(ParseRetryAfter("007", kDate2015), 7 * kS);
}

TEST(ParseRetryAfterTest, HugeDelaySecondsSaturate) {
  std::optional<int64_t> v = ParseRetryAfter("99999999999999999999999999", 0);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, 1'000'000'000'000LL * 1000);
}

TEST(ParseRetryAfterTest, ImfFixdate) {
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kDate2015 - 90 * kS), 90 * kS);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kDate2015), 0);
  EXPECT_EQ(ParseRetryAfter("Thu, 26 Nov 2026 10:00:00 GMT", 1795687200LL * 1000 - 1500), 1500);
  EXPECT_EQ(ParseRetryAfter("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800LL * 1000 - kH), kH);
}

TEST(ParseRetryAfterTest, DateInThePastClampsToZero) {
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kDate2015 + kD), 0);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kDate2015), 0);
}

TEST(ParseRetryAfterTest, ObsoleteDateForms) {
  const int64_t t1994 = 784111777LL * 1000;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", t1994 - 10 * kS), 10 * kS);
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994", t1994 - 10 * kS), 10 * kS);
  EXPECT_EQ(ParseRetryAfter("Wed Oct 21 07:28:00 2015", kDate2015 - kS), kS);
  // RFC 850 two-digit year near 2015 means 2015, not 1915.
  EXPECT_EQ(ParseRetryAfter("Wednesday, 21-Oct-15 07:28:00 GMT", kDate2015 - kM), kM);
}

TEST(ParseRetryAfterTest, GarbageIsNullopt) {
  for (std::string_view bad : {
           "",
           "   ",
           "soon",
           "-5",
           "1.5",
           "+30",
           "120s",
           "0x10",
           "Wed, 21 Oct 2015 07:28:00",      // no GMT
           "Wed, 21 Oct 2015 07:28:00 UTC",  // must be GMT
           "Wed, 21 Oct 2015 07:28:00 GMT junk",
           "Wed, 21 Oct 15 07:28:00 GMT",    // 2-digit year in IMF form
           "Wed, 1 Oct 2015 07:28:00 GMT",   // 1-digit day in IMF form
           "Xyz, 21 Oct 2015 07:28:00 GMT",  // bad day name
           "Wed, 21 Okt 2015 07:28:00 GMT",  // bad month
           "wed, 21 oct 2015 07:28:00 gmt",  // case-sensitive per RFC 9110
           "Wed, 32 Oct 2015 07:28:00 GMT",  // day out of range
           "Thu, 29 Feb 2015 00:00:00 GMT",  // not a leap year
           "Wed, 21 Oct 2015 24:00:00 GMT",  // hour out of range
           "Wed, 21 Oct 2015 07:60:00 GMT",  // minute out of range
           "Wed, 21 Oct 2015 07:28 GMT",     // no seconds
           "2015-10-21T07:28:00Z",           // RFC 3339 is not an HTTP-date
       }) {
    EXPECT_EQ(ParseRetryAfter(bad, kDate2015), std::nullopt) << '"' << bad << '"';
  }
}

// --- outcomes --------------------------------------------------------------------------

TEST(ClassifyHttpStatusTest, SuccessGoneRetry) {
  EXPECT_EQ(ClassifyHttpStatus(200), AttemptOutcome::kSucceeded);
  EXPECT_EQ(ClassifyHttpStatus(201), AttemptOutcome::kSucceeded);
  EXPECT_EQ(ClassifyHttpStatus(204), AttemptOutcome::kSucceeded);
  EXPECT_EQ(ClassifyHttpStatus(299), AttemptOutcome::kSucceeded);
  EXPECT_EQ(ClassifyHttpStatus(410), AttemptOutcome::kGone);
  for (int s : {100, 199, 300, 301, 302, 304, 307, 400, 401, 403,
                404, 408, 409, 429, 500, 502, 503, 504, 0,   999})
    EXPECT_EQ(ClassifyHttpStatus(s), AttemptOutcome::kRetry) << s;
}

TEST(ClassifyHttpStatusTest, RetryAfterOnlyFor429And503) {
  EXPECT_TRUE(HonoursRetryAfter(429));
  EXPECT_TRUE(HonoursRetryAfter(503));
  EXPECT_FALSE(HonoursRetryAfter(500));
  EXPECT_FALSE(HonoursRetryAfter(502));
  EXPECT_FALSE(HonoursRetryAfter(301));
  EXPECT_FALSE(HonoursRetryAfter(200));
}

TEST(AttemptErrorTest, NamesMatchSpecAndRoundTrip) {
  EXPECT_EQ(AttemptErrorName(AttemptError::kTimeout), "timeout");
  EXPECT_EQ(AttemptErrorName(AttemptError::kConnect), "connect");
  EXPECT_EQ(AttemptErrorName(AttemptError::kDns), "dns");
  EXPECT_EQ(AttemptErrorName(AttemptError::kTls), "tls");
  EXPECT_EQ(AttemptErrorName(AttemptError::kBlocked), "blocked");
  EXPECT_EQ(AttemptErrorName(AttemptError::kHttp), "http");
  for (AttemptError e : {AttemptError::kTimeout, AttemptError::kConnect, AttemptError::kDns,
                         AttemptError::kTls, AttemptError::kBlocked, AttemptError::kHttp})
    EXPECT_EQ(ParseAttemptError(AttemptErrorName(e)), e);
  EXPECT_EQ(ParseAttemptError("TIMEOUT"), std::nullopt);
  EXPECT_EQ(ParseAttemptError(""), std::nullopt);
  EXPECT_EQ(ParseAttemptError("ssl"), std::nullopt);
}

// Found by fuzz/retry_after_fuzz.cc (UBSan): an RFC 850 date is placed near `now`, so with a
// `now` far from today its year ran to millions and the milliseconds overflowed.
TEST(ParseRetryAfterTest, YearsOutsideFourDigitsAreNotDates) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(ParseRetryAfter("Thursday, 01-Jan-95 00:00:00 GMT", kMax), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Thursday, 01-Jan-95 00:00:00 GMT", std::numeric_limits<int64_t>::min()), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Sat, 01 Jan 0000 00:00:00 GMT", kDate2015), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", kMax), 0);
  EXPECT_EQ(ParseRetryAfter("Mon, 01 Jan 0001 00:00:00 GMT", kDate2015), 0);
}

}  // namespace
}  // namespace hookd
