#pragma once
// Randomness, hashing and encodings on OpenSSL. All functions are thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace hookd {

std::string RandomBytes(size_t n);                  // CSPRNG (RAND_bytes); aborts on failure
std::string Sha256Hex(std::string_view data);       // lower-case hex
std::string HmacSha256(std::string_view key, std::string_view msg);  // raw 32 bytes
std::string Base64Encode(std::string_view raw);     // standard alphabet, padded
std::optional<std::string> Base64Decode(std::string_view b64);  // nullopt if malformed
// Only base64's alphabet (A–Z a–z 0–9 + / =) in whole quads: what Base64Decode checks first,
// by table (not isalnum: a locale-aware call per byte).
bool Base64Shaped(std::string_view b64);
std::string HexEncode(std::string_view raw);
// Constant-time comparison of two byte strings (length may leak).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// "whsec_" + base64 of 32 random bytes: a Standard Webhooks signing secret.
std::string NewSigningSecret();
// An API token: "hkd_" + 43 url-safe base64 characters (32 random bytes).
std::string NewApiToken();
// What is stored for a token: hex SHA-256. Tokens are 256-bit random, so a fast hash is
// enough (no password stretching needed) and makes lookup by hash possible.
std::string HashToken(std::string_view token);

}  // namespace hookd
