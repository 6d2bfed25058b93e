#pragma once
// Method + path-pattern routing ("/v1/companies/{cid}/endpoints/{eid}"). Unknown path 404,
// known path with another method 405 (with Allow). Handler exceptions become problem+json.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http.h"

namespace hookd::api {

// One request as a handler sees it.
struct Call {
  HttpRequest req;
  std::vector<std::pair<std::string, std::string>> params;  // from {name} segments

  std::string_view Param(std::string_view name) const;
  // Decoded query parameter, or nullopt when absent.
  std::optional<std::string> Query(std::string_view name) const;
  // Every query parameter's decoded name, in order (repeats included).
  std::vector<std::string> QueryNames() const;
};

using SyncHandler = std::function<HttpResponse(Call&)>;
// Must call the Responder exactly once (it may throw ApiError before doing so).
using AsyncHandler = std::function<void(Call&, Responder)>;

class Router {
 public:
  void Add(std::string method, std::string pattern, SyncHandler h);
  void AddAsync(std::string method, std::string pattern, AsyncHandler h);

  // The server's entry point.
  void Handle(HttpRequest&& req, Responder respond) const;

  // (method, pattern) of every route, for the OpenAPI consistency test.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    SyncHandler sync;
    AsyncHandler async;
  };
  static bool Match(const Route& r, const std::vector<std::string_view>& segs,
                    std::vector<std::pair<std::string, std::string>>& params);
  std::vector<Route> routes_;
};

// JSON response helpers.
HttpResponse JsonResponse(int status, std::string body);

}  // namespace hookd::api
