#pragma once
// The HTTP/1.1 server (Boost.Beast on Asio, C++20 coroutines): keep-alive, a body limit
// answered with 413, and a pool of I/O threads. Requests are handed to a RequestHandler
// as plain HttpRequest records (api/http.h); Beast stays inside http_server.cc.

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
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions opts, RequestHandler handler);
  ~HttpServer();

  // Binds and starts serving on background threads. Returns the bound port.
  Result<uint16_t> Start();
  // Stops accepting, lets in-flight requests finish for up to `grace_ms`, then stops.
  void Stop(int grace_ms = 2000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookd::api
