// `hookd migrate` and `hookd token create`, run as an operator would: the real binary, its
// exit codes and output, and the token it prints working against a running server.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "harness.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;

using CmdRun = CliResult;
CmdRun Hookd(const std::vector<std::string>& args) { return RunHookdCli(args); }

TEST(MigrateCliTest, CreatesTheSchemaAndIsIdempotent) {
  TempDir dir;
  const std::string db = "sqlite:" + (dir.path() / "h.db").string();
  CmdRun first = Hookd({"migrate", "--db", db});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("up to date"), std::string::npos) << first.out;
  EXPECT_NE(first.err.find("applied migration 0001_init.sql"), std::string::npos) << first.err;
  CmdRun again = Hookd({"migrate", "--db", db});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err.find("applied migration"), std::string::npos) << again.err;
  // A database URL it cannot open fails with a reason, not a crash.
  CmdRun bad = Hookd({"migrate", "--db", "nosuch://x"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("unknown --db URL"), std::string::npos) << bad.err;
  CmdRun dir_db = Hookd({"migrate", "--db", "sqlite:" + dir.path().string()});
  EXPECT_EQ(dir_db.exit_code, 1) << dir_db.err;
}

TEST(MigrateCliTest, HelpExplainsIt) {
  for (std::string cmd : {"migrate", "token", "serve", "verify", "simulate"}) {
    CmdRun r = Hookd({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd << ": " << r.out;
  }
  CmdRun create = Hookd({"token", "create", "--help"});
  EXPECT_EQ(create.exit_code, 0);
  EXPECT_NE(create.out.find("--scopes"), std::string::npos) << create.out;
}

class TokenCliTest : public HookdTest {};

TEST_F(TokenCliTest, IssuesAWorkingTokenOfflineWithTheGivenScopes) {
  const std::string db = "sqlite:" + hookd_->DbPath();
  CmdRun r = Hookd({"token", "create", "--company", company_, "--scopes", "publish", "--description",
                 "payroll exporter", "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string token = r.out.substr(0, r.out.find('\n'));
  EXPECT_TRUE(token.starts_with("hkd_")) << r.out;
  EXPECT_NE(r.err.find("publish"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(token), std::string::npos) << "the token is printed once, on stdout";
  // The running server accepts it (tokens are looked up in the shared database).
  auto c = ClientWith(token);
  EXPECT_EQ(c->Post("/v1/companies/" + company_ + "/events", HiredEvent()).status, 202);
  // Publish only: managing is forbidden.
  ExpectProblem(c->Get("/v1/companies/" + company_ + "/endpoints"), 403);
}

TEST_F(TokenCliTest, RefusesBadInputClearly) {
  const std::string db = "sqlite:" + hookd_->DbPath();
  CmdRun bad_id = Hookd({"token", "create", "--company", "acme", "--db", db});
  EXPECT_EQ(bad_id.exit_code, 2);
  EXPECT_NE(bad_id.err.find("company id"), std::string::npos) << bad_id.err;
  CmdRun unknown = Hookd({"token", "create", "--company", "co_01M8CN66GEDE10CJCN72YQ3PAH", "--db", db});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("not found"), std::string::npos) << unknown.err;
  CmdRun scope = Hookd({"token", "create", "--company", company_, "--scopes", "admin", "--db", db});
  EXPECT_EQ(scope.exit_code, 2);
  EXPECT_NE(scope.err.find("unknown scope 'admin'"), std::string::npos) << scope.err;
  CmdRun missing = Hookd({"token", "create", "--db", db});
  EXPECT_NE(missing.exit_code, 0);
}

}  // namespace
}  // namespace hookd::testing
