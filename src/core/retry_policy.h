#pragma once
// When to try a delivery again (SPEC §5.2, §5.3), and how an attempt's outcome is named.
//
// A RetryPolicy is a schedule of delays *after the first attempt*: the default
// "5s,5m,30m,2h,5h,10h,10h" means the first attempt at once, then 7 retries, 8 attempts
// in all. Each scheduled delay gets ±20 % uniform jitter so that a receiver that came
// back up is not hit by every queued delivery in the same second. A Retry-After from the
// receiver (the caller passes it only for 429 and 503) replaces the scheduled delay,
// capped at one hour; it never adds attempts.
//
// Pure: no clock (callers pass `now_ms`), randomness injected through Rng.
// RetryPolicy is immutable after construction and safe to share between threads; an Rng
// is not (use one per thread).

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace hookd {

// --- attempt outcomes ------------------------------------------------------------------

// The `error` field of an attempt (SPEC §4 attempt object). Absent (null) when the
// receiver answered with 2xx.
enum class AttemptError {
  kTimeout,  // no complete response within the endpoint's timeout_ms
  kConnect,  // TCP connect refused / unreachable / reset before a response
  kDns,      // the host name did not resolve
  kTls,      // handshake or certificate verification failed
  kBlocked,  // the destination address is refused by the SSRF guard (SPEC §5.9)
  kHttp,     // the receiver answered, with a non-2xx status
};

// "timeout", "connect", "dns", "tls", "blocked", "http" — the stored/API spelling.
std::string_view AttemptErrorName(AttemptError error);
// Inverse of AttemptErrorName (exact, lower case); nullopt for anything else.
std::optional<AttemptError> ParseAttemptError(std::string_view name);

// What an HTTP response means for the delivery (SPEC §5.2).
enum class AttemptOutcome {
  kSucceeded,  // 2xx: the delivery is done
  kGone,       // 410: disable the endpoint (delete a REST hook), fail the delivery
  kRetry,      // anything else (1xx, 3xx — never followed —, 4xx, 5xx): try again later
};
AttemptOutcome ClassifyHttpStatus(int status);

// True for the statuses whose Retry-After header is honoured: 429 and 503.
bool HonoursRetryAfter(int status);

// --- randomness ------------------------------------------------------------------------

// Source of jitter. Not thread-safe; one per thread (or per dispatcher loop).
class Rng {
 public:
  virtual ~Rng() = default;
  // Uniform in [0, 1).
  virtual double NextUnit() = 0;
};

// Production Rng: a Mersenne Twister seeded from std::random_device.
class DefaultRng final : public Rng {
 public:
  DefaultRng();
  explicit DefaultRng(uint64_t seed) : engine_(seed) {}
  double NextUnit() override;

 private:
  std::mt19937_64 engine_;
};

// Test fake: always returns the same value (clamped into [0, 1)). 0 gives the shortest
// jittered delay (-20 %), 0.5 the scheduled delay exactly, values near 1 the longest.
class FixedRng final : public Rng {
 public:
  explicit FixedRng(double value);
  double NextUnit() override { return value_; }

 private:
  double value_;
};

// --- the policy ------------------------------------------------------------------------

inline constexpr std::string_view kDefaultRetrySchedule = "5s,5m,30m,2h,5h,10h,10h";
inline constexpr int64_t kMaxRetryAfterMs = 60 * 60 * 1000;  // 1 h cap on Retry-After
inline constexpr double kJitterFraction = 0.2;               // ±20 %
inline constexpr size_t kMaxScheduleEntries = 100;
inline constexpr int64_t kMaxScheduleDelayMs = 30LL * 24 * 60 * 60 * 1000;  // 30 d per entry

class RetryPolicy {
 public:
  // The SPEC default, 8 attempts in all.
  RetryPolicy();
  // `delays_ms[i]` is the wait after attempt i+1 fails. Values are taken as given
  // (callers validate; Parse does).
  explicit RetryPolicy(std::vector<int64_t> delays_ms);

  // Comma-separated durations, each a non-negative integer and a unit among ms, s, m, h,
  // d ("5s,5m,30m,2h"); spaces around entries are ignored. kInvalidArgument, naming the
  // bad entry, for an empty spec or entry, a missing/unknown unit, a fraction or sign,
  // an entry above 30 d, or more than 100 entries.
  static Result<RetryPolicy> Parse(std::string_view spec);

  // Attempts in all, the first included: schedule size + 1.
  int MaxAttempts() const { return static_cast<int>(delays_ms_.size()) + 1; }
  const std::vector<int64_t>& DelaysMs() const { return delays_ms_; }

  // How long to wait before the next attempt, after `attempts_made` attempts have failed:
  //   - nullopt when attempts_made >= MaxAttempts() (the delivery is failed);
  //   - 0 when attempts_made <= 0 (the first attempt goes at once);
  //   - `retry_after_ms` clamped to [0, 1 h] when given (no jitter);
  //   - else the scheduled delay times a uniform factor in [0.8, 1.2), rounded to ms.
  std::optional<int64_t> NextDelayMs(int attempts_made, std::optional<int64_t> retry_after_ms,
                                     Rng& rng) const;

  // Canonical text of the schedule, with the largest exact unit per entry: "5s,5m,30m,2h".
  // Parse(ToString()) gives an equal policy.
  std::string ToString() const;

  bool operator==(const RetryPolicy&) const = default;

 private:
  std::vector<int64_t> delays_ms_;
};

// Milliseconds from `now_ms` until a Retry-After header value says to come back, clamped
// to >= 0; nullopt when the value is neither delay-seconds ("120") nor an HTTP-date. All
// three HTTP-date forms of RFC 9110 are accepted: IMF-fixdate ("Wed, 21 Oct 2015 07:28:00
// GMT"), the obsolete RFC 850 form ("Wednesday, 21-Oct-15 07:28:00 GMT") and asctime
// ("Wed Oct 21 07:28:00 2015"). Surrounding whitespace is ignored. The 1 h cap is
// NextDelayMs's job, not this function's (huge values saturate instead of overflowing).
std::optional<int64_t> ParseRetryAfter(std::string_view header, int64_t now_ms);

}  // namespace hookd
