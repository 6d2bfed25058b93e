// loadgen — open-loop, constant-rate HTTP/1.1 load generator for latency (loopback only).
//
// Request i is *scheduled* at t0 + i/rate whatever happened to earlier requests, and its
// latency is measured from that scheduled time to the last byte of its response. When every
// connection is busy, due requests wait (in order) for a free connection and that wait counts
// in their latency: no coordinated omission. Keep-alive connections, one request in flight per
// connection (no pipelining), one epoll loop per thread, timerfd for sub-ms send times.
//
//   loadgen --url http://127.0.0.1:8080/v1/companies/co_x/events --method POST
//           --body-file event.json --header 'authorization: Bearer hkd_…'
//           --rate 2000 --duration 20 --connections 16 [--threads 1] [--drain 5]
//
// In the body, every "{{seq}}" is replaced by a per-request sequence number (0, 1, 2, …), so
// each request can carry a different id. Prints achieved rate, answers by status, transport
// errors and latency percentiles, then one machine-readable "RESULT k=v …" line.
// Build: bench/build.sh (plain g++, no dependencies).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "loadgen: %s\n", msg.c_str());
  std::exit(2);
}

struct Options {
  std::string url;
  std::string method = "GET";
  std::string body_file;
  std::vector<std::string> headers;
  double rate = 1000;
  double duration = 10;
  int connections = 16;
  int threads = 1;
  double drain = 5;  // seconds after the last scheduled send to wait for answers
  bool timeline = false;  // print one line per second of schedule
};

struct Target {
  sockaddr_in addr{};
  std::string host_header;
  std::string path;
};

Target ParseUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) Die("--url must start with http:// (no TLS): " + url);
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string hostport = slash == std::string::npos ? rest : rest.substr(0, slash);
  Target t;
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  t.host_header = hostport;
  std::string host = hostport;
  int port = 80;
  if (size_t colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = std::atoi(hostport.c_str() + colon + 1);
  }
  if (host == "localhost") host = "127.0.0.1";
  t.addr.sin_family = AF_INET;
  t.addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &t.addr.sin_addr) != 1)
    Die("the host must be an IPv4 literal or localhost: " + host);
  if ((ntohl(t.addr.sin_addr.s_addr) >> 24) != 127) Die("loopback only (127.0.0.0/8): " + host);
  if (port <= 0 || port > 65535) Die("bad port in " + url);
  return t;
}

// The request bytes, split around every "{{seq}}" in the body.
struct RequestTemplate {
  std::string head_without_length;  // request line + headers, up to (excluding) Content-Length
  std::vector<std::string> body_parts;  // body = parts[0] seq parts[1] seq … parts[n]
  bool has_body = false;

  std::string Build(uint64_t seq) const {
    std::string body;
    if (has_body) {
      std::string s = std::to_string(seq);
      for (size_t i = 0; i < body_parts.size(); ++i) {
        if (i) body += s;
        body += body_parts[i];
      }
    }
    std::string out;
    out.reserve(head_without_length.size() + body.size() + 40);
    out += head_without_length;
    if (has_body) {
      out += "Content-Length: ";
      out += std::to_string(body.size());
      out += "\r\n";
    }
    out += "\r\n";
    out += body;
    return out;
  }
};

RequestTemplate MakeTemplate(const Options& o, const Target& t) {
  RequestTemplate rt;
  std::string h = o.method + " " + t.path + " HTTP/1.1\r\nHost: " + t.host_header + "\r\n";
  bool has_ct = false;
  for (const auto& hdr : o.headers) {
    size_t colon = hdr.find(':');
    if (colon == std::string::npos) Die("--header must be 'name: value': " + hdr);
    std::string name = hdr.substr(0, colon);
    std::string lname = name;
    for (char& c : lname) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lname == "content-type") has_ct = true;
    if (lname == "content-length" || lname == "host" || lname == "connection")
      Die("--header " + name + " is set by loadgen");
    size_t v = colon + 1;
    while (v < hdr.size() && hdr[v] == ' ') ++v;
    h += name + ": " + hdr.substr(v) + "\r\n";
  }
  if (!o.body_file.empty()) {
    std::ifstream f(o.body_file, std::ios::binary);
    if (!f) Die("cannot read --body-file " + o.body_file);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string body = ss.str();
    rt.has_body = true;
    constexpr std::string_view kSeq = "{{seq}}";
    size_t pos = 0;
    for (;;) {
      size_t at = body.find(kSeq, pos);
      if (at == std::string::npos) {
        rt.body_parts.push_back(body.substr(pos));
        break;
      }
      rt.body_parts.push_back(body.substr(pos, at - pos));
      pos = at + kSeq.size();
    }
    if (!has_ct) h += "Content-Type: application/json\r\n";
  } else if (o.method == "POST" || o.method == "PUT" || o.method == "PATCH") {
    rt.has_body = true;  // an empty body, Content-Length: 0
    rt.body_parts.push_back("");
  }
  rt.head_without_length = std::move(h);
  return rt;
}

