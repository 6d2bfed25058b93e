// `hookd simulate` without a network: the generator's events against hookd's own catalog
// schemas, the per-employee ordering rules, determinism, the pacing math, flag validation,
// and the send loop with a fake poster and a fake clock.
#include "cli/simulate.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/event_catalog.h"
#include "core/json_util.h"

namespace hookd {
namespace {
namespace json = boost::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const int64_t kStartDay = *ParseTime("2026-11-26T00:00:00Z");  // a Thursday

std::vector<SimEvent> Generate(uint64_t seed, int employees, size_t n, int64_t start = kStartDay) {
  HrSimulator sim({seed, employees, start});
  std::vector<SimEvent> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(sim.Next());
  return out;
}

std::string Str(const json::value& v, std::string_view pointer) {
  const json::value* p = ResolvePointer(v, pointer);
  return p != nullptr && p->is_string() ? std::string(p->get_string()) : std::string();
}

int64_t Int(const json::value& v, std::string_view pointer) {
  const json::value* p = ResolvePointer(v, pointer);
  return p != nullptr && p->is_int64() ? p->get_int64() : -1;
}

// "2026-11-26" -> days since the epoch.
int64_t DayOf(std::string_view date) {
  std::optional<int64_t> ms = ParseTime(std::string(date) + "T00:00:00Z");
  EXPECT_TRUE(ms.has_value()) << date;
  return ms ? *ms / 86'400'000 : 0;
}

bool Weekday(std::string_view date) {
  std::chrono::weekday w{std::chrono::sys_days(std::chrono::days(DayOf(date)))};
  return w != std::chrono::Saturday && w != std::chrono::Sunday;
}

// Local minutes of the day of "2026-11-26T08:58:12.000+01:00".
int LocalMinutes(std::string_view at) {
  return std::stoi(std::string(at.substr(11, 2))) * 60 + std::stoi(std::string(at.substr(14, 2)));
}

struct Params {
  uint64_t seed;
  int employees;
};
const Params kRuns[] = {{1, 50}, {7, 5}, {42, 300}, {2026, 20}};

// ---- the generator ----------------------------------------------------------------------

TEST(HrSimulatorTest, EveryEventPassesItsTypesSchema) {
  EventCatalog catalog;
  for (const Params& p : kRuns) {
    for (const SimEvent& e : Generate(p.seed, p.employees, 3000)) {
      auto entry = catalog.Find(e.type);
      ASSERT_NE(entry, nullptr) << e.type;
      EXPECT_NE(e.type, "webhook.test");
      std::vector<FieldError> errors = entry->validator.Validate(e.data);
      for (const FieldError& fe : errors)
        ADD_FAILURE() << e.type << " " << fe.pointer << ": " << fe.message << "\n"
                      << json::serialize(e.data);
      // hookd derives the subject from the data: it is the employee the event is about.
      EXPECT_EQ(Str(e.data, entry->def.subject_pointer), e.employee_id) << json::serialize(e.data);
      EXPECT_FALSE(e.employee_name.empty());
      if (!errors.empty()) return;  // one bad event is enough to read
    }
  }
}

TEST(HrSimulatorTest, RequestBodyIsWhatPostEventsTakes) {
  SimEvent e = Generate(3, 50, 1)[0];
  json::value body = SimEventRequestBody(e);
  ASSERT_TRUE(body.is_object());
  EXPECT_EQ(body.as_object().size(), 3u);
  EXPECT_EQ(body.at("type"), json::value(e.type));
  EXPECT_EQ(body.at("data"), e.data);
  EXPECT_EQ(ParseTime(body.at("occurred_at").as_string()), e.occurred_at_ms);
}

TEST(HrSimulatorTest, CoversEveryHrEventTypeAndMixesThemEarly) {
  std::map<std::string, int> counts;
  for (const SimEvent& e : Generate(1, 50, 3000)) ++counts[e.type];
  std::vector<std::string> types;
  for (const auto& [t, _] : counts) types.push_back(t);
  EXPECT_THAT(types,
              ElementsAre("contract.created", "contract.updated", "employee.department_changed",
                          "employee.hired", "employee.left", "onboarding.completed",
                          "onboarding.started", "time_entry.clocked_in", "time_entry.clocked_out",
                          "time_off.approved", "time_off.rejected", "time_off.requested"));
  // Clocking dominates, as on a real HR platform, but is not everything.
  const int clocking = counts["time_entry.clocked_in"] + counts["time_entry.clocked_out"];
  EXPECT_GT(clocking, 3000 * 35 / 100);
  EXPECT_LT(clocking, 3000 * 80 / 100);

  // A short demo already shows several kinds of event.
  for (uint64_t seed : {7, 8, 9, 10}) {
    std::set<std::string> early;
    for (const SimEvent& e : Generate(seed, 50, 40)) early.insert(e.type);
    EXPECT_GE(early.size(), 4u) << "seed " << seed;
  }
}

// Replays the stream and checks the rules of SPEC-level common sense for each employee.
TEST(HrSimulatorTest, OneEmployeesEventsComeInASensibleOrder) {
  for (const Params& p : kRuns) {
    struct Seen {
      bool any = false, hired = false, left = false, contract = false, onboarded = false;
      int64_t start_day = 0;
      std::string onboarding, entry, entry_at;
      json::value request;  // the pending time off request, or null
    };
    std::map<std::string, Seen> seen;
    int hires = 0, leavers = 0, reviews = 0;
    for (const SimEvent& e : Generate(p.seed, p.employees, 4000)) {
      Seen& s = seen[e.employee_id];
      const std::string& t = e.type;
      SCOPED_TRACE(t + " " + json::serialize(e.data));
      EXPECT_FALSE(s.left) << "an event after employee.left";
      if (t == "employee.hired") {
        EXPECT_FALSE(s.any) << "employee.hired must be the employee's first event";
        s.hired = true;
        s.start_day = DayOf(Str(e.data, "/employee/start_date"));
        ++hires;
      } else if (t == "contract.created") {
        EXPECT_TRUE(s.hired);
        EXPECT_FALSE(s.contract);
        EXPECT_EQ(DayOf(Str(e.data, "/contract/start_date")), s.start_day);
        s.contract = true;
      } else if (t == "contract.updated") {
        if (s.hired) {
          EXPECT_TRUE(s.contract) << "contract.updated before contract.created";
        }
        const json::value* changes = ResolvePointer(e.data, "/changes");
        ASSERT_TRUE(changes != nullptr && changes->is_array() && !changes->get_array().empty());
        for (const json::value& c : changes->get_array()) {
          EXPECT_FALSE(Str(c, "/field").empty());
          EXPECT_NE(c.at("from"), c.at("to"));
        }
      } else if (t == "onboarding.started") {
        EXPECT_TRUE(s.hired);
        EXPECT_TRUE(s.onboarding.empty());
        EXPECT_EQ(Int(e.data, "/process/tasks_done"), 0);
        s.onboarding = Str(e.data, "/process/id");
      } else if (t == "onboarding.completed") {
        EXPECT_EQ(Str(e.data, "/process/id"), s.onboarding) << "completed before started";
        EXPECT_FALSE(s.onboarded);
        EXPECT_EQ(Int(e.data, "/process/tasks_done"), Int(e.data, "/process/tasks_total"));
        s.onboarded = true;
      } else if (t == "time_entry.clocked_in") {
        EXPECT_TRUE(s.entry.empty()) << "clocked in twice";
        s.entry = Str(e.data, "/entry/id");
        s.entry_at = Str(e.data, "/entry/at");
        if (s.hired) {
          EXPECT_GE(DayOf(s.entry_at.substr(0, 10)), s.start_day) << "clocked in before starting";
        }
        EXPECT_EQ(ResolvePointer(e.data, "/entry/worked_minutes"), nullptr);
      } else if (t == "time_entry.clocked_out") {
        EXPECT_EQ(Str(e.data, "/entry/id"), s.entry) << "clock-out without its clock-in";
        const std::string at = Str(e.data, "/entry/at");
        const int64_t elapsed = (*ParseTime(at) - *ParseTime(s.entry_at)) / 60'000;
        const int64_t worked = Int(e.data, "/entry/worked_minutes");
        EXPECT_GT(elapsed, 60);
        EXPECT_THAT(elapsed - worked, ::testing::AnyOf(0, 30, 45, 60)) << s.entry_at << " " << at;
        EXPECT_EQ(at.substr(0, 10), s.entry_at.substr(0, 10)) << "a shift over midnight";
        s.entry.clear();
      } else if (t == "time_off.requested") {
        EXPECT_TRUE(s.request.is_null()) << "a second request while one is pending";
        s.request = e.data.at("request");
        EXPECT_LE(DayOf(Str(s.request, "/start_date")), DayOf(Str(s.request, "/end_date")));
      } else if (t == "time_off.approved" || t == "time_off.rejected") {
        EXPECT_EQ(e.data.at("request"), s.request) << "a review without its request";
        EXPECT_NE(Str(e.data, "/reviewer/id"), e.employee_id) << "approved their own time off";
        s.request = nullptr;
        ++reviews;
      } else if (t == "employee.left") {
        EXPECT_TRUE(s.entry.empty()) << "left while clocked in";
        EXPECT_TRUE(s.request.is_null()) << "left with a pending request";
        if (s.hired) {
          EXPECT_TRUE(s.onboarded) << "left during onboarding";
        }
        s.left = true;
        ++leavers;
      }
      s.any = true;
    }
    EXPECT_GT(hires, 0) << p.seed;
    EXPECT_GT(reviews, 0) << p.seed;
    EXPECT_GT(leavers, 0) << p.seed;
  }
}

TEST(HrSimulatorTest, TimeMovesForwardAndClockingHappensInOfficeHours) {
  const std::regex kAt(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0[0-2]:00)");  // office-local
  for (const Params& p : kRuns) {
    int64_t last = 0;
    for (const SimEvent& e : Generate(p.seed, p.employees, 3000)) {
      SCOPED_TRACE(e.type + " " + json::serialize(e.data));
      EXPECT_GE(e.occurred_at_ms, last);
      EXPECT_GE(e.occurred_at_ms, kStartDay);
      last = e.occurred_at_ms;
      if (!e.type.starts_with("time_entry.")) continue;
      const std::string at = Str(e.data, "/entry/at");
      ASSERT_TRUE(std::regex_match(at, kAt)) << at;
      EXPECT_EQ(ParseTime(at), e.occurred_at_ms);  // the event is the clocking
      EXPECT_TRUE(Weekday(at.substr(0, 10)));
      const int minutes = LocalMinutes(at);
      if (e.type == "time_entry.clocked_in") {
        EXPECT_GE(minutes, 7 * 60);
        EXPECT_LT(minutes, 10 * 60 + 45);
      } else {
        EXPECT_GE(minutes, 10 * 60);
        EXPECT_LT(minutes, 19 * 60 + 30);
      }
      const std::string source = Str(e.data, "/entry/source");
      EXPECT_THAT(source, ::testing::AnyOf("web", "mobile", "kiosk", "api"));
      // Geolocation comes from the phone or the kiosk.
      EXPECT_EQ(ResolvePointer(e.data, "/entry/location") != nullptr,
                source == "mobile" || source == "kiosk");
    }
  }
}

TEST(HrSimulatorTest, HiresLookReal) {
  HrSimulator sim({11, 50, kStartDay});
  EXPECT_THAT(sim.EmailDomain(), ::testing::EndsWith(".example"));
  const std::regex email(R"([a-z0-9]+\.[a-z0-9]+[0-9]*@[a-z-]+\.example)");
  std::set<std::string> emails;
  bool accented = false;
  int hires = 0;
  for (int i = 0; i < 6000; ++i) {
    SimEvent e = sim.Next();
    if (e.type != "employee.hired") continue;
    ++hires;
    const json::value& emp = e.data.at("employee");
    SCOPED_TRACE(json::serialize(emp));
    const std::string first = Str(emp, "/first_name"), last = Str(emp, "/last_name");
    const std::string mail = Str(emp, "/email");
    EXPECT_TRUE(std::regex_match(mail, email));
    EXPECT_TRUE(emails.insert(mail).second) << "an email given twice";
    EXPECT_TRUE(mail.ends_with("@" + sim.EmailDomain()));
    EXPECT_EQ(e.employee_name, first + " " + last.substr(0, last.find(' ')));
    accented = accented || first.find('\xC3') != std::string::npos ||
               last.find('\xC3') != std::string::npos;
    const int64_t hired_on = e.occurred_at_ms / 86'400'000;
    const std::string start = Str(emp, "/start_date");
    EXPECT_GT(DayOf(start), hired_on);
    EXPECT_TRUE(Weekday(start));
    EXPECT_FALSE(Str(emp, "/job_title").empty());
    EXPECT_THAT(Str(emp, "/department/id"), StartsWith("dep_"));
    EXPECT_THAT(Str(emp, "/office/id"), StartsWith("off_"));
    EXPECT_THAT(Str(emp, "/manager_id"), StartsWith("emp_"));
    EXPECT_THAT(Str(emp, "/employment_type"), ::testing::AnyOf("full_time", "part_time", "intern"));
  }
  EXPECT_GT(hires, 20);
  EXPECT_TRUE(accented) << "no Lucía, no Álvaro?";
  // The company keeps roughly its size: hires and leavers balance.
  EXPECT_GE(sim.Headcount(), 40u);
  EXPECT_LE(sim.Headcount(), 60u);
}

TEST(HrSimulatorTest, SameSeedSameEventsOtherSeedOtherEvents) {
  auto serialize = [](const std::vector<SimEvent>& events) {
    std::string s;
    for (const SimEvent& e : events)
      s += json::serialize(SimEventRequestBody(e)) + e.employee_id + e.employee_name + "\n";
    return s;
  };
  const std::string a = serialize(Generate(42, 50, 2000));
  EXPECT_EQ(a, serialize(Generate(42, 50, 2000)));
  EXPECT_NE(a, serialize(Generate(43, 50, 2000)));
  EXPECT_NE(a, serialize(Generate(42, 60, 2000)));
  EXPECT_NE(a, serialize(Generate(42, 50, 2000, kStartDay + 86'400'000)));
}

TEST(HrSimulatorTest, StartsOnTheNextWorkingDay) {
  const int64_t saturday = *ParseTime("2026-11-28T00:00:00Z");
  SimEvent e = Generate(5, 50, 1, saturday)[0];
  EXPECT_THAT(FormatTime(e.occurred_at_ms), StartsWith("2026-11-30T"));  // Monday
}

// ---- pacing and progress ------------------------------------------------------------------

TEST(PacerTest, SpacesRequestsByTheRate) {
  Pacer p(5, 1'000'000);
  EXPECT_EQ(p.DueUs(0), 1'000'000);
  EXPECT_EQ(p.DueUs(1), 1'200'000);
  EXPECT_EQ(p.DueUs(10), 3'000'000);  // 10 events at 5/s: 2 s
  Pacer slow(0.5, 0);
  EXPECT_EQ(slow.DueUs(3), 6'000'000);
  Pacer fast(3, 0);
  EXPECT_EQ(fast.DueUs(1), 333'333);
  EXPECT_EQ(fast.DueUs(3), 1'000'000);  // no drift from rounding
}

TEST(PacerTest, CatchesUpAfterAShortDelayButDoesNotBurstAfterAStall) {
  Pacer p(10, 0);         // max lag 1 s
  p.CatchUp(5, 800'000);  // due 500 ms, 300 ms late: keep the schedule
  EXPECT_EQ(p.DueUs(5), 500'000);
  p.CatchUp(10, 11'000'000);  // due 1 s, 10 s late (a stall): only 1 s of backlog remains
  EXPECT_EQ(p.DueUs(10), 10'000'000);
  EXPECT_EQ(p.DueUs(20), 11'000'000);
  EXPECT_EQ(p.DueUs(21), 11'100'000);  // then the rate again
}

TEST(FormatProgressTest, OneLine) {
  SimulateCounters c;
  c.sent = c.accepted = 120;
  c.last_type = "employee.hired";
  c.last_name = "Lucía García";
  EXPECT_EQ(FormatProgress(c, 24.0),
            "sent 120 · accepted 120 · rejected 0 · 5.0/s · last employee.hired (Lucía García)");
  EXPECT_EQ(FormatProgress(SimulateCounters{}, 0), "sent 0 · accepted 0 · rejected 0 · 0.0/s");
}

// ---- flags --------------------------------------------------------------------------------

SimulateFlags ValidFlags() {
  SimulateFlags f;
  f.company = "co_01JD8Z6Q4W9X2B7C5N3M1K0PRS";
  f.token = "hkd_token";
  return f;
}

std::string UsageError(const SimulateFlags& f) {
  Result<SimulateOptions> r = ResolveSimulateFlags(f, 1, kStartDay);
  EXPECT_FALSE(r.has_value());
  if (r) return "";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message, ::testing::Not(HasSubstr("hkd_token")));  // never echo the token
  return r.error().message;
}

TEST(ResolveSimulateFlagsTest, Defaults) {
  const int64_t now = *ParseTime("2026-11-26T15:04:05Z");
  Result<SimulateOptions> r = ResolveSimulateFlags(ValidFlags(), 1234, now);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->base_url, "http://127.0.0.1:8080");
  EXPECT_EQ(r->company.str(), "co_01JD8Z6Q4W9X2B7C5N3M1K0PRS");
  EXPECT_EQ(r->rate, 5);
  EXPECT_FALSE(r->duration_ms.has_value());
  EXPECT_FALSE(r->max_events.has_value());
  EXPECT_EQ(r->seed, 1234u);
  EXPECT_EQ(r->batch, 1u);
  EXPECT_EQ(r->employees, 50);
  EXPECT_EQ(r->start_day_ms, kStartDay);
}

TEST(ResolveSimulateFlagsTest, EveryFlag) {
  SimulateFlags f = ValidFlags();
  f.url = "https://hookd.example.com/prefix/";
  f.rate = "0.5";
  f.duration = "2m";
  f.seed = "42";
  f.batch = "500";
  f.employees = "5";
  f.start = "2027-02-28";
  Result<SimulateOptions> r = ResolveSimulateFlags(f, 1, kStartDay);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->base_url, "https://hookd.example.com/prefix");
  EXPECT_EQ(r->rate, 0.5);
  EXPECT_EQ(r->duration_ms, 120'000);
  EXPECT_EQ(r->seed, 42u);
  EXPECT_EQ(r->batch, 500u);
  EXPECT_EQ(r->employees, 5);
  EXPECT_EQ(r->start_day_ms, *ParseTime("2027-02-28T00:00:00Z"));
  f.duration.clear();
  f.events = "40";
  r = ResolveSimulateFlags(f, 1, kStartDay);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->max_events, 40u);
}

TEST(ResolveSimulateFlagsTest, UsageErrorsNameTheFlag) {
  SimulateFlags f = ValidFlags();
  f.token.clear();
  EXPECT_THAT(UsageError(f), AllOf(HasSubstr("no token"), HasSubstr("HOOKD_TOKEN")));
  f = ValidFlags();
  f.company.clear();
  EXPECT_THAT(UsageError(f), AllOf(HasSubstr("no company"), HasSubstr("HOOKD_COMPANY")));

  const std::vector<std::pair<SimulateFlags, std::string>> cases = [] {
    std::vector<std::pair<SimulateFlags, std::string>> v;
    auto with = [&](auto set, std::string flag) {
      SimulateFlags f = ValidFlags();
      set(f);
      v.emplace_back(f, std::move(flag));
    };
    with([](SimulateFlags& f) { f.company = "acme"; }, "--company");
    with([](SimulateFlags& f) { f.company = "ep_01JD8Z6Q4W9X2B7C5N3M1K0PRS"; }, "--company");
    with([](SimulateFlags& f) { f.url = "127.0.0.1:8080"; }, "--url");
    with([](SimulateFlags& f) { f.url = "ftp://hookd.example"; }, "--url");
    with([](SimulateFlags& f) { f.url = "http://hookd.example/?x=1"; }, "--url");
    with([](SimulateFlags& f) { f.rate = "0"; }, "--rate");
    with([](SimulateFlags& f) { f.rate = "-3"; }, "--rate");
    with([](SimulateFlags& f) { f.rate = "fast"; }, "--rate");
    with([](SimulateFlags& f) { f.rate = "1e9"; }, "--rate");
    with([](SimulateFlags& f) { f.duration = "soon"; }, "--duration");
    with([](SimulateFlags& f) { f.events = "0"; }, "--events");
    with([](SimulateFlags& f) { f.events = "ten"; }, "--events");
    with([](SimulateFlags& f) { f.events = "10", f.duration = "10s"; }, "not both");
    with([](SimulateFlags& f) { f.seed = "-1"; }, "--seed");
    with([](SimulateFlags& f) { f.batch = "0"; }, "--batch");
    with([](SimulateFlags& f) { f.batch = "501"; }, "--batch");
    with([](SimulateFlags& f) { f.employees = "4"; }, "--employees");
    with([](SimulateFlags& f) { f.employees = "many"; }, "--employees");
    with([](SimulateFlags& f) { f.start = "2026-02-30"; }, "--start");
    with([](SimulateFlags& f) { f.start = "tomorrow"; }, "--start");
    return v;
  }();
  for (const auto& [flags, flag] : cases) EXPECT_THAT(UsageError(flags), HasSubstr(flag));
}

// ---- the loop -----------------------------------------------------------------------------

// A fake clock, interrupt and progress sink.
struct FakeWorld {
  int64_t now = 5'000'000;
  bool interrupt = false;
  std::vector<std::string> progress;

