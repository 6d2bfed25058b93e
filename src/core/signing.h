#pragma once
// Webhook signatures (SPEC §3): Standard Webhooks v1, the default, and GitHub style
// (`signature_scheme: "github"`), plus the receiver-side checks `hookd verify` runs.
//
// Standard Webhooks v1:
//   signed content = "{webhook-id}.{webhook-timestamp}.{body}"
//   key            = base64-decoded part of the "whsec_..." secret (24-64 bytes)
//   header value   = "v1,<base64 HMAC-SHA256>"; while a secret rotates, one entry per
//                    active secret, separated by single spaces ("v1,AAA= v1,BBB=").
// GitHub:
//   header x-hub-signature-256 = "sha256=<lower-case hex HMAC-SHA256 of the body>",
//   key = the whole secret string, prefix included.
//
// Everything here is pure (no I/O, no clock: callers pass `now`) and thread-safe.
// Secrets never appear in returned error messages.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"

namespace hookd {

// Header names as sent on the wire (HTTP header names are case-insensitive).
inline constexpr std::string_view kWebhookIdHeader = "webhook-id";
inline constexpr std::string_view kWebhookTimestampHeader = "webhook-timestamp";
inline constexpr std::string_view kWebhookSignatureHeader = "webhook-signature";
inline constexpr std::string_view kGithubSignatureHeader = "x-hub-signature-256";

inline constexpr std::string_view kSigningSecretPrefix = "whsec_";
inline constexpr size_t kMinSigningKeyBytes = 24;
inline constexpr size_t kMaxSigningKeyBytes = 64;

// How far a webhook-timestamp may be from the receiver's clock, either way.
inline constexpr int64_t kDefaultToleranceMs = 5 * 60 * 1000;

// The raw HMAC key of a Standard Webhooks secret: "whsec_" + standard (padded) base64
// that decodes to 24-64 bytes. kInvalidArgument otherwise, with a message saying which
// rule failed (never echoing the secret). Use it to validate secrets when they are saved.
Result<std::string> DecodeSigningSecret(std::string_view secret);

// "v1,<base64>" for one message. `secret` must pass DecodeSigningSecret; if it does not,
// the result is "" (which no receiver accepts) — secrets are validated when stored, so
// the delivery path never has to handle an error here.
std::string SignStandard(std::string_view secret, std::string_view msg_id, int64_t timestamp,
                         std::string_view body);

// The webhook-signature header value for every active secret, in the given order,
// space-separated. Malformed secrets are skipped; "" when none is usable.
std::string StandardSignatureHeader(std::span<const std::string> secrets, std::string_view msg_id,
                                    int64_t timestamp, std::string_view body);

// "sha256=<hex>" (the x-hub-signature-256 value). Any secret string is a valid key.
std::string SignGithub(std::string_view secret, std::string_view body);

// The three Standard Webhooks headers as the receiver got them; an empty view means the
// header was absent (an empty header is treated the same way).
struct StandardWebhookHeaders {
  std::string_view id;
  std::string_view timestamp;
  std::string_view signature;
};

// Receiver-side check of a Standard Webhooks message. Succeeds when some "v1," entry of
// the (space-separated) signature list matches `secret` — compared in constant time —
// and the timestamp is within `tolerance_ms` of `now_ms` (ms since the epoch) either way.
// Errors, each with a message naming the reason:
//   kInvalidArgument  the secret itself is malformed (a configuration mistake);
//   kUnauthenticated  missing webhook-id / webhook-timestamp / webhook-signature header,
//                     timestamp not an integer, timestamp too old, timestamp too far in
//                     the future, no v1 entry at all, or no matching signature.
Result<void> VerifyStandard(std::string_view secret, const StandardWebhookHeaders& headers,
                            std::string_view body, int64_t now_ms,
                            int64_t tolerance_ms = kDefaultToleranceMs);

// Receiver-side check of a GitHub-style x-hub-signature-256 header value. The hex digest
// is compared case-insensitively and in constant time. kUnauthenticated when the header
// is missing, not of the form "sha256=<64 hex digits>", or does not match.
Result<void> VerifyGithub(std::string_view secret, std::string_view signature_header,
                          std::string_view body);

}  // namespace hookd
