// GET /metrics (Prometheus text format, no token) and the server-side request
// instrumentation: request counts by method and status, in-flight requests, access log.
#include <chrono>
#include <memory>

#include <spdlog/spdlog.h>

#include "api/context.h"
#include "core/metrics.h"

namespace hookd::api {

void AddMetricsRoutes(Router& r, ApiContext& ctx) {
  r.Add("GET", "/metrics", [&ctx](Call&) {
    HttpResponse resp;
    resp.content_type = std::string(metrics::kContentType);
    if (ctx.metrics) resp.body = ctx.metrics->registry.Render();
    return resp;
  });
}

RequestHandler InstrumentedHandler(const Router& router, Metrics* metrics) {
  return [&router, metrics](HttpRequest&& req, Responder respond) {
    // Only what the access log needs, and only when it is on: the method and the path (no
    // query string, no headers: never the Authorization header).
    struct Access {
      std::string method, path;
      std::chrono::steady_clock::time_point start;
    };
    std::unique_ptr<Access> access;
    if (spdlog::should_log(spdlog::level::debug))
      access.reset(new Access{req.method, req.path, std::chrono::steady_clock::now()});
    if (!metrics && !access) {
      router.Handle(std::move(req), std::move(respond));
      return;
    }
    if (metrics) metrics->HttpInFlight().Add(1);
    std::string method = metrics ? req.method : std::string();  // short: no allocation
    router.Handle(std::move(req), [metrics, method = std::move(method), access = std::move(access),
                                   respond = std::move(respond)](HttpResponse r) mutable {
      if (metrics) {
        metrics->HttpRequests(method, r.status).Inc();
        metrics->HttpInFlight().Add(-1);
      }
      if (access) {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - access->start).count();
        spdlog::debug("{} {} {} {:.1f}ms", access->method, access->path, r.status, static_cast<double>(us) / 1000.0);
      }
      respond(std::move(r));
    });
  };
}

}  // namespace hookd::api