  SimulateEnv Env() {
    SimulateEnv env;
    env.now_us = [this] { return now; };
    env.sleep_until_us = [this](int64_t t) { now = std::max(now, t); };
    env.interrupted = [this] { return interrupt; };
    env.progress = [this](const std::string& line) { progress.push_back(line); };
    env.run_id = "run";
    return env;
  }
};

class FakePoster final : public EventPoster {
 public:
  struct Call {
    std::string path, body, key;
    int64_t at_us;
  };
  explicit FakePoster(FakeWorld& world) : world_(world) {}

  Result<PostResult> Post(const std::string& path, const std::string& body,
                          const std::string& key) override {
    calls.push_back({path, body, key, world_.now});
    world_.now += latency_us;
    if (answer) return answer(calls.size());
    return PostResult{202, "{}", std::nullopt};
  }

  std::vector<Call> calls;
  int64_t latency_us = 2'000;
  // Given the 1-based call number; default 202.
  std::function<Result<PostResult>(size_t)> answer;

 private:
  FakeWorld& world_;
};

SimulateOptions Options(double rate, std::optional<uint64_t> events,
                        std::optional<int64_t> duration_ms = {}, size_t batch = 1) {
  SimulateOptions o;
  o.base_url = "http://hookd.test";
  o.company = CompanyId::FromTrusted("co_01JD8Z6Q4W9X2B7C5N3M1K0PRS");
  o.token = "hkd_token";
  o.rate = rate;
  o.max_events = events;
  o.duration_ms = duration_ms;
  o.batch = batch;
  o.seed = 7;
  o.employees = 50;
  o.start_day_ms = kStartDay;
  return o;
}

SimulateResult Simulate(const SimulateOptions& o, FakePoster& poster, FakeWorld& world) {
  HrSimulator sim({o.seed, o.employees, o.start_day_ms});
  return RunSimulation(o, sim, poster, world.Env());
}

PostResult Problem(long status, std::string_view detail, std::string_view errors = "") {
  std::string body =
      fmt::format(R"({{"type":"about:blank","title":"{}","status":{},"detail":"{}"{}}})",
                  status == 422   ? "Validation failed"
                  : status == 401 ? "Unauthorized"
                                  : "Oops",
                  status, detail, errors);
  return PostResult{status, body, std::nullopt};
}

const std::string kEventsPath = "/v1/companies/co_01JD8Z6Q4W9X2B7C5N3M1K0PRS/events";

TEST(RunSimulationTest, SendsEachEventOnceAtTheRateWithItsOwnKey) {
  FakeWorld world;
  FakePoster poster(world);
  const int64_t start = world.now;
  SimulateResult r = Simulate(Options(10, 25), poster, world);
  EXPECT_EQ(r.exit_code, kSimulateExitOk);
  EXPECT_EQ(r.stop_reason, "--events 25 sent");
  EXPECT_EQ(r.counters.sent, 25u);
  EXPECT_EQ(r.counters.accepted, 25u);
  EXPECT_EQ(r.counters.rejected, 0u);
  ASSERT_EQ(poster.calls.size(), 25u);

  std::vector<SimEvent> expected = Generate(7, 50, 25);
  std::set<std::string> keys;
  uint64_t total = 0;
  for (size_t i = 0; i < 25; ++i) {
    const auto& call = poster.calls[i];
    EXPECT_EQ(call.path, kEventsPath);
    EXPECT_EQ(call.key, fmt::format("sim-run-{}", i + 1));
    keys.insert(call.key);
    EXPECT_EQ(call.at_us - start, static_cast<int64_t>(i) * 100'000) << "request " << i;  // 10/s
    EXPECT_EQ(call.body, json::serialize(SimEventRequestBody(expected[i])));
  }
  EXPECT_EQ(keys.size(), 25u);
  for (const auto& [_, n] : r.counters.accepted_by_type) total += n;
  EXPECT_EQ(total, 25u);
  EXPECT_EQ(r.counters.last_type, expected.back().type);
  EXPECT_EQ(r.counters.last_name, expected.back().employee_name);
  EXPECT_NEAR(r.elapsed_s, 2.5, 1e-9);  // 25 events at 10/s
}

TEST(RunSimulationTest, BatchesGoToTheBatchEndpointAsArrays) {
  FakeWorld world;
  FakePoster poster(world);
  const int64_t start = world.now;
  SimulateResult r = Simulate(Options(10, 25, {}, 10), poster, world);
  EXPECT_EQ(r.exit_code, kSimulateExitOk);
  EXPECT_EQ(r.counters.accepted, 25u);
  ASSERT_EQ(poster.calls.size(), 3u);
  const size_t sizes[] = {10, 10, 5};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(poster.calls[i].path, kEventsPath + "/batch");
    json::value body = json::parse(poster.calls[i].body);
    ASSERT_TRUE(body.is_array());
    EXPECT_EQ(body.as_array().size(), sizes[i]);
    EXPECT_EQ(poster.calls[i].key, fmt::format("sim-run-{}", i * 10 + 1));
    EXPECT_EQ(poster.calls[i].at_us - start,
              static_cast<int64_t>(i) * 1'000'000);  // 10 events at 10/s
  }
}

TEST(RunSimulationTest, DurationStopsTheLoop) {
  FakeWorld world;
  FakePoster poster(world);
  SimulateResult r = Simulate(Options(5, std::nullopt, 3'000), poster, world);
  EXPECT_EQ(r.exit_code, kSimulateExitOk);
  EXPECT_EQ(r.counters.sent, 15u);  // 5/s for 3 s
  EXPECT_EQ(r.stop_reason, "--duration 3.0s over");
}

TEST(RunSimulationTest, ProgressAtMostOncePerSecond) {
  FakeWorld world;
  FakePoster poster(world);
  SimulateResult r = Simulate(Options(50, 200), poster, world);  // 4 s
  EXPECT_EQ(r.exit_code, kSimulateExitOk);
  ASSERT_GE(world.progress.size(), 3u);
  EXPECT_LE(world.progress.size(), 4u);
  EXPECT_THAT(world.progress[0],
              AllOf(StartsWith("sent 5"), HasSubstr(" · rejected 0 · "), HasSubstr("/s · last ")));
}

TEST(RunSimulationTest, RejectionsAreCountedAndTheFirstProblemKept) {
  FakeWorld world;
  FakePoster poster(world);
  poster.answer = [](size_t n) -> Result<PostResult> {
    if (n == 3) return Problem(422, "/data/employee/email: must match the pattern");
    if (n == 5) return Problem(409, "Idempotency-Key reused with a different body");
    return PostResult{202, "{}", std::nullopt};
  };
  SimulateResult r = Simulate(Options(10, 10), poster, world);
  EXPECT_EQ(r.exit_code, kSimulateExitRejected);
  EXPECT_EQ(r.counters.sent, 10u);
  EXPECT_EQ(r.counters.accepted, 8u);
  EXPECT_EQ(r.counters.rejected, 2u);
  EXPECT_EQ(r.first_problem, "422 Validation failed: /data/employee/email: must match the pattern");
}

TEST(RunSimulationTest, ProblemWithSeveralErrorsListsThem) {
  FakeWorld world;
  FakePoster poster(world);
  poster.answer = [](size_t) -> Result<PostResult> {
    return Problem(
        422, "2 problems in the batch; nothing was accepted",
        R"(,"errors":[{"pointer":"/0/type","message":"unknown"},{"pointer":"/1/data","message":"is required"}])");
  };
  SimulateResult r = Simulate(Options(10, 4, {}, 2), poster, world);
  EXPECT_EQ(r.exit_code, kSimulateExitRejected);
  EXPECT_EQ(r.counters.rejected, 4u);
  EXPECT_EQ(
      r.first_problem,
      "422 Validation failed: 2 problems in the batch; nothing was accepted\n  /0/type: unknown\n"
      "  /1/data: is required");
}

TEST(RunSimulationTest, ABadTokenStopsAtOnce) {
  FakeWorld world;
  FakePoster poster(world);
  poster.answer = [](size_t) -> Result<PostResult> { return Problem(401, "unknown token"); };
  SimulateResult r = Simulate(Options(10, 100), poster, world);
  EXPECT_EQ(r.exit_code, kSimulateExitRejected);
  EXPECT_EQ(poster.calls.size(), 1u);
  EXPECT_EQ(r.counters.rejected, 1u);
  EXPECT_EQ(r.first_problem, "401 Unauthorized: unknown token");
  EXPECT_THAT(r.stop_reason, AllOf(HasSubstr("401"), HasSubstr("--token")));
}

TEST(RunSimulationTest, UnreachableAtTheFirstRequestExitsThreeAtOnce) {
  FakeWorld world;
  FakePoster poster(world);
  poster.answer = [](size_t) -> Result<PostResult> {
    return MakeError(ErrorCode::kUnavailable,
                     "Failed to connect to 127.0.0.1 port 1: Connection refused");
  };
  SimulateResult r = Simulate(Options(10, 100), poster, world);
  EXPECT_EQ(r.exit_code, kSimulateExitUnreachable);
  EXPECT_EQ(poster.calls.size(), 1u);
  EXPECT_EQ(r.counters.sent, 0u);
  EXPECT_THAT(r.unreachable, HasSubstr("Connection refused"));
}

TEST(RunSimulationTest, TransientFailuresAreRetriedWithTheSameKey) {
  FakeWorld world;
  FakePoster poster(world);
  poster.answer = [](size_t n) -> Result<PostResult> {
    if (n == 2 || n == 3) return MakeError(ErrorCode::kUnavailable, "Connection reset by peer");
    if (n == 5) return PostResult{503, R"({"title":"Service unavailable"})", std::nullopt};
    if (n == 6) return PostResult{429, "", 2};  // Retry-After: 2
    return PostResult{202, "{}", std::nullopt};
  };
  SimulateResult r = Simulate(Options(10, 4), poster, world);
  EXPECT_EQ(r.exit_code, kSimulateExitOk);
  EXPECT_EQ(r.counters.accepted, 4u);
  std::vector<std::string> keys;
  for (const auto& c : poster.calls) keys.push_back(c.key);
  EXPECT_THAT(keys, ElementsAre("sim-run-1", "sim-run-2", "sim-run-2", "sim-run-2", "sim-run-3",
                                "sim-run-3", "sim-run-3", "sim-run-4"));
  EXPECT_EQ(poster.calls[6].at_us - poster.calls[5].at_us,
            2'000'000 + poster.latency_us);  // honoured
  EXPECT_THAT(world.progress, ::testing::Contains(HasSubstr("retrying")));
}

TEST(RunSimulationTest, HookdGoneForGoodExitsThreeAfterRetrying) {
  FakeWorld world;
  FakePoster poster(world);
  poster.answer = [](size_t n) -> Result<PostResult> {
    if (n <= 3) return PostResult{202, "{}", std::nullopt};
    return MakeError(ErrorCode::kUnavailable, "Connection refused");
  };
  const int64_t start = world.now;
  SimulateResult r = Simulate(Options(10, 100), poster, world);
  EXPECT_EQ(r.exit_code, kSimulateExitUnreachable);
  EXPECT_EQ(r.counters.sent, 3u);
  EXPECT_EQ(r.counters.accepted, 3u);
  EXPECT_GT(world.now - start, 25'000'000);  // it tried for a while
  EXPECT_LT(world.now - start, 35'000'000);
}

TEST(RunSimulationTest, InterruptStopsAndKeepsTheCounts) {
  FakeWorld world;
  FakePoster poster(world);
  poster.answer = [&world](size_t n) -> Result<PostResult> {
    if (n == 7) world.interrupt = true;  // Ctrl-C while the 7th request is in flight
    return PostResult{202, "{}", std::nullopt};
  };
  SimulateResult r = Simulate(Options(10, std::nullopt), poster, world);  // no limit: until Ctrl-C
  EXPECT_EQ(r.exit_code, kSimulateExitOk);
  EXPECT_EQ(r.counters.sent, 7u);
  EXPECT_EQ(r.stop_reason, "interrupted");
}

TEST(FormatSummaryTest, CountsTypesAndHowToReplay) {
  SimulateResult r;
  r.counters.sent = r.counters.accepted = 40;
  r.counters.accepted_by_type = {{"employee.hired", 5},
                                 {"time_entry.clocked_in", 20},
                                 {"contract.created", 5},
                                 {"time_off.requested", 10}};
  r.elapsed_s = 0.8;
  r.stop_reason = "--events 40 sent";
  EXPECT_EQ(
      FormatSummary(Options(50, 40), r),
      "sent 40 · accepted 40 · rejected 0 · 50.0/s over 0.8s (--events 40 sent)\n"
      "accepted by type: time_entry.clocked_in 20, time_off.requested 10, contract.created 5, "
      "employee.hired 5\n"
      "replay: --seed 7 --start 2026-11-26 --employees 50\n");
}

TEST(FormatSummaryTest, AnAbortedRunHasNoRateAndNothingToReplay) {
  SimulateResult r;
  r.elapsed_s = 0.003;
  r.stop_reason = "hookd unreachable";
  EXPECT_EQ(FormatSummary(Options(5, 10), r),
            "sent 0 · accepted 0 · rejected 0 (hookd unreachable)\n");
}

}  // namespace
}  // namespace hookd
