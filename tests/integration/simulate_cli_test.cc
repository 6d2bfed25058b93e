// `hookd simulate` as a demo or load test runs it: the real binary against a real hookd,
// exit codes, what lands on stdout/stderr, and what hookd stored.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

extern char** environ;

namespace hookd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr std::string_view kSomeCompany = "co_01JD8Z6Q4W9X2B7C5N3M1K0PRS";

using CliRun = CliResult;

// Runs `hookd simulate <args>` with stdin from nothing and stdout/stderr captured (so not a
// terminal). The environment is ours minus HOOKD_URL/TOKEN/COMPANY, plus `env`.
// `while_running`, if given, is called with the child's pid before waiting for it.
CliRun Simulate(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                const std::function<void(pid_t)>& while_running = {}) {
  std::vector<std::string> all = {"simulate"};
  all.insert(all.end(), args.begin(), args.end());
  return RunHookdCli(all, "", env, {"HOOKD_URL=", "HOOKD_TOKEN=", "HOOKD_COMPANY="}, while_running);
}

// "accepted by type: a 3, b 2" -> {a: 3, b: 2}
std::map<std::string, int64_t> ByType(const std::string& out) {
  std::map<std::string, int64_t> m;
  constexpr std::string_view kPrefix = "accepted by type: ";
  size_t at = out.find(kPrefix);
  if (at == std::string::npos) return m;
  std::istringstream line(
      out.substr(at + kPrefix.size(), out.find('\n', at) - at - kPrefix.size()));
  std::string item;
  while (std::getline(line, item, ',')) {
    std::istringstream parts(item);
    std::string type;
    int64_t n = 0;
    parts >> type >> n;
    m[type] = n;
  }
  return m;
}

class SimulateCliTest : public HookdTest {
 protected:
  std::vector<std::string> Flags(const std::string& company, const std::string& token) {
    return {"--url", hookd_->BaseUrl(), "--company", company, "--token", token};
  }
  // Every event of `company`, oldest first.
  std::vector<json::object> Events(const std::string& company, HttpClient& client) {
    auto r = client.Get("/v1/companies/" + company + "/events?limit=500");
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<json::object> events;
    if (r.status != 200) return events;
    const json::value page = r.Json();
    for (const json::value& e : page.at("data").as_array()) events.push_back(e.as_object());
    std::reverse(events.begin(), events.end());
    return events;
  }
};

TEST_F(SimulateCliTest, PublishesFortyEventsOfSeveralTypes) {
  std::vector<std::string> args = Flags(company_, company_token_);
  for (const char* a : {"--events", "40", "--rate", "50", "--seed", "7"}) args.emplace_back(a);
  CliRun r = Simulate(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, StartsWith("sent 40 · accepted 40 · rejected 0 · "));
  EXPECT_THAT(r.out,
              AllOf(HasSubstr("(--events 40 sent)\n"), HasSubstr("\nreplay: --seed 7 --start ")));
  EXPECT_THAT(r.err, StartsWith("hookd simulate: 50 employees at "));
  EXPECT_THAT(r.err, Not(HasSubstr("\r")));  // not a terminal: plain lines
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(company_token_)));

  std::vector<json::object> events = Events(company_, *co_);
  ASSERT_EQ(events.size(), 40u);
  std::map<std::string, int64_t> types;
  for (const json::object& e : events) {
    const std::string type(e.at("type").as_string());
    ++types[type];
    EXPECT_THAT(std::string(e.at("subject").as_string()), StartsWith("emp_")) << type;
    ASSERT_TRUE(e.at("occurred_at").is_string()) << type;
    json::value payload = json::parse(e.at("payload").as_string());
    EXPECT_EQ(payload.at("timestamp"), e.at("occurred_at"));  // simulated time, not ours
  }
  EXPECT_GE(types.size(), 4u);
  EXPECT_EQ(ByType(r.out), types);
}

TEST_F(SimulateCliTest, BatchesWithFlagsFromTheEnvironment) {
  CliRun r = Simulate({"--events", "25", "--batch", "10", "--rate", "200"},
                      {"HOOKD_URL=" + hookd_->BaseUrl(), "HOOKD_TOKEN=" + company_token_,
                       "HOOKD_COMPANY=" + company_});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, StartsWith("sent 25 · accepted 25 · rejected 0"));
  EXPECT_THAT(r.err, HasSubstr("in batches of 10"));
  EXPECT_EQ(Events(company_, *co_).size(), 25u);
}

