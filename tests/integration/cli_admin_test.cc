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

namespace hookd::testing {
namespace {

// Issue 10: restarting with a new --admin-token left the old one valid.
TEST(OperatorTokenTest, AConfiguredTokenRevokesEveryEarlierOperatorToken) {
  TempDir dir;
  HookdProcess hookd(dir.path());
  // First start without one: a token is generated and printed once.
  hookd.SetAdminToken("");
  hookd.Start();
  std::stringstream stdout_text;
  stdout_text << std::ifstream(dir.path() / "hookd.out").rdbuf();
  const std::string out = stdout_text.str();
  const size_t at = out.find("operator token (shown once, store it now): ");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string generated = out.substr(at + 43, out.find('\n', at) - at - 43);
  HttpClient gen(hookd.BaseUrl());
  gen.SetToken(generated);
  EXPECT_EQ(gen.Get("/v1/companies").status, 200);

  // Then with --admin-token A: the generated one is revoked, and says so in the log.
  const std::string a = "hkd_operator_A_0123456789abcdefghijklmnopqrstu";
  const std::string b = "hkd_operator_B_0123456789abcdefghijklmnopqrstu";
  hookd.SetAdminToken(a);
  hookd.Restart();
  HttpClient with_a(hookd.BaseUrl());
  with_a.SetToken(a);
  EXPECT_EQ(with_a.Get("/v1/companies").status, 200);
  HttpClient gen2(hookd.BaseUrl());
  gen2.SetToken(generated);
  ExpectProblem(gen2.Get("/v1/companies"), 401);
  EXPECT_NE(hookd.Output().find("replaces 1 earlier operator token, now revoked"), std::string::npos);

  // Rotation: from a file (not visible in ps), B replaces A.
  const auto file = dir.path() / "admin-token";
  std::ofstream(file) << b << "\n";
  hookd.SetAdminToken("");
  hookd.SetExtraArgs({"--admin-token-file", file.string()});
  hookd.Restart();
  HttpClient with_b(hookd.BaseUrl());
  with_b.SetToken(b);
  EXPECT_EQ(with_b.Get("/v1/companies").status, 200);
  HttpClient old_a(hookd.BaseUrl());
  old_a.SetToken(a);
  ExpectProblem(old_a.Get("/v1/companies"), 401);
  hookd.Kill(15);

  // A token given twice, or a revoked one, is refused at start with the reason.
  const std::string db = "sqlite:" + hookd.DbPath();
  CliResult both = RunHookdCli({"serve", "--db", db, "--listen", "127.0.0.1:0", "--admin-token", b,
                                "--admin-token-file", file.string()});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("--admin-token or --admin-token-file"), std::string::npos) << both.err;
  CliResult revoked = RunHookdCli({"serve", "--db", db, "--listen", "127.0.0.1:0", "--admin-token", a});
  EXPECT_EQ(revoked.exit_code, 1);
  EXPECT_NE(revoked.err.find("the configured operator token was revoked"), std::string::npos) << revoked.err;
  EXPECT_EQ(revoked.err.find(a), std::string::npos) << "never the token itself";
}

TEST_F(TokenCliTest, RevokeAndListFromTheCommandLine) {
  const std::string db = "sqlite:" + hookd_->DbPath();
  CmdRun created = Hookd({"token", "create", "--company", company_, "--scopes", "publish", "--db", db});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string token = created.out.substr(0, created.out.find('\n'));
  const std::string id = created.err.substr(created.err.find("tok_"), 30);
  auto c = ClientWith(token);
  EXPECT_EQ(c->Post("/v1/companies/" + company_ + "/events", HiredEvent()).status, 202);

  CmdRun list = Hookd({"token", "list", "--db", db});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("operator"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("hkd_"), std::string::npos) << "tokens themselves are never listed";

  CmdRun revoke = Hookd({"token", "revoke", "--id", id, "--db", db});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_NE(revoke.out.find("revoked " + id + " (company " + company_ + ")"), std::string::npos) << revoke.out;
  // The server's token cache lives 5 s: within 10 s the token is refused.
  long status = 0;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(std::chrono::milliseconds(200))) {
    status = c->Post("/v1/companies/" + company_ + "/events", HiredEvent()).status;
    if (status == 401) break;
  }
  EXPECT_EQ(status, 401);
  CmdRun again = Hookd({"token", "revoke", "--id", id, "--db", db});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already revoked"), std::string::npos) << again.err;
  EXPECT_EQ(Hookd({"token", "revoke", "--db", db}).exit_code, 2);
  EXPECT_EQ(Hookd({"token", "revoke", "--id", "nope", "--db", db}).exit_code, 2);

  CmdRun ops = Hookd({"token", "revoke", "--operator", "--db", db});
  ASSERT_EQ(ops.exit_code, 0) << ops.err;
  EXPECT_NE(ops.out.find("revoked 1 operator token"), std::string::npos) << ops.out;
}

// Issue 10: a database URL's password was written to the log.
TEST(DatabaseUrlTest, ItsPasswordIsNeverPrinted) {
  CliResult serve = RunHookdCli({"serve", "--listen", "127.0.0.1:0", "--db", "postgres://hookd:S3cretPw@127.0.0.1:1/hookd"});
  EXPECT_NE(serve.exit_code, 0);
  EXPECT_EQ((serve.out + serve.err).find("S3cretPw"), std::string::npos) << serve.err;
  EXPECT_NE(serve.err.find("hookd:***@"), std::string::npos) << serve.err;
  CliResult migrate = RunHookdCli({"migrate", "--db", "postgres://hookd:S3cretPw@127.0.0.1:1/hookd"});
  EXPECT_EQ((migrate.out + migrate.err).find("S3cretPw"), std::string::npos) << migrate.err;
}

}  // namespace
}  // namespace hookd::testing

namespace hookd::testing {
namespace {

// Issue 11: a second process on one SQLite file would send every delivery twice.
TEST_F(TokenCliTest, ASecondServerOrMigrateOnTheSameFileIsRefused) {
  const std::string db = "sqlite:" + hookd_->DbPath();
  CliResult second = RunHookdCli({"serve", "--listen", "127.0.0.1:0", "--db", db});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find(hookd_->DbPath() + " is in use by another hookd (pid " + std::to_string(hookd_->Pid()) + ")"),
            std::string::npos) << second.err;
  CliResult migrate = RunHookdCli({"migrate", "--db", db});
  EXPECT_EQ(migrate.exit_code, 1);
  EXPECT_NE(migrate.err.find("is in use by another hookd"), std::string::npos) << migrate.err;
  // The token commands still work beside the server.
  EXPECT_EQ(RunHookdCli({"token", "list", "--db", db}).exit_code, 0);
  // The lock dies with the process, however it ends.
  hookd_->Kill(SIGKILL);
  CliResult after = RunHookdCli({"migrate", "--db", db});
  EXPECT_EQ(after.exit_code, 0) << after.err;
}

}  // namespace
}  // namespace hookd::testing
