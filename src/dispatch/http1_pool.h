#pragma once
// The built-in HTTP/1.1 path for plain http:// receivers (used by HttpClient; `--plain-http
// builtin`, the default): keep-alive connections pooled per origin, a request written with
// one send(), the response read with Boost.Beast's parser. Every connection is opened by
// libcurl (CONNECT_ONLY: DNS, the SSRF guard at connect time, the connect timeout and its
// error classes stay curl's) and then handed over here; https:// never comes here — TLS
// stays on libcurl.
//
// Why it exists: per request, libcurl's own bookkeeping (URL parsing, connection-cache walk,
// header building and parsing, two poll() liveness checks, socket re-registration) cost about
// as much CPU as the loopback send and receive themselves; on the fan-out benchmark it was
// the biggest single item after the kernel (bench/README.md).
//
// Semantics kept from the curl path: the same captured headers and first 4 KiB of body
// (ResponseCapture), interim 1xx responses skipped, chunked and close-delimited bodies, a
// request on a reused connection that dies before any byte of answer is sent once more on a
// fresh connection (what curl does too), the whole-request timeout (connect included).
//
// Threading: owned by the HttpClient's thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dispatch/http_client.h"

namespace hookd {

class Http1Pool {
 public:
  // Asks for a fresh connection for `req` (HttpClient opens it with libcurl and hands it to
  // Adopt, or reports the failure as the request's result).
  using Reopen = std::function<void(OutboundRequest req, int64_t started_at_ms)>;
  // Epoll data of this pool's sockets has this bit set (HttpClient routes on it).
  static constexpr uint64_t kEpollTag = uint64_t{1} << 63;
  // An idle connection is closed after this long unused.
  static constexpr int64_t kIdleMs = 55'000;
  // At most this many idle connections are kept (over all origins); more are closed.
  static constexpr size_t kMaxIdle = 4096;

  Http1Pool(int epoll_fd, std::string user_agent, Reopen reopen);
  ~Http1Pool();
  Http1Pool(const Http1Pool&) = delete;
  Http1Pool& operator=(const Http1Pool&) = delete;

  // Whether this pool can send to `url` (an http:// URL it could parse).
  bool Accepts(const std::string& url);
  // Sends `req` on an idle connection to its origin. False, with `req` untouched, when there
  // is none (the caller then opens one if Accepts the URL).
  bool TryStart(OutboundRequest& req, int64_t started_at_ms);
  // `fd` (now owned by the pool) was just connected for `req`: sends it.
  void Adopt(int fd, OutboundRequest req, int64_t started_at_ms);
  // An epoll event for one of the pool's sockets.
  void OnEvent(uint64_t data, uint32_t events);
  // Ends requests past their deadline (timeout) and closes connections idle too long.
  void Expire(int64_t now_ms);
  // When Expire next has something to do (absolute ms), -1: never.
  int64_t NextDueMs() const;
  // Moves the finished requests' results to `out`.
  void TakeDone(std::vector<OutboundResult>& out);
  size_t InFlight() const { return in_flight_; }

  struct Conn;  // http1_pool.cc

 private:
  struct Target;  // per URL: origin key and the request head's fixed part
  const Target* TargetOf(const std::string& url);  // null: unparsable
  void Begin(Conn& c, const Target& t, OutboundRequest req, int64_t started_at_ms);
  bool Flush(Conn& c);
  void Read(Conn& c);
  bool Feed(Conn& c, const char* p, size_t n);
  void OnEof(Conn& c);
  void Complete(Conn& c, bool reusable);
  void SendAgain(Conn& c);
  void Fail(Conn& c, const std::string& detail, int err = 0);
  void Finish(Conn& c, OutboundResult r);
  void Watch(Conn& c, bool want_out);
  void Close(Conn& c);
  bool Earlier(uint32_t a, uint32_t b) const;
  void HeapSet(size_t i, uint32_t slot);
  void HeapSiftUp(size_t i);
  void HeapSiftDown(size_t i);
  void HeapPush(Conn& c);
  void HeapRemove(Conn& c);

  int epoll_fd_;
  std::string user_agent_;
  Reopen reopen_;
  std::unordered_map<std::string, std::unique_ptr<Target>> targets_;
  std::vector<std::unique_ptr<Conn>> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<std::string, std::vector<uint32_t>> idle_;  // origin → slots, LIFO
  std::vector<uint32_t> heap_;  // busy connections' slots, earliest deadline first
  std::vector<OutboundResult> done_;
  size_t in_flight_ = 0;
  size_t idle_count_ = 0;
  int64_t next_sweep_ms_ = 0;
  std::unique_ptr<char[]> scratch_;  // body bytes land here on their way to the capture
};

}  // namespace hookd
