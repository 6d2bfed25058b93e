// The HTTP server under overload: a connection over the cap of its client or of the server
// is answered 503 and closed, every way a connection ends gives its place back, /healthz
// answers while one client floods, and running out of file descriptors neither spins nor
// floods the log. Also: the headers every answer carries.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
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

  // A connection from `from` that got a 200 for GET /healthz, held open. A refused attempt is
  // tried again until `within` has passed (the place of a connection the client closed comes
  // free once the server has seen the close). nullptr when none was served.
  std::unique_ptr<RawConnection> Hold(const std::string& from = "127.0.0.1", std::chrono::milliseconds within = 0ms) {
    const auto deadline = Clock::now() + within;
    for (;;) {
      auto c = std::make_unique<RawConnection>(Port(), from);
      if (c->Connected() && c->SendGet("/healthz")) {
        auto r = c->Read();
        if (r && r->status == 200) return c;
      }
      if (Clock::now() >= deadline) return nullptr;
      std::this_thread::sleep_for(20ms);
    }
  }

  TempDir tmp_;
  std::unique_ptr<HookdProcess> hookd_;
};

TEST_F(HttpServerTest, AClientOverItsCapIsAnswered503AndClosedWhileOthersAreServed) {
  ASSERT_NO_FATAL_FAILURE(StartHookd({"--max-connections-per-client", "5"}));
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(Hold());
    ASSERT_TRUE(held.back()) << "connection " << i + 1 << " of 5 was not served";
  }
  {
    RawConnection sixth(Port());
    ASSERT_TRUE(sixth.SendGet("/healthz"));
    ExpectRefused(sixth, "--max-connections-per-client");
  }
  // Another address has its own count.
  auto other = Hold("127.0.0.2");
  EXPECT_TRUE(other) << "a connection from another address was refused";
  // The five still work.
  for (auto& c : held) {
    ASSERT_TRUE(c->SendGet("/healthz"));
    auto r = c->Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  // One closes: its place comes free.
  held.pop_back();
  held.push_back(Hold("127.0.0.1", 10s));
  ASSERT_TRUE(held.back()) << "the place of a closed connection did not come free";
  RawConnection again(Port());
  ASSERT_TRUE(again.SendGet("/healthz"));
  ExpectRefused(again, "--max-connections-per-client");
}

TEST_F(HttpServerTest, OverTheTotalCapAnyClientIsAnswered503AndClosed) {
  ASSERT_NO_FATAL_FAILURE(StartHookd({"--max-connections", "4", "--max-connections-per-client", "100"}));
  std::vector<std::unique_ptr<RawConnection>> held;
  for (const char* from : {"127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2"}) {
    held.push_back(Hold(from));
    ASSERT_TRUE(held.back()) << "a connection from " << from << " was not served";
  }
  {
    RawConnection fifth(Port(), "127.0.0.3");
    ASSERT_TRUE(fifth.SendGet("/healthz"));
    ExpectRefused(fifth, "(--max-connections)");
  }
  held.erase(held.begin());
  held.push_back(Hold("127.0.0.3", 10s));
  ASSERT_TRUE(held.back()) << "the place of a closed connection did not come free";
  RawConnection again(Port(), "127.0.0.4");
  ASSERT_TRUE(again.SendGet("/healthz"));
  ExpectRefused(again, "(--max-connections)");
}

