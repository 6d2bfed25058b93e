#pragma once
// Settings of `hookd serve`, from flags or HOOKD_<NAME> environment variables (SPEC §8).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "core/field_cipher.h"

namespace hookd {

struct ServeConfig {
  std::string listen = "127.0.0.1:8080";
  std::string db = "sqlite:./hookd.db";
  std::string admin_token;  // empty: generated on first start and printed once
  std::string admin_token_file;  // read into admin_token by ValidateServeConfig
  std::string retry_schedule = "5s,5m,30m,2h,5h,10h,10h";
  std::string request_timeout = "15s";
  std::string disable_after = "5d";
  std::string retention = "30d";
  std::string audit_retention = "365d";  // audit log rows are kept at least this long
  std::string lease_timeout = "6s";  // several nodes on PostgreSQL: how long a dead node's shards wait
  // Encryption at rest: a file of base64 keys, one per line (the first encrypts). Without it,
  // HOOKD_ENCRYPTION_KEY may hold the keys themselves; without either, data is stored plain.
  std::string encryption_key_file;
  std::string max_payload = "256KiB";
  bool allow_http = false;
  bool allow_private_destinations = false;
  std::vector<std::string> allow_destination;  // CIDRs
  std::string tls_ca_file;  // PEM bundle trusted for receivers instead of the system's
  std::string proxy;  // egress proxy URL for deliveries; "" none (the environment's are ignored)
  std::string plain_http = "builtin";  // http:// receivers: "builtin" HTTP/1.1 path or "curl"
  std::string log_format = "text";
  int threads = 0;  // HTTP I/O threads; 0 = number of cores
  int dispatch_threads = 0;  // dispatcher threads (endpoints spread over them); 0 = 2 per core
  // Open API connections, in total and from one IP address; one more is answered 503.
  int max_connections = 10000;
  int max_connections_per_client = 1000;

  // Filled by Validate().
  size_t max_payload_bytes = 0;
  int64_t request_timeout_ms = 0;
  int64_t disable_after_ms = 0;
  int64_t retention_ms = 0;
  int64_t audit_retention_ms = 0;
  int64_t lease_timeout_ms = 0;
};

// Registers the serve flags (with HOOKD_* env fallbacks) on `cmd`.
void AddServeFlags(CLI::App& cmd, ServeConfig& cfg);
// Parses units; returns an error message or "" when fine.
std::string ValidateServeConfig(ServeConfig& cfg);
// "256KiB", "1MiB", "300000" -> bytes; 0 when malformed.
size_t ParseSize(std::string_view s);

// The encryption keys of `key_file`, or else of HOOKD_ENCRYPTION_KEY; null when neither is
// set. An error message for a missing/unreadable file or a malformed key. Warns (spdlog)
// when the file can be read by others than its owner.
Result<std::shared_ptr<const FieldCipher>> LoadEncryptionKeys(const std::string& key_file);

// Logging set-up shared by subcommands: "text" or "json".
void SetupLogging(const std::string& format);

}  // namespace hookd
