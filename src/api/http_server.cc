#include "api/http_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/http_request_parser.h"
#include "api/problem.h"
#include "core/clock.h"
#include "core/log_throttle.h"

namespace hookd::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(75);
constexpr auto kReadTimeout = std::chrono::seconds(30);
// After a failed accept, the next one waits this long, doubling up to the cap; a successful
// accept starts again from the first.
constexpr auto kAcceptBackoffFirst = std::chrono::milliseconds(10);
constexpr auto kAcceptBackoffMax = std::chrono::milliseconds(1000);
// At most one log line per kind of accept error (or of refusal) per interval.
constexpr int64_t kAcceptLogIntervalMs = 10'000;
// Connections answered 503 per round while out of descriptors.
constexpr int kShedPerRound = 256;

http::response<http::string_body> ToBeast(const HttpResponse& r, unsigned version, bool keep_alive,
                                          bool head) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "hookd/" HOOKD_VERSION);
  if (r.status != 204) res.set(http::field::content_type, r.content_type);
  // Browsers take the Content-Type as given (the panel's scripts, JSON never read as HTML).
  res.set("x-content-type-options", "nosniff");
  for (const auto& [k, v] : r.headers) res.set(k, v);
  if (r.status != 204 && !head) res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (head) res.content_length(r.body.size());
  return res;
}

// The bytes of a 503 problem+json that closes the connection.
std::string RefusalBytes(std::string_view detail) {
  HttpResponse r = Problem(503, detail);
  r.headers.emplace_back("retry-after", "1");
  std::ostringstream out;
  out << ToBeast(r, 11, false, false);
  return std::move(out).str();
}

// Answers a connection that will not be served: the whole answer in one non-blocking send
// (a fresh socket's buffer takes it), then FIN, then whatever the client has sent so far read
// and dropped (unread data makes close() send a reset, which can cost the client our answer).
// The caller closes `fd`.
void Refuse(int fd, const std::string& answer) {
  (void)!::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(fd, SHUT_WR);
  char drain[4096];
  for (int i = 0; i < 16 && ::recv(fd, drain, sizeof drain, MSG_DONTWAIT) > 0; ++i) {
  }
}

// A descriptor held in reserve: given back when accept runs out, so that the connections
// waiting in the backlog can still be accepted and answered.
int OpenReserve() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

bool OutOfDescriptors(const boost::system::error_code& ec) {
  return ec == boost::system::errc::too_many_files_open ||
         ec == boost::system::errc::too_many_files_open_in_system;
}

