#pragma once
// Integration-test harness: spawns the real `hookd` binary on port 0 with a fresh SQLite file,
// and talks to it over real HTTP with libcurl.

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string_view>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace hookd::testing {

struct HttpResult {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  boost::json::value Json() const;               // parse failure -> test failure, null
  std::string ContentType() const;
};

// A keep-alive HTTP client (one libcurl easy handle). Not thread-safe: one per thread.
class HttpClient {
 public:
  explicit HttpClient(std::string base_url);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void SetToken(std::string token) { token_ = std::move(token); }
  HttpResult Request(const std::string& method, const std::string& path, const std::string& body = "",
                     const std::vector<std::string>& extra_headers = {});
  HttpResult Get(const std::string& path) { return Request("GET", path); }
  HttpResult Post(const std::string& path, const std::string& body,
                  const std::vector<std::string>& headers = {}) {
    return Request("POST", path, body, headers);
  }
  HttpResult Post(const std::string& path, const char* body,
                  const std::vector<std::string>& headers = {}) {
    return Request("POST", path, body, headers);
  }
  HttpResult Post(const std::string& path, const boost::json::value& body,
                  const std::vector<std::string>& headers = {}) {
    return Request("POST", path, boost::json::serialize(body), headers);
  }

 private:
  std::string base_;
  std::string token_;
  void* curl_;
};

// A running `hookd serve`.
class HookdProcess {
 public:
  // `dir`: where its database lives (kept across Restart). Extra args are appended.
  HookdProcess(std::filesystem::path dir, std::vector<std::string> extra_args = {});
  ~HookdProcess();

  void Start();
  void Kill(int sig);  // send a signal and reap the process
  void Restart() {
    Kill(9);
    Start();
  }
  bool Running() const { return pid_ > 0; }
  // Arguments for the next Start().
  void SetExtraArgs(std::vector<std::string> args) { extra_args_ = std::move(args); }
  // From the next Start(): the process runs with RLIMIT_NOFILE `n` (soft and hard, so that
  // hookd cannot raise it); 0 leaves ours.
  void SetOpenFileLimit(int n) { open_file_limit_ = n; }
  // From the next Start(): RLIMIT_FSIZE's soft limit is `bytes` (the hard one stays, so a
  // test can raise it again on the running process with prlimit); 0 leaves ours.
  void SetFileSizeLimit(int64_t bytes) { file_size_limit_ = bytes; }
  // From the next Start(): `--admin-token token`; "" passes no --admin-token at all.
  void SetAdminToken(std::string token) { admin_token_ = std::move(token); }
  // From the next Start(): `--db url`; "" (the default) is SQLite at DbPath().
  void SetDbUrl(std::string url) { db_url_ = std::move(url); }

  std::string BaseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int Port() const { return port_; }
  pid_t Pid() const { return pid_; }
  const std::string& AdminToken() const { return admin_token_; }
  const std::filesystem::path& Dir() const { return dir_; }
  std::string DbPath() const { return (dir_ / "hookd.db").string(); }
  // Everything the process printed on stdout/stderr so far.
  std::string Output() const;

 private:
  std::filesystem::path dir_;
  std::vector<std::string> extra_args_;
  int open_file_limit_ = 0;
  int64_t file_size_limit_ = 0;
  std::string admin_token_ = "hkd_test_operator_token_0123456789abcdefghijklmn";
  std::string db_url_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// A fresh temp directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Base fixture: one hookd, one company, tokens for it (manage+publish, manage, publish).
class HookdTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  virtual std::vector<std::string> ExtraArgs() { return {}; }
  // The --db URL of the fixture's hookd; "" is SQLite in the test's directory. By default
  // SQLite, or — with HOOKD_TEST_STORE=postgres in the environment — a new database on the
  // private PostgreSQL server (support/pg_server.h): ctest runs the API suites both ways.
  virtual std::string DbUrl();

  // Creates a company and returns its id.
  std::string CreateCompany(const std::string& name);
  // Issues a token of `company` with the scopes ("manage", "publish").
  std::string CreateToken(const std::string& company, const std::vector<std::string>& scopes);
  // A client using `token`.
  std::unique_ptr<HttpClient> ClientWith(const std::string& token);
  // A valid employee.hired event body.
  static boost::json::value HiredEvent(const std::string& employee_id = "emp_1001");

  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<HookdProcess> hookd_;
  std::unique_ptr<HttpClient> op_;   // operator
  std::unique_ptr<HttpClient> co_;   // company token, manage+publish
  std::string company_;
  std::string company_token_;
};

// A valid employee.hired event body (its subject: `employee_id`).
boost::json::value HiredEventBody(const std::string& employee_id = "emp_1001");

// One run of the hookd binary as a command-line tool.
struct CliResult {
  int exit_code = -1;  // -1 when it did not exit normally
  std::string out;
  std::string err;
};
// Runs `hookd <args>` with `stdin_text` on stdin and stdout/stderr captured (not a terminal).
// The environment is ours minus variables whose "NAME=" starts with one of `unset`, plus
// `env` ("NAME=value"). `while_running`, if given, gets the child's pid before the wait.
CliResult RunHookdCli(const std::vector<std::string>& args, std::string_view stdin_text = "",
                      const std::vector<std::string>& env = {},
                      const std::vector<std::string>& unset = {},
                      const std::function<void(pid_t)>& while_running = {});

// HTTP/1.1 framing as a client library would not send it: `parts` are written to one TCP
// connection to 127.0.0.1:`port` in order, each after its pause (ms); then the answers are
// read until `responses` complete ones have arrived (Content-Length framed, interim 1xx
// counted as answers too) or 5 s pass. Returns each answer's status line and body.
struct RawAnswer {
  std::string status_line;
  std::string body;
};
std::vector<RawAnswer> RawExchange(int port, const std::vector<std::pair<int, std::string>>& parts,
                                   size_t responses);

// One TCP connection to 127.0.0.1:`port`, for tests that hold connections open or watch how
// the server ends them. `from` binds the client side to another loopback address first
// ("127.0.0.2"): to the server, another client. Closed at destruction. Not thread-safe.
struct RawResponse {
  int status = 0;
  std::string status_line;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};
class RawConnection {
 public:
  explicit RawConnection(int port, const std::string& from = "127.0.0.1", int timeout_ms = 5000);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool Connected() const { return fd_ >= 0; }
  bool Send(std::string_view bytes);
  // GET `path` (HTTP/1.1, keep-alive) with `extra` header lines ("Name: value\r\n" each).
  bool SendGet(const std::string& path, const std::string& extra = "");
  // The next complete answer (Content-Length framed); nullopt when the connection ended or
  // `timeout_ms` passed first.
  std::optional<RawResponse> Read(int timeout_ms = 5000);
  // True when the server ends the connection (EOF or reset) within `timeout_ms`; what it sent
  // before is dropped.
  bool WaitClosed(int timeout_ms = 5000);
  // Ends the connection with a reset instead of a FIN.
  void Reset();

 private:
  int fd_ = -1;
  std::string in_;
};

// One GET over a new connection from `from`: its answer, or nullopt (no answer in time).
std::optional<RawResponse> RawGet(int port, const std::string& path, const std::string& from = "127.0.0.1",
                                  int timeout_ms = 5000);

// Asserts a problem+json answer with `status`; returns the parsed body.
boost::json::object ExpectProblem(const HttpResult& r, long status);

}  // namespace hookd::testing
