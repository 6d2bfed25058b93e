#include "cli/listen.h"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/verify.h"
#include "core/clock.h"

namespace hookd {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kMaxBody = 8 * 1024 * 1024;

// The event type from a delivery's body ({"type": …}); "" when there is none.
std::string TypeOf(const std::string& body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return "";
  const auto* t = v.get_object().if_contains("type");
  return t && t->is_string() ? std::string(t->get_string()) : "";
}

}  // namespace

void AddListenFlags(CLI::App& cmd, ListenFlags& f) {
  cmd.add_option("--listen", f.listen, "address to listen on, host:port (port 0: any free port)")
      ->capture_default_str();
  cmd.add_option("--secret", f.secret, "the endpoint's signing secret (whsec_…): each delivery's signature is checked")
      ->envname(std::string(kVerifySecretEnv));
  cmd.add_option("--status", f.status, "the status every delivery is answered with (e.g. 500, 410, 429)")
      ->capture_default_str()
      ->check(CLI::Range(200, 599));
  cmd.add_option("--retry-after", f.retry_after, "a Retry-After header to answer with (seconds or an HTTP date)");
  cmd.add_option("--delay", f.delay, "wait this long before answering (e.g. 2s: watch timeouts)")->capture_default_str();
  cmd.add_option("--count", f.count, "exit after this many deliveries");
  cmd.add_flag("--quiet,-q", f.quiet, "one line per delivery, without the body");
  cmd.footer(R"(
A receiver on your machine for trying hookd: prints each delivery (type, webhook-id, whether
its signature verifies with --secret) and its body, and answers --status. hookd must be
allowed to deliver to it:  hookd serve --allow-http --allow-destination 127.0.0.1/32
  hookd listen --secret whsec_…                      # answers 204
  hookd listen --status 503 --retry-after 30          # watch hookd retry in 30 s)");
}

int RunListen(const ListenFlags& f) {
  const auto colon = f.listen.rfind(':');
  const auto delay_ms = ParseDurationMs(f.delay);
  if (colon == std::string::npos || !delay_ms) {
    fmt::print(stderr, "hookd listen: {}\n",
               !delay_ms ? "--delay must be a duration like 500ms or 2s" : "--listen must be host:port");
    return 2;
  }
  std::string host = f.listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = f.listen.substr(colon + 1);
  char* end = nullptr;
  const unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host.empty() ? "127.0.0.1" : host, ec);
  if (ec || port_text.empty() || *end != '\0' || port > 65535) {
    fmt::print(stderr, "hookd listen: --listen must be an IP address and a port, e.g. 127.0.0.1:9000\n");
    return 2;
  }
  std::string secret = f.secret;
  if (secret.empty())
    if (const char* env = std::getenv(std::string(kVerifySecretEnv).c_str())) secret = env;

  asio::io_context ioc;
  tcp::acceptor acceptor(ioc);
  const tcp::endpoint where(address, static_cast<unsigned short>(port));
  acceptor.open(where.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(where, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    fmt::print(stderr, "hookd listen: cannot listen on {}: {}\n", f.listen, ec.message());
    return 1;
  }
  const tcp::endpoint bound = acceptor.local_endpoint();
  fmt::print("listening on http://{}:{}{}\n", bound.address().to_string(), bound.port(),
             secret.empty() ? "  (no --secret: signatures are not checked)" : "");
  std::fflush(stdout);

  // Each connection on a thread of its own: hookd keeps connections alive and sends up to an
  // endpoint's max_concurrency deliveries at once, each on its own connection — served one
  // after the other, the second would wait for the first to close and time out.
  std::mutex mu;
  int64_t received = 0;    // GUARDED_BY(mu)
  bool any_invalid = false;  // GUARDED_BY(mu)
  std::set<int> open_fds;  // GUARDED_BY(mu): shut down once --count is reached
  std::atomic<bool> done{false};
  auto serve = [&](tcp::socket socket) {
    {
      std::lock_guard lock(mu);
      open_fds.insert(socket.native_handle());
    }
    boost::system::error_code ec;
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxBody);
      http::read(socket, buffer, parser, ec);
      if (ec) break;  // closed, or not HTTP
      auto& req = parser.get();
      const std::string body = req.body();

      CapturedRequest captured;
      for (const auto& h : req) {
        std::string name(h.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        captured.headers[name].emplace_back(h.value());
      }
      captured.body = body;
      captured.form = "HTTP request";
      std::string check = "signature not checked";
      bool invalid = false;
      if (!secret.empty()) {
        VerifyFlags vf;
        vf.secret = secret;
        auto opts = ResolveVerifyFlags(vf, NowMs());
        auto verdict = opts ? VerifyCaptured(captured, *opts) : Result<std::string>(std::unexpected(opts.error()));
        if (verdict) {
          check = "signature valid";
        } else {
          check = "signature INVALID: " + verdict.error().message;
          invalid = true;
        }
      }
      auto header = [&](std::string_view name) -> std::string {
        auto it = captured.headers.find(std::string(name));
        return it == captured.headers.end() || it->second.empty() ? "-" : it->second.front();
      };
      const std::string type = TypeOf(body);
      bool last = false;
      {
        std::lock_guard lock(mu);
        if (f.count > 0 && received >= f.count) break;  // enough: not answered
        fmt::print("{}  {} {}  {}  {}  {}\n", FormatTime(NowMs()), std::string(req.method_string()),
                   std::string(req.target()), type.empty() ? "-" : type, header("webhook-id"), check);
        if (!f.quiet) fmt::print("{}\n", body);
        std::fflush(stdout);
        any_invalid = any_invalid || invalid;
        last = f.count > 0 && ++received >= f.count;
        if (f.count == 0) ++received;
      }

      if (*delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(*delay_ms));
      http::response<http::string_body> res{static_cast<http::status>(f.status), req.version()};
      res.set(http::field::server, "hookd-listen");
      if (!f.retry_after.empty()) res.set(http::field::retry_after, f.retry_after);
      res.keep_alive(req.keep_alive() && !last);
      res.prepare_payload();
      http::write(socket, res, ec);
      if (last) done = true;  // answered: the listener may stop
      if (ec || !res.keep_alive()) break;
    }
    {
      std::lock_guard lock(mu);
      open_fds.erase(socket.native_handle());
    }
    socket.shutdown(tcp::socket::shutdown_both, ec);
  };

  std::vector<std::thread> connections;
  acceptor.non_blocking(true, ec);  // a connection gone before accept() never blocks the loop
  while (!done) {
    pollfd p{acceptor.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;  // woken now and then to see whether --count was reached
    tcp::socket socket(ioc);
    acceptor.accept(socket, ec);
    if (ec) continue;
    connections.emplace_back(serve, std::move(socket));
  }
  {
    // Connections hookd keeps open end now (their threads' reads fail), so that they can be joined.
    std::lock_guard lock(mu);
    for (int fd : open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : connections) t.join();
  std::lock_guard lock(mu);
  return any_invalid ? 1 : 0;
}

}  // namespace hookd