struct Stats {
  std::vector<uint32_t> lat_sched_us;  // from scheduled send time
  std::vector<uint32_t> lat_sent_us;   // from actual send time (service time)
  std::vector<std::vector<uint32_t>> per_second;  // latency from scheduled time, by due second
  std::map<int, uint64_t> by_status;
  std::map<std::string, uint64_t> errors;  // transport-level problems
  uint64_t scheduled = 0, sent = 0, completed = 0, unsent = 0, unanswered = 0;
  int64_t last_completion_ns = 0;
  int64_t max_send_lag_ns = 0;  // worst delay between a due time and its send (connection wait)
};

enum class ConnState { kConnecting, kIdle, kBusy, kClosed };

struct Conn {
  int fd = -1;
  ConnState st = ConnState::kClosed;
  std::string out;
  size_t out_off = 0;
  std::string in;
  int64_t sched_ns = 0, sent_ns = 0;
  bool want_out = false;
};

class Worker {
 public:
  Worker(const Options& o, const Target& t, const RequestTemplate& rt, int tid, int nconn,
         uint64_t total_global)
      : o_(o), t_(t), rt_(rt), tid_(tid) {
    interval_ns_ = 1e9 / o.rate;
    // global index i = k*threads + tid
    total_ = total_global > uint64_t(tid) ? (total_global - tid + o.threads - 1) / o.threads : 0;
    conns_.resize(nconn);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ep_ < 0 || tfd_ < 0) Die("epoll/timerfd: " + std::string(strerror(errno)));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTimerTag;
    epoll_ctl(ep_, EPOLL_CTL_ADD, tfd_, &ev);
    stats_.scheduled = total_;
    stats_.lat_sched_us.reserve(total_);
    stats_.lat_sent_us.reserve(total_);
  }
  ~Worker() {
    for (auto& c : conns_)
      if (c.fd >= 0) close(c.fd);
    close(tfd_);
    close(ep_);
  }

  // Opens every connection before t0 so connection set-up is not in the measurement.
  bool ConnectAll(int64_t deadline_ns) {
    for (size_t i = 0; i < conns_.size(); ++i) Connect(i);
    while (NowNs() < deadline_ns) {
      bool all = true;
      for (auto& c : conns_)
        if (c.st != ConnState::kIdle) all = false;
      if (all) return true;
      Poll(10);
    }
    return false;
  }

  void SetOrigin(int64_t t0) { t0_ = t0; }

  void Run() {
    const int64_t send_end = t0_ + int64_t(o_.duration * 1e9);
    const int64_t hard_end = send_end + int64_t(o_.drain * 1e9);
    for (;;) {
      int64_t now = NowNs();
      if (now >= hard_end) break;
      // Send every due request on an idle connection, oldest first.
      while (next_ < total_ && Sched(next_) <= now) {
        Conn* idle = nullptr;
        size_t idx = 0;
        for (size_t i = 0; i < conns_.size(); ++i) {
          size_t j = (rr_ + i) % conns_.size();
          if (conns_[j].st == ConnState::kIdle) {
            idle = &conns_[j];
            idx = j;
            break;
          }
        }
        if (!idle) break;
        rr_ = idx + 1;
        Send(idx, Sched(next_), uint64_t(next_) * o_.threads + tid_, now);
        ++next_;
        now = NowNs();
      }
      if (next_ >= total_ && InFlight() == 0) break;
      // Sleep until the next due time if a connection is free, else until some I/O.
      int64_t wake = hard_end;
      bool have_idle = std::any_of(conns_.begin(), conns_.end(),
                                   [](const Conn& c) { return c.st == ConnState::kIdle; });
      if (next_ < total_ && have_idle) wake = std::min(wake, Sched(next_));
      ArmTimer(wake);
      Poll(-1);
    }
    stats_.sent = sent_;
    stats_.unsent = total_ - next_;
    stats_.unanswered = InFlight();
  }

  Stats& stats() { return stats_; }

 private:
  static constexpr uint64_t kTimerTag = ~uint64_t(0);

  int64_t Sched(uint64_t k) const {
    return t0_ + int64_t(double(k * o_.threads + tid_) * interval_ns_);
  }
  size_t InFlight() const {
    return size_t(std::count_if(conns_.begin(), conns_.end(),
                                [](const Conn& c) { return c.st == ConnState::kBusy; }));
  }

  void ArmTimer(int64_t at_ns) {
    itimerspec its{};
    if (at_ns <= NowNs()) at_ns = NowNs() + 1000;
    its.it_value.tv_sec = at_ns / 1'000'000'000;
    its.it_value.tv_nsec = at_ns % 1'000'000'000;
    timerfd_settime(tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
  }

  void Err(const std::string& what) { ++stats_.errors[what]; }

  void Connect(size_t i) {
    Conn& c = conns_[i];
    c = Conn{};
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) Die("socket: " + std::string(strerror(errno)));
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r = connect(c.fd, reinterpret_cast<const sockaddr*>(&t_.addr), sizeof t_.addr);
    if (r == 0) {
      c.st = ConnState::kIdle;
    } else if (errno == EINPROGRESS) {
      c.st = ConnState::kConnecting;
    } else {
      Err(std::string("connect: ") + strerror(errno));
      close(c.fd);
      c.fd = -1;
      c.st = ConnState::kClosed;
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | (c.st == ConnState::kConnecting ? uint32_t(EPOLLOUT) : 0u);
    c.want_out = c.st == ConnState::kConnecting;
    ev.data.u64 = i;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void SetWantOut(size_t i, bool want) {
    Conn& c = conns_[i];
    if (c.want_out == want) return;
    c.want_out = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? uint32_t(EPOLLOUT) : 0u);
    ev.data.u64 = i;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  // Drops a connection (counting a lost request if one was in flight) and opens a new one.
  void Reset(size_t i, const std::string& why) {
    Conn& c = conns_[i];
    if (c.st == ConnState::kBusy) Err(why);
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
    }
    c.fd = -1;
    c.st = ConnState::kClosed;
    Connect(i);
  }

  void Send(size_t i, int64_t sched_ns, uint64_t seq, int64_t now) {
    Conn& c = conns_[i];
    c.out = rt_.Build(seq);
    c.out_off = 0;
    c.in.clear();
    c.sched_ns = sched_ns;
    c.sent_ns = now;
    c.st = ConnState::kBusy;
    stats_.max_send_lag_ns = std::max(stats_.max_send_lag_ns, now - sched_ns);
    ++sent_;
    Flush(i);
  }

  void Flush(size_t i) {
    Conn& c = conns_[i];
    while (c.out_off < c.out.size()) {
      ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += size_t(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        SetWantOut(i, true);
        return;
      }
      if (n < 0 && errno == EINTR) continue;
      Reset(i, std::string("send: ") + strerror(errno));
      return;
    }
    SetWantOut(i, false);
  }

  void Poll(int timeout_ms) {
    epoll_event evs[256];
    int n = epoll_wait(ep_, evs, 256, timeout_ms);
    for (int k = 0; k < n; ++k) {
      uint64_t tag = evs[k].data.u64;
      if (tag == kTimerTag) {
        uint64_t expirations;
        (void)!read(tfd_, &expirations, sizeof expirations);
        continue;
      }
      size_t i = size_t(tag);
      Conn& c = conns_[i];
      if (c.fd < 0) continue;
      if (c.st == ConnState::kConnecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          Err(std::string("connect: ") + strerror(err));
          epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
          close(c.fd);
          c.fd = -1;
          c.st = ConnState::kClosed;
          continue;  // not retried: the server is gone or refusing
        }
        c.st = ConnState::kIdle;
        SetWantOut(i, false);
        continue;
      }
      if ((evs[k].events & EPOLLOUT) && c.st == ConnState::kBusy) Flush(i);
      if (c.fd >= 0 && (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) Read(i);
    }
  }

  void Read(size_t i) {
    Conn& c = conns_[i];
    char buf[65536];
    for (;;) {
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, size_t(n));
        if (size_t(n) < sizeof buf) break;
        continue;
      }
      if (n == 0) {
        Reset(i, "connection closed by server");
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      Reset(i, std::string("recv: ") + strerror(errno));
      return;
    }
    if (c.st != ConnState::kBusy) {
      if (!c.in.empty()) Reset(i, "unexpected bytes from server");
      return;
    }
    size_t hend = c.in.find("\r\n\r\n");
    if (hend == std::string::npos) return;
    std::string_view head(c.in.data(), hend);
    // Status line: HTTP/1.x NNN reason
    int status = 0;
    if (head.size() < 12 || head.rfind("HTTP/1.", 0) != 0 ||
        std::sscanf(c.in.c_str() + 9, "%3d", &status) != 1) {
      Reset(i, "malformed status line");
      return;
    }
    size_t content_length = 0;
    bool close_after = head.rfind("HTTP/1.0", 0) == 0;
    size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos < head.size()) {
      size_t start = pos + 2;
      size_t end = head.find("\r\n", start);
      std::string_view line = head.substr(start, end == std::string_view::npos ? head.npos : end - start);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (name == "content-length") {
          content_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
        } else if (name == "connection") {
          std::string v(value);
          for (char& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          if (v.find("close") != std::string::npos) close_after = true;
          if (v.find("keep-alive") != std::string::npos) close_after = false;
        } else if (name == "transfer-encoding") {
          Reset(i, "chunked responses are not supported");
          return;
        }
      }
      pos = end;
    }
    size_t total = hend + 4 + content_length;
    if (c.in.size() < total) return;
    int64_t now = NowNs();
    auto us = [](int64_t ns) { return uint32_t(std::min<int64_t>(ns / 1000, UINT32_MAX)); };
    stats_.lat_sched_us.push_back(us(now - c.sched_ns));
    stats_.lat_sent_us.push_back(us(now - c.sent_ns));
    if (o_.timeline) {
      size_t sec = size_t(std::max<int64_t>(0, c.sched_ns - t0_) / 1'000'000'000);
      if (stats_.per_second.size() <= sec) stats_.per_second.resize(sec + 1);
      stats_.per_second[sec].push_back(us(now - c.sched_ns));
    }
    ++stats_.by_status[status];
    ++stats_.completed;
    stats_.last_completion_ns = std::max(stats_.last_completion_ns, now);
    bool extra = c.in.size() > total;
    c.in.clear();
    c.st = ConnState::kIdle;
    if (extra) {  // cannot happen without pipelining; resynchronise on a fresh connection
      ++stats_.errors["bytes after a response (reconnected)"];
      Reset(i, "");
      return;
    }
    if (close_after) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
      c.fd = -1;
      c.st = ConnState::kClosed;
      ++stats_.errors["server asked to close (reconnected)"];
      Connect(i);
    }
  }

  const Options& o_;
  const Target& t_;
  const RequestTemplate& rt_;
  int tid_;
  int64_t t0_ = 0;
  double interval_ns_;
  uint64_t total_ = 0, next_ = 0, sent_ = 0;
  size_t rr_ = 0;
  std::vector<Conn> conns_;
  int ep_ = -1, tfd_ = -1;
  Stats stats_;
};

