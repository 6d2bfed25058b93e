// GET /v1/companies/{cid}/endpoints/{eid}/stats (manage scope): attempts to one endpoint
// over a window — success rate and latency, in total and per time bucket — for the panel's
// 24 h chart. Counts attempts (every HTTP request hookd made), not deliveries.
#include <boost/json.hpp>

#include "api/context.h"
#include "api/problem.h"
#include "core/clock.h"
#include "core/json_util.h"

namespace hookd::api {
namespace json = boost::json;

namespace {

constexpr int64_t kDefaultBucketSeconds = 3600;
constexpr int64_t kDefaultBuckets = 24;
constexpr int64_t kMaxBuckets = 744;  // 31 days of hours
constexpr int64_t kMaxWindowMs = 31LL * 86400 * 1000;

int64_t QueryTime(const Call& call, std::string_view name) {
  auto ms = OptionalQueryTime(call, name);
  if (!ms) {
    std::string ptr = "/query/" + std::string(name);
    throw ApiError(422, std::string(name) + " must be an RFC 3339 date-time",
                   {{ptr, "must be an RFC 3339 date-time, e.g. 2026-11-25T10:00:00Z"}});
  }
  return *ms;
}

// {attempts, succeeded, failed, success_rate, avg_duration_ms, max_duration_ms}
void PutCounts(json::object& o, int64_t attempts, int64_t succeeded, int64_t total_ms,
               int64_t max_ms) {
  o["attempts"] = attempts;
  o["succeeded"] = succeeded;
  o["failed"] = attempts - succeeded;
  if (attempts > 0) {
    o["success_rate"] = static_cast<double>(succeeded) / static_cast<double>(attempts);
    o["avg_duration_ms"] = (total_ms + attempts / 2) / attempts;
    o["max_duration_ms"] = max_ms;
  } else {
    o["success_rate"] = nullptr;
    o["avg_duration_ms"] = nullptr;
    o["max_duration_ms"] = nullptr;
  }
}

}  // namespace

void AddStatsRoutes(Router& r, ApiContext& ctx) {
  r.Add("GET", "/v1/companies/{cid}/endpoints/{eid}/stats", [&ctx](Call& call) {
    CompanyId cid = AuthorizeCompany(ctx, call, kScopeManage);
    EndpointId id = PathId<EndpointId>(call, "eid", "endpoint");

    int64_t bucket_s = kDefaultBucketSeconds;
    if (auto b = call.Query("bucket")) {
      char* end = nullptr;
      long long n = std::strtoll(b->c_str(), &end, 10);
      if (b->empty() || *end != '\0' || n < 60 || n > 86400)
        throw ApiError(422, "bucket must be a number of seconds from 60 to 86400",
                       {{"/query/bucket", "must be an integer from 60 to 86400"}});
      bucket_s = n;
    }
    const int64_t bucket_ms = bucket_s * 1000;
    const int64_t until = call.Query("until") ? QueryTime(call, "until") : NowMs();
    // Default window: the 24 whole buckets that end with the current (partial) one, so that
    // hourly buckets start on the hour.
    const int64_t since = call.Query("since")
                              ? QueryTime(call, "since")
                              : (until / bucket_ms - (kDefaultBuckets - 1)) * bucket_ms;
    if (since >= until)
      throw ApiError(422, "since must be before until", {{"/query/since", "must be before until"}});
    if (until - since > kMaxWindowMs)
      throw ApiError(422, "the window is at most 31 days",
                     {{"/query/since", "at most 31 days before until"}});
    const int64_t n_buckets = (until - since + bucket_ms - 1) / bucket_ms;
    if (n_buckets > kMaxBuckets)
      throw ApiError(422, "too many buckets: use a larger bucket",
                     {{"/query/bucket", "the window would have more than 744 buckets"}});

    auto rows = Unwrap(ctx.store.EndpointAttemptStats(cid, id, since, until, bucket_ms));

    json::array buckets;
    int64_t attempts = 0, succeeded = 0, total_ms = 0, max_ms = 0;
    size_t next = 0;
    for (int64_t i = 0; i < n_buckets; ++i) {
      const int64_t start = since + i * bucket_ms;
      json::object b{{"start", FormatTime(start)}};
      if (next < rows.size() && rows[next].start_ms == start) {
        const auto& row = rows[next++];
        PutCounts(b, row.attempts, row.succeeded, row.total_duration_ms, row.max_duration_ms);
        attempts += row.attempts;
        succeeded += row.succeeded;
        total_ms += row.total_duration_ms;
        max_ms = std::max(max_ms, row.max_duration_ms);
      } else {
        PutCounts(b, 0, 0, 0, 0);
      }
      buckets.push_back(std::move(b));
    }
    json::object o{{"endpoint_id", id.str()},
                   {"since", FormatTime(since)},
                   {"until", FormatTime(until)},
                   {"bucket_seconds", bucket_s}};
    PutCounts(o, attempts, succeeded, total_ms, max_ms);
    o["buckets"] = std::move(buckets);
    return JsonResponse(200, ToJson(o));
  });
}

}  // namespace hookd::api
