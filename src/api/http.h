#pragma once
// Plain request/response records between the HTTP server (the only Beast user) and the
// handlers, so that handlers compile without Beast/Asio.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookd::api {

struct HttpRequest {
  std::string method;  // "GET", "POST", …
  std::string path;    // decoded path without the query, e.g. "/v1/companies"
  std::string query;   // raw query string without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  // The client's IP address as the server's socket saw it (an IPv4 client of a dual-stack
  // listener as a.b.c.d); "" when the request did not come from a socket (tests). Behind a
  // reverse proxy, the proxy's.
  std::string remote_address;

  // First header with this lower-case name, or "" when absent.
  std::string_view Header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
  bool HasHeader(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return true;
    return false;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Completes a request. Called exactly once, from any thread.
using Responder = std::move_only_function<void(HttpResponse)>;
// What the server calls for each request.
using RequestHandler = std::function<void(HttpRequest&&, Responder)>;

}  // namespace hookd::api
