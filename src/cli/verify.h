#pragma once
// `hookd verify`: the receiver-side check (SPEC §8). A receiver's developer captures one
// delivery (a raw HTTP dump, a JSON log line, or just the body plus --header flags) and
// asks: was this signed with my endpoint's secret, and is it fresh?
//
// The work is split so that everything but reading the input and printing is pure and
// unit-testable:
//   ResolveVerifyFlags    flags -> VerifyOptions           (usage errors: exit 2)
//   ParseCapturedRequest  input bytes -> CapturedRequest   (unreadable input: exit 1)
//   ParseHeaderFlags      --header values -> header map    (usage errors: exit 2)
//   VerifyCaptured        request + options -> "valid: ..." or the reason (exit 0 / 1)
//   RunVerify             all of the above plus file/stdin and stdout/stderr.
// The actual cryptographic checks are core/signing.h's VerifyStandard / VerifyGithub.
//
// Secrets: nothing here ever puts the secret into a message or an output line.
// Everything is thread-compatible (no shared state); RunVerify touches stdin/stdout/stderr.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace CLI {
class App;
}

namespace hookd {

// Environment variable that may hold the secret (keeps it out of shell history and `ps`).
inline constexpr std::string_view kVerifySecretEnv = "HOOKD_VERIFY_SECRET";

// Exit codes of `hookd verify`.
inline constexpr int kVerifyExitValid = 0;
inline constexpr int kVerifyExitInvalid = 1;  // bad signature, stale timestamp, bad secret,
                                              // unreadable input
inline constexpr int kVerifyExitUsage = 2;    // bad or missing flags

// The flags as given (CLI11 fills this; tests may fill it by hand).
struct VerifyFlags {
  std::string secret;                // --secret, or $HOOKD_VERIFY_SECRET
  std::string scheme = "auto";       // auto | standard | github
  std::string file;                  // "" or "-": stdin
  std::string tolerance = "5m";      // a duration: 300s, 5m, 1h, ...
  std::string now;                   // "" = the clock; unix seconds or RFC 3339
  std::vector<std::string> headers;  // --header "name: value"; if any, the input is the body
};

enum class VerifyScheme {
  kAuto,      // standard if the request has webhook-signature, else github if it has
              // x-hub-signature-256, else standard (which then reports what is missing)
  kStandard,  // Standard Webhooks v1 (webhook-id / -timestamp / -signature)
  kGithub,    // x-hub-signature-256: sha256=<hex> over the body; no timestamp to check
};

// Validated flags.
struct VerifyOptions {
  std::string secret;
  VerifyScheme scheme = VerifyScheme::kAuto;
  int64_t tolerance_ms = 0;
  int64_t now_ms = 0;  // the receiver's "now" the timestamp is compared against
};

// Checks the flags. `clock_now_ms` is used when --now is not given. kInvalidArgument
// (a usage error) when the secret is absent, the scheme unknown, or --tolerance / --now
// malformed. A *malformed* secret is not a usage error: VerifyCaptured reports it.
[[nodiscard]] Result<VerifyOptions> ResolveVerifyFlags(const VerifyFlags& flags,
                                                       int64_t clock_now_ms);

// Header name (lower-cased) -> every value it had, in order (a header may repeat).
using HeaderMap = std::map<std::string, std::vector<std::string>>;

// One captured delivery.
struct CapturedRequest {
  HeaderMap headers;
  std::string body;       // exactly the bytes the signature should cover
  std::string_view form;  // how it was read: "raw HTTP request", "JSON", "--header flags"
};

// Detects and parses a captured delivery. kInvalidArgument with a reason when neither
// form fits. Forms:
//  - raw HTTP: optional request line ("POST /hook HTTP/1.1"), "name: value" header
//    lines, an empty line, the body. CRLF or LF line endings; folded header lines are
//    joined. With content-length the body is cut to that many bytes (and a shorter body
//    is an error: the capture is truncated); chunked transfer-encoding is refused.
//  - JSON: an object with "headers" (an object of name -> string | integer | array of
//    strings, or a HAR-style array of {"name","value"}) and "body" (a string holding the
//    exact body). Other members (method, url, ...) are ignored.
// Input starting with '{' is taken as the JSON form.
[[nodiscard]] Result<CapturedRequest> ParseCapturedRequest(std::string_view input);

// Parses --header values ("name: value", value trimmed). kInvalidArgument when one has
// no ':' or an empty or non-token name.
[[nodiscard]] Result<HeaderMap> ParseHeaderFlags(std::span<const std::string> flags);

// Decides. On success the one line to print, e.g. "valid: signed by the given secret
// (webhook-id evt_…, timestamp 2026-11-26T10:00:00Z)". On failure:
//   kInvalidArgument   the secret is malformed, or a signing header repeats with
//                      different values;
//   kUnauthenticated   missing header, timestamp out of tolerance (and by how much), or no
//                      matching signature;
// with a message for a human, including hints when the cause is recognisable (a trailing
// newline added to the body; a capture that is only stale; the other scheme's header).
[[nodiscard]] Result<std::string> VerifyCaptured(const CapturedRequest& request,
                                                 const VerifyOptions& options);

// Registers the flags, help text and $HOOKD_VERIFY_SECRET on the `verify` subcommand.
void AddVerifyFlags(CLI::App& verify, VerifyFlags& flags);

// Runs `hookd verify`: validates the flags, reads --file or stdin, verifies, prints the
// "valid: ..." line on stdout or the reason on stderr. Returns the exit code.
int RunVerify(const VerifyFlags& flags);

}  // namespace hookd
