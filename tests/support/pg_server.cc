#include "support/pg_server.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <libpq-fe.h>

namespace hookd::testing {
namespace {

namespace fs = std::filesystem;

std::string Tail(const fs::path& file, size_t max = 2000) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max ? s.substr(s.size() - max) : s;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return 54329;
  }
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

class Server {
 public:
  static Server& Get() {
    static Server s;
    return s;
  }

  std::string NewDatabaseUrl() {
    std::lock_guard lock(mu_);
    if (admin_url_.empty()) Start();
    const std::string name = "hookd_test_" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
    PGconn* c = PQconnectdb(admin_url_.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(c);
      PQfinish(c);
      throw std::runtime_error("test PostgreSQL server: cannot connect: " + msg);
    }
    PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    std::string msg = ok ? "" : PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    if (!ok) throw std::runtime_error("test PostgreSQL server: CREATE DATABASE failed: " + msg);
    return url_prefix_ + name + url_suffix_;
  }

  void Restart(const std::function<void()>& while_down) {
    std::lock_guard lock(mu_);
    if (pid_ <= 0) throw std::runtime_error("test PostgreSQL server: not started (or external): cannot restart it");
    ::kill(pid_, SIGINT);  // fast shutdown: clients are disconnected, the cluster is kept
    if (!WaitExit(pid_, std::chrono::seconds(30))) throw std::runtime_error("test PostgreSQL server: no exit after SIGINT");
    pid_ = -1;
    if (while_down) while_down();
    Launch();
  }

  void Stop() {
    std::lock_guard lock(mu_);
    if (pid_ > 0) {
      ::kill(pid_, SIGQUIT);  // immediate shutdown: the cluster is thrown away
      if (!WaitExit(pid_, std::chrono::seconds(20))) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
      pid_ = -1;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      dir_.clear();
    }
    admin_url_.clear();
  }

