// The HTTP server: the headers every answer carries.
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
