#pragma once
// The request headers hookd sent on an attempt, as the attempt keeps them (issue 15 item 6:
// "show the request headers hookd sent beside the response"). Pure; thread-safe.
//
// Kept as sent: hookd's own headers — webhook-id, webhook-timestamp and the signature
// (webhook-signature or x-hub-signature-256): what the receiver got; a signature is valid for
// that one body and timestamp, it is not the secret — content-type, user-agent and
// content-length. Never kept: a credential. An endpoint's custom headers may carry one
// (Authorization, X-Api-Key, a session cookie…), so their values are replaced by kRedacted,
// except those of the few names known to carry none (IsHarmlessHeader).

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookd {

inline constexpr std::string_view kRedacted = "[redacted]";

// True for header names (lower case) whose values are never credentials: accept,
// accept-charset, accept-encoding, accept-language, cache-control, content-language, pragma,
// x-requested-with.
bool IsHarmlessHeader(std::string_view lower_name);

// A JSON object text {"user-agent": …, <own headers in order>, "content-length": …, <custom
// headers, values redacted>}. `own`: hookd's header lines as sent ("name: value");
// `custom`: the endpoint's custom headers (lower-case names).
std::string RecordSentHeaders(const std::vector<std::string>& own, std::string_view user_agent,
                              size_t content_length,
                              const std::vector<std::pair<std::string, std::string>>& custom);

}  // namespace hookd
