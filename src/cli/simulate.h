#pragma once
// `hookd simulate` (SPEC §8): a believable stream of HR activity for one company, published
// to a running hookd at a chosen rate, for demos and load tests.
//
// The pieces, each testable without a network or a clock:
//   ResolveSimulateFlags  flags -> SimulateOptions               (usage errors: exit 2)
//   HrSimulator           a seeded in-memory company -> SimEvent stream (pure, deterministic)
//   Pacer                 the paced loop's schedule (when request k may go out)
//   EventPoster           POSTs one request to hookd; MakeCurlPoster is the real one
//   RunSimulation         generator + pacer + poster + an injected clock -> SimulateResult
//   RunSimulate           all of the above with libcurl, the real clock, SIGINT and stdio.
//
// Nothing here is thread-safe; everything runs on the caller's thread. The token never
// appears in any message or output line.

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/ids.h"

namespace CLI {
class App;
}

namespace hookd {

// Exit codes of `hookd simulate`.
inline constexpr int kSimulateExitOk = 0;           // every event was accepted
inline constexpr int kSimulateExitRejected = 1;     // hookd refused some (or the token/company)
inline constexpr int kSimulateExitUsage = 2;        // bad or missing flags
inline constexpr int kSimulateExitUnreachable = 3;  // no HTTP answer from hookd

// Environment fallbacks of --url, --token and --company.
inline constexpr std::string_view kSimulateUrlEnv = "HOOKD_URL";
inline constexpr std::string_view kSimulateTokenEnv = "HOOKD_TOKEN";
inline constexpr std::string_view kSimulateCompanyEnv = "HOOKD_COMPANY";

// Bounds of the flags.
inline constexpr size_t kSimulateMaxBatch = 500;  // hookd's batch limit (SPEC §4)
inline constexpr int kSimulateMinEmployees = 5;
inline constexpr int kSimulateMaxEmployees = 100000;
inline constexpr double kSimulateMaxRate = 100000;

// The flags as given (CLI11 fills this; tests may fill it by hand). Numbers are kept as
// text so that ResolveSimulateFlags can say what is wrong with them.
struct SimulateFlags {
  std::string url = "http://127.0.0.1:8080";  // --url, or $HOOKD_URL
  std::string company;                        // --company, or $HOOKD_COMPANY
  std::string token;                          // --token, or $HOOKD_TOKEN
  std::string rate = "5";                     // events per second
  std::string duration;                       // "" or a duration (60s, 5m)
  std::string events;                         // "" or a count
  std::string seed;                           // "" = random (printed in the summary)
  std::string batch = "1";                    // events per request
  std::string employees = "50";               // company size at the start
  std::string start;                          // "" = today (UTC); else YYYY-MM-DD
};

// Validated flags.
struct SimulateOptions {
  std::string base_url;  // "http://127.0.0.1:8080" (no trailing slash)
  CompanyId company;
  std::string token;
  double rate = 5;                     // events per second, > 0
  std::optional<int64_t> duration_ms;  // stop after this long (schedule time)
  std::optional<uint64_t> max_events;  // stop after this many events
  uint64_t seed = 0;
  size_t batch = 1;  // 1: POST …/events; more: POST …/events/batch with up to `batch` events
  int employees = 50;
  int64_t start_day_ms = 0;  // 00:00 UTC of the first simulated day
};

// Checks the flags. `random_seed` is the seed when --seed is absent; `now_ms` gives today
// when --start is absent. kInvalidArgument, with a message naming the flag, for: no token or
// company, a malformed URL or company id, --rate not in (0, 100000], both --duration and
// --events, a bad duration/count/seed/date, --batch outside 1..500, --employees outside
// 5..100000.
[[nodiscard]] Result<SimulateOptions> ResolveSimulateFlags(const SimulateFlags& flags,
                                                           uint64_t random_seed, int64_t now_ms);

// ---- the generator --------------------------------------------------------------------

// One generated event.
struct SimEvent {
  std::string type;            // a built-in type, e.g. "employee.hired"
  boost::json::value data;     // passes the type's schema (SPEC §2)
  int64_t occurred_at_ms = 0;  // when it happened in simulated time (never decreases)
  std::string employee_id;     // the subject: the employee the event is about
  std::string employee_name;   // "Lucía García", for progress lines
};

// The body of POST …/events for `e`: {"type", "data", "occurred_at"}.
boost::json::value SimEventRequestBody(const SimEvent& e);

// A small company in memory — employees with Spanish and other European names, departments
// with heads, offices in Spain and Lisbon — living through simulated working days:
// hires (employee.hired, then contract.created and onboarding.started, later
// onboarding.completed), clock-ins in the morning and clock-outs with worked_minutes,
// time off requested then approved or rejected by the manager, raises and other contract
// changes, department moves and leavers.
//
// Guarantees, relied on by tests: every event passes its type's schema; occurred_at never
// decreases; clocking happens on weekdays in office hours (office-local time); one
// employee's events come in a sensible order — hired first (for people hired during the
// run), clock-in before its clock-out, a request before its review, onboarding started
// before completed, contract.created before contract.updated, nothing after
// employee.left. The same Config gives the same events, on every platform (own PRNG).
//
// Simulated time runs much faster than the clock: a working day holds about 2.5 events
// per employee. Emails are on .example domains (RFC 2606): nothing reaches anyone.
class HrSimulator {
 public:
  struct Config {
    uint64_t seed = 1;
    int employees = 50;        // headcount at the start (>= kSimulateMinEmployees)
    int64_t start_day_ms = 0;  // the first simulated day (its 00:00 UTC)
  };