// A place lost on any of these paths would fill the cap of 3: each runs 6 times, and then
// three connections must be served at once.
TEST_F(HttpServerTest, EveryWayAConnectionEndsGivesItsPlaceBack) {
  ASSERT_NO_FATAL_FAILURE(StartHookd({"--max-connections-per-client", "3", "--max-payload", "1KiB"}));
  struct Way {
    std::string name;
    int expect;  // the status the server answers on this path; 0: none to see
    std::function<int(RawConnection&)> run;  // returns the status seen (0: none)
  };
  auto status = [](const std::optional<RawResponse>& r) { return r ? r->status : 0; };
  const std::vector<Way> ways = {
      {"a keep-alive request, then the client closes", 200,
       [&](RawConnection& c) { return c.SendGet("/healthz") ? status(c.Read()) : 0; }},
      {"Connection: close", 200,
       [&](RawConnection& c) {
         int s = c.SendGet("/healthz", "Connection: close\r\n") ? status(c.Read()) : 0;
         EXPECT_TRUE(c.WaitClosed());
         return s;
       }},
      {"a malformed request", 400,
       [&](RawConnection& c) {
         int s = c.Send("NOT HTTP AT ALL\r\n\r\n") ? status(c.Read()) : 0;
         EXPECT_TRUE(c.WaitClosed());
         return s;
       }},
      {"a body over --max-payload", 413,
       [&](RawConnection& c) {
         int s = c.Send("POST /v1/companies HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n") ? status(c.Read())
                                                                                                   : 0;
         EXPECT_TRUE(c.WaitClosed());
         return s;
       }},
      {"a reset after a request", 200,
       [&](RawConnection& c) {
         int s = c.SendGet("/healthz") ? status(c.Read()) : 0;
         c.Reset();
         return s;
       }},
      {"a reset in the middle of a request", 0,
       [&](RawConnection& c) {
         c.Send("GET /healthz HTTP/1.1\r\nHo");
         c.Reset();
         return 0;
       }},
      {"the client gives up in the middle of a request", 0,
       [&](RawConnection& c) {
         c.Send("GET /healthz HTTP/1.1\r\nHo");
         return 0;
       }},
      {"connected, nothing sent", 0, [&](RawConnection&) { return 0; }},
  };
  for (const auto& way : ways) {
    SCOPED_TRACE(way.name);
    for (int i = 0; i < 6; ++i) {
      // A 503 means the server has not yet seen an earlier connection close: again.
      const auto deadline = Clock::now() + 10s;
      int seen = 0;
      for (;;) {
        RawConnection c(Port());
        ASSERT_TRUE(c.Connected());
        seen = way.run(c);
        if (seen != 503 || Clock::now() >= deadline) break;
        std::this_thread::sleep_for(20ms);
      }
      ASSERT_NE(seen, 503) << "refused for 10 s: places are not given back";
      EXPECT_EQ(seen, way.expect);
    }
  }
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(Hold("127.0.0.1", 15s));
    ASSERT_TRUE(held.back()) << "only " << i << " of 3 places came back";
  }
  RawConnection fourth(Port());
  ASSERT_TRUE(fourth.SendGet("/healthz"));
  ExpectRefused(fourth, "--max-connections-per-client");
}

TEST_F(HttpServerTest, HealthzAnswersWhileOneClientHoldsAFloodOfConnections) {
  // Few descriptors: 300 connections from one client would take them all, but for its cap.
  ASSERT_NO_FATAL_FAILURE(StartHookd({"--max-connections-per-client", "10"}, /*open_file_limit=*/128));
  std::vector<std::unique_ptr<RawConnection>> flood;
  for (int i = 0; i < 300; ++i) {
    flood.push_back(std::make_unique<RawConnection>(Port(), "127.0.0.3"));
    ASSERT_TRUE(flood.back()->Connected()) << i;
    ASSERT_TRUE(flood.back()->SendGet("/healthz")) << i;
  }
  auto health = RawGet(Port(), "/healthz", "127.0.0.1", 10000);
  ASSERT_TRUE(health) << "/healthz did not answer while one client held 300 connections";
  EXPECT_EQ(health->status, 200) << health->body;
  // The flood: ten served (and still open), the others refused.
  const auto deadline = Clock::now() + 20s;
  int served = 0, refused = 0, silent = 0;
  for (auto& c : flood) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    auto r = c->Read(static_cast<int>(std::max<int64_t>(1, ms)));
    if (!r) ++silent;
    else if (r->status == 200) ++served;
    else if (r->status == 503) ++refused;
  }
  EXPECT_EQ(served, 10);
  EXPECT_EQ(refused, 290);
  EXPECT_EQ(silent, 0);
  auto again = RawGet(Port(), "/healthz", "127.0.0.1", 10000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

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