 private:
  static bool WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Forks and execs `argv` as the server's OS user, output to `log`. The child gets SIGINT
  // when this process dies.
  pid_t Spawn(const std::vector<std::string>& argv, const fs::path& log) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string log_path = log.string();
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("test PostgreSQL server: fork failed");
    if (pid == 0) {
      // Only async-signal-safe calls from here to exec.
      if (run_as_uid_ >= 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(run_as_gid_) != 0 || ::setuid(run_as_uid_) != 0) _exit(125);
      }
      ::prctl(PR_SET_PDEATHSIG, SIGINT);  // after setuid, which clears it
      if (::getppid() != parent) _exit(124);
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      const int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
      ::execv(args[0], args.data());
      _exit(127);
    }
    return pid;
  }

  void Start() {
    if (const char* external = std::getenv("HOOKD_TEST_POSTGRES_URL"); external && *external) {
      // postgresql://user@host/dbname?… : new databases on the same server.
      std::string url = external;
      admin_url_ = url;
      const size_t scheme = url.find("://");
      const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
      if (slash == std::string::npos) throw std::runtime_error("HOOKD_TEST_POSTGRES_URL needs a /database");
      const size_t query = url.find('?', slash);
      url_prefix_ = url.substr(0, slash + 1);
      url_suffix_ = query == std::string::npos ? "" : url.substr(query);
      return;
    }
    const char* bindir_env = std::getenv("HOOKD_TEST_PG_BINDIR");
    const fs::path bindir = bindir_env && *bindir_env ? bindir_env : "/usr/lib/postgresql/15/bin";
    if (!fs::exists(bindir / "initdb") || !fs::exists(bindir / "postgres"))
      throw std::runtime_error("PostgreSQL server binaries not found in " + bindir.string() +
                               ": the PostgreSQL store's tests need them (Debian package `postgresql`, "
                               "installed by scripts/setup.sh --test; or set HOOKD_TEST_POSTGRES_URL)");
    char tmpl[] = "/tmp/hookd-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("test PostgreSQL server: mkdtemp failed");
    dir_ = tmpl;
    if (::geteuid() == 0) {
      // initdb refuses to run as root: the cluster belongs to the `postgres` user.
      const passwd* pw = ::getpwnam("postgres");
      if (!pw) throw std::runtime_error("running as root and there is no `postgres` user to run the test server as");
      run_as_uid_ = static_cast<int>(pw->pw_uid);
      run_as_gid_ = static_cast<int>(pw->pw_gid);
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("test PostgreSQL server: cannot chown " + dir_.string());
    }
    const fs::path data = dir_ / "data";
    const fs::path log = dir_ / "server.log";
    // A copy of a cluster made once by initdb (ctest runs every test in a process of its own:
    // an initdb each would cost seconds), then the server on it.
    const fs::path cluster = Template(bindir);
    int status = 0;
    const pid_t cp = Spawn({"/bin/cp", "-a", cluster.string(), data.string()}, dir_ / "initdb.log");
    ::waitpid(cp, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error("test PostgreSQL server: cannot copy " + cluster.string() + ":\n" + Tail(dir_ / "initdb.log"));
    const int port = FreePort();
    bindir_ = bindir;
    port_ = port;
    const std::string conn = "host=" + dir_.string() + " port=" + std::to_string(port) + " user=postgres";
    admin_url_ = conn + " dbname=postgres";
    url_prefix_ = "postgresql:///";
    url_suffix_ = "?host=" + dir_.string() + "&port=" + std::to_string(port) + "&user=postgres";
    Launch();
  }

  // Starts `postgres` on the cluster in dir_, and waits until it answers.
  void Launch() {
    const fs::path data = dir_ / "data";
    const fs::path log = dir_ / "server.log";
    int status = 0;
    pid_ = Spawn({(bindir_ / "postgres").string(), "-D", data.string(), "-k", dir_.string(), "-p",
                  std::to_string(port_), "-c", "listen_addresses=", "-c", "fsync=on", "-c",
                  "synchronous_commit=on", "-c", "max_connections=200"},
                 log);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (PQping(admin_url_.c_str()) != PQPING_OK) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("test PostgreSQL server exited at start:\n" + Tail(log));
      }
      if (std::chrono::steady_clock::now() > until)
        throw std::runtime_error("test PostgreSQL server not ready after 60 s:\n" + Tail(log));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // The template cluster for `bindir`, made by initdb on first use (by whichever test
  // process gets there first; the others wait for its rename) and kept in /tmp for later runs.
  // Keyed by the binaries' path and initdb's mtime, so that an upgrade makes a new one.
  fs::path Template(const fs::path& bindir) {
    std::error_code ec;
    const auto mtime = fs::last_write_time(bindir / "initdb", ec).time_since_epoch().count();
    const fs::path tmpl = "/tmp/hookd-pg-template-" + std::to_string(::getuid()) + "-" +
                          std::to_string(std::hash<std::string>{}(bindir.string() + std::to_string(mtime)) % 1000000007);
    if (fs::exists(tmpl / "PG_VERSION")) return tmpl;
    // initdb into a directory of our own, then rename it into place (atomic: a template that
    // exists is complete). --no-sync: initdb's own final sync only; the server runs with fsync.
    const fs::path mine = dir_ / "template";
    const pid_t initdb = Spawn({(bindir / "initdb").string(), "-D", mine.string(), "-A", "trust", "-U", "postgres",
                                "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"},
                               dir_ / "initdb.log");
    int status = 0;
    ::waitpid(initdb, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error("test PostgreSQL server: initdb failed:\n" + Tail(dir_ / "initdb.log"));
    fs::rename(mine, tmpl, ec);  // fails when another process was first: theirs is as good
    if (ec) fs::remove_all(mine, ec);
    if (!fs::exists(tmpl / "PG_VERSION")) throw std::runtime_error("test PostgreSQL server: no template at " + tmpl.string());
    return tmpl;
  }

  std::mutex mu_;
  fs::path dir_;
  pid_t pid_ = -1;
  fs::path bindir_;
  int port_ = 0;
  int run_as_uid_ = -1, run_as_gid_ = -1;
  std::string admin_url_, url_prefix_, url_suffix_;
  int databases_ = 0;
};

// Stops the server (if one was started) when the tests end.
class StopServerAtExit : public ::testing::Environment {
 public:
  void TearDown() override { Server::Get().Stop(); }
};
[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new StopServerAtExit);

}  // namespace

std::string NewPostgresDatabaseUrl() { return Server::Get().NewDatabaseUrl(); }

void RestartPostgresServer(const std::function<void()>& while_down) { Server::Get().Restart(while_down); }

}  // namespace hookd::testing