  explicit HrSimulator(const Config& config);
  ~HrSimulator();
  HrSimulator(HrSimulator&&) noexcept;
  HrSimulator& operator=(HrSimulator&&) noexcept;

  // The next event. Never fails; never ends.
  SimEvent Next();

  // People employed now (hired, not left).
  size_t Headcount() const;
  // The company's email domain, e.g. "acme-logistica.example".
  const std::string& EmailDomain() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// ---- the paced loop -------------------------------------------------------------------

// The schedule of a paced loop: the request that starts with event number `sent` (0-based)
// is due at start + sent / rate. A loop that fell behind catches up at full speed, but by
// at most `max_lag_us` worth of events: after a long stall (hookd restarting) it carries on
// at the rate instead of bursting.
class Pacer {
 public:
  Pacer(double events_per_second, int64_t start_us, int64_t max_lag_us = 1'000'000);
  int64_t DueUs(uint64_t sent) const;
  // Called after each request: moves the schedule when `now_us` is more than max_lag past it.
  void CatchUp(uint64_t sent, int64_t now_us);

 private:
  double us_per_event_;
  int64_t start_us_;
  int64_t max_lag_us_;
};

// What the loop counted so far.
struct SimulateCounters {
  uint64_t sent = 0;      // events hookd answered for (accepted + rejected)
  uint64_t accepted = 0;  // 2xx (an idempotent replay counts as accepted)
  uint64_t rejected = 0;  // 4xx, or 5xx after retries
  std::string last_type;  // of the last accepted event
  std::string last_name;  // its employee
  std::map<std::string, uint64_t> accepted_by_type;
};

// "sent 120 · accepted 120 · rejected 0 · 5.0/s · last employee.hired (Lucía García)"
std::string FormatProgress(const SimulateCounters& c, double elapsed_s);

// One HTTP answer.
struct PostResult {
  long status = 0;
  std::string body;
  std::optional<int64_t> retry_after_s;  // a Retry-After in seconds, when given
};

// Sends requests to hookd. Implementations need not be thread-safe.
class EventPoster {
 public:
  virtual ~EventPoster() = default;
  // POSTs the JSON `body` to the base URL + `path` with the token and `idempotency_key`.
  // Any HTTP answer is a value; kUnavailable (with the reason) when none came: connection
  // refused, DNS, TLS, timeout.
  virtual Result<PostResult> Post(const std::string& path, const std::string& body,
                                  const std::string& idempotency_key) = 0;
};

// A libcurl easy handle with keep-alive. `base_url` as in SimulateOptions.
std::unique_ptr<EventPoster> MakeCurlPoster(std::string base_url, std::string token);

// The loop's view of the world, replaceable in tests.
struct SimulateEnv {
  std::function<int64_t()> now_us;                   // a monotonic clock
  std::function<void(int64_t)> sleep_until_us;       // may return early; the loop re-checks
  std::function<bool()> interrupted;                 // Ctrl-C was pressed
  std::function<void(const std::string&)> progress;  // a status line, at most once a second
  std::string run_id;  // unique per run: prefix of the Idempotency-Keys
};

struct SimulateResult {
  SimulateCounters counters;
  // How long the run took; at least --events / --rate (or --duration) when it ran to its end.
  double elapsed_s = 0;
  int exit_code = kSimulateExitOk;
  std::string stop_reason;    // "--events 40 sent", "interrupted (Ctrl-C)", ...
  std::string first_problem;  // the first rejection: "422 Validation failed: …"
  std::string unreachable;    // why hookd could not be reached (exit 3)
};

// Sends events from `sim` through `poster` at options.rate until --events, --duration, an
// interrupt, a fatal answer (401, 403, 404: every further request would fail the same way)
// or unreachability. Each request carries the Idempotency-Key "sim-<run_id>-<n>" (n: its
// first event's number, from 1) and is retried with the same key on transport errors (once
// hookd has answered at least once) and on 429/502/503/504, for up to 30 s. A transport
// error on the very first request is reported at once (a wrong --url).
SimulateResult RunSimulation(const SimulateOptions& options, HrSimulator& sim, EventPoster& poster,
                             const SimulateEnv& env);

// The closing lines: counts and rate (when the run lasted long enough for one to mean
// something), the accepted events by type, and how to replay the run (when anything was sent).
std::string FormatSummary(const SimulateOptions& options, const SimulateResult& result);

// Registers the flags, help text and environment fallbacks on the `simulate` subcommand.
void AddSimulateFlags(CLI::App& simulate, SimulateFlags& flags);

// Runs `hookd simulate`. Returns the exit code.
int RunSimulate(const SimulateFlags& flags);

}  // namespace hookd