TEST_F(SimulateCliTest, TheSameSeedPublishesTheSameEvents) {
  const std::string other = CreateCompany("Olivar Tech S.L.");
  const std::string other_token = CreateToken(other, {"manage", "publish"});
  for (const auto& [company, token] :
       {std::pair{company_, company_token_}, std::pair{other, other_token}}) {
    std::vector<std::string> args = Flags(company, token);
    for (const char* a :
         {"--events", "30", "--rate", "100", "--seed", "2026", "--start", "2026-03-02"})
      args.emplace_back(a);
    CliRun r = Simulate(args);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  auto strip = [](std::vector<json::object> events) {
    std::vector<std::string> out;
    for (const json::object& e : events)
      out.push_back(json::serialize(json::object{
          {"type", e.at("type")}, {"data", e.at("data")}, {"occurred_at", e.at("occurred_at")}}));
    return out;
  };
  std::vector<std::string> a = strip(Events(company_, *co_));
  std::vector<std::string> b = strip(Events(other, *ClientWith(other_token)));
  ASSERT_EQ(a.size(), 30u);
  EXPECT_EQ(a, b);
  EXPECT_THAT(a[0], HasSubstr("\"occurred_at\":\"2026-03-02T"));
}

TEST_F(SimulateCliTest, RefusedEventsExitOneWithTheProblem) {
  // A token without the publish scope: hookd answers 403 to the first event.
  const std::string manage_only = CreateToken(company_, {"manage"});
  std::vector<std::string> args = Flags(company_, manage_only);
  for (const char* a : {"--events", "10", "--rate", "50"}) args.emplace_back(a);
  CliRun r = Simulate(args);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("hookd simulate: first rejection: 403 Forbidden: "));
  EXPECT_THAT(r.out, AllOf(StartsWith("sent 1 · accepted 0 · rejected 1"), HasSubstr("--token")));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(manage_only)));
  EXPECT_TRUE(Events(company_, *co_).empty());
}

TEST_F(SimulateCliTest, CtrlCStopsWithASummary) {
  std::vector<std::string> args = Flags(company_, company_token_);
  for (const char* a : {"--rate", "20"}) args.emplace_back(a);  // no limit: until Ctrl-C
  CliRun r = Simulate(args, {}, [](pid_t pid) {
    std::this_thread::sleep_for(1500ms);
    kill(pid, SIGINT);
  });
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("(interrupted)"));
  EXPECT_THAT(r.err, HasSubstr("sent "));  // a progress line after the first second
  std::istringstream out(r.out);
  std::string word;
  int64_t sent = 0;
  out >> word >> sent;
  EXPECT_GE(sent, 10);
  EXPECT_EQ(Events(company_, *co_).size(), static_cast<size_t>(sent));
}

// --- without a hookd ------------------------------------------------------------------

TEST(SimulateCliUsageTest, UsageErrorsExitTwo) {
  const std::string co(kSomeCompany);
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--company", co},                          // no token
           {"--token", "hkd_x"},                       // no company
           {"--company", "acme", "--token", "hkd_x"},  // not a company id
           {"--company", co, "--token", "hkd_x", "--rate", "0"},
           {"--company", co, "--token", "hkd_x", "--events", "5", "--duration", "5s"},
           {"--company", co, "--token", "hkd_x", "--batch", "501"},
           {"--company", co, "--token", "hkd_x", "--url", "localhost:8080"},
           {"--company", co, "--token", "hkd_x", "--no-such-flag"}}) {
    CliRun r = Simulate(args);
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
    EXPECT_NE(r.err, "") << args.back();
    EXPECT_EQ(r.out, "") << args.back();
  }
  CliRun r = Simulate({"--company", co});
  EXPECT_THAT(r.err, AllOf(HasSubstr("no token"), HasSubstr("HOOKD_TOKEN")));
}

TEST(SimulateCliUsageTest, UnreachableHookdExitsThree) {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  CliRun r = Simulate({"--url", "http://127.0.0.1:1", "--company", std::string(kSomeCompany),
                       "--token", "hkd_x", "--events", "5"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("hookd simulate: hookd is unreachable at http://127.0.0.1:1: "));
  EXPECT_THAT(r.out, StartsWith("sent 0 · accepted 0 · rejected 0 (hookd unreachable)"));
}

TEST(SimulateCliUsageTest, HelpExplainsWithAnExample) {
  CliRun r = Simulate({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr("--rate"), HasSubstr("--duration"), HasSubstr("--events"),
                           HasSubstr("--seed"), HasSubstr("--batch"), HasSubstr("--employees"),
                           HasSubstr("HOOKD_TOKEN"), HasSubstr("HOOKD_URL"),
                           HasSubstr("employee.hired"), HasSubstr("Example:"),
                           HasSubstr("hookd simulate --url"), HasSubstr("Exit status: 0")));
}

}  // namespace
}  // namespace hookd::testing