double Pct(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t idx = size_t(std::ceil(p / 100.0 * double(sorted.size())));
  if (idx > 0) --idx;
  return sorted[std::min(idx, sorted.size() - 1)] / 1000.0;
}

// --fsync-probe DIR: 4 KiB pwrite + fdatasync, 200 times, on a scratch file in DIR (the
// filesystem of the database). The fdatasync time is the floor of a durable commit's latency.
int FsyncProbe(const std::string& dir) {
  std::string path = dir + "/.loadgen-fsync-probe";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Die("cannot create " + path + ": " + strerror(errno));
  std::string block(4096, 'x');
  std::vector<uint32_t> us;
  for (int i = 0; i < 200; ++i) {
    if (pwrite(fd, block.data(), block.size(), off_t(i % 16) * 4096) != ssize_t(block.size()))
      Die("pwrite: " + std::string(strerror(errno)));
    int64_t t = NowNs();
    if (fdatasync(fd) != 0) Die("fdatasync: " + std::string(strerror(errno)));
    us.push_back(uint32_t((NowNs() - t) / 1000));
  }
  close(fd);
  unlink(path.c_str());
  std::sort(us.begin(), us.end());
  std::printf("fdatasync of 4 KiB in %s (ms): p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", dir.c_str(),
              Pct(us, 50), Pct(us, 90), Pct(us, 99), us.back() / 1000.0);
  std::printf("RESULT fsync_p50_ms=%.3f fsync_p90_ms=%.3f fsync_p99_ms=%.3f fsync_max_ms=%.3f\n",
              Pct(us, 50), Pct(us, 90), Pct(us, 99), us.back() / 1000.0);
  return 0;
}