// IPv4 clients of a dual-stack listener appear as ::ffff:a.b.c.d: count them as a.b.c.d.
asio::ip::address ClientKey(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

// Open connections, in total and per client address. Thread-safe: the accept loop admits,
// sessions release from whichever I/O thread they end on.
class ConnectionTable {
 public:
  enum class Admission { kAdmitted, kOverTotal, kOverClient };

  ConnectionTable(size_t max_total, size_t max_per_client)
      : max_total_(std::max<size_t>(1, max_total)), max_per_client_(std::max<size_t>(1, max_per_client)) {}

  Admission TryAdmit(const asio::ip::address& client) {
    std::lock_guard lock(mu_);
    if (total_ >= max_total_) return Admission::kOverTotal;
    size_t& mine = per_client_[client];
    if (mine >= max_per_client_) return Admission::kOverClient;
    ++mine;
    ++total_;
    return Admission::kAdmitted;
  }

  void Release(const asio::ip::address& client) {
    std::lock_guard lock(mu_);
    auto it = per_client_.find(client);
    if (it == per_client_.end() || it->second == 0) return;
    --total_;
    if (--it->second == 0) per_client_.erase(it);
  }

  size_t max_total() const { return max_total_; }
  size_t max_per_client() const { return max_per_client_; }

 private:
  const size_t max_total_;
  const size_t max_per_client_;
  std::mutex mu_;
  size_t total_ = 0;                                          // GUARDED_BY(mu_)
  std::unordered_map<asio::ip::address, size_t> per_client_;  // GUARDED_BY(mu_), no zeros
};

// An admitted connection's place in the table, given back when this is destroyed: owned by
// the session's coroutine frame, so every way a session ends (return, exception, or the
// io_context destroying it suspended at shutdown) releases it exactly once.
class ConnectionSlot {
 public:
  ConnectionSlot(ConnectionTable* table, asio::ip::address client) : table_(table), client_(client) {}
  ConnectionSlot(ConnectionSlot&& o) noexcept : table_(std::exchange(o.table_, nullptr)), client_(o.client_) {}
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (table_) table_->Release(client_);
  }

 private:
  ConnectionTable* table_;
  asio::ip::address client_;
};

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions opts;
  RequestHandler handler;
  // Declared before the io_context: sessions it destroys at shutdown release their slots here.
  ConnectionTable conns;
  asio::io_context ioc;
  // The accept loop, its back-off timer, the reserve descriptor and Stop()'s closing of the
  // acceptor run on this strand.
  asio::strand<asio::io_context::executor_type> accept_strand;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_backoff;
  int reserve_fd = -1;
  // Accept errors and refusals: one line per kind per interval.
  LogThrottle accept_log{kAcceptLogIntervalMs};
  bool unreported = false;       // accept_log holds repeats not written yet
  std::string no_fds_key;        // accept_log's key of the last out-of-descriptors error
  uint64_t shed_unreported = 0;  // connections answered 503 for want of descriptors, not logged yet
  // Prepared 503 answers.
  std::string refuse_total, refuse_client, refuse_no_fds;
  std::vector<std::thread> threads;
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};

  Impl(HttpServerOptions o, RequestHandler h)
      : opts(std::move(o)),
        handler(std::move(h)),
        conns(opts.max_connections, opts.max_connections_per_client),
        ioc(std::max(1, opts.threads)),
        accept_strand(asio::make_strand(ioc)) {
    refuse_total = RefusalBytes(fmt::format(
        "hookd has {} connections open, its limit (--max-connections); try again shortly", conns.max_total()));
    refuse_client = RefusalBytes(
        fmt::format("{} connections are open from your address, the limit per client "
                    "(--max-connections-per-client); reuse or close one, or try again shortly",
                    conns.max_per_client()));
    refuse_no_fds = RefusalBytes("hookd is out of file descriptors; try again shortly");
  }

  ~Impl() {
    if (reserve_fd >= 0) ::close(reserve_fd);
  }

  asio::awaitable<HttpResponse> Dispatch(HttpRequest req) {
    co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(HttpResponse)>(
        [this, &req](auto completion) {
          handler(std::move(req), [c = std::move(completion)](HttpResponse r) mutable {
            auto ex = asio::get_associated_executor(c);
            asio::post(ex, [c = std::move(c), r = std::move(r)]() mutable { std::move(c)(std::move(r)); });
          });
        },
        asio::use_awaitable);
  }

  static asio::awaitable<void> Write(beast::tcp_stream& stream, const HttpResponse& r,
                                     unsigned version, bool keep_alive, bool head) {
    auto res = ToBeast(r, version, keep_alive, head);
    auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (ec) throw boost::system::system_error(ec);
  }

  // `slot` is held for the whole session and released when it ends.
  asio::awaitable<void> Session(tcp::socket socket, [[maybe_unused]] ConnectionSlot slot) {
    // Every request of the connection carries it (the audit log's "from").
    std::string remote_address;
    {
      boost::system::error_code ec;
      auto remote = socket.remote_endpoint(ec);
      if (!ec) remote_address = ClientKey(remote.address()).to_string();
    }
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    try {
      for (;;) {
        RequestParser parser;
        ConfigureRequestParser(parser, opts.max_body);
        stream.expires_after(kIdleTimeout);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser,
                                                        asio::as_tuple(asio::use_awaitable));
        if (ec) {
          if (ec != http::error::end_of_stream && ec != asio::error::eof &&
              ec != beast::error::timeout && ec != asio::error::connection_reset &&
              ec != asio::error::operation_aborted && ec != http::error::body_limit) {
            co_await Write(stream, Problem(400, "malformed HTTP request: " + ec.message()), 11, false, false);
          } else if (ec == http::error::body_limit) {
            co_await Write(stream, Problem(413, "request body is larger than --max-payload"), 11, false, false);
          }
          break;
        }
        auto& hdr = parser.get();
        if (AnnouncesTooLargeBody(parser, opts.max_body)) {
          co_await Write(stream,
                         Problem(413, "request body of " + std::to_string(*parser.content_length()) +
                                          " bytes is over the limit of " + std::to_string(opts.max_body)),
                         hdr.version(), false, false);
          break;
        }
        if (beast::iequals(hdr[http::field::expect], "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, hdr.version()};
          co_await http::async_write(stream, cont, asio::use_awaitable);
        }
        // Most requests arrive whole in the header's read: parse the body from the buffer
        // here rather than through another asynchronous read (a composed operation, a timer
        // and a trip through the scheduler per request).
        beast::error_code ec2;
        ParseBufferedBody(parser, buffer, ec2);
        if (!ec2 && !parser.is_done()) {
          stream.expires_after(kReadTimeout);
          auto [ec_read, n2] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
          ec2 = ec_read;
        }
        if (ec2) {
          if (ec2 == http::error::body_limit)
            co_await Write(stream, Problem(413, "request body is larger than --max-payload"),
                           hdr.version(), false, false);
          else if (ec2 != beast::error::timeout && ec2 != asio::error::eof &&
                   ec2 != asio::error::connection_reset && ec2 != http::error::end_of_stream)
            co_await Write(stream, Problem(400, "malformed HTTP request: " + ec2.message()), hdr.version(), false, false);
          break;
        }
        stream.expires_never();
        auto msg = parser.release();
        const bool keep_alive = msg.keep_alive() && !stopping.load();
        const unsigned version = msg.version();
        const bool head = msg.method() == http::verb::head;

        HttpRequest req = ToHttpRequest(std::move(msg));
        req.remote_address = remote_address;

        ++in_flight;
        HttpResponse resp = co_await Dispatch(std::move(req));
        --in_flight;
        co_await Write(stream, resp, version, keep_alive, head);
        if (!keep_alive) break;
      }
    } catch (const std::exception& e) {
      spdlog::debug("http session ended: {}", e.what());
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // Out of descriptors: gives the reserve one back, accepts what waits in the backlog and
  // answers it 503, then takes the reserve again. Returns how many were answered.
  uint64_t ShedWaiting() {
    if (reserve_fd < 0) reserve_fd = OpenReserve();  // a descriptor may have come free
    if (reserve_fd < 0) return 0;
    ::close(reserve_fd);
    reserve_fd = -1;
    uint64_t shed = 0;
    for (int i = 0; i < kShedPerRound; ++i) {
      // The acceptor is non-blocking (Start): an empty backlog is EAGAIN, not a wait.
      int fd = ::accept4(acceptor->native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) break;  // EAGAIN: none left; EMFILE: another thread took the descriptor
      Refuse(fd, refuse_no_fds);
      ::close(fd);
      ++shed;
    }
    reserve_fd = OpenReserve();
    return shed;
  }

  // Keys of accept_log, which are also the start of their lines. Accept errors use
  // "accept failed: " + the error's text.
  static constexpr std::string_view kRefusedTotal = "connection refused over --max-connections";
  static constexpr std::string_view kRefusedClient = "connection refused over --max-connections-per-client";

  // One line of `key`, with its repeats and, for running out of descriptors, what was done.
  void WarnLine(std::string_view key, const LogThrottle::Verdict& v, std::string_view detail = "") {
    std::string shed;
    if (key == no_fds_key && shed_unreported > 0) {
      shed = fmt::format("; {} waiting connection{} answered 503 for want of a descriptor (at the "
                         "open-file limit: raise it, or lower --max-connections)",
                         shed_unreported, shed_unreported == 1 ? "" : "s");
      shed_unreported = 0;
    }
    spdlog::warn("{}{}{}{}", key, detail, v.Suffix(), shed);
  }

  // Serves `socket`, or answers it 503 when its client or the server is at its cap.
  void Admit(tcp::socket socket) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    const asio::ip::address client = ClientKey(remote.address());
    const auto admission = conns.TryAdmit(client);
    if (admission == ConnectionTable::Admission::kAdmitted) {
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(asio::make_strand(ioc), Session(std::move(socket), ConnectionSlot(&conns, client)),
                     asio::detached);
      return;
    }
    const bool total = admission == ConnectionTable::Admission::kOverTotal;
    Refuse(socket.native_handle(), total ? refuse_total : refuse_client);
    socket.close(ec);
    const std::string_view key = total ? kRefusedTotal : kRefusedClient;
    if (auto v = accept_log.Check(key, MonotonicMs()))
      WarnLine(key, v, fmt::format(" ({} connections open{}; this one from {})",
                                   total ? conns.max_total() : conns.max_per_client(),
                                   total ? "" : " from that address", client.to_string()));
    else
      unreported = true;
  }

  // Runs on accept_strand.
  asio::awaitable<void> AcceptLoop() {
    auto backoff = std::chrono::milliseconds(kAcceptBackoffFirst);
    for (;;) {
      auto [ec, socket] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      if (ec) {
        // Trying again at once would spin: out of descriptors, accept fails at once (on
        // Linux even with nothing waiting). Wait, longer each time.
        if (OutOfDescriptors(ec)) shed_unreported += ShedWaiting();
        const std::string key = "accept failed: " + ec.message();
        if (OutOfDescriptors(ec)) no_fds_key = key;
        if (auto v = accept_log.Check(key, MonotonicMs()))
          WarnLine(key, v);
        else
          unreported = true;
        accept_backoff->expires_after(backoff);
        co_await accept_backoff->async_wait(asio::as_tuple(asio::use_awaitable));  // Stop() cancels it
        if (!acceptor->is_open()) co_return;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(kAcceptBackoffMax));
        continue;
      }
      backoff = kAcceptBackoffFirst;
      if (reserve_fd < 0) reserve_fd = OpenReserve();
      if (unreported) {
        // Once a burst has ended, its last repeats are written when their interval is up.
        for (const auto& [key, v] : accept_log.Due(MonotonicMs())) WarnLine(key, v);
        unreported = accept_log.Suppressed() > 0;
      }
      Admit(std::move(socket));
    }
  }
};

