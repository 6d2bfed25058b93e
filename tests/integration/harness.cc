#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <strings.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <curl/curl.h>

#include "support/pg_server.h"

extern char** environ;

namespace hookd::testing {
namespace json = boost::json;

json::value HttpResult::Json() const {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  EXPECT_FALSE(ec) << "response is not JSON: " << body;
  return ec ? json::value() : v;
}

std::string HttpResult::ContentType() const {
  auto it = headers.find("content-type");
  return it == headers.end() ? "" : it->second;
}

namespace {

size_t WriteBody(char* p, size_t size, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, size * n);
  return size * n;
}

size_t WriteHeader(char* p, size_t size, size_t n, void* ud) {
  std::string line(p, size * n);
  auto* headers = static_cast<std::map<std::string, std::string>*>(ud);
  size_t colon = line.find(':');
  if (line.starts_with("HTTP/")) headers->clear();
  if (colon != std::string::npos) {
    std::string k = line.substr(0, colon);
    for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.pop_back();
    (*headers)[k] = v;
  }
  return size * n;
}

}  // namespace

HttpClient::HttpClient(std::string base_url) : base_(std::move(base_url)), curl_(curl_easy_init()) {}
HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResult HttpClient::Request(const std::string& method, const std::string& path, const std::string& body,
                               const std::vector<std::string>& extra_headers) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  HttpResult r;
  std::string url = base_ + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_slist* hs = nullptr;
  // JSON unless the test sends a Content-Type of its own.
  const bool own_type = std::any_of(extra_headers.begin(), extra_headers.end(), [](const std::string& h) {
    return h.size() >= 13 && strncasecmp(h.c_str(), "content-type:", 13) == 0;
  });
  if (!own_type) hs = curl_slist_append(hs, "Content-Type: application/json");
  hs = curl_slist_append(hs, "Expect:");
  if (!token_.empty()) hs = curl_slist_append(hs, ("Authorization: Bearer " + token_).c_str());
  for (const auto& h : extra_headers) hs = curl_slist_append(hs, h.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(hs);
  if (rc != CURLE_OK) {
    r.status = 0;
    r.body = curl_easy_strerror(rc);
    return r;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "hookd-test-XXXXXX").string();
  path_ = mkdtemp(tmpl.data());
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

HookdProcess::HookdProcess(std::filesystem::path dir, std::vector<std::string> extra_args)
    : dir_(std::move(dir)), extra_args_(std::move(extra_args)) {}

HookdProcess::~HookdProcess() {
  if (pid_ > 0) Kill(SIGKILL);
}

std::string HookdProcess::Output() const {
  std::ifstream in(dir_ / "hookd.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void HookdProcess::Start() {
  const std::string log = (dir_ / "hookd.log").string();
  const std::string out = (dir_ / "hookd.out").string();
  std::filesystem::remove(out);
  std::vector<std::string> args = {HOOKD_BINARY, "serve", "--listen", "127.0.0.1:0",
                                   "--db", db_url_.empty() ? "sqlite:" + DbPath() : db_url_,
                                   // Endpoints that must not receive anything point at
                                   // 127.0.0.2:9 (nothing listens): no DNS, no traffic
                                   // off the machine.
                                   "--allow-destination", "127.0.0.2/32"};
  if (!admin_token_.empty()) {
    args.push_back("--admin-token");
    args.push_back(admin_token_);
  }
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = fork();
  if (pid_ == 0) {
    // A test process that crashes takes its servers with it (none left listening for hours).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd_out = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fd_log = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd_out, 1);
    dup2(fd_log, 2);
    if (open_file_limit_ > 0) {
      const rlimit lim{static_cast<rlim_t>(open_file_limit_), static_cast<rlim_t>(open_file_limit_)};
      if (setrlimit(RLIMIT_NOFILE, &lim) != 0) _exit(126);
    }
    if (file_size_limit_ > 0) {
      rlimit lim{};
      getrlimit(RLIMIT_FSIZE, &lim);
      lim.rlim_cur = static_cast<rlim_t>(file_size_limit_);
      if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(126);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ASSERT_GT(pid_, 0);
  // Wait for "hookd listening on http://127.0.0.1:PORT".
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(out);
    std::string line;
    if (std::getline(in, line) && line.starts_with("hookd listening on http://")) {
      port_ = std::stoi(line.substr(line.rfind(':') + 1));
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "hookd exited during start-up:\n" << Output();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "hookd did not start in 20 s:\n" << Output();
}

void HookdProcess::Kill(int sig) {
  if (pid_ <= 0) return;
  kill(pid_, sig);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string HookdTest::DbUrl() {
  const char* store = std::getenv("HOOKD_TEST_STORE");
  if (store && std::string_view(store) == "postgres") return NewPostgresDatabaseUrl();
  return "";
}

void HookdTest::SetUp() {
  tmp_ = std::make_unique<TempDir>();
  hookd_ = std::make_unique<HookdProcess>(tmp_->path(), ExtraArgs());
  hookd_->SetDbUrl(DbUrl());
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  op_ = ClientWith(hookd_->AdminToken());
  company_ = CreateCompany("Acme Iberia S.L.");
  company_token_ = CreateToken(company_, {"manage", "publish"});
  co_ = ClientWith(company_token_);
}

void HookdTest::TearDown() {
  if (hookd_) hookd_->Kill(SIGTERM);
}

std::string HookdTest::CreateCompany(const std::string& name) {
  auto r = op_->Post("/v1/companies", json::object{{"name", name}});
  EXPECT_EQ(r.status, 201) << r.body;
  return std::string(r.Json().at("id").as_string());
}

std::string HookdTest::CreateToken(const std::string& company, const std::vector<std::string>& scopes) {
  json::array sc;
  for (const auto& s : scopes) sc.emplace_back(s);
  auto r = op_->Post("/v1/companies/" + company + "/tokens",
                     json::object{{"scopes", sc}, {"description", "test"}});
  EXPECT_EQ(r.status, 201) << r.body;
  return std::string(r.Json().at("token").as_string());
}

std::unique_ptr<HttpClient> HookdTest::ClientWith(const std::string& token) {
  auto c = std::make_unique<HttpClient>(hookd_->BaseUrl());
  c->SetToken(token);
  return c;
}

json::value HookdTest::HiredEvent(const std::string& employee_id) { return HiredEventBody(employee_id); }

json::value HiredEventBody(const std::string& employee_id) {
  return json::parse(R"({"type":"employee.hired","data":{"employee":{"id":")" + employee_id +
                     R"(","first_name":"Lucía","last_name":"García","email":"lucia.garcia@acme.example",)"
                     R"("start_date":"2026-12-01","job_title":"Backend Engineer",)"
                     R"("department":{"id":"dep_12","name":"Engineering"},"office":{"id":"off_3","name":"Valencia"}}}})");
}

CliResult RunHookdCli(const std::vector<std::string>& args, std::string_view stdin_text,
                      const std::vector<std::string>& env, const std::vector<std::string>& unset,
                      const std::function<void(pid_t)>& while_running) {
  TempDir dir;
  const auto in = dir.path() / "stdin", out = dir.path() / "stdout", err = dir.path() / "stderr";
  {
    std::ofstream f(in, std::ios::binary);
    f << stdin_text;
  }
  std::vector<std::string> argv_s = {HOOKD_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    bool drop = false;
    for (const auto& u : unset) drop = drop || v.starts_with(u);
    if (!drop) env_s.emplace_back(v);
  }
  env_s.insert(env_s.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = fork();
  if (pid == 0) {
    int fd_in = open(in.c_str(), O_RDONLY);
    int fd_out = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fd_err = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd_in, 0);
    dup2(fd_out, 1);
    dup2(fd_err, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (while_running) while_running(pid);
  CliResult r;
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::vector<RawAnswer> RawExchange(int port, const std::vector<std::pair<int, std::string>>& parts,
                                   size_t responses) {
  std::vector<RawAnswer> out;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "cannot connect to 127.0.0.1:" << port;
    if (fd >= 0) ::close(fd);
    return out;
  }
  timeval tv{0, 200 * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string in;
  // Parses complete answers off the front of `in`.
  auto harvest = [&] {
    for (;;) {
      size_t end = in.find("\r\n\r\n");
      if (end == std::string::npos) return;
      std::string head = in.substr(0, end);
      size_t length = 0;
      std::string lower = head;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (size_t cl = lower.find("\r\ncontent-length:"); cl != std::string::npos)
        length = std::stoul(lower.substr(cl + 18));
      if (in.size() < end + 4 + length) return;
      out.push_back({head.substr(0, head.find("\r\n")), in.substr(end + 4, length)});
      in.erase(0, end + 4 + length);
    }
  };
  auto read_some = [&] {
    char buf[8192];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) in.append(buf, static_cast<size_t>(n));
    harvest();
    return n != 0;  // 0: the server closed
  };
  for (const auto& [pause_ms, bytes] : parts) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(pause_ms);
    while (std::chrono::steady_clock::now() < until) {  // answers may come meanwhile (100 Continue)
      if (!read_some()) break;
    }
    if (::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size()))
      ADD_FAILURE() << "short send";
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (out.size() < responses && std::chrono::steady_clock::now() < deadline) {
    if (!read_some()) break;
  }
  ::close(fd);
  return out;
}

namespace {

sockaddr_in Loopback(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

int64_t MsLeft(std::chrono::steady_clock::time_point deadline) {
  return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  deadline - std::chrono::steady_clock::now())
                                  .count());
}

// Waits until `fd` has `events` or the deadline passes.
bool PollFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, static_cast<int>(MsLeft(deadline)));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

}  // namespace

RawConnection::RawConnection(int port, const std::string& from, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  sockaddr_in src = Loopback(from, 0), dst = Loopback("127.0.0.1", port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0;
  if (ok && ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ok = errno == EINPROGRESS && PollFor(fd, POLLOUT, deadline);
    int err = 0;
    socklen_t len = sizeof err;
    ok = ok && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  }
  if (!ok) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::Send(std::string_view bytes) {
  if (fd_ < 0) return false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EAGAIN) {
      if (!PollFor(fd_, POLLOUT, deadline)) return false;
    } else if (n < 0 && errno != EINTR) {
      return false;
    }
  }
  return true;
}

bool RawConnection::SendGet(const std::string& path, const std::string& extra) {
  return Send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n");
}

std::optional<RawResponse> RawConnection::Read(int timeout_ms) {
  if (fd_ < 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (size_t end = in_.find("\r\n\r\n"); end != std::string::npos) {
      RawResponse r;
      std::istringstream head(in_.substr(0, end));
      std::getline(head, r.status_line);
      if (!r.status_line.empty() && r.status_line.back() == '\r') r.status_line.pop_back();
      if (r.status_line.size() >= 12) r.status = std::atoi(r.status_line.c_str() + 9);
      for (std::string line; std::getline(head, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string k = line.substr(0, colon);
        for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = line.find_first_not_of(' ', colon + 1);
        r.headers[k] = v == std::string::npos ? "" : line.substr(v);
      }
      size_t length = r.headers.contains("content-length") ? std::stoul(r.headers["content-length"]) : 0;
      if (in_.size() >= end + 4 + length) {
        r.body = in_.substr(end + 4, length);
        in_.erase(0, end + 4 + length);
        return r;
      }
    }
    if (!PollFor(fd_, POLLIN, deadline)) return std::nullopt;
    char buf[8192];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      return std::nullopt;
    }
  }
}

bool RawConnection::WaitClosed(int timeout_ms) {
  if (fd_ < 0) return true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (!PollFor(fd_, POLLIN, deadline)) return false;
    char buf[8192];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
}

void RawConnection::Reset() {
  if (fd_ < 0) return;
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd_);
  fd_ = -1;
}

std::optional<RawResponse> RawGet(int port, const std::string& path, const std::string& from, int timeout_ms) {
  RawConnection c(port, from, timeout_ms);
  if (!c.SendGet(path)) return std::nullopt;
  return c.Read(timeout_ms);
}

json::object ExpectProblem(const HttpResult& r, long status) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.ContentType(), "application/problem+json") << r.body;
  json::value v = r.Json();
  if (!v.is_object()) {
    ADD_FAILURE() << "problem body is not an object: " << r.body;
    return {};
  }
  auto& o = v.as_object();
  EXPECT_TRUE(o.contains("type") && o.contains("title") && o.contains("detail")) << r.body;
  if (auto* st = o.if_contains("status")) {
    EXPECT_TRUE(st->is_int64() && st->as_int64() == status) << r.body;
  }
  return o;
}

}  // namespace hookd::testing
