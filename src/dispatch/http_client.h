#pragma once
// Outbound HTTP for deliveries, on the libcurl multi interface: many requests in flight on
// one thread, connections kept alive and reused per host (HTTP/1.1, also over TLS: libcurl
// 7.88.1's HTTP/2 can lose a receiver's answer, see NewHandle), redirects never followed, TLS
// verified, and every socket's address checked against the SSRF guard when it is opened (so
// a DNS name that resolves to 127.0.0.1 is refused at connect time — DNS rebinding
// included). A transfer that libcurl ends with an error after a complete response has
// arrived counts as that response (dispatch/curl_outcome.h).
//
// Plain http:// requests go, by default, through the built-in HTTP/1.1 path (Http1Pool):
// libcurl still opens each connection (DNS, SSRF guard, connect timeout), the pool then
// writes requests and parses answers on it itself — a fraction of curl's CPU per request.
//
// It runs on curl's socket interface (curl_multi_socket_action) driven by its own epoll
// set, so the work per wake-up is proportional to the sockets that are ready — not to the
// number of requests in flight, as curl_multi_perform would be (O(n) per call, which made a
// 50-endpoint fan-out quadratic).
//
// With an egress proxy (HttpClientOptions::proxy) the socket goes to the proxy, so the
// destination is checked before each request instead: libcurl resolves the receiver's name
// (its asynchronous resolver and DNS cache) and every address is checked, without connecting;
// only then does the request go to the proxy. The proxy resolves the name again, so it must
// enforce the same egress rules itself (docs/security.md).
//
// Threading: owned by one thread (the dispatcher's). Only Wakeup() may be called from
// other threads.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/retry_policy.h"
#include "core/ssrf_guard.h"
#include "dispatch/outbound_client.h"

namespace hookd {

class Http1Pool;

struct HttpClientOptions {
  std::string user_agent = "hookd";
  std::string ca_file;  // PEM bundle of the CAs to trust instead of the system's (empty: system's)
  // http:// requests through the built-in HTTP/1.1 path (false: all through libcurl). Off
  // anyway when `proxy` is set (the pool does not speak to proxies).
  bool builtin_http1 = true;
  // The egress proxy every request goes through (--proxy: "http://host:port", "socks5h://…");
  // empty: none. The environment's proxy variables (http_proxy, ALL_PROXY, …) are never used:
  // hookd's destination check would then see the proxy's address instead of the receiver's.
  std::string proxy;
};

class HttpClient final : public OutboundClient {
 public:
  // `policy` decides which addresses may be connected to; it must outlive the client.
  HttpClient(const DestinationPolicy& policy, HttpClientOptions opts);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts a request; its result comes out of a later Poll().
  void Start(OutboundRequest req) override;
  // Runs transfers for up to `timeout_ms` (less when something finishes or Wakeup() is
  // called) and returns the requests that finished.
  std::vector<OutboundResult> Poll(int timeout_ms) override;
  // Interrupts a Poll() in progress. Thread-safe.
  void Wakeup() override;
  size_t InFlight() const override;

 // Per-request state handed to curl callbacks (http_client.cc).
  struct Transfer;

 private:
  void* multi_;  // CURLM*
  int epoll_fd_ = -1;
  int wake_fd_ = -1;          // eventfd: Wakeup() writes, Poll() drains
  std::atomic<bool> wake_pending_{false};  // written to wake_fd_ and not yet read
  int64_t timer_due_ms_ = -1;  // curl's requested timeout (absolute), -1: none
  static int OnSocket(void* easy, int fd, int what, void* self, void* socket_data);
  static int OnTimer(void* multi, long timeout_ms, void* self);
  void Harvest(std::vector<OutboundResult>& done);
  void* NewHandle();  // CURL* with the options every request shares
  void* TakeHandle();  // an idle CURL* or a new one
  // Has libcurl open a connection for `req` (CONNECT_ONLY), handed to h1_ once made.
  void Connect(OutboundRequest req, int64_t started_at_ms);
  // With a proxy: resolves and checks `req`'s destination without connecting; the request
  // itself starts (StartThroughCurl) once that passed.
  void CheckDestination(OutboundRequest req);
  void StartThroughCurl(OutboundRequest req, int64_t started_at_ms);
  void Launch(void* handle, Transfer* t);  // hands a prepared transfer to the multi
  const DestinationPolicy& policy_;
  HttpClientOptions opts_;
  std::unique_ptr<Http1Pool> h1_;
  std::vector<uint32_t> watched_;  // by fd: the epoll events registered (0: none)
  size_t in_flight_ = 0;
  std::vector<void*> idle_handles_;  // CURL* kept for reuse
  std::unordered_set<void*> live_handles_;  // CURL* in flight
};

}  // namespace hookd
