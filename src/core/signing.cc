#include "core/clock.h"
#include "core/signing.h"

#include <fmt/format.h>

#include <charconv>
#include <string>

#include "core/crypto.h"

namespace hookd {
namespace {

constexpr std::string_view kV1Prefix = "v1,";
constexpr std::string_view kSha256Prefix = "sha256=";

// `timestamp` is the decimal text exactly as it goes into (or came from) the header.
std::string SignWithKey(std::string_view key, std::string_view msg_id, std::string_view timestamp,
                        std::string_view body) {
  std::string content;
  content.reserve(msg_id.size() + timestamp.size() + body.size() + 2);
  content.append(msg_id);
  content.push_back('.');
  content.append(timestamp);
  content.push_back('.');
  content.append(body);
  std::string out(kV1Prefix);
  out += Base64Encode(HmacSha256(key, content));
  return out;
}

Unexpected<Error> Unauthenticated(std::string message) {
  return MakeError(ErrorCode::kUnauthenticated, std::move(message));
}


char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace

Result<std::string> DecodeSigningSecret(std::string_view secret) {
  if (!secret.starts_with(kSigningSecretPrefix))
    return MakeError(ErrorCode::kInvalidArgument, "signing secret must start with \"whsec_\"");
  std::optional<std::string> key = Base64Decode(secret.substr(kSigningSecretPrefix.size()));
  if (!key)
    return MakeError(ErrorCode::kInvalidArgument,
                     "signing secret: the part after \"whsec_\" is not valid base64");
  if (key->size() < kMinSigningKeyBytes || key->size() > kMaxSigningKeyBytes)
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("signing secret must decode to {}-{} bytes, not {}",
                                 kMinSigningKeyBytes, kMaxSigningKeyBytes, key->size()));
  return std::move(*key);
}

std::string SignStandard(std::string_view secret, std::string_view msg_id, int64_t timestamp,
                         std::string_view body) {
  Result<std::string> key = DecodeSigningSecret(secret);
  if (!key) return "";
  return SignWithKey(*key, msg_id, std::to_string(timestamp), body);
}

std::string StandardSignatureHeader(std::span<const std::string> secrets, std::string_view msg_id,
                                    int64_t timestamp, std::string_view body) {
  std::string out;
  for (const std::string& secret : secrets) {
    std::string sig = SignStandard(secret, msg_id, timestamp, body);
    if (sig.empty()) continue;
    if (!out.empty()) out.push_back(' ');
    out += sig;
  }
  return out;
}

std::string SignGithub(std::string_view secret, std::string_view body) {
  std::string out(kSha256Prefix);
  out += HexEncode(HmacSha256(secret, body));
  return out;
}

Result<void> VerifyStandard(std::string_view secret, const StandardWebhookHeaders& headers,
                            std::string_view body, int64_t now_ms, int64_t tolerance_ms) {
  Result<std::string> key = DecodeSigningSecret(secret);
  if (!key) return Unexpected(std::move(key.error()));

  if (headers.id.empty()) return Unauthenticated("missing webhook-id header");
  if (headers.timestamp.empty()) return Unauthenticated("missing webhook-timestamp header");
  if (headers.signature.empty()) return Unauthenticated("missing webhook-signature header");

  std::optional<int64_t> ts = ParseStrictInt(headers.timestamp);
  if (!ts)
    return Unauthenticated("invalid webhook-timestamp header: expected integer unix seconds");
  // Compare in seconds to stay far from overflow (|ts| < 10^18 after parsing).
  const int64_t now_s = now_ms / 1000;
  const int64_t tolerance_s = tolerance_ms / 1000;
  if (now_s - *ts > tolerance_s)
    return Unauthenticated(
        fmt::format("webhook-timestamp is too old ({} s before now, tolerance {} s)", now_s - *ts,
                    tolerance_s));
  if (*ts - now_s > tolerance_s)
    return Unauthenticated(fmt::format(
        "webhook-timestamp is too new ({} s after now, tolerance {} s)", *ts - now_s, tolerance_s));

  // The sender signed the header text itself, so sign that, not a re-formatted number.
  const std::string expected = SignWithKey(*key, headers.id, headers.timestamp, body);
  bool saw_v1 = false;
  bool matched = false;
  std::string_view rest = headers.signature;
  while (!rest.empty()) {
    size_t sp = rest.find(' ');
    std::string_view entry = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    if (!entry.starts_with(kV1Prefix)) continue;  // other versions (v1a, ...) are ignored
    saw_v1 = true;
    // No early exit: every v1 entry is compared, so timing does not reveal which matched.
    matched |= ConstantTimeEquals(entry, expected);
  }
  if (!saw_v1) return Unauthenticated("webhook-signature header has no \"v1,\" signature");
  if (!matched) return Unauthenticated("no matching signature in webhook-signature header");
  return {};
}

Result<void> VerifyGithub(std::string_view secret, std::string_view signature_header,
                          std::string_view body) {
  if (signature_header.empty()) return Unauthenticated("missing x-hub-signature-256 header");
  if (!signature_header.starts_with(kSha256Prefix) ||
      signature_header.size() != kSha256Prefix.size() + 64)
    return Unauthenticated("x-hub-signature-256 header must be \"sha256=<64 hex digits>\"");
  std::string given(signature_header);
  for (char& c : given) c = ToLowerAscii(c);
  if (!ConstantTimeEquals(given, SignGithub(secret, body)))
    return Unauthenticated("x-hub-signature-256 does not match");
  return {};
}

}  // namespace hookd
