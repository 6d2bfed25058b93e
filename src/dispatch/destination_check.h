#pragma once
// The SSRF guard at save time: an endpoint URL whose host is (or resolves to) a refused
// address is rejected when the endpoint is saved. The same policy is enforced again when
// each connection is opened (http_client.cc), which catches DNS rebinding.

#include <optional>
#include <string>
#include <string_view>

#include "core/ssrf_guard.h"

namespace hookd {

// nullopt when `url` may be saved; else why not. Host names are resolved (blocking
// getaddrinfo); a name that does not resolve is accepted here — it is checked again at
// connect time.
std::optional<std::string> CheckDestinationUrl(const DestinationPolicy& policy, std::string_view url);

}  // namespace hookd
