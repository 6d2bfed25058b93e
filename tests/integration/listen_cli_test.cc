// `hookd listen`, the receiver for trying hookd: the real binary, real HTTP requests, what it
// answers, prints and exits with.
#include <gmock/gmock.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "core/signing.h"
#include "harness.h"

namespace hookd::testing {
namespace {
using ::testing::HasSubstr;

constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// The port `hookd listen --listen 127.0.0.1:0` printed on its stdout (read through /proc).
int WaitForPort(pid_t pid) {
  const std::string fd = "/proc/" + std::to_string(pid) + "/fd/1";
  for (int i = 0; i < 500; ++i) {
    // Until the child has redirected its stdout to RunHookdCli's file, fd/1 is our own stdout.
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(fd, ec);
    if (ec || target.filename() != "stdout") {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    std::ifstream f(target);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string out = ss.str();
    const auto at = out.find("listening on http://127.0.0.1:");
    if (at != std::string::npos) return std::stoi(out.substr(at + 30));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // waiting for it to start, not timing it
  }
  ADD_FAILURE() << "hookd listen did not print its port";
  return 0;
}

std::vector<std::string> Signed(const std::string& id, int64_t ts, const std::string& body, std::string_view secret) {
  return {"webhook-id: " + id, "webhook-timestamp: " + std::to_string(ts),
          "webhook-signature: " + SignStandard(secret, id, ts, body), "content-type: application/json"};
}

TEST(ListenCliTest, AnswersAsToldAndChecksEachSignature) {
  const std::string body = R"({"id":"evt_1","type":"employee.hired","data":{}})";
  const int64_t ts = NowMs() / 1000;
  std::vector<HttpResult> answers;
  CliResult r = RunHookdCli({"listen", "--listen", "127.0.0.1:0", "--count", "2", "--status", "503",
                             "--retry-after", "30"},
                            "", {"HOOKD_VERIFY_SECRET=" + std::string(kSecret)}, {},
                            [&](pid_t pid) {
                              const int port = WaitForPort(pid);
                              HttpClient c("http://127.0.0.1:" + std::to_string(port));
                              answers.push_back(c.Post("/hooks", body, Signed("evt_1", ts, body, kSecret)));
                              // Signed with another secret.
                              answers.push_back(c.Post("/hooks", body,
                                                       Signed("evt_2", ts, body, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")));
                            });
  ASSERT_EQ(answers.size(), 2u);
  for (const auto& a : answers) {
    EXPECT_EQ(a.status, 503);
    EXPECT_EQ(a.headers.count("retry-after") ? a.headers.at("retry-after") : "", "30");
  }
  EXPECT_EQ(r.exit_code, 1) << "a delivery did not verify: exit 1\n" << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("POST /hooks  employee.hired  evt_1  signature valid\n" + body + "\n"));
  EXPECT_THAT(r.out, HasSubstr("POST /hooks  employee.hired  evt_2  signature INVALID: "));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr(std::string(kSecret))));
}

// hookd keeps its connections open and sends an endpoint's deliveries on several at once: a
// second connection is answered while the first stays open (one at a time, it waited for the
// first to close and hookd's request timed out), and --count still ends the listener with
// connections open.
TEST(ListenCliTest, AnswersSeveralKeptAliveConnectionsAtOnce) {
  CliResult r = RunHookdCli({"listen", "--listen", "127.0.0.1:0", "--count", "3", "--quiet"}, "", {},
                            {"HOOKD_VERIFY_SECRET="}, [&](pid_t pid) {
                              // On a failure below, the listener would wait for its count forever.
                              struct KillOnFailure {
                                pid_t pid;
                                ~KillOnFailure() {
                                  if (::testing::Test::HasFailure()) ::kill(pid, SIGKILL);
                                }
                              } guard{pid};
                              const int port = WaitForPort(pid);
                              RawConnection a(port), b(port);
                              ASSERT_TRUE(a.Connected() && b.Connected());
                              const std::string req = "POST /h HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
                              ASSERT_TRUE(a.Send(req));
                              auto first = a.Read(2000);
                              ASSERT_TRUE(first) << "the first connection was not answered";
                              EXPECT_EQ(first->status, 204);
                              ASSERT_TRUE(b.Send(req));  // `a` stays open
                              auto second = b.Read(2000);
                              ASSERT_TRUE(second) << "a second connection waited for the first to close";
                              EXPECT_EQ(second->status, 204);
                              ASSERT_TRUE(a.Send(req));
                              EXPECT_TRUE(a.Read(2000));
                            });
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4) << r.out;  // "listening on" + 3 deliveries
}

TEST(ListenCliTest, WithoutASecretItSaysSignaturesAreNotCheckedAndExitsZero) {
  CliResult r = RunHookdCli({"listen", "--listen", "127.0.0.1:0", "--count", "1", "--quiet"}, "", {},
                            {"HOOKD_VERIFY_SECRET="}, [&](pid_t pid) {
                              HttpClient c("http://127.0.0.1:" + std::to_string(WaitForPort(pid)));
                              EXPECT_EQ(c.Post("/x", R"({"type":"time_off.approved"})").status, 204);
                            });
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(no --secret: signatures are not checked)"));
  EXPECT_THAT(r.out, HasSubstr("POST /x  time_off.approved  -  signature not checked\n"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("{\"type\"")));  // --quiet: no body
}

TEST(ListenCliTest, BadFlagsExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"listen", "--listen", "nowhere"},
           {"listen", "--listen", "127.0.0.1:99999"},
           {"listen", "--status", "99"},
           {"listen", "--delay", "soon"}}) {
    CliResult r = RunHookdCli(args);
    EXPECT_EQ(r.exit_code, 2) << args.back() << "\n" << r.err;
    EXPECT_FALSE(r.err.empty());
  }
}

}  // namespace
}  // namespace hookd::testing
