// The HTTP server: running out of file descriptors neither spins nor floods the log, and
// connections waiting meanwhile are answered; the headers every answer carries.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// CPU time (user + system, all threads) `pid` has used so far, in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {  // fields are numbered from 1; the state is the 3rd
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

size_t LinesContaining(const std::string& text, std::string_view needle) {
  size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

// The answer to a connection that is not served: 503 problem+json with Retry-After and
// Connection: close, `detail_has` in its detail; then the server ends the connection.
void ExpectRefused(RawConnection& c, const std::string& detail_has, int timeout_ms = 5000) {
  auto r = c.Read(timeout_ms);
  ASSERT_TRUE(r) << "no answer: the connection was left hanging";
  EXPECT_EQ(r->status, 503) << r->status_line << "\n" << r->body;
  EXPECT_EQ(r->headers["content-type"], "application/problem+json");
  EXPECT_EQ(r->headers["retry-after"], "1");
  EXPECT_EQ(Lower(r->headers["connection"]), "close");
  EXPECT_EQ(r->headers["x-content-type-options"], "nosniff");
  boost::system::error_code ec;
  json::value body = json::parse(r->body, ec);
  ASSERT_FALSE(ec) << r->body;
  ASSERT_TRUE(body.is_object()) << r->body;
  const auto& o = body.as_object();
  EXPECT_TRUE(o.contains("type") && o.at("type").is_string()) << r->body;
  EXPECT_TRUE(o.contains("title") && o.at("title").is_string()) << r->body;
  EXPECT_TRUE(o.contains("status") && o.at("status").is_int64() && o.at("status").as_int64() == 503) << r->body;
  ASSERT_TRUE(o.contains("detail") && o.at("detail").is_string()) << r->body;
  EXPECT_NE(std::string(o.at("detail").as_string()).find(detail_has), std::string::npos) << r->body;
  EXPECT_TRUE(c.WaitClosed()) << "the server kept a refused connection open";
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartHookd(std::vector<std::string> args, int open_file_limit = 0) {
    hookd_ = std::make_unique<HookdProcess>(tmp_.path(), std::move(args));
    hookd_->SetOpenFileLimit(open_file_limit);
    ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  }
  void TearDown() override {
    if (hookd_) hookd_->Kill(SIGTERM);
  }
  int Port() const { return hookd_->Port(); }

  TempDir tmp_;
  std::unique_ptr<HookdProcess> hookd_;
};

TEST_F(HttpServerTest, OutOfDescriptorsItNeitherSpinsNorFloodsTheLogAndRecovers) {
  // Soft and hard limit: hookd raises its soft limit to the hard one at start.
  constexpr int kLimit = 96;
  ASSERT_NO_FATAL_FAILURE(StartHookd({}, kLimit));
  // Fill the descriptors with served connections until one is not served.
  std::vector<std::unique_ptr<RawConnection>> held;
  bool at_limit = false;
  for (int i = 0; i < kLimit && !at_limit; ++i) {
    auto c = std::make_unique<RawConnection>(Port());
    ASSERT_TRUE(c->Connected());
    ASSERT_TRUE(c->SendGet("/healthz"));
    auto r = c->Read(3000);
    at_limit = !r || r->status != 200;
    if (r && r->status == 503) {
      EXPECT_NE(r->body.find("out of file descriptors"), std::string::npos) << r->body;
    }
    held.push_back(std::move(c));
  }
  ASSERT_TRUE(at_limit) << kLimit << " connections were served with " << kLimit << " descriptors";
  // More clients arrive while it is at the limit.
  std::vector<std::unique_ptr<RawConnection>> late;
  for (int i = 0; i < 20; ++i) {
    late.push_back(std::make_unique<RawConnection>(Port()));
    ASSERT_TRUE(late.back()->Connected());
    ASSERT_TRUE(late.back()->SendGet("/healthz"));
  }
  // Waiting for descriptors costs no CPU (a loop retrying accept burns a core).
  const pid_t pid = hookd_->Pid();
  const double cpu_before = CpuSeconds(pid);
  const auto wall_before = Clock::now();
  std::this_thread::sleep_for(2s);
  const double cpu = CpuSeconds(pid) - cpu_before;
  const double wall = std::chrono::duration<double>(Clock::now() - wall_before).count();
  EXPECT_LT(cpu, 0.3) << "hookd used " << cpu << " s of CPU in " << wall << " s at the open-file limit";
  // The late ones are answered, not left in the backlog.
  for (auto& c : late) ExpectRefused(*c, "out of file descriptors");
  // One line per 10 s, not one per failed accept (nor one per back-off).
  std::string log = hookd_->Output();
  EXPECT_NE(log.find("accept failed: Too many open files"), std::string::npos) << log.substr(0, 2000);
  EXPECT_LT(LinesContaining(log, "accept"), 6u) << log.substr(0, 2000);
  // Once the connections close, it serves again.
  held.clear();
  late.clear();
  std::optional<RawResponse> r;
  for (const auto deadline = Clock::now() + 10s; Clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
    r = RawGet(Port(), "/healthz", "127.0.0.1", 2000);
    if (r && r->status == 200) break;
  }
  ASSERT_TRUE(r) << "no answer after the connections closed";
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(LinesContaining(hookd_->Output(), "accept"), 6u);
}

TEST_F(HttpServerTest, EveryAnswerSaysNosniff) {
  ASSERT_NO_FATAL_FAILURE(StartHookd({}));
  HttpClient anonymous(hookd_->BaseUrl());
  auto health = anonymous.Get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.ContentType(), "application/json");
  EXPECT_EQ(health.headers["x-content-type-options"], "nosniff");
  auto problem = anonymous.Get("/v1/companies");  // no token
  ExpectProblem(problem, 401);
  EXPECT_EQ(problem.headers["x-content-type-options"], "nosniff");
  auto missing = anonymous.Get("/v1/no-such-thing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.headers["x-content-type-options"], "nosniff");
  auto panel = anonymous.Get("/");
  EXPECT_EQ(panel.status, 200);
  EXPECT_EQ(panel.headers["x-content-type-options"], "nosniff");
  // Written by the server itself, before any handler.
  RawConnection raw(hookd_->Port());
  ASSERT_TRUE(raw.Send("NOT HTTP AT ALL\r\n\r\n"));
  auto malformed = raw.Read();
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(malformed->headers["content-type"], "application/problem+json");
  EXPECT_EQ(malformed->headers["x-content-type-options"], "nosniff");
}

}  // namespace
}  // namespace hookd::testing