HttpServer::HttpServer(HttpServerOptions opts, RequestHandler handler)
    : impl_(std::make_unique<Impl>(std::move(opts), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(0); }

Result<uint16_t> HttpServer::Start() {
  std::string_view listen = impl_->opts.listen;
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos)
    return MakeError(ErrorCode::kInvalidArgument, "--listen must be host:port, e.g. 127.0.0.1:8080");
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  int port = 0;
  try {
    port = std::stoi(std::string(listen.substr(colon + 1)));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) return MakeError(ErrorCode::kInvalidArgument, "--listen has a bad port");
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return MakeError(ErrorCode::kInvalidArgument, "--listen has a bad address: " + host);
  tcp::endpoint ep(addr, static_cast<uint16_t>(port));
  auto& acc = impl_->acceptor.emplace(impl_->ioc);
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) acc.non_blocking(true, ec);  // ShedWaiting() accepts on it directly
  if (ec) return MakeError(ErrorCode::kUnavailable, "cannot listen on " + std::string(listen) + ": " + ec.message());
  uint16_t bound = acc.local_endpoint().port();
  impl_->accept_backoff.emplace(impl_->accept_strand);
  impl_->reserve_fd = OpenReserve();
  asio::co_spawn(impl_->accept_strand, impl_->AcceptLoop(), asio::detached);
  for (int i = 0; i < std::max(1, impl_->opts.threads); ++i)
    impl_->threads.emplace_back([this] {
      NameThisThread("hookd-http");
      impl_->ioc.run();
    });
  return bound;
}

void HttpServer::Stop(int grace_ms) {
  if (!impl_ || impl_->threads.empty()) return;
  impl_->stopping = true;
  asio::post(impl_->accept_strand, [this] {
    boost::system::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
    if (impl_->accept_backoff) impl_->accept_backoff->cancel();
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace hookd::api
