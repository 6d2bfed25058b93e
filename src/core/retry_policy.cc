#include "core/retry_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace hookd {
namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr int64_t kMsPerDay = 24 * kMsPerHour;

constexpr std::array<std::string_view, 6> kAttemptErrorNames = {"timeout", "connect", "dns",
                                                                "tls",     "blocked", "http"};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// One schedule entry: digits then a unit. The error is a message without the entry prefix.
Expected<int64_t, std::string> ParseScheduleEntry(std::string_view entry) {
  if (entry.empty()) return Unexpected("empty entry");
  size_t i = 0;
  while (i < entry.size() && IsDigit(entry[i])) ++i;
  if (i == 0) return Unexpected("expected a whole number followed by ms, s, m, h or d");
  if (i > 12) return Unexpected("longer than 30d");
  int64_t n = 0;
  for (size_t k = 0; k < i; ++k) n = n * 10 + (entry[k] - '0');
  std::string_view unit = entry.substr(i);
  int64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = kMsPerSecond;
  else if (unit == "m")
    scale = kMsPerMinute;
  else if (unit == "h")
    scale = kMsPerHour;
  else if (unit == "d")
    scale = kMsPerDay;
  else if (unit.empty())
    return Unexpected("missing unit (use ms, s, m, h or d)");
  else
    return Unexpected(fmt::format("unknown unit \"{}\" (use ms, s, m, h or d)", unit));
  // Checked before multiplying: n < 10^12 times 8.64e7 could overflow int64.
  if (n > kMaxScheduleDelayMs / scale) return Unexpected("longer than 30d");
  return n * scale;
}

