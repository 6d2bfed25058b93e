#include "app/config.h"

#include <thread>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace hookd {

void AddServeFlags(CLI::App& cmd, ServeConfig& c) {
  cmd.add_option("--listen", c.listen, "address:port to serve on (port 0 picks a free one)")
      ->envname("HOOKD_LISTEN")->capture_default_str();
  cmd.add_option("--db", c.db, "store URL: sqlite:<path>")->envname("HOOKD_DB")->capture_default_str();
  cmd.add_option("--admin-token", c.admin_token,
                 "operator token (else one is generated on first start and printed once)")
      ->envname("HOOKD_ADMIN_TOKEN");
  cmd.add_option("--retry-schedule", c.retry_schedule, "delays between attempts after the first")
      ->envname("HOOKD_RETRY_SCHEDULE")->capture_default_str();
  cmd.add_option("--request-timeout", c.request_timeout, "default timeout of one delivery request")
      ->envname("HOOKD_REQUEST_TIMEOUT")->capture_default_str();
  cmd.add_option("--disable-after", c.disable_after, "disable an endpoint failing for this long")
      ->envname("HOOKD_DISABLE_AFTER")->capture_default_str();
  cmd.add_option("--retention", c.retention, "how long events and attempts are kept")
      ->envname("HOOKD_RETENTION")->capture_default_str();
  cmd.add_option("--max-payload", c.max_payload, "largest accepted request body (e.g. 256KiB, 1MiB)")
      ->envname("HOOKD_MAX_PAYLOAD")->capture_default_str();
  cmd.add_flag("--allow-http", c.allow_http, "allow http:// endpoint URLs")->envname("HOOKD_ALLOW_HTTP");
  cmd.add_flag("--allow-private-destinations", c.allow_private_destinations,
               "allow endpoints on loopback/private networks")
      ->envname("HOOKD_ALLOW_PRIVATE_DESTINATIONS");
  cmd.add_option("--allow-destination", c.allow_destination, "CIDR allowed despite the SSRF guard (repeatable)")
      ->envname("HOOKD_ALLOW_DESTINATION")->delimiter(',');
  cmd.add_option("--log-format", c.log_format, "text or json")
      ->envname("HOOKD_LOG_FORMAT")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd.add_option("--threads", c.threads, "HTTP I/O threads (0: one per core)")->envname("HOOKD_THREADS");
}

size_t ParseSize(std::string_view s) {
  size_t i = 0, n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') n = n * 10 + (s[i++] - '0');
  if (i == 0) return 0;
  std::string_view unit = s.substr(i);
  if (unit.empty() || unit == "B") return n;
  if (unit == "KiB" || unit == "K" || unit == "KB" || unit == "k") return n * 1024;
  if (unit == "MiB" || unit == "M" || unit == "MB") return n * 1024 * 1024;
  return 0;
}

std::string ValidateServeConfig(ServeConfig& c) {
  c.max_payload_bytes = ParseSize(c.max_payload);
  if (c.max_payload_bytes < 1024 || c.max_payload_bytes > 64 * 1024 * 1024)
    return "--max-payload must be between 1KiB and 64MiB (e.g. 256KiB)";
  auto dur = [](const std::string& v, int64_t& out, const char* name) -> std::string {
    auto ms = ParseDurationMs(v);
    if (!ms || *ms <= 0) return std::string(name) + " must be a duration like 15s, 5m, 2h or 5d";
    out = *ms;
    return "";
  };
  if (auto e = dur(c.request_timeout, c.request_timeout_ms, "--request-timeout"); !e.empty()) return e;
  if (auto e = dur(c.disable_after, c.disable_after_ms, "--disable-after"); !e.empty()) return e;
  if (auto e = dur(c.retention, c.retention_ms, "--retention"); !e.empty()) return e;
  if (c.threads <= 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
  return "";
}

void SetupLogging(const std::string& format) {
  auto logger = spdlog::stderr_logger_mt("hookd");
  if (format == "json") {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%v"})", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_default_logger(logger);
}

}  // namespace hookd
