#include "app/config.h"

#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace hookd {

void AddServeFlags(CLI::App& cmd, ServeConfig& c) {
  cmd.add_option("--listen", c.listen, "address:port to serve on (port 0 picks a free one)")
      ->envname("HOOKD_LISTEN")->capture_default_str();
  cmd.add_option("--db", c.db, "store URL: sqlite:<path>, or postgres://… (several nodes may share one PostgreSQL database)")->envname("HOOKD_DB")->capture_default_str();
  cmd.add_option("--admin-token", c.admin_token,
                 "operator token; it revokes every other operator token at start (else one is generated "
                 "on first start and printed once). Visible in ps: prefer --admin-token-file or "
                 "HOOKD_ADMIN_TOKEN")
      ->envname("HOOKD_ADMIN_TOKEN");
  cmd.add_option("--admin-token-file", c.admin_token_file,
                 "file whose first line is the operator token (instead of --admin-token)")
      ->envname("HOOKD_ADMIN_TOKEN_FILE");
  cmd.add_option("--retry-schedule", c.retry_schedule, "delays between attempts after the first")
      ->envname("HOOKD_RETRY_SCHEDULE")->capture_default_str();
  cmd.add_option("--request-timeout", c.request_timeout, "default timeout of one delivery request")
      ->envname("HOOKD_REQUEST_TIMEOUT")->capture_default_str();
  cmd.add_option("--disable-after", c.disable_after, "disable an endpoint failing for this long")
      ->envname("HOOKD_DISABLE_AFTER")->capture_default_str();
  cmd.add_option("--encryption-key-file", c.encryption_key_file,
                 "encrypt payloads, receivers' answers and signing secrets at rest with these keys (base64 of "
                 "32 bytes per line, the first encrypts; `hookd key generate` makes one). Or HOOKD_ENCRYPTION_KEY "
                 "with the keys themselves")
      ->envname("HOOKD_ENCRYPTION_KEY_FILE")->check(CLI::ExistingFile);
  cmd.add_option("--retention", c.retention, "how long events and attempts are kept")
      ->envname("HOOKD_RETENTION")->capture_default_str();
  cmd.add_option("--audit-retention", c.audit_retention,
                 "how long audit log rows (who changed what through the API) are kept, whatever --retention "
                 "and companies' own retention say (at least 1d)")
      ->envname("HOOKD_AUDIT_RETENTION")->capture_default_str();
  cmd.add_option("--lease-timeout", c.lease_timeout,
                 "PostgreSQL with several nodes: a node that stops renewing its shard leases (dead, "
                 "partitioned) loses them after this long, and the others take over its endpoints "
                 "(renewed every third of it; 1s to 5m)")
      ->envname("HOOKD_LEASE_TIMEOUT")->capture_default_str();
  cmd.add_option("--max-payload", c.max_payload, "largest accepted request body (e.g. 256KiB, 1MiB)")
      ->envname("HOOKD_MAX_PAYLOAD")->capture_default_str();
  cmd.add_flag("--allow-http", c.allow_http, "allow http:// endpoint URLs")->envname("HOOKD_ALLOW_HTTP");
  cmd.add_flag("--allow-private-destinations", c.allow_private_destinations,
               "allow endpoints on loopback/private networks")
      ->envname("HOOKD_ALLOW_PRIVATE_DESTINATIONS");
  cmd.add_option("--allow-destination", c.allow_destination, "CIDR allowed despite the SSRF guard (repeatable)")
      ->envname("HOOKD_ALLOW_DESTINATION")->delimiter(',');
  cmd.add_option("--tls-ca-file", c.tls_ca_file,
                 "PEM file of the CAs trusted for receivers' certificates (default: the system's)")
      ->envname("HOOKD_TLS_CA_FILE")->check(CLI::ExistingFile);
  cmd.add_option("--proxy", c.proxy,
                 "egress proxy for deliveries (http://host:port, socks5h://host:port). The environment's "
                 "proxy variables are ignored. hookd checks each destination's addresses before the "
                 "request; the proxy resolves the name again and must enforce the same egress rules")
      ->envname("HOOKD_PROXY");
  cmd.add_option("--plain-http", c.plain_http,
                 "engine for http:// receivers: builtin (HTTP/1.1 keep-alive, connections opened by "
                 "libcurl) or curl (everything through libcurl); https:// always uses libcurl")
      ->envname("HOOKD_PLAIN_HTTP")->check(CLI::IsMember({"builtin", "curl"}))->capture_default_str();
  cmd.add_option("--log-format", c.log_format, "text or json")
      ->envname("HOOKD_LOG_FORMAT")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd.add_option("--threads", c.threads, "HTTP I/O threads (0: one per core)")->envname("HOOKD_THREADS");
  cmd.add_option("--dispatch-threads", c.dispatch_threads,
                 "delivery threads; endpoints are spread over them (0: two per core)")
      ->envname("HOOKD_DISPATCH_THREADS")->check(CLI::Range(0, 64))->capture_default_str();
  cmd.add_option("--max-connections", c.max_connections,
                 "open API connections at most; one more is answered 503 and closed")
      ->envname("HOOKD_MAX_CONNECTIONS")->check(CLI::Range(1, 10'000'000))->capture_default_str();
  cmd.add_option("--max-connections-per-client", c.max_connections_per_client,
                 "open API connections from one IP address at most; one more is answered 503 and closed "
                 "(behind a reverse proxy every connection comes from the proxy: raise it)")
      ->envname("HOOKD_MAX_CONNECTIONS_PER_CLIENT")->check(CLI::Range(1, 10'000'000))->capture_default_str();
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
  if (!c.proxy.empty()) {
    const bool known = c.proxy.starts_with("http://") || c.proxy.starts_with("https://") ||
                       c.proxy.starts_with("socks4://") || c.proxy.starts_with("socks4a://") ||
                       c.proxy.starts_with("socks5://") || c.proxy.starts_with("socks5h://");
    if (!known || c.proxy.find("://") + 3 >= c.proxy.size())
      return "--proxy must be a URL like http://proxy.internal:3128 or socks5h://proxy.internal:1080";
  }
  if (!c.admin_token_file.empty()) {
    if (!c.admin_token.empty()) return "give the operator token once: --admin-token or --admin-token-file";
    std::ifstream in(c.admin_token_file);
    if (!in) return "--admin-token-file: cannot read " + c.admin_token_file;
    std::getline(in, c.admin_token);
    while (!c.admin_token.empty() && std::isspace(static_cast<unsigned char>(c.admin_token.back())))
      c.admin_token.pop_back();
    if (c.admin_token.empty()) return "--admin-token-file: " + c.admin_token_file + " has no token on its first line";
  }
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
  if (auto e = dur(c.audit_retention, c.audit_retention_ms, "--audit-retention"); !e.empty()) return e;
  if (c.audit_retention_ms < 86400LL * 1000) return "--audit-retention must be at least 1d";
  if (auto e = dur(c.lease_timeout, c.lease_timeout_ms, "--lease-timeout"); !e.empty()) return e;
  if (c.lease_timeout_ms < 1000 || c.lease_timeout_ms > 300000) return "--lease-timeout must be between 1s and 5m";
  if (c.threads <= 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
  // Two per core: measured on 2 cores, a 50-endpoint fan-out ran at 14.7k deliveries/s with
  // 1 thread, 19.7k with 2, 21.9k with 3 and 22.3k with 4 (bench/README.md).
  if (c.dispatch_threads <= 0)
    c.dispatch_threads = static_cast<int>(std::min(16u, 2 * std::max(1u, std::thread::hardware_concurrency())));
  return "";
}

Result<std::shared_ptr<const FieldCipher>> LoadEncryptionKeys(const std::string& key_file) {
  if (key_file.empty()) {
    const char* env = std::getenv("HOOKD_ENCRYPTION_KEY");
    if (env == nullptr || *env == '\0') return std::shared_ptr<const FieldCipher>();
    auto c = FieldCipher::FromKeyText(env);
    if (!c) return MakeError(c.error().code, "HOOKD_ENCRYPTION_KEY: " + c.error().message);
    return c;
  }
  std::ifstream in(key_file);
  if (!in) return MakeError(ErrorCode::kInvalidArgument, "--encryption-key-file: cannot read " + key_file);
  std::stringstream text;
  text << in.rdbuf();
  auto c = FieldCipher::FromKeyText(text.str());
  if (!c) return MakeError(c.error().code, "--encryption-key-file " + key_file + ": " + c.error().message);
  struct stat st {};
  if (::stat(key_file.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    spdlog::warn("{} can be read by other users than its owner: chmod 600 it (it holds the keys of the data)",
                 key_file);
  }
  return c;
}

namespace {

void Put(spdlog::memory_buf_t& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  auto cont = [&](size_t k) { return (at(k) & 0xC0) == 0x80; };
  const unsigned c = at(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

// The message as the inside of a JSON string (json) or as one line of text (text): quotes
// and backslashes escaped (json only), control characters escaped (both — a message can
// never forge another log line), invalid UTF-8 replaced by U+FFFD (both).
template <bool kJson>
class EscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& out) override {
    static constexpr char kHex[] = "0123456789abcdef";
    const std::string_view s(msg.payload.data(), msg.payload.size());
    for (size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        const size_t n = Utf8Length(s, i);
        Put(out, n ? s.substr(i, n) : std::string_view("\xEF\xBF\xBD"));
        i += n ? n : 1;
        continue;
      }
      ++i;
      switch (c) {
        case '"': Put(out, kJson ? "\\\"" : "\""); break;
        case '\\': Put(out, kJson ? "\\\\" : "\\"); break;
        case '\n': Put(out, "\\n"); break;
        case '\r': Put(out, "\\r"); break;
        case '\t': Put(out, "\\t"); break;
        default:
          if (c < 0x20 || c == 0x7F) {
            Put(out, "\\u00");
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EscapedMessage>(); }
};

}  // namespace

void SetupLogging(const std::string& format) {
  auto logger = spdlog::stderr_logger_mt("hookd");
  // One line per message; in json, one object per line: {"time","level","msg"}.
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    formatter->add_flag<EscapedMessage<true>>('*');
    formatter->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%*"})");
  } else {
    formatter->add_flag<EscapedMessage<false>>('*');
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %*");
  }
  logger->set_formatter(std::move(formatter));
  // HOOKD_LOG_LEVEL=debug shows, among others, one access-log line per API request.
  if (const char* level = std::getenv("HOOKD_LOG_LEVEL"); level && *level) {
    auto l = spdlog::level::from_str(level);
    if (l == spdlog::level::off && std::string_view(level) != "off")
      logger->warn("HOOKD_LOG_LEVEL: unknown level (trace, debug, info, warn, error, critical, off)");
    else
      logger->set_level(l);
  }
  spdlog::set_default_logger(logger);
}

}  // namespace hookd