void Usage() {
  std::fprintf(stderr,
               "usage: loadgen --url http://127.0.0.1:PORT/path [--method POST] [--body-file F]\n"
               "               [--header 'name: value']... --rate N --duration SECONDS\n"
               "               [--connections 16] [--threads 1] [--drain 5] [--timeline]\n"
               "  open loop: request i is due at t0 + i/rate; latency counts from that time.\n"
               "  \"{{seq}}\" in the body is replaced by the request's sequence number.\n"
               "       loadgen --fsync-probe DIR   (fdatasync latency of DIR's filesystem)\n");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--url") o.url = val();
    else if (a == "--method") o.method = val();
    else if (a == "--body-file") o.body_file = val();
    else if (a == "--header" || a == "-H") o.headers.push_back(val());
    else if (a == "--rate") o.rate = std::atof(val().c_str());
    else if (a == "--duration") o.duration = std::atof(val().c_str());
    else if (a == "--connections" || a == "-c") o.connections = std::atoi(val().c_str());
    else if (a == "--threads" || a == "-t") o.threads = std::atoi(val().c_str());
    else if (a == "--drain") o.drain = std::atof(val().c_str());
    else if (a == "--timeline") o.timeline = true;
    else if (a == "--help" || a == "-h") { Usage(); return 0; }
    else if (a == "--fsync-probe") return FsyncProbe(val());
    else { Usage(); Die("unknown argument " + a); }
  }
  if (o.url.empty()) { Usage(); Die("--url is required"); }
  if (!(o.rate > 0) || !(o.duration > 0) || o.duration > 3600) Die("--rate must be > 0 and --duration in (0, 3600]");
  if (o.threads < 1 || o.threads > 64) Die("--threads must be 1..64");
  if (o.connections < o.threads) Die("--connections must be >= --threads");
  if (o.drain < 0 || o.drain > 600) Die("--drain must be 0..600");

  Target target = ParseUrl(o.url);
  RequestTemplate rt = MakeTemplate(o, target);
  const uint64_t total = uint64_t(std::llround(o.rate * o.duration));

  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) {
    int n = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(o, target, rt, t, n, total));
  }
  // Every connection is open before t0, so connection set-up is not in the measurement.
  for (auto& w : workers)
    if (!w->ConnectAll(NowNs() + 5'000'000'000))
      Die("could not open every connection to " + o.url + " within 5 s");
  const int64_t t0 = NowNs() + 10'000'000;
  for (auto& w : workers) w->SetOrigin(t0);
  std::vector<std::thread> th;
  for (auto& w : workers) th.emplace_back([&w] { w->Run(); });
  for (auto& x : th) x.join();

  Stats all;
  for (auto& w : workers) {
    Stats& s = w->stats();
    all.lat_sched_us.insert(all.lat_sched_us.end(), s.lat_sched_us.begin(), s.lat_sched_us.end());
    all.lat_sent_us.insert(all.lat_sent_us.end(), s.lat_sent_us.begin(), s.lat_sent_us.end());
    for (auto& [k, v] : s.by_status) all.by_status[k] += v;
    for (auto& [k, v] : s.errors) all.errors[k] += v;
    all.scheduled += s.scheduled;
    all.sent += s.sent;
    all.completed += s.completed;
    all.unsent += s.unsent;
    all.unanswered += s.unanswered;
    all.last_completion_ns = std::max(all.last_completion_ns, s.last_completion_ns);
    all.max_send_lag_ns = std::max(all.max_send_lag_ns, s.max_send_lag_ns);
    if (all.per_second.size() < s.per_second.size()) all.per_second.resize(s.per_second.size());
    for (size_t k = 0; k < s.per_second.size(); ++k)
      all.per_second[k].insert(all.per_second[k].end(), s.per_second[k].begin(), s.per_second[k].end());
  }
  std::sort(all.lat_sched_us.begin(), all.lat_sched_us.end());
  std::sort(all.lat_sent_us.begin(), all.lat_sent_us.end());

  uint64_t ok = 0, bad_status = 0, transport = 0;
  for (auto& [k, v] : all.by_status) (k >= 200 && k < 300 ? ok : bad_status) += v;
  for (auto& [k, v] : all.errors)
    if (k.rfind("server asked to close", 0) != 0 && k.rfind("bytes after", 0) != 0) transport += v;
  const uint64_t errors = bad_status + transport + all.unsent + all.unanswered;
  // Achieved rate: answers per second over the span from t0 to the last answer, but never a
  // span shorter than the scheduled duration (so a fast finish does not inflate it).
  double span_s = std::max(o.duration, double(all.last_completion_ns - t0) / 1e9);
  double achieved = all.completed / span_s;

  std::printf("loadgen: %s %s  target %.0f req/s for %.1f s, %d connections, %d thread(s)\n",
              o.method.c_str(), o.url.c_str(), o.rate, o.duration, o.connections, o.threads);
  std::printf("requests: scheduled %" PRIu64 ", sent %" PRIu64 ", answered %" PRIu64
              ", never sent %" PRIu64 ", unanswered at the end %" PRIu64 "\n",
              all.scheduled, all.sent, all.completed, all.unsent, all.unanswered);
  std::printf("achieved rate: %.1f answers/s over %.2f s\n", achieved, span_s);
  std::printf("answers by status:");
  for (auto& [k, v] : all.by_status) std::printf(" %d=%" PRIu64, k, v);
  std::printf("%s\n", all.by_status.empty() ? " none" : "");
  std::printf("transport errors:");
  for (auto& [k, v] : all.errors) std::printf(" [%s]=%" PRIu64, k.c_str(), v);
  std::printf("%s\n", all.errors.empty() ? " none" : "");
  const auto& L = all.lat_sched_us;
  const auto& S = all.lat_sent_us;
  std::printf("latency from scheduled send time (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
              Pct(L, 50), Pct(L, 90), Pct(L, 99), Pct(L, 99.9), L.empty() ? 0.0 : L.back() / 1000.0);
  std::printf("service time from actual send (ms):    p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
              Pct(S, 50), Pct(S, 90), Pct(S, 99), Pct(S, 99.9), S.empty() ? 0.0 : S.back() / 1000.0);
  for (size_t k = 0; k < all.per_second.size(); ++k) {
    auto& v = all.per_second[k];
    std::sort(v.begin(), v.end());
    std::printf("second %3zu: %6zu answers  p50 %8.3f  p99 %8.3f  max %8.3f ms\n", k, v.size(), Pct(v, 50),
                Pct(v, 99), v.empty() ? 0.0 : v.back() / 1000.0);
  }
  std::printf("worst wait for a free connection: %.3f ms\n", all.max_send_lag_ns / 1e6);
  std::printf("RESULT scheduled=%" PRIu64 " answered=%" PRIu64 " ok=%" PRIu64 " errors=%" PRIu64
              " rate=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
              all.scheduled, all.completed, ok, errors, achieved, Pct(L, 50), Pct(L, 90), Pct(L, 99),
              Pct(L, 99.9), L.empty() ? 0.0 : L.back() / 1000.0);
  std::fflush(stdout);
  return 0;
}