// --- HTTP-date -------------------------------------------------------------------------

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// A small cursor over the header text; every Read* fails (returns false/nullopt) without
// consuming on mismatch, and the parsers give up at the first failure.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool Done() const { return pos_ == s_.size(); }
  bool Lit(std::string_view lit) {
    if (s_.substr(pos_).starts_with(lit)) {
      pos_ += lit.size();
      return true;
    }
    return false;
  }
  // Exactly n digits.
  std::optional<int> Digits(size_t n) {
    if (pos_ + n > s_.size()) return std::nullopt;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!IsDigit(s_[pos_ + i])) return std::nullopt;
      v = v * 10 + (s_[pos_ + i] - '0');
    }
    pos_ += n;
    return v;
  }
  // One of `names` (exact, case-sensitive as RFC 9110 says); returns its index.
  template <size_t N>
  std::optional<int> OneOf(const std::array<std::string_view, N>& names) {
    for (size_t i = 0; i < N; ++i)
      if (Lit(names[i])) return static_cast<int>(i);
    return std::nullopt;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

constexpr std::array<std::string_view, 7> kShortDays = {"Mon", "Tue", "Wed", "Thu",
                                                        "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct DateParts {
  int64_t year = 0;
  int month = 0;  // 1-12
  int day = 0;
  int hour = 0, minute = 0, second = 0;
};

bool ReadTime(Cursor& c, DateParts& p) {
  auto h = c.Digits(2);
  if (!h || !c.Lit(":")) return false;
  auto m = c.Digits(2);
  if (!m || !c.Lit(":")) return false;
  auto s = c.Digits(2);
  if (!s) return false;
  p.hour = *h;
  p.minute = *m;
  p.second = *s;
  return true;
}

// "Wed, 21 Oct 2015 07:28:00 GMT"
std::optional<DateParts> ParseImfFixdate(std::string_view s) {
  Cursor c(s);
  DateParts p;
  if (!c.OneOf(kShortDays) || !c.Lit(", ")) return std::nullopt;
  auto day = c.Digits(2);
  if (!day || !c.Lit(" ")) return std::nullopt;
  auto month = c.OneOf(kMonths);
  if (!month || !c.Lit(" ")) return std::nullopt;
  auto year = c.Digits(4);
  if (!year || !c.Lit(" ") || !ReadTime(c, p) || !c.Lit(" GMT") || !c.Done()) return std::nullopt;
  p.day = *day;
  p.month = *month + 1;
  p.year = *year;
  return p;
}

// "Wednesday, 21-Oct-15 07:28:00 GMT"; the two-digit year is the one not more than 50
// years in the future of `now_year` (RFC 9110 §5.6.7).
std::optional<DateParts> ParseRfc850(std::string_view s, int64_t now_year) {
  Cursor c(s);
  DateParts p;
  if (!c.OneOf(kLongDays) || !c.Lit(", ")) return std::nullopt;
  auto day = c.Digits(2);
  if (!day || !c.Lit("-")) return std::nullopt;
  auto month = c.OneOf(kMonths);
  if (!month || !c.Lit("-")) return std::nullopt;
  auto yy = c.Digits(2);
  if (!yy || !c.Lit(" ") || !ReadTime(c, p) || !c.Lit(" GMT") || !c.Done()) return std::nullopt;
  int64_t year = (now_year / 100) * 100 + *yy;
  if (year > now_year + 50) year -= 100;
  p.day = *day;
  p.month = *month + 1;
  p.year = year;
  return p;
}

// "Wed Oct 21 07:28:00 2015" and "Sun Nov  6 08:49:37 1994" (space-padded day)
std::optional<DateParts> ParseAsctime(std::string_view s) {
  Cursor c(s);
  DateParts p;
  if (!c.OneOf(kShortDays) || !c.Lit(" ")) return std::nullopt;
  auto month = c.OneOf(kMonths);
  if (!month || !c.Lit(" ")) return std::nullopt;
  std::optional<int> day = c.Lit(" ") ? c.Digits(1) : c.Digits(2);
  if (!day || !c.Lit(" ") || !ReadTime(c, p) || !c.Lit(" ")) return std::nullopt;
  auto year = c.Digits(4);
  if (!year || !c.Done()) return std::nullopt;
  p.day = *day;
  p.month = *month + 1;
  p.year = *year;
  return p;
}

// nullopt for an impossible date, or a year outside 1-9999 (HTTP-dates write four digits; an
// RFC 850 two-digit year is placed near `now`, which may be anything).
std::optional<int64_t> ToEpochMs(const DateParts& p) {
  if (p.year < 1 || p.year > 9999 || p.month < 1 || p.month > 12 || p.day < 1 ||
      p.day > static_cast<int>(DaysInMonth(p.year, p.month)) || p.hour > 23 || p.minute > 59 ||
      p.second > 60)  // 60: a leap second
    return std::nullopt;
  const int64_t days = DaysFromCivil(p.year, p.month, p.day);
  return ((days * 24 + p.hour) * 60 + p.minute) * kMsPerMinute + p.second * kMsPerSecond;
}

int64_t YearOf(int64_t epoch_ms) {
  // Civil year from days (inverse of DaysFromCivil, year part only).
  int64_t z = epoch_ms / kMsPerDay - (epoch_ms % kMsPerDay < 0 ? 1 : 0) + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

}  // namespace

// --- attempt outcomes ------------------------------------------------------------------

std::string_view AttemptErrorName(AttemptError error) {
  return kAttemptErrorNames[static_cast<size_t>(error)];
}

std::optional<AttemptError> ParseAttemptError(std::string_view name) {
  for (size_t i = 0; i < kAttemptErrorNames.size(); ++i)
    if (kAttemptErrorNames[i] == name) return static_cast<AttemptError>(i);
  return std::nullopt;
}

AttemptOutcome ClassifyHttpStatus(int status) {
  if (status >= 200 && status <= 299) return AttemptOutcome::kSucceeded;
  if (status == 410) return AttemptOutcome::kGone;
  return AttemptOutcome::kRetry;
}

bool HonoursRetryAfter(int status) { return status == 429 || status == 503; }

// --- randomness ------------------------------------------------------------------------

DefaultRng::DefaultRng() : engine_(std::random_device{}()) {}

double DefaultRng::NextUnit() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }

FixedRng::FixedRng(double value) : value_(std::clamp(value, 0.0, std::nextafter(1.0, 0.0))) {}

// --- RetryPolicy -----------------------------------------------------------------------

