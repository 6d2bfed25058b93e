#pragma once
// What the dispatcher sends requests through: the seam between its scheduling rules and the
// network. HttpClient (dispatch/http_client.h: libcurl multi + the built-in HTTP/1.1 pool) is
// the real one; tests use a fake that answers when the test says so
// (tests/unit/fakes/fake_outbound_client.h).
//
// Contract: Start() never blocks and never answers inline — every request started comes back,
// exactly once, out of a later Poll(); InFlight() counts those started and not yet returned.
// Owned by one thread (the dispatcher's); only Wakeup() may be called from others.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/retry_policy.h"

namespace hookd {

struct OutboundRequest {
  uint64_t tag = 0;  // returned with the result
  std::string url;
  std::vector<std::string> headers;  // "name: value"
  std::shared_ptr<const std::string> body;
  int64_t timeout_ms = 15000;          // whole request
  int64_t connect_timeout_ms = 10000;  // capped by timeout_ms
};

struct OutboundResult {
  uint64_t tag = 0;
  int status_code = 0;                 // 0 when no response
  std::optional<AttemptError> error;   // nullopt only for a 2xx response
  std::string error_detail;            // curl's message or the SSRF reason
  std::string response_headers_json;   // {"name":"value",…} of the final response
  std::string response_body;           // first 4 KiB
  std::string retry_after;             // the Retry-After header, if any
  int64_t started_at_ms = 0;
  int64_t duration_ms = 0;
};

class OutboundClient {
 public:
  virtual ~OutboundClient() = default;
  // Starts a request; its result comes out of a later Poll().
  virtual void Start(OutboundRequest req) = 0;
  // Waits up to `timeout_ms` (less when something finishes or Wakeup() is called) and returns
  // the requests that finished.
  virtual std::vector<OutboundResult> Poll(int timeout_ms) = 0;
  // Interrupts a Poll() in progress. Thread-safe.
  virtual void Wakeup() = 0;
  virtual size_t InFlight() const = 0;
};

}  // namespace hookd
