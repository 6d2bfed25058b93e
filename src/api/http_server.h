#pragma once
// The HTTP/1.1 server (Boost.Beast on Asio, C++20 coroutines): keep-alive, a body limit
// answered with 413, and a pool of I/O threads. Requests are handed to a RequestHandler
// as plain HttpRequest records (api/http.h); Beast stays inside http_server.cc.
//
// Overload: a connection over `max_connections` (open connections in total) or over
// `max_connections_per_client` (open connections from its IP address) is accepted, answered
// at once with a 503 problem+json (Retry-After: 1, Connection: close) and closed. When accept
// fails for want of descriptors (EMFILE/ENFILE) the server sheds the waiting connections the
// same way, using a descriptor it keeps in reserve, and accepts again after a back-off
// (10 ms doubling to 1 s); accept errors are logged at most once per 10 s per kind, with a count.
// Every response carries X-Content-Type-Options: nosniff.

#include <cstdint>
#include <memory>
#include <string>

#include "api/http.h"
#include "core/error.h"

namespace hookd::api {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  size_t max_body = 256 * 1024;
  int threads = 2;
  size_t max_connections = 10000;            // open connections in total (> 0)
  size_t max_connections_per_client = 1000;  // open connections from one IP address (> 0)
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions opts, RequestHandler handler);
  ~HttpServer();

  // Binds and starts serving on background threads. Returns the bound port. Call once.
  Result<uint16_t> Start();
  // Stops accepting, lets in-flight requests finish for up to `grace_ms`, then stops.
  void Stop(int grace_ms = 2000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookd::api