RetryPolicy::RetryPolicy()
    : delays_ms_{5 * kMsPerSecond, 5 * kMsPerMinute, 30 * kMsPerMinute, 2 * kMsPerHour,
                 5 * kMsPerHour,   10 * kMsPerHour,  10 * kMsPerHour} {}

RetryPolicy::RetryPolicy(std::vector<int64_t> delays_ms) : delays_ms_(std::move(delays_ms)) {}

Result<RetryPolicy> RetryPolicy::Parse(std::string_view spec) {
  if (Trim(spec).empty())
    return MakeError(ErrorCode::kInvalidArgument,
                     "retry schedule is empty (expected e.g. \"5s,5m,30m,2h\")");
  std::vector<int64_t> delays;
  size_t index = 0;
  while (true) {
    size_t comma = spec.find(',');
    std::string_view raw = spec.substr(0, comma);
    ++index;
    if (index > kMaxScheduleEntries)
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("retry schedule has more than {} entries", kMaxScheduleEntries));
    std::string_view entry = Trim(raw);
    auto delay = ParseScheduleEntry(entry);
    if (!delay)
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("retry schedule entry {} (\"{}\"): {}", index, entry, delay.error()));
    delays.push_back(*delay);
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return RetryPolicy(std::move(delays));
}

std::optional<int64_t> RetryPolicy::NextDelayMs(int attempts_made,
                                                std::optional<int64_t> retry_after_ms,
                                                Rng& rng) const {
  if (attempts_made >= MaxAttempts()) return std::nullopt;
  if (attempts_made <= 0) return 0;
  if (retry_after_ms) return std::clamp<int64_t>(*retry_after_ms, 0, kMaxRetryAfterMs);
  const double scheduled = static_cast<double>(delays_ms_[attempts_made - 1]);
  const double factor = 1.0 - kJitterFraction + 2.0 * kJitterFraction * rng.NextUnit();
  return std::max<int64_t>(0, std::llround(scheduled * factor));
}

std::string RetryPolicy::ToString() const {
  std::string out;
  for (int64_t ms : delays_ms_) {
    if (!out.empty()) out.push_back(',');
    if (ms == 0)
      out += "0s";
    else if (ms % kMsPerDay == 0)
      out += fmt::format("{}d", ms / kMsPerDay);
    else if (ms % kMsPerHour == 0)
      out += fmt::format("{}h", ms / kMsPerHour);
    else if (ms % kMsPerMinute == 0)
      out += fmt::format("{}m", ms / kMsPerMinute);
    else if (ms % kMsPerSecond == 0)
      out += fmt::format("{}s", ms / kMsPerSecond);
    else
      out += fmt::format("{}ms", ms);
  }
  return out;
}

// --- Retry-After -----------------------------------------------------------------------

std::optional<int64_t> ParseRetryAfter(std::string_view header, int64_t now_ms) {
  header = Trim(header);
  if (header.empty()) return std::nullopt;

  if (std::all_of(header.begin(), header.end(), IsDigit)) {
    // delay-seconds. Saturate absurd values (they get capped to 1 h later anyway).
    constexpr int64_t kMaxSeconds = 1'000'000'000'000;  // ~31,700 years
    int64_t seconds = 0;
    for (char c : header) {
      seconds = seconds * 10 + (c - '0');
      if (seconds > kMaxSeconds) {
        seconds = kMaxSeconds;
        break;
      }
    }
    return seconds * kMsPerSecond;
  }

  std::optional<DateParts> parts = ParseImfFixdate(header);
  if (!parts) parts = ParseRfc850(header, YearOf(now_ms));
  if (!parts) parts = ParseAsctime(header);
  if (!parts) return std::nullopt;
  std::optional<int64_t> at_ms = ToEpochMs(*parts);
  if (!at_ms) return std::nullopt;
  int64_t delta = 0;
  if (__builtin_sub_overflow(*at_ms, now_ms, &delta))
    return *at_ms > now_ms ? std::numeric_limits<int64_t>::max() : 0;
  return std::max<int64_t>(0, delta);
}

}  // namespace hookd
